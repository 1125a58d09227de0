package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// POST .../events/{clientEventId}/end: ending a meeting now is a calendar
// write (queued, numbered, tracked); it is refused with 409 when the event
// as its accepted requests leave it has not started or has already ended,
// and nothing is then queued or recorded.
func TestEndEventQueuesTheEnd(t *testing.T) {
	const (
		events = "/tenants/acme/mailboxes/ann@contoso.com/events"
		end    = events + "/trip-42/end"
	)
	putAt := func(e *env, id string, start, stop time.Time) {
		t.Helper()
		body := `{"clientEventId":"` + id + `","subject":"Standup","start":"` + start.Format(time.RFC3339) + `","end":"` + stop.Format(time.RFC3339) + `"}`
		e.must(req{method: "POST", path: events, body: body}, http.StatusAccepted)
	}
	// testNow is 09:00:00: a running meeting 08:30-09:30 ends at 09:00.
	q := &calendarQueue{}
	e := calendarEnv(t, q)
	putAt(e, "trip-42", testNow.Add(-30*time.Minute), testNow.Add(30*time.Minute))
	out := e.must(req{method: "POST", path: end}, http.StatusAccepted)
	checkDeclared(t, "POST", eventPath+"/end", http.StatusAccepted)
	var wr domain.WriteRequest
	if len(q.sent) != 2 || json.Unmarshal(q.sent[1].Body, &wr) != nil {
		t.Fatalf("queued %d messages", len(q.sent))
	}
	if wr.Op != domain.WriteEnd || !wr.EndAt.Equal(testNow) || wr.Seq != 2 || wr.Event != nil || out["operation"] != "end" || out["requestId"] != wr.ID {
		t.Fatalf("queued %+v, answered %v", wr, out)
	}
	got := e.must(req{method: "GET", path: events + "/trip-42"}, http.StatusOK)
	if got["state"] != "pending" || got["operation"] != "end" || got["requestId"] != wr.ID {
		t.Errorf("tracked %v, want the end pending", got)
	}

	// Ended at 09:00 as accepted: a second end is refused.
	w := e.do(req{method: "POST", path: end})
	if w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), "already ended") {
		t.Errorf("second end: %d %s, want 409 already ended", w.Code, w.Body)
	}
	// Not started: 09:00 is its start, or it starts later.
	for _, start := range []time.Time{testNow, testNow.Add(time.Hour)} {
		putAt(e, "trip-43", start, start.Add(time.Hour))
		w := e.do(req{method: "POST", path: events + "/trip-43/end"})
		if w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), "not started") {
			t.Errorf("end of an event starting %s: %d %s, want 409 not started", start, w.Code, w.Body)
		}
	}
	// An update accepted after it moved the event: the end is checked
	// against that, not what was written first.
	putAt(e, "trip-44", testNow.Add(-time.Hour), testNow.Add(time.Hour))
	putAt(e, "trip-44", testNow.Add(time.Hour), testNow.Add(2*time.Hour))
	if w := e.do(req{method: "POST", path: events + "/trip-44/end"}); w.Code != http.StatusConflict {
		t.Errorf("end after a move to later: %d %s, want 409", w.Code, w.Body)
	}
	// Deleted: nothing to end.
	putAt(e, "trip-45", testNow.Add(-time.Hour), testNow.Add(time.Hour))
	e.must(req{method: "DELETE", path: events + "/trip-45"}, http.StatusAccepted)
	if w := e.do(req{method: "POST", path: events + "/trip-45/end"}); w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), "deleted") {
		t.Errorf("end after a delete: %d %s, want 409", w.Code, w.Body)
	}
	if len(q.sent) != 8 {
		t.Errorf("%d messages queued, want 7 writes and the one end accepted", len(q.sent))
	}
	st, err := e.store.GetWriteState(t.Context(), "acme", "ann@contoso.com", "trip-42")
	if err != nil || st.LastSeq != 2 {
		t.Errorf("the refused end was recorded: lastSeq %d (%v)", st.LastSeq, err)
	}
}

// Hostile and wrong input on the end route: a JSON 4xx, nothing queued.
func TestEndEventRefusesBadInput(t *testing.T) {
	const events = "/tenants/acme/mailboxes/ann@contoso.com/events"
	for _, tc := range []struct {
		name   string
		r      req
		status int
		field  string
	}{
		{"never written", req{method: "POST", path: events + "/trip-99/end"}, 404, ""},
		{"bad client event id", req{method: "POST", path: events + "/-trip/end"}, 400, "clientEventId"},
		{"over-long client event id", req{method: "POST", path: events + "/" + strings.Repeat("a", 129) + "/end"}, 400, "clientEventId"},
		{"encoded slash in client event id", req{method: "POST", path: events + "/trip%2F42/end"}, 400, "clientEventId"},
		{"unknown query parameter", req{method: "POST", path: events + "/trip-42/end?at=2026-12-01T09:00:00Z"}, 400, "at"},
		{"bad key", req{method: "POST", path: events + "/trip-42/end", header: map[string]string{"Idempotency-Key": "a b"}}, 400, "Idempotency-Key"},
		{"bad tenant id", req{method: "POST", path: "/tenants/ACME!/mailboxes/ann@contoso.com/events/trip-42/end"}, 400, "id"},
		{"unknown tenant", req{method: "POST", path: "/tenants/globex/mailboxes/ann@contoso.com/events/trip-42/end"}, 404, ""},
		{"offboarded tenant", req{method: "POST", path: "/tenants/gone-co/mailboxes/ann@contoso.com/events/trip-42/end"}, 409, ""},
		{"mailbox of no tenant", req{method: "POST", path: "/tenants/acme/mailboxes/carol@contoso.com/events/trip-42/end"}, 404, ""},
		{"malformed mailbox", req{method: "POST", path: "/tenants/acme/mailboxes/carol/events/trip-42/end"}, 400, "address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := &calendarQueue{}
			e := calendarEnv(t, q)
			w := e.do(tc.r)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			checkDeclared(t, "POST", eventPath+"/end", w.Code)
			var body errorBody
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Error.Message == "" {
				t.Fatalf("answer is not a JSON error: %s", w.Body)
			}
			if body.Error.Field != tc.field {
				t.Errorf("error field %q, want %q (%s)", body.Error.Field, tc.field, body.Error.Message)
			}
			if len(q.sent) != 0 {
				t.Errorf("bad input queued %d messages", len(q.sent))
			}
		})
	}
	e := calendarEnv(t, &calendarQueue{})
	if w := e.do(req{method: "GET", path: events + "/trip-42/end"}); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET .../end: %d, want 405", w.Code)
	}
}

// Idempotency-Key on the end: the same key replays the first 202 and
// queues nothing more.
func TestEndEventHonoursIdempotencyKey(t *testing.T) {
	q := &calendarQueue{}
	e := calendarEnv(t, q)
	body := `{"clientEventId":"trip-42","subject":"Standup","start":"2026-11-23T08:30:00Z","end":"2026-11-23T09:30:00Z"}`
	e.must(req{method: "POST", path: "/tenants/acme/mailboxes/ann@contoso.com/events", body: body}, http.StatusAccepted)
	key := map[string]string{"Idempotency-Key": "end-1"}
	first := e.must(req{method: "POST", path: "/tenants/acme/mailboxes/ann@contoso.com/events/trip-42/end", header: key}, http.StatusAccepted)
	w := e.do(req{method: "POST", path: "/tenants/acme/mailboxes/ann@contoso.com/events/trip-42/end", header: key})
	if w.Code != http.StatusAccepted || w.Header().Get("Idempotent-Replayed") != "true" || !strings.Contains(w.Body.String(), first["requestId"].(string)) {
		t.Errorf("replay: %d %s", w.Code, w.Body)
	}
	if len(q.sent) != 2 {
		t.Errorf("%d messages queued, want the put and one end", len(q.sent))
	}
}
