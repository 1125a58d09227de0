package graphmailbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/graph"
	"github.com/mailbridge/mailbridge/shared/exchange/graphmailbox"
)

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

// fakeGraph answers a calendarView delta page of real Graph's shape
// (occurrences and exceptions of a series, not the master) and serves the
// master by id through $batch; it records the requests.
type fakeGraph struct {
	mu   sync.Mutex
	reqs []string
}

const deltaPage = `{
  "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(event)",
  "@odata.deltaLink": "%BASE%/users/alice%40contoso.com/calendarView/delta?$deltatoken=tok1",
  "value": [
    {"id": "occ-1", "type": "occurrence", "seriesMasterId": "master-1", "subject": "Standup", "start": {"dateTime": "2026-03-10T09:00:00.0000000", "timeZone": "UTC"}, "end": {"dateTime": "2026-03-10T09:15:00.0000000", "timeZone": "UTC"}},
    {"id": "exc-1", "type": "exception", "seriesMasterId": "master-1", "subject": "Standup (moved)", "start": {"dateTime": "2026-03-11T10:00:00.0000000", "timeZone": "UTC"}, "end": {"dateTime": "2026-03-11T10:15:00.0000000", "timeZone": "UTC"}},
    {"id": "single-1", "@odata.etag": "W/\"CK-single\"", "type": "singleInstance", "subject": "Dentist", "originalStartTimeZone": "Pacific Standard Time",
     "start": {"dateTime": "2026-03-12T16:00:00.0000000", "timeZone": "UTC"}, "end": {"dateTime": "2026-03-12T17:00:00.0000000", "timeZone": "UTC"},
     "organizer": {"emailAddress": {"name": "Alice", "address": "Alice@Contoso.com"}}},
    {"id": "occ-gone", "@removed": {"reason": "deleted"}}
  ]
}`

const masterBody = `{"id": "master-1", "changeKey": "CK-master", "type": "seriesMaster", "subject": "Standup", "originalStartTimeZone": "W. Europe Standard Time",
  "start": {"dateTime": "2026-03-02T09:00:00.0000000", "timeZone": "UTC"}, "end": {"dateTime": "2026-03-02T09:15:00.0000000", "timeZone": "UTC"},
  "recurrence": {"pattern": {"type": "daily", "interval": 1}, "range": {"type": "noEnd", "startDate": "2026-03-02"}}}`

func (f *fakeGraph) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.reqs = append(f.reqs, r.Method+" "+r.URL.Path)
	f.mu.Unlock()
	base := "http://" + r.Host + "/v1.0"
	w.Header().Set("Content-Type", "application/json")
	switch {
	case strings.HasSuffix(r.URL.Path, "/calendarView/delta"):
		io.WriteString(w, strings.ReplaceAll(deltaPage, "%BASE%", base))
	case r.URL.Path == "/v1.0/$batch":
		var in struct {
			Requests []struct{ ID, URL string }
		}
		_ = json.NewDecoder(r.Body).Decode(&in)
		var out []map[string]any
		for _, q := range in.Requests {
			if strings.Contains(q.URL, "/events/master-1") {
				out = append(out, map[string]any{"id": q.ID, "status": 200, "body": json.RawMessage(masterBody)})
			} else {
				out = append(out, map[string]any{"id": q.ID, "status": 404, "body": map[string]any{"error": map[string]any{"code": "ErrorItemNotFound", "message": "gone"}}})
			}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"responses": out})
	default:
		w.WriteHeader(404)
		io.WriteString(w, `{"error":{"code":"ResourceNotFound","message":"no"}}`)
	}
}

// newFakeAccess builds an Access over an httptest server with a static
// token.
func newFakeAccess(t *testing.T, h http.Handler, now time.Time) (domain.MailboxAccess, *httptest.Server) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	cl, err := graph.New(graph.Config{BaseURL: srv.URL + "/v1.0", Auth: graph.StaticToken("test-token")})
	if err != nil {
		t.Fatal(err)
	}
	return graphmailbox.NewAccess(cl, graphmailbox.Options{Clock: fixedClock(now)}, nil), srv
}

type fixedClock time.Time

func (c fixedClock) Now() time.Time { return time.Time(c) }

func TestRecurringSeriesReportMasters(t *testing.T) {
	f := &fakeGraph{}
	a, _ := newFakeAccess(t, f, time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC))
	ctx := context.Background()
	ref := domain.MailboxRef{Address: "alice@contoso.com"}
	page, err := a.SyncItems(ctx, ref, "calendar", "", 50)
	if err != nil {
		t.Fatal(err)
	}
	// The delta page's own items first, then its series master, read by
	// id with the page (as the round's last page: an update, as the next
	// round's would be).
	want := []domain.ItemChangeRef{
		{Kind: domain.ChangeCreate, ItemID: "single-1", ChangeKey: "CK-single"},
		{Kind: domain.ChangeDelete, ItemID: "occ-gone"},
		{Kind: domain.ChangeUpdate, ItemID: "master-1", ChangeKey: "CK-master"},
	}
	if !page.Done || len(page.Changes) != len(want) || !strings.HasPrefix(page.State, "n|") {
		t.Fatalf("page = %+v", page)
	}
	for i := range want {
		if page.Changes[i] != want[i] {
			t.Errorf("change %d = %+v, want %+v", i, page.Changes[i], want[i])
		}
	}
	// The sync use case fetches a page's items before it reads the next.
	items, err := a.GetItems(ctx, ref, domain.KindCalendar, []string{"single-1"})
	if err != nil {
		t.Fatal(err)
	}
	more, err := a.GetItems(ctx, ref, domain.KindCalendar, []string{"master-1"})
	if err != nil {
		t.Fatal(err)
	}
	items = append(items, more...)
	byID := map[string]domain.Item{}
	for _, it := range items {
		byID[it.ID] = it
	}
	if m := byID["master-1"]; !m.IsRecurring || m.ChangeKey != "CK-master" || m.WindowsTimeZone != "W. Europe Standard Time" || m.TimeZone != "Europe/Berlin" || m.Start.Day() != 2 {
		t.Errorf("master = %+v", m)
	}
	if s := byID["single-1"]; s.Organizer == nil || s.Organizer.Email != "alice@contoso.com" || s.WindowsTimeZone != "Pacific Standard Time" || s.TimeZone != "America/Los_Angeles" {
		t.Errorf("single = %+v", s)
	}
	// The single instance came from the page, the master from one batch.
	var batches, gets int
	for _, r := range f.reqs {
		switch {
		case r == "POST /v1.0/$batch":
			batches++
		case strings.HasPrefix(r, "GET ") && !strings.HasSuffix(r, "/delta"):
			gets++
		}
	}
	if batches != 1 || gets != 0 {
		t.Errorf("requests %v", f.reqs)
	}
	t.Run("a resumed job fetches by id; items gone are skipped", func(t *testing.T) {
		items, err := a.GetItems(ctx, ref, domain.KindCalendar, []string{"single-1", "master-1"})
		if err != nil || len(items) != 1 || items[0].ID != "master-1" {
			t.Fatalf("GetItems = %+v, %v", items, err)
		}
	})
}

func TestItemStates(t *testing.T) {
	f := &fakeGraph{}
	now := time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC)
	a, srv := newFakeAccess(t, f, now)
	ctx := context.Background()
	ref := domain.MailboxRef{Address: "alice@contoso.com"}
	for _, c := range []struct {
		name, state, code string
	}{
		{"not ours", "AAQkSyncState==", "InvalidSyncState"},
		{"another endpoint", "n||https://graph.microsoft.us/v1.0/users/a/messages/delta?$deltatoken=x", "EndpointChanged"},
		{"calendar window too old", "n|" + itoa(now.Add(-40*24*time.Hour).Unix()) + "|" + srv.URL + "/v1.0/users/a/calendarView/delta?$deltatoken=x", "CalendarWindowExpired"},
	} {
		t.Run(c.name, func(t *testing.T) {
			folder := "inbox-id"
			if strings.Contains(c.state, "calendarView") {
				folder = "calendar"
			}
			_, err := a.SyncItems(ctx, ref, folder, c.state, 10)
			var ae *domain.AccessError
			if !errors.As(err, &ae) || ae.Kind != domain.AccessSyncStateInvalid || ae.Code != c.code {
				t.Fatalf("err = %v", err)
			}
		})
	}
	t.Run("a fresh window is remembered in whole seconds", func(t *testing.T) {
		page, err := a.SyncItems(ctx, ref, "calendar", "", 10)
		if err != nil {
			t.Fatal(err)
		}
		wantStart := now.Add(-graphmailbox.DefaultCalendarBack).Unix()
		// The page's series master was read with it.
		if !strings.HasPrefix(page.State, "n|"+itoa(wantStart)+"|"+srv.URL) {
			t.Errorf("state = %q", page.State)
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
