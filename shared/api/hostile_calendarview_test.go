package api

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
)

// countingViews is a CalendarViewConnector that counts the views asked
// of Exchange and answers none.
type countingViews struct{ calls atomic.Int64 }

func (c *countingViews) ConnectCalendarView(context.Context, domain.Tenant, domain.Credential) (domain.CalendarViewer, error) {
	return c, nil
}

func (c *countingViews) CalendarView(context.Context, domain.MailboxRef, time.Time, time.Time, int) (domain.CalendarViewPage, error) {
	c.calls.Add(1)
	return domain.CalendarViewPage{}, nil
}

// TestCalendarViewHostile: a bad window, address or tenant gets a JSON
// 4xx naming the problem before Exchange is called, and changes nothing;
// a Graph tenant, on a deployment with no Graph calendar view adapter,
// gets a 501 saying the view is served for EWS tenants only.
// Each input counts in the hostile-input suite's summary.
func TestCalendarViewHostile(t *testing.T) {
	views := &countingViews{}
	e := newEnv(t, func(d *Deps) { d.CalendarView = app.Protocols{EWS: app.ProtocolAdapters{CalendarView: views}} })
	e.onboard("contoso", basicCred("svc", "Hostile-pw-42"), "ann@contoso.com")
	const cal = "/tenants/contoso/mailboxes/ann@contoso.com/calendar"
	window := func(start, end string) string {
		return cal + "?start=" + url.QueryEscape(start) + "&end=" + url.QueryEscape(end)
	}
	get := func(path string) req { return req{method: "GET", path: path} }
	cases := []struct {
		name   string
		r      req
		status int
		field  string
		says   string
	}{
		{"no window", get(cal), 400, "start", "required"},
		{"no end", get(cal + "?start=2026-03-01T00:00:00Z"), 400, "end", "required"},
		{"no start", get(cal + "?end=2026-03-01T00:00:00Z"), 400, "start", "required"},
		{"empty start", get(cal + "?start=&end=2026-03-01T00:00:00Z"), 400, "start", "required"},
		{"date only", get(window("2026-03-01", "2026-03-02")), 400, "start", "RFC 3339"},
		{"no zone", get(window("2026-03-01T00:00:00", "2026-03-02T00:00:00")), 400, "start", "RFC 3339"},
		{"unix time", get(window("1772323200", "1772409600")), 400, "start", "RFC 3339"},
		{"hostile text", get(window("<script>&", "2026-03-02T00:00:00Z")), 400, "start", "RFC 3339"},
		{"year 0", get(window("0000-01-01T00:00:00Z", "0000-01-02T00:00:00Z")), 400, "start", "RFC 3339"},
		{"end before start", get(window("2026-03-02T00:00:00Z", "2026-03-01T00:00:00Z")), 400, "end", "after start"},
		{"empty window", get(window("2026-03-01T00:00:00Z", "2026-03-01T00:00:00Z")), 400, "end", "after start"},
		{"same instant in two zones", get(window("2026-03-01T01:00:00+01:00", "2026-03-01T00:00:00Z")), 400, "end", "after start"},
		{"63 days", get(window("2026-03-01T00:00:00Z", "2026-05-03T00:00:00Z")), 400, "end", "at most 62 days"},
		{"62 days and a second", get(window("2026-03-01T00:00:00Z", "2026-05-02T00:00:01Z")), 400, "end", "at most 62 days"},
		{"ten years", get(window("2020-01-01T00:00:00Z", "2030-01-01T00:00:00Z")), 400, "end", "at most 62 days"},
		{"start twice", get(window("2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z") + "&start=2026-03-01T00:00:00Z"), 400, "start", "more than once"},
		{"unknown parameter", get(window("2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z") + "&maxEntries=5000"), 400, "maxEntries", "unknown"},
		{"mailbox not registered", get(strings.Replace(window("2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z"), "ann@", "bob@", 1)), 404, "", "not registered"},
		{"malformed mailbox", get(strings.Replace(window("2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z"), "ann@contoso.com", "ann", 1)), 400, "address", ""},
		{"unknown tenant", get(strings.Replace(window("2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z"), "contoso/", "globex/", 1)), 404, "", "globex"},
		{"bad tenant id", get(strings.Replace(window("2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z"), "contoso/", "Bad_Id!/", 1)), 400, "id", ""},
		{"POST", req{method: "POST", path: window("2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z"), body: "{}"}, 405, "", "GET"},
	}
	before := e.snapshot()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := e.do(tc.r)
			var body errorBody
			problem := ""
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || w.Header().Get("Content-Type") != "application/json" {
				problem = "not a JSON error"
				t.Errorf("answer is not a JSON error: %d %s", w.Code, w.Body)
			} else if w.Code != tc.status || body.Error.Field != tc.field || !strings.Contains(body.Error.Message, tc.says) {
				problem = "wrong answer"
				t.Errorf("= %d field %q %q; want %d field %q saying %q", w.Code, body.Error.Field, body.Error.Message, tc.status, tc.field, tc.says)
			}
			tallyHostile(hostileKey(tc.r), "http (calendar view)", problem)
		})
	}
	if n := views.calls.Load(); n != 0 {
		t.Errorf("refused requests read %d calendar views", n)
	}
	if e.snapshot() != before {
		t.Error("refused requests changed the stores")
	}

	// A well-formed window reads one view and writes one audit entry.
	w := e.do(get(window("2026-03-01T00:00:00+01:00", "2026-05-02T00:00:00+02:00")))
	if w.Code != 200 || views.calls.Load() != 1 || !strings.Contains(w.Body.String(), `"items":[]`) {
		t.Fatalf("62 days = %d (%d views): %s", w.Code, views.calls.Load(), w.Body)
	}
	audit := e.must(get("/tenants/contoso/audit"), 200)
	if b, _ := json.Marshal(audit); !strings.Contains(string(b), "calendar.view 2026-02-28T23:00:00Z/2026-05-01T22:00:00Z") {
		t.Errorf("no audit entry for the view: %s", b)
	}

	// A Graph tenant: not served yet, said plainly.
	e.must(req{method: "POST", path: "/tenants", body: `{"id":"graphco","protocol":"graph","credentials":{"kind":"oauth_secret","entraTenant":"contoso.com","clientId":"app-1","clientSecret":"Hostile-graph-secret"}}`}, 201)
	e.addMailboxes("graphco", "ann@contoso.com")
	w = e.do(get(strings.Replace(window("2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z"), "contoso/", "graphco/", 1)))
	var body errorBody
	_ = json.Unmarshal(w.Body.Bytes(), &body)
	if w.Code != 501 || body.Error.Code != "not_implemented" || !strings.Contains(body.Error.Message, "EWS tenants") {
		t.Errorf("graph tenant = %d %s", w.Code, w.Body)
	}
}
