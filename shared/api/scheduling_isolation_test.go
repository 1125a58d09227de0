package api

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// recordingScheduler is an AvailabilityConnector and RoomConnector that
// records which tenant and credential each connection used.
type recordingScheduler struct {
	mu    sync.Mutex
	opens []string // tenant + credential key
}

func (f *recordingScheduler) note(t domain.Tenant, c domain.Credential) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.opens = append(f.opens, t.ID+"|"+c.MemoryKey())
}

func (f *recordingScheduler) ConnectAvailability(_ context.Context, t domain.Tenant, c domain.Credential, _ string) (domain.AvailabilityReader, error) {
	f.note(t, c)
	return f, nil
}

func (f *recordingScheduler) Limits() domain.AvailabilityLimits {
	return domain.AvailabilityLimits{MaxMailboxes: 20, MaxWindow: 62 * 24 * time.Hour}
}

func (f *recordingScheduler) Availability(_ context.Context, ms []string, _, _ time.Time) ([]domain.MailboxAvailability, error) {
	out := make([]domain.MailboxAvailability, len(ms))
	for i, m := range ms {
		out[i] = domain.MailboxAvailability{Mailbox: m, Busy: []domain.BusyInterval{}}
	}
	return out, nil
}

func (f *recordingScheduler) ConnectRooms(_ context.Context, t domain.Tenant, c domain.Credential, _ string) (domain.RoomDirectory, error) {
	f.note(t, c)
	return f, nil
}

func (f *recordingScheduler) RoomLists(context.Context) ([]domain.RoomList, error) {
	return []domain.RoomList{}, nil
}

func (f *recordingScheduler) Rooms(context.Context, string) ([]domain.Room, error) {
	return []domain.Room{}, nil
}

// TestSchedulingTenantScope: the scheduling routes use only the named
// tenant's credential, and CallerTenants keeps a caller to its tenants on
// them as on every other route.
func TestSchedulingTenantScope(t *testing.T) {
	const contosoApp = "arn:aws:sts::123456789012:assumed-role/contoso-app/session-1"
	rec := &recordingScheduler{}
	e := newEnv(t, func(d *Deps) {
		d.Availability, d.Rooms = rec, rec
		d.CallerTenants = map[string][]string{"arn:aws:sts::123456789012:assumed-role/ops/x": {"*"}, contosoApp: {"contoso"}}
	})
	as := func(caller string, r req) events.APIGatewayProxyResponse {
		ev := apigwEvent(t, r)
		ev.RequestContext.Identity.UserArn = caller
		resp, err := LambdaHandler(e.h)(context.Background(), ev)
		if err != nil {
			t.Fatal(err)
		}
		hr, _ := requestFromEvent(context.Background(), ev)
		_, pattern := e.srv.mux.Handler(hr)
		e.note(pattern, resp.StatusCode, resp.MultiValueHeaders, []byte(resp.Body))
		return resp
	}
	creds := map[string]domain.Credential{}
	for _, id := range []string{"contoso", "globex"} {
		creds[id] = basicCred("svc", "Sched-pw-"+id)
		if r := as("arn:aws:sts::123456789012:assumed-role/ops/x", req{method: "POST", path: "/tenants", body: tenantBody(id, "https://mail."+id+".com/EWS/Exchange.asmx", creds[id], "")}); r.StatusCode != 201 {
			t.Fatalf("create %s = %d %s", id, r.StatusCode, r.Body)
		}
	}
	body := `{"mailboxes":["room1@contoso.com"],"start":"2026-12-01T09:00:00Z","end":"2026-12-01T17:00:00Z","meetingMinutes":30}`
	for _, tc := range []struct {
		r    req
		want int
	}{
		{req{method: "POST", path: "/tenants/contoso/availability", body: body}, 200},
		{req{method: "GET", path: "/tenants/contoso/roomlists"}, 200},
		{req{method: "GET", path: "/tenants/contoso/rooms"}, 200},
		{req{method: "POST", path: "/tenants/globex/availability", body: body}, 403},
		{req{method: "GET", path: "/tenants/globex/roomlists"}, 403},
		{req{method: "GET", path: "/tenants/globex/rooms?roomList=hq@globex.com"}, 403},
	} {
		if r := as(contosoApp, tc.r); r.StatusCode != tc.want {
			t.Errorf("%s %s = %d, want %d: %s", tc.r.method, tc.r.path, r.StatusCode, tc.want, r.Body)
		}
	}
	want := "contoso|" + creds["contoso"].MemoryKey()
	if len(rec.opens) != 3 {
		t.Fatalf("%d connections opened, want 3 (contoso's)", len(rec.opens))
	}
	for _, o := range rec.opens {
		if o != want {
			t.Errorf("a connection was opened as %q, want contoso's tenant and credential", o)
		}
	}
}
