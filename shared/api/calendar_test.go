package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
)

// calendarQueue records what the handlers queue (the SQS and embedded
// queue adapters have their own tests).
type calendarQueue struct {
	sent []domain.QueueMessage
	fail error
}

func (q *calendarQueue) SendBatch(_ context.Context, msgs []domain.QueueMessage) error {
	if q.fail != nil {
		return q.fail
	}
	q.sent = append(q.sent, msgs...)
	return nil
}

// calendarEnv is the API with the calendar routes, a tenant "acme" with
// mailbox ann@contoso.com, and an offboarded tenant "gone-co".
func calendarEnv(t *testing.T, q domain.Queue) *env {
	t.Helper()
	e := newEnv(t, func(d *Deps) { d.CalendarQueue = q })
	ctx := context.Background()
	for _, tn := range []domain.Tenant{
		{ID: "acme", AccessMode: domain.AccessImpersonation, Status: domain.TenantActive},
		{ID: "gone-co", AccessMode: domain.AccessImpersonation, Status: domain.TenantOffboarded},
	} {
		if err := e.store.CreateTenant(ctx, tn); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.store.AddMailbox(ctx, domain.Mailbox{TenantID: "acme", Address: "ann@contoso.com", Status: domain.MailboxOK}); err != nil {
		t.Fatal(err)
	}
	return e
}

const eventBody = `{"clientEventId":"trip-42","subject":"Flight to Oslo","start":"2026-12-01T09:00:00+01:00","end":"2026-12-01T11:00:00+01:00",` +
	`"timeZone":"W. Europe Standard Time","location":"OSL","body":"Booking ABC123","attendees":[{"name":"Lee","email":"Lee@contoso.com"}],"sendInvitations":true}`

// checkDeclared checks an answer is one calendarRoutes declares (the
// list the OpenAPI document must carry for these operations).
func checkDeclared(t *testing.T, method, path string, status int) {
	t.Helper()
	for _, rt := range calendarRoutes(nil) {
		if rt.method == method && rt.path == path {
			if !slices.Contains(rt.statuses, status) {
				t.Errorf("%s %s answered %d, not among its declared statuses %v", method, path, status, rt.statuses)
			}
			return
		}
	}
	if status != http.StatusMethodNotAllowed {
		t.Errorf("%s %s is not a calendar route", method, path)
	}
}

func TestPutEventQueuesTheWrite(t *testing.T) {
	q := &calendarQueue{}
	e := calendarEnv(t, q)
	w := e.do(req{method: "POST", path: "/tenants/acme/mailboxes/ANN@contoso.com/events", body: eventBody, header: map[string]string{"X-Request-Id": "callers-own-id"}})
	if w.Code != http.StatusAccepted {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	var out map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	// One request id: the header names the write the body names.
	if got := w.Header().Get("X-Request-Id"); got != out["requestId"] {
		t.Errorf("X-Request-Id %q, body requestId %v: want one id", got, out["requestId"])
	}
	checkDeclared(t, "POST", eventsPath, http.StatusAccepted)
	if len(q.sent) != 1 {
		t.Fatalf("%d messages queued", len(q.sent))
	}
	var wr domain.WriteRequest
	if err := json.Unmarshal(q.sent[0].Body, &wr); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"requestId": wr.ID, "state": "pending", "operation": "upsert", "tenantId": "acme", "mailbox": "ann@contoso.com", "clientEventId": "trip-42"}
	for k, v := range want {
		if out[k] != v {
			t.Errorf("answer %s = %v, want %v", k, out[k], v)
		}
	}
	if wr.ID == "" || wr.Event == nil || !wr.Event.Start.Equal(time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)) || !wr.Notify ||
		wr.Event.Attendees[0].Email != "lee@contoso.com" || wr.Event.TimeZone != "W. Europe Standard Time" {
		t.Errorf("queued %+v (event %+v)", wr, wr.Event)
	}
}

// A write names its zone IANA's way or Windows'; Exchange gets the Windows id.
func TestPutEventTakesIANAZones(t *testing.T) {
	for zone, want := range map[string]string{
		"Europe/Berlin":           "W. Europe Standard Time",
		"America/New_York":        "Eastern Standard Time",
		"Europe/Amsterdam":        "Central Europe Standard Time", // no Windows id of its own: the first (sorted) with its rules
		"Tokyo Standard Time":     "Tokyo Standard Time",
		"W. Europe Standard Time": "W. Europe Standard Time",
	} {
		t.Run(zone, func(t *testing.T) {
			q := &calendarQueue{}
			e := calendarEnv(t, q)
			e.must(req{method: "POST", path: "/tenants/acme/mailboxes/ann@contoso.com/events", body: strings.Replace(eventBody, `"W. Europe Standard Time"`, strconv.Quote(zone), 1)}, http.StatusAccepted)
			var wr domain.WriteRequest
			if len(q.sent) != 1 || json.Unmarshal(q.sent[0].Body, &wr) != nil || wr.Event == nil {
				t.Fatalf("queued %+v", q.sent)
			}
			if wr.Event.TimeZone != want {
				t.Errorf("%s queued as %q, want %q", zone, wr.Event.TimeZone, want)
			}
		})
	}
}

func TestDeleteEventQueuesTheDelete(t *testing.T) {
	q := &calendarQueue{}
	e := calendarEnv(t, q)
	out := e.must(req{method: "DELETE", path: "/tenants/acme/mailboxes/ann@contoso.com/events/trip-42?sendCancellations=true"}, http.StatusAccepted)
	checkDeclared(t, "DELETE", eventPath, http.StatusAccepted)
	var wr domain.WriteRequest
	if len(q.sent) != 1 || json.Unmarshal(q.sent[0].Body, &wr) != nil {
		t.Fatalf("queued %+v", q.sent)
	}
	if wr.Op != domain.WriteDelete || wr.ClientEventID != "trip-42" || !wr.Notify || out["requestId"] != wr.ID || out["operation"] != "delete" {
		t.Errorf("queued %+v, answered %v", wr, out)
	}
}

// Bad input gets a 4xx naming what to fix, and nothing is queued.
func TestCalendarRoutesRefuseBadInput(t *testing.T) {
	withField := func(field, value string) string {
		var m map[string]any
		_ = json.Unmarshal([]byte(eventBody), &m)
		var v any
		_ = json.Unmarshal([]byte(value), &v)
		m[field] = v
		b, _ := json.Marshal(m)
		return string(b)
	}
	const events = "/tenants/acme/mailboxes/ann@contoso.com/events"
	for _, tc := range []struct {
		name   string
		r      req
		status int
		field  string
	}{
		{"not JSON", req{method: "POST", path: events, body: `{"clientEventId":`}, 400, ""},
		{"unknown field", req{method: "POST", path: events, body: withField("colour", `"red"`)}, 400, "colour"},
		{"unknown attendee field", req{method: "POST", path: events, body: withField("attendees", `[{"email":"lee@contoso.com","role":"chair"}]`)}, 400, "role"},
		{"subject not a string", req{method: "POST", path: events, body: withField("subject", `5`)}, 400, "subject"},
		{"start without a zone", req{method: "POST", path: events, body: withField("start", `"2026-12-01T09:00:00"`)}, 400, "start"},
		{"start not a time", req{method: "POST", path: events, body: withField("start", `"tomorrow"`)}, 400, "start"},
		{"end before start", req{method: "POST", path: events, body: withField("end", `"2026-12-01T08:00:00+01:00"`)}, 400, "end"},
		{"no end", req{method: "POST", path: events, body: withField("end", `""`)}, 400, "end"},
		{"bad client event id", req{method: "POST", path: events, body: withField("clientEventId", `"trip 42"`)}, 400, "clientEventId"},
		{"markup time zone", req{method: "POST", path: events, body: withField("timeZone", `"<script>"`)}, 400, "timeZone"},
		{"unknown IANA zone", req{method: "POST", path: events, body: withField("timeZone", `"Europe/Atlantis"`)}, 400, "timeZone"},
		{"unknown Windows zone", req{method: "POST", path: events, body: withField("timeZone", `"W. Europe Time"`)}, 400, "timeZone"},
		{"bad attendee", req{method: "POST", path: events, body: withField("attendees", `[{"email":"lee"}]`)}, 400, "attendees.email"},
		{"oversized body", req{method: "POST", path: events, body: withField("body", `"`+strings.Repeat("b", MaxEventRequestBytes)+`"`)}, 413, ""},
		{"event body over the event limit", req{method: "POST", path: events, body: withField("body", `"`+strings.Repeat("b", app.MaxEventBodyBytes+1)+`"`)}, 400, "body"},
		{"wrong content type", req{method: "POST", path: events, body: eventBody, header: map[string]string{"Content-Type": "text/plain"}}, 415, ""},
		{"unknown query parameter", req{method: "POST", path: events + "?dryRun=1", body: eventBody}, 400, "dryRun"},
		{"bad tenant id", req{method: "POST", path: "/tenants/ACME!/mailboxes/ann@contoso.com/events", body: eventBody}, 400, "id"},
		{"unknown tenant", req{method: "POST", path: "/tenants/globex/mailboxes/ann@contoso.com/events", body: eventBody}, 404, ""},
		{"offboarded tenant", req{method: "POST", path: "/tenants/gone-co/mailboxes/ann@contoso.com/events", body: eventBody}, 409, ""},
		{"mailbox of no tenant", req{method: "POST", path: "/tenants/acme/mailboxes/carol@contoso.com/events", body: eventBody}, 404, ""},
		{"malformed mailbox", req{method: "POST", path: "/tenants/acme/mailboxes/carol/events", body: eventBody}, 400, "address"},
		{"delete: bad client event id", req{method: "DELETE", path: events + "/-trip"}, 400, "clientEventId"},
		{"delete: bad flag", req{method: "DELETE", path: events + "/trip-42?sendCancellations=maybe"}, 400, "sendCancellations"},
		{"delete: unknown mailbox", req{method: "DELETE", path: "/tenants/acme/mailboxes/carol@contoso.com/events/trip-42"}, 404, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := &calendarQueue{}
			e := calendarEnv(t, q)
			w := e.do(tc.r)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			path := eventsPath
			if tc.r.method == "DELETE" {
				path = eventPath
			}
			checkDeclared(t, tc.r.method, path, w.Code)
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
}

func TestCalendarRoutesUnavailable(t *testing.T) {
	for _, tc := range []struct {
		name string
		q    domain.Queue
	}{
		{"queue failing", &calendarQueue{fail: errors.New("sqs: AWS.SimpleQueueService.NonExistentQueue")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := calendarEnv(t, tc.q)
			w := e.do(req{method: "POST", path: "/tenants/acme/mailboxes/ann@contoso.com/events", body: eventBody})
			if w.Code != http.StatusServiceUnavailable || strings.Contains(w.Body.String(), "sqs") {
				t.Errorf("status %d: %s; want 503 without the cause", w.Code, w.Body)
			}
			checkDeclared(t, "POST", eventsPath, w.Code)
		})
	}
}

// Without a calendar queue the routes are not served.
func TestCalendarRoutesNeedTheQueue(t *testing.T) {
	e := newEnv(t)
	w := e.do(req{method: "POST", path: "/tenants/acme/mailboxes/ann@contoso.com/events", body: eventBody})
	if w.Code != http.StatusNotFound {
		t.Fatalf("POST events without a calendar queue: got %d %s, want 404", w.Code, w.Body)
	}
}

func TestCalendarRoutesWrongMethod(t *testing.T) {
	e := calendarEnv(t, &calendarQueue{})
	w := e.do(req{method: "PUT", path: "/tenants/acme/mailboxes/ann@contoso.com/events/trip-42", body: eventBody})
	if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "DELETE, GET" {
		t.Errorf("status %d, Allow %q: %s", w.Code, w.Header().Get("Allow"), w.Body)
	}
}

// GET .../events/{clientEventId} tracks the writes of one client event:
// each accepted request in the history under the requestId its 202 gave,
// numbered in the order accepted; unknown events are 404, a request that
// could not be queued is failed with reason code not_queued.
func TestEventWriteTracking(t *testing.T) {
	q := &calendarQueue{}
	e := calendarEnv(t, q)
	const track = "/tenants/acme/mailboxes/ann@contoso.com/events/trip-42"
	put := e.must(req{method: "POST", path: "/tenants/acme/mailboxes/ann@contoso.com/events", body: eventBody}, http.StatusAccepted)
	got := e.must(req{method: "GET", path: track}, http.StatusOK)
	hist, _ := got["history"].([]any)
	if got["state"] != "pending" || got["requestId"] != put["requestId"] || got["operation"] != "upsert" || len(hist) != 1 {
		t.Fatalf("after the POST: %v", got)
	}
	del := e.must(req{method: "DELETE", path: track}, http.StatusAccepted)
	q.fail = errors.New("sqs: unavailable")
	e.must(req{method: "DELETE", path: track}, http.StatusServiceUnavailable)
	got = e.must(req{method: "GET", path: "/tenants/acme/mailboxes/ANN@contoso.com/events/trip-42"}, http.StatusOK)
	hist, _ = got["history"].([]any)
	if len(hist) != 3 || got["state"] != "failed" || got["reasonCode"] != "not_queued" {
		t.Fatalf("after a DELETE and a DELETE that could not be queued: %v", got)
	}
	for i, want := range []struct {
		id, op, outcome string
	}{{put["requestId"].(string), "upsert", "pending"}, {del["requestId"].(string), "delete", "pending"}, {"", "delete", "failed"}} {
		h := hist[i].(map[string]any)
		if (want.id != "" && h["requestId"] != want.id) || h["operation"] != want.op || h["state"] != want.outcome || h["seq"] != float64(i+1) {
			t.Errorf("history[%d] = %v, want %+v, seq %d", i, h, want, i+1)
		}
	}
	for _, tc := range []struct {
		path   string
		status int
	}{
		{"/tenants/acme/mailboxes/ann@contoso.com/events/trip-43", http.StatusNotFound},
		{"/tenants/acme/mailboxes/bob@contoso.com/events/trip-42", http.StatusNotFound},
		{"/tenants/nobody/mailboxes/ann@contoso.com/events/trip-42", http.StatusNotFound},
		{"/tenants/acme/mailboxes/ann@contoso.com/events/-bad", http.StatusBadRequest},
		{track + "?verbose=1", http.StatusBadRequest},
	} {
		w := e.do(req{method: "GET", path: tc.path})
		if w.Code != tc.status {
			t.Errorf("GET %s: %d %s, want %d", tc.path, w.Code, w.Body, tc.status)
		}
		checkDeclared(t, "GET", eventPath, w.Code)
	}
}

// Idempotency-Key on writes: the same key and request replay the first
// 202 and queue nothing; the key with another request (another body,
// another event, another operation) is 409 and queues nothing; another
// key is a new write.
func TestCalendarWritesHonourIdempotencyKey(t *testing.T) {
	q := &calendarQueue{}
	e := calendarEnv(t, q)
	const events = "/tenants/acme/mailboxes/ann@contoso.com/events"
	key := map[string]string{"Idempotency-Key": "book-1"}
	first := e.do(req{method: "POST", path: events, body: eventBody, header: key})
	if first.Code != http.StatusAccepted {
		t.Fatalf("first POST: %d %s", first.Code, first.Body)
	}
	again := e.do(req{method: "POST", path: events, body: eventBody, header: key})
	if again.Code != http.StatusAccepted || again.Body.String() != first.Body.String() || again.Header().Get("Idempotent-Replayed") != "true" {
		t.Errorf("replay: %d %q %s, want the first answer %s", again.Code, again.Header().Get("Idempotent-Replayed"), again.Body, first.Body)
	}
	if len(q.sent) != 1 {
		t.Fatalf("%d messages queued after a replay, want 1", len(q.sent))
	}
	for _, tc := range []struct {
		name string
		r    req
	}{
		{"another body", req{method: "POST", path: events, body: strings.Replace(eventBody, "Oslo", "Bergen", 1), header: key}},
		{"another mailbox", req{method: "POST", path: "/tenants/acme/mailboxes/bob@contoso.com/events", body: eventBody, header: key}},
		{"a delete", req{method: "DELETE", path: events + "/trip-42", header: key}},
	} {
		w := e.do(tc.r)
		if w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), "Idempotency-Key") {
			t.Errorf("%s under the same key: %d %s, want 409 naming Idempotency-Key", tc.name, w.Code, w.Body)
		}
	}
	if len(q.sent) != 1 {
		t.Fatalf("%d messages queued, want still 1", len(q.sent))
	}
	delKey := map[string]string{"Idempotency-Key": "cancel-1"}
	d1 := e.must(req{method: "DELETE", path: events + "/trip-42", header: delKey}, http.StatusAccepted)
	d2 := e.must(req{method: "DELETE", path: events + "/trip-42", header: delKey}, http.StatusAccepted)
	if d1["requestId"] != d2["requestId"] || len(q.sent) != 2 {
		t.Errorf("delete replay: %v then %v, %d queued; want one delete", d1, d2, len(q.sent))
	}
	got := e.must(req{method: "GET", path: events + "/trip-42"}, http.StatusOK)
	if hist, _ := got["history"].([]any); len(hist) != 2 {
		t.Errorf("history %v, want the one upsert and the one delete", got["history"])
	}
	if w := e.do(req{method: "POST", path: events, body: eventBody, header: map[string]string{"Idempotency-Key": "bad key!"}}); w.Code != http.StatusBadRequest {
		t.Errorf("malformed key: %d, want 400", w.Code)
	}
}

// Without a stored answer (it expired, or was never saved), a keyed
// request sent again is the same request: the write state accepts its id
// once, so the event gets one write.
func TestKeyedWriteAcceptedOnce(t *testing.T) {
	q := &calendarQueue{}
	e := calendarEnv(t, q)
	const events = "/tenants/acme/mailboxes/ann@contoso.com/events"
	key := map[string]string{"Idempotency-Key": "book-2"}
	e.srv.idemTTL = -time.Second // stored answers expire at once (the store's clock stands still)
	first := e.must(req{method: "POST", path: events, body: eventBody, header: key}, http.StatusAccepted)
	second := e.must(req{method: "POST", path: events, body: eventBody, header: key}, http.StatusAccepted)
	if len(q.sent) != 2 {
		t.Fatalf("%d messages queued, want the request queued again (no stored answer to replay)", len(q.sent))
	}
	if first["requestId"] != second["requestId"] {
		t.Errorf("request ids %v and %v, want the same request", first["requestId"], second["requestId"])
	}
	got := e.must(req{method: "GET", path: events + "/trip-42"}, http.StatusOK)
	if hist, _ := got["history"].([]any); len(hist) != 1 {
		t.Errorf("history %v, want one request", got["history"])
	}
}

// The tracking answer for each state of the latest request: written
// upserts name the Exchange item and change key, retrying says when the
// next attempt comes, failed gives the reason code.
func TestEventWriteTrackingStates(t *testing.T) {
	at := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		last domain.WriteRecord
		want map[string]any
	}{
		{"written upsert", domain.WriteRecord{Op: domain.WriteUpsert, Status: domain.WriteWritten, Result: domain.EventUpdated, Attempts: 1},
			map[string]any{"state": "written", "itemId": "AAMk-1", "changeKey": "CQAA-7", "attempts": float64(1)}},
		{"written delete", domain.WriteRecord{Op: domain.WriteDelete, Status: domain.WriteWritten, Result: domain.EventDeleted, Attempts: 1},
			map[string]any{"state": "written", "itemId": nil, "changeKey": nil}},
		{"retrying", domain.WriteRecord{Op: domain.WriteUpsert, Status: domain.WriteRetrying, Attempts: 2, NextAttemptAt: at.Add(24 * time.Hour), ReasonCode: "throttled", Reason: "throttled (ErrorServerBusy)"},
			map[string]any{"state": "retrying", "attempts": float64(2), "nextAttemptAt": "2026-11-24T08:00:00Z", "reasonCode": "throttled", "itemId": nil}},
		{"failed", domain.WriteRecord{Op: domain.WriteDelete, Status: domain.WriteFailed, Attempts: 1, ReasonCode: "not_found", Reason: "not_found: no event"},
			map[string]any{"state": "failed", "reasonCode": "not_found", "nextAttemptAt": nil}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := calendarEnv(t, &calendarQueue{})
			_, err := e.store.UpdateWriteState(context.Background(), "acme", "ann@contoso.com", "trip-42", func(st *domain.WriteState) error {
				st.LastSeq, st.AppliedSeq, st.ItemID, st.ChangeKey = 2, 1, "AAMk-1", "CQAA-7"
				first := domain.WriteRecord{RequestID: "r1", Seq: 1, Op: domain.WriteUpsert, AcceptedAt: at, Status: domain.WriteWritten, Result: domain.EventCreated, Attempts: 1, UpdatedAt: at}
				last := tc.last
				last.RequestID, last.Seq, last.AcceptedAt, last.UpdatedAt = "r2", 2, at, at
				st.Requests = []domain.WriteRecord{first, last}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			got := e.must(req{method: "GET", path: "/tenants/acme/mailboxes/ann@contoso.com/events/trip-42"}, http.StatusOK)
			if got["requestId"] != "r2" || len(got["history"].([]any)) != 2 {
				t.Errorf("answer %v: want the latest request r2 and both in the history", got)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s = %v, want %v (answer %v)", k, got[k], v, got)
				}
			}
		})
	}
}
