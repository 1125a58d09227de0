package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/local/boltstore"
	"github.com/mailbridge/mailbridge/shared/testsupport/secretscan"
	"github.com/mailbridge/mailbridge/shared/testsupport/storetest"
)

// recordedQueue is the domain.Queue port recorded (the SQS and embedded
// adapters have their own tests).
type recordedQueue struct {
	sent []domain.QueueMessage
	fail error
}

func (q *recordedQueue) SendBatch(_ context.Context, msgs []domain.QueueMessage) error {
	if q.fail != nil {
		return q.fail
	}
	q.sent = append(q.sent, msgs...)
	return nil
}

func newCalRequests(t *testing.T) (*app.CalendarRequests, *recordedQueue) {
	t.Helper()
	ctx := context.Background()
	clock := storetest.NewClock(calNow)
	dbPath := filepath.Join(t.TempDir(), "store.db")
	secretscan.WatchFile(t, dbPath) // read when the test ends, for the secret scan
	bs, err := boltstore.Open(dbPath, boltstore.Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bs.Close() })
	for _, tn := range []domain.Tenant{
		{ID: calTenant, AccessMode: domain.AccessImpersonation, Status: domain.TenantActive},
		{ID: "gone-co", AccessMode: domain.AccessImpersonation, Status: domain.TenantOffboarded},
	} {
		if err := bs.CreateTenant(ctx, tn); err != nil {
			t.Fatal(err)
		}
	}
	if err := bs.AddMailbox(ctx, domain.Mailbox{TenantID: calTenant, Address: calAnn, Status: domain.MailboxOK}); err != nil {
		t.Fatal(err)
	}
	q := &recordedQueue{}
	return &app.CalendarRequests{Store: bs, Queue: q, Clock: clock}, q
}

func validEvent() app.EventInput {
	start := calNow.Add(72 * time.Hour)
	return app.EventInput{
		ClientEventID: "trip-42", Subject: "Flight to Oslo", Start: start, End: start.Add(2 * time.Hour),
		TimeZone: "W. Europe Standard Time", Location: "OSL", Body: "Booking ABC123\nSeat 3A",
		Attendees: []domain.Address{{Name: "Lee", Email: "Lee@Contoso.com"}}, SendInvitations: true,
	}
}

func TestRequestPutQueuesTheWrite(t *testing.T) {
	c, q := newCalRequests(t)
	in := validEvent()
	in.Start = in.Start.In(time.FixedZone("CET", 3600))
	req, err := c.RequestPut(context.Background(), calTenant, "ANN@contoso.com", in)
	if err != nil {
		t.Fatal(err)
	}
	if len(q.sent) != 1 {
		t.Fatalf("%d messages queued, want 1", len(q.sent))
	}
	var got domain.WriteRequest
	if err := json.Unmarshal(q.sent[0].Body, &got); err != nil {
		t.Fatal(err)
	}
	if got.ID == "" || got.ID != req.ID || got.TenantID != calTenant || got.Mailbox != calAnn || got.Op != domain.WriteUpsert ||
		!got.Notify || !got.RequestedAt.Equal(calNow) || got.ClientEventID != "trip-42" {
		t.Errorf("queued %+v", got)
	}
	if ev := got.Event; ev == nil || ev.Start.Location() != time.UTC || !ev.Start.Equal(in.Start) || ev.Attendees[0].Email != "lee@contoso.com" {
		t.Errorf("queued event %+v", got.Event)
	}
	if q.sent[0].DedupID != "" || q.sent[0].Delay != 0 {
		t.Errorf("message %+v: the calendar-writes queue is a standard queue", q.sent[0])
	}
	other, err := c.RequestPut(context.Background(), calTenant, calAnn, in)
	if err != nil || other.ID == req.ID {
		t.Errorf("a second request got id %q (%v); ids name retry executions and must differ", other.ID, err)
	}
}

func TestRequestDeleteQueuesTheDelete(t *testing.T) {
	c, q := newCalRequests(t)
	req, err := c.RequestDelete(context.Background(), calTenant, calAnn, "trip-42", true)
	if err != nil {
		t.Fatal(err)
	}
	var got domain.WriteRequest
	if err := json.Unmarshal(q.sent[0].Body, &got); err != nil {
		t.Fatal(err)
	}
	if got.Op != domain.WriteDelete || got.Event != nil || !got.Notify || got.ID != req.ID {
		t.Errorf("queued %+v", got)
	}
}

// Bad input gets an error naming the field, and nothing is queued.
func TestRequestPutRefusesBadInput(t *testing.T) {
	long := strings.Repeat("x", 256)
	for _, tc := range []struct {
		name    string
		tenant  string
		mailbox string
		change  func(*app.EventInput)
		code    domain.ErrorCode
		field   string
	}{
		{"client event id with a slash", calTenant, calAnn, func(in *app.EventInput) { in.ClientEventID = "trip/42" }, domain.CodeInvalid, "clientEventId"},
		{"empty client event id", calTenant, calAnn, func(in *app.EventInput) { in.ClientEventID = "" }, domain.CodeInvalid, "clientEventId"},
		{"client event id too long", calTenant, calAnn, func(in *app.EventInput) { in.ClientEventID = strings.Repeat("a", 129) }, domain.CodeInvalid, "clientEventId"},
		{"no subject", calTenant, calAnn, func(in *app.EventInput) { in.Subject = "  " }, domain.CodeInvalid, "subject"},
		{"subject too long", calTenant, calAnn, func(in *app.EventInput) { in.Subject = long }, domain.CodeInvalid, "subject"},
		{"control character in subject", calTenant, calAnn, func(in *app.EventInput) { in.Subject = "a\x00b" }, domain.CodeInvalid, "subject"},
		{"invalid UTF-8 in location", calTenant, calAnn, func(in *app.EventInput) { in.Location = "\xff" }, domain.CodeInvalid, "location"},
		{"body too large", calTenant, calAnn, func(in *app.EventInput) { in.Body = strings.Repeat("b", app.MaxEventBodyBytes+1) }, domain.CodeInvalid, "body"},
		{"end before start", calTenant, calAnn, func(in *app.EventInput) { in.End = in.Start.Add(-time.Minute) }, domain.CodeInvalid, "end"},
		{"end equals start", calTenant, calAnn, func(in *app.EventInput) { in.End = in.Start }, domain.CodeInvalid, "end"},
		{"no start", calTenant, calAnn, func(in *app.EventInput) { in.Start = time.Time{} }, domain.CodeInvalid, "start"},
		{"three years long", calTenant, calAnn, func(in *app.EventInput) { in.End = in.Start.AddDate(3, 0, 0) }, domain.CodeInvalid, "end"},
		{"time zone with markup", calTenant, calAnn, func(in *app.EventInput) { in.TimeZone = "<UTC>" }, domain.CodeInvalid, "timeZone"},
		{"attendee not an address", calTenant, calAnn, func(in *app.EventInput) { in.Attendees = []domain.Address{{Email: "lee"}} }, domain.CodeInvalid, "attendees.email"},
		{"attendee twice", calTenant, calAnn, func(in *app.EventInput) {
			in.Attendees = []domain.Address{{Email: "lee@contoso.com"}, {Email: "LEE@contoso.com"}}
		}, domain.CodeInvalid, "attendees.email"},
		{"too many attendees", calTenant, calAnn, func(in *app.EventInput) {
			for i := range app.MaxEventAttendees + 1 {
				in.Attendees = append(in.Attendees, domain.Address{Email: "a" + strings.Repeat("x", i%50) + string(rune('a'+i%26)) + "@contoso.com"})
			}
		}, domain.CodeInvalid, "attendees"},
		{"bad tenant id", "ACME!", calAnn, nil, domain.CodeInvalid, "id"},
		{"bad mailbox address", calTenant, "ann at contoso", nil, domain.CodeInvalid, "address"},
		{"unknown tenant", "globex", calAnn, nil, domain.CodeNotFound, ""},
		{"offboarded tenant", "gone-co", calAnn, nil, domain.CodeConflict, ""},
		{"mailbox not registered", calTenant, "carol@contoso.com", nil, domain.CodeNotFound, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, q := newCalRequests(t)
			in := validEvent()
			if tc.change != nil {
				tc.change(&in)
			}
			_, err := c.RequestPut(context.Background(), tc.tenant, tc.mailbox, in)
			var de *domain.Error
			if !errors.As(err, &de) || de.Code != tc.code || de.Field != tc.field {
				t.Fatalf("got %v, want code %s field %q", err, tc.code, tc.field)
			}
			if len(q.sent) != 0 {
				t.Errorf("bad input queued %d messages", len(q.sent))
			}
		})
	}
}

func TestRequestPutQueueUnavailable(t *testing.T) {
	c, q := newCalRequests(t)
	q.fail = errors.New("sqs: throttled")
	_, err := c.RequestPut(context.Background(), calTenant, calAnn, validEvent())
	if domain.ErrorCodeOf(err) != domain.CodeUnavailable {
		t.Fatalf("got %v, want unavailable", err)
	}
	if strings.Contains(err.Error(), "sqs") {
		t.Errorf("the client-facing message leaks the cause: %v", err)
	}
}
