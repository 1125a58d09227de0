package graph

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestRequests checks what each operation sends: method, escaped path,
// query, Prefer headers and body.
func TestRequests(t *testing.T) {
	okPage := answer(200, []byte(`{"value":[],"@odata.deltaLink":"`+testBase+`/users/u/delta?$deltatoken=x"}`))
	okValue := answer(200, []byte(`{"value":[]}`))
	okUser := answer(200, []byte(`{"id":"1","mail":"a@contoso.com"}`))
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		answer   canned
		call     func(c *Client) error
		method   string
		path     string // escaped
		query    map[string]string
		pageSize string // "" = no maxpagesize
		immut    bool
		prefer   string // a Prefer value the request must carry, if set
		body     string // JSON, compared after normalising
	}{
		{name: "mail folders delta", answer: okPage, method: "GET", path: "/v1.0/users/a@contoso.com/mailFolders/delta", pageSize: "100", immut: true,
			call: func(c *Client) error { _, err := c.MailFoldersDelta(bg, "a@contoso.com", DeltaOptions{}); return err }},
		{name: "messages delta escapes the folder id", answer: okPage, method: "GET",
			path:  "/v1.0/users/u/mailFolders/AQMk%2FA+b=/messages/delta",
			query: map[string]string{"$select": "id,subject"}, pageSize: "25", immut: true,
			call: func(c *Client) error {
				_, err := c.MessagesDelta(bg, "u", "AQMk/A+b=", MessagesDeltaOptions{Select: []string{"id", "subject"}, Expand: "-", DeltaOptions: DeltaOptions{PageSize: 25}})
				return err
			}},
		{name: "messages delta default select", answer: okPage, method: "GET", path: "/v1.0/users/u/mailFolders/f/messages/delta",
			query: map[string]string{"$select": strings.Join(DefaultMessageSelect, ","), "$expand": DefaultMessageExpand}, pageSize: "100", immut: true,
			prefer: `outlook.body-content-type="text"`,
			call: func(c *Client) error {
				_, err := c.MessagesDelta(bg, "u", "f", MessagesDeltaOptions{DeltaOptions: DeltaOptions{BodyType: "text"}})
				return err
			}},
		{name: "delta link is followed as is", answer: okPage, method: "GET", path: "/v1.0/users/u/calendarView/delta",
			query: map[string]string{"$deltatoken": "R0us+mc/="}, pageSize: "100", immut: true,
			call: func(c *Client) error {
				_, err := c.EventsDelta(bg, "u", EventsDeltaOptions{DeltaOptions: DeltaOptions{Link: testBase + "/users/u/calendarView/delta?$deltatoken=R0us%2Bmc%2F%3D"}})
				return err
			}},
		{name: "calendar view delta window", answer: okPage, method: "GET", path: "/v1.0/users/u/calendarView/delta",
			query: map[string]string{"startDateTime": "2026-03-01T00:00:00Z", "endDateTime": "2026-04-01T00:00:00Z"}, pageSize: "100", immut: true,
			call: func(c *Client) error {
				_, err := c.EventsDelta(bg, "u", EventsDeltaOptions{Start: start, End: start.AddDate(0, 1, 0)})
				return err
			}},
		{name: "contact folders delta", answer: okPage, method: "GET", path: "/v1.0/users/u/contactFolders/delta", pageSize: "100", immut: true,
			call: func(c *Client) error { _, err := c.ContactFoldersDelta(bg, "u", DeltaOptions{}); return err }},
		{name: "contacts delta", answer: okPage, method: "GET", path: "/v1.0/users/u/contactFolders/cf/contacts/delta", pageSize: "100", immut: true,
			call: func(c *Client) error { _, err := c.ContactsDelta(bg, "u", "cf", DeltaOptions{}); return err }},
		{name: "get event with extended property", answer: answer(200, []byte(`{"id":"e1"}`)), method: "GET", path: "/v1.0/users/u/events/e1", immut: true,
			query: map[string]string{"$select": "id,subject", "$expand": "singleValueExtendedProperties($filter=id eq 'String {00020329-0000-0000-C000-000000000046} Name O''Brien')"},
			call: func(c *Client) error {
				_, err := c.GetEvent(bg, "u", "e1", GetOptions{Select: []string{"id", "subject"}, ExtendedProperty: "String {00020329-0000-0000-C000-000000000046} Name O'Brien"})
				return err
			}},
		{name: "get event with its body as html", answer: answer(200, []byte(`{"id":"e1"}`)), method: "GET", path: "/v1.0/users/u/events/e1", immut: true,
			query: map[string]string{"$select": "id,body"}, prefer: `outlook.body-content-type="html"`,
			call: func(c *Client) error {
				_, err := c.GetEvent(bg, "u", "e1", GetOptions{Select: []string{"id", "body"}, BodyType: "html"})
				return err
			}},
		{name: "calendar view delta with text bodies", answer: okPage, method: "GET", path: "/v1.0/users/u/calendarView/delta",
			query: map[string]string{"startDateTime": "2026-03-01T00:00:00Z", "endDateTime": "2026-04-01T00:00:00Z"}, pageSize: "100", immut: true,
			prefer: `outlook.body-content-type="text"`,
			call: func(c *Client) error {
				_, err := c.EventsDelta(bg, "u", EventsDeltaOptions{Start: start, End: start.AddDate(0, 1, 0), DeltaOptions: DeltaOptions{BodyType: "text"}})
				return err
			}},
		{name: "get message", answer: answer(200, []byte(`{"id":"m1"}`)), method: "GET", path: "/v1.0/users/u/messages/m1", immut: true,
			call: func(c *Client) error { _, err := c.GetMessage(bg, "u", "m1", GetOptions{}); return err }},
		{name: "get contact", answer: answer(200, []byte(`{"id":"c1"}`)), method: "GET", path: "/v1.0/users/u/contacts/c1", immut: true,
			call: func(c *Client) error { _, err := c.GetContact(bg, "u", "c1", GetOptions{}); return err }},
		{name: "create event", answer: answer(201, readFile(t, "responses/event-created.json")), method: "POST", path: "/v1.0/users/u/events", immut: true,
			body: `{"transactionId":"7E163156-7762-4BEB-A1C6-729EA81755A7","subject":"Sync","start":{"dateTime":"2026-03-05T10:00:00","timeZone":"UTC"},"end":{"dateTime":"2026-03-05T11:00:00","timeZone":"UTC"},"singleValueExtendedProperties":[{"id":"String {66f5a359-4659-4830-9070-00047ec6ac6e} Name MailbridgeId","value":"ev-1"}]}`,
			call: func(c *Client) error {
				_, err := c.CreateEvent(bg, "u", &Event{TransactionID: "7E163156-7762-4BEB-A1C6-729EA81755A7", Subject: "Sync",
					Start: &DateTimeTimeZone{DateTime: "2026-03-05T10:00:00", TimeZone: "UTC"}, End: &DateTimeTimeZone{DateTime: "2026-03-05T11:00:00", TimeZone: "UTC"},
					SingleValueExtendedProperties: []SingleValueExtendedProperty{{ID: "String {66f5a359-4659-4830-9070-00047ec6ac6e} Name MailbridgeId", Value: "ev-1"}}})
				return err
			}},
		{name: "update event sends the patch as given", answer: answer(200, []byte(`{"id":"e1"}`)), method: "PATCH", path: "/v1.0/users/u/events/e1", immut: true,
			body: `{"isReminderOn":false,"subject":"New"}`,
			call: func(c *Client) error {
				_, err := c.UpdateEvent(bg, "u", "e1", map[string]any{"subject": "New", "isReminderOn": false}, "")
				return err
			}},
		{name: "delete event", answer: answer(204, nil), method: "DELETE", path: "/v1.0/users/u/events/e1", immut: true,
			call: func(c *Client) error { return c.DeleteEvent(bg, "u", "e1") }},
		{name: "decline event", answer: answer(202, nil), method: "POST", path: "/v1.0/users/room@x/events/AAMk-_=/decline", immut: true,
			body: `{"comment":"nobody \"came\" <b>","sendResponse":true}`,
			call: func(c *Client) error { return c.DeclineEvent(bg, "room@x", "AAMk-_=", `nobody "came" <b>`, true) }},
		{name: "decline event quietly", answer: answer(202, nil), method: "POST", path: "/v1.0/users/u/events/e1/decline", immut: true,
			body: `{"comment":"","sendResponse":false}`,
			call: func(c *Client) error { return c.DeclineEvent(bg, "u", "e1", "", false) }},
		{name: "cancel event", answer: answer(202, nil), method: "POST", path: "/v1.0/users/u/events/e1/cancel", immut: true,
			body: `{"comment":"room freed"}`,
			call: func(c *Client) error { return c.CancelEvent(bg, "u", "e1", "room freed") }},
		{name: "calendar view window", answer: okValue, method: "GET", path: "/v1.0/users/u/calendarView", immut: true,
			query: map[string]string{"startDateTime": "2026-03-05T10:00:00Z", "endDateTime": "2026-03-05T10:01:00Z", "$top": "50", "$select": "id,start,end"},
			call: func(c *Client) error {
				_, err := c.CalendarView(bg, "u", time.Date(2026, 3, 5, 10, 0, 0, 0, time.UTC), time.Date(2026, 3, 5, 10, 1, 0, 0, time.UTC), []string{"id", "start", "end"})
				return err
			}},
		{name: "find events by extended property escapes quotes", answer: okValue, method: "GET", path: "/v1.0/users/u/events", immut: true,
			query: map[string]string{
				"$filter": "singleValueExtendedProperties/Any(ep: ep/id eq 'String {66f5a359-4659-4830-9070-00047ec6ac6e} Name MailbridgeId' and ep/value eq 'it''s & 100%+')",
				"$expand": "singleValueExtendedProperties($filter=id eq 'String {66f5a359-4659-4830-9070-00047ec6ac6e} Name MailbridgeId')",
				"$top":    "50",
			},
			call: func(c *Client) error {
				_, err := c.FindEventsByExtendedProperty(bg, "u", "String {66f5a359-4659-4830-9070-00047ec6ac6e} Name MailbridgeId", "it's & 100%+")
				return err
			}},
		{name: "get schedule", answer: okValue, method: "POST", path: "/v1.0/users/u/calendar/getSchedule", immut: true,
			body: `{"schedules":["a@x","b@x"],"startTime":{"dateTime":"2026-03-05T00:00:00","timeZone":"UTC"},"endTime":{"dateTime":"2026-03-06T00:00:00","timeZone":"UTC"},"availabilityViewInterval":60}`,
			call: func(c *Client) error {
				_, err := c.GetSchedule(bg, "u", ScheduleRequest{Schedules: []string{"a@x", "b@x"}, AvailabilityViewInterval: 60,
					StartTime: DateTimeTimeZone{DateTime: "2026-03-05T00:00:00", TimeZone: "UTC"}, EndTime: DateTimeTimeZone{DateTime: "2026-03-06T00:00:00", TimeZone: "UTC"}})
				return err
			}},
		{name: "get user is a directory call", answer: okUser, method: "GET", path: "/v1.0/users/a@contoso.com",
			query: map[string]string{"$select": "id,mail,userPrincipalName"},
			call:  func(c *Client) error { _, err := c.GetUser(bg, "a@contoso.com"); return err }},
		{name: "probe mailbox", answer: answer(200, []byte(`{"id":"inbox-id"}`)), method: "GET", path: "/v1.0/users/u/mailFolders/inbox", immut: true,
			query: map[string]string{"$select": "id"},
			call:  func(c *Client) error { return c.ProbeMailbox(bg, "u") }},
		{name: "batch", answer: answer(200, []byte(`{"responses":[{"id":"1","status":204}]}`)), method: "POST", path: "/v1.0/$batch", immut: true,
			body: `{"requests":[{"id":"1","method":"DELETE","url":"/users/u/events/a%2Fb","headers":{"Prefer":"IdType=\"ImmutableId\""}}]}`,
			call: func(c *Client) error {
				_, err := c.Batch(bg, "u", []BatchRequest{{Method: "DELETE", URL: ItemPath("users", "u", "events", "a/b")}})
				return err
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{answers: []canned{tc.answer}}
			c := newTestClient(t, rec)
			if err := tc.call(c); err != nil {
				t.Fatal(err)
			}
			r, body := rec.last(t)
			if r.Method != tc.method || r.URL.EscapedPath() != tc.path || r.URL.Host != "graph.microsoft.com" {
				t.Errorf("sent %s %s (host %s), want %s %s", r.Method, r.URL.EscapedPath(), r.URL.Host, tc.method, tc.path)
			}
			q := r.URL.Query()
			want := url.Values{}
			for k, v := range tc.query {
				want.Set(k, v)
			}
			if fmt.Sprint(q) != fmt.Sprint(want) {
				t.Errorf("query = %v\nwant    %v", q, want)
			}
			if strings.Contains(r.URL.RawQuery, "+") || strings.Contains(r.URL.RawQuery, " ") {
				t.Errorf("raw query %q: spaces must be %%20, a plus %%2B", r.URL.RawQuery)
			}
			if got := r.Header.Get("Authorization"); got != "Bearer "+testToken {
				t.Errorf("Authorization = %q", got)
			}
			if id := r.Header.Get("client-request-id"); id == "" {
				t.Error("no client-request-id")
			}
			prefer := r.Header.Values("Prefer")
			if slices.Contains(prefer, `IdType="ImmutableId"`) != tc.immut {
				t.Errorf("Prefer = %q, want ImmutableId %v", prefer, tc.immut)
			}
			if tc.prefer != "" && !slices.Contains(prefer, tc.prefer) {
				t.Errorf("Prefer = %q, want %q", prefer, tc.prefer)
			}
			hasSize := slices.Contains(prefer, "odata.maxpagesize="+tc.pageSize)
			if (tc.pageSize != "") != hasSize || (tc.pageSize == "" && slices.ContainsFunc(prefer, func(p string) bool { return strings.HasPrefix(p, "odata.maxpagesize") })) {
				t.Errorf("Prefer = %q, want maxpagesize %q", prefer, tc.pageSize)
			}
			if tc.body != "" {
				if r.Header.Get("Content-Type") != "application/json" {
					t.Errorf("Content-Type = %q", r.Header.Get("Content-Type"))
				}
				if !jsonEqual(body, []byte(tc.body)) {
					t.Errorf("body = %s\nwant   %s", body, tc.body)
				}
			}
		})
	}
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}

// TestRefusedBeforeSending: arguments Graph would refuse, or links that
// leave the endpoint, fail without a request.
func TestRefusedBeforeSending(t *testing.T) {
	many := func(n int) []string {
		s := make([]string, n)
		for i := range s {
			s[i] = fmt.Sprintf("u%d@x", i)
		}
		return s
	}
	batch := func(n int) []BatchRequest {
		r := make([]BatchRequest, n)
		for i := range r {
			r[i] = BatchRequest{Method: "GET", URL: "/users/u/messages/m"}
		}
		return r
	}
	tests := []struct {
		name  string
		call  func(c *Client) error
		cause error
	}{
		{"getSchedule with 21 schedules", func(c *Client) error {
			_, err := c.GetSchedule(bg, "u", ScheduleRequest{Schedules: many(21)})
			return err
		}, ErrInvalidArgument},
		{"batch of 21", func(c *Client) error { _, err := c.Batch(bg, "u", batch(21)); return err }, ErrInvalidArgument},
		{"get event with an unknown body type", func(c *Client) error {
			_, err := c.GetEvent(bg, "u", "e1", GetOptions{BodyType: "rtf"})
			return err
		}, ErrInvalidArgument},
		{"batch with an absolute URL", func(c *Client) error {
			_, err := c.Batch(bg, "u", []BatchRequest{{Method: "GET", URL: "https://evil.example/users/u"}})
			return err
		}, ErrInvalidArgument},
		{"batch with a scheme-relative URL", func(c *Client) error {
			_, err := c.Batch(bg, "u", []BatchRequest{{Method: "GET", URL: "//evil.example/users/u"}})
			return err
		}, ErrInvalidArgument},
		{"batch with duplicate ids", func(c *Client) error {
			_, err := c.Batch(bg, "u", []BatchRequest{{ID: "a", Method: "GET", URL: "/x"}, {ID: "A", Method: "GET", URL: "/y"}})
			return err
		}, ErrInvalidArgument},
		{"calendar view without a window", func(c *Client) error {
			_, err := c.EventsDelta(bg, "u", EventsDeltaOptions{})
			return err
		}, ErrInvalidArgument},
		{"delta link to another host", func(c *Client) error {
			_, err := c.MessagesDelta(bg, "u", "", MessagesDeltaOptions{DeltaOptions: DeltaOptions{Link: "https://graph.microsoft.com.evil.example/v1.0/x"}})
			return err
		}, ErrForeignLink},
		{"delta link over http", func(c *Client) error {
			_, err := c.MailFoldersDelta(bg, "u", DeltaOptions{Link: "http://graph.microsoft.com/v1.0/x"})
			return err
		}, ErrForeignLink},
		{"delta link with credentials", func(c *Client) error {
			_, err := c.MailFoldersDelta(bg, "u", DeltaOptions{Link: "https://user:pw@graph.microsoft.com/v1.0/x"})
			return err
		}, ErrForeignLink},
		{"relative delta link", func(c *Client) error {
			_, err := c.MailFoldersDelta(bg, "u", DeltaOptions{Link: "/v1.0/x"})
			return err
		}, ErrForeignLink},
		{"page size over 1000", func(c *Client) error {
			_, err := c.MailFoldersDelta(bg, "u", DeltaOptions{PageSize: 5000})
			return err
		}, ErrInvalidArgument},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			c := newTestClient(t, rec)
			err := tc.call(c)
			if !errors.Is(err, tc.cause) {
				t.Fatalf("err = %v, want %v", err, tc.cause)
			}
			if len(rec.reqs) != 0 {
				t.Errorf("%d requests sent", len(rec.reqs))
			}
		})
	}
}

// TestEndToEnd runs a delta round against an httptest server: the server's
// nextLink is followed, then a deltaLink ends the round; a nextLink to
// another host is refused and not followed.
func TestEndToEnd(t *testing.T) {
	var hits []string
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits = append(hits, r.URL.RequestURI())
		if r.Header.Get("Authorization") != "Bearer "+testToken {
			w.WriteHeader(401)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("request-id", "rid-1")
		switch r.URL.Query().Get("$skiptoken") {
		case "":
			fmt.Fprintf(w, `{"@odata.nextLink":%q,"value":[{"id":"A"}]}`, srv.URL+"/v1.0/users/u/mailFolders/delta?$skiptoken=2")
		case "2":
			fmt.Fprintf(w, `{"@odata.deltaLink":%q,"value":[{"id":"B","@removed":{"reason":"changed"}}]}`, srv.URL+"/v1.0/users/u/mailFolders/delta?$deltatoken=3")
		case "evil":
			fmt.Fprint(w, `{"@odata.nextLink":"https://evil.example/v1.0/steal","value":[]}`)
		}
	}))
	defer srv.Close()
	c := newTestClient(t, srv.Client().Transport, func(c *Config) { c.BaseURL = srv.URL + "/v1.0/" })
	p1, err := c.MailFoldersDelta(bg, "u", DeltaOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p2, err := c.MailFoldersDelta(bg, "u", DeltaOptions{Link: p1.NextLink})
	if err != nil {
		t.Fatal(err)
	}
	if p1.Done() || len(p1.Items) != 1 || !p2.Done() || len(p2.Removed) != 1 || p2.Removed[0].Reason != "changed" {
		t.Fatalf("pages %+v %+v", p1, p2)
	}
	_, err = c.MailFoldersDelta(bg, "u", DeltaOptions{Link: srv.URL + "/v1.0/users/u/mailFolders/delta?$skiptoken=evil"})
	if !errors.Is(err, ErrForeignLink) || Classify(err) != ClassPermanent || !strings.Contains(err.Error(), "rid-1") {
		t.Fatalf("err = %v", err)
	}
	if len(hits) != 3 {
		t.Errorf("server saw %v", hits)
	}
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no auth", Config{}},
		{"relative base", Config{BaseURL: "graph.microsoft.com/v1.0", Auth: StaticToken("t")}},
		{"ftp base", Config{BaseURL: "ftp://graph.microsoft.com/v1.0", Auth: StaticToken("t")}},
		{"base with credentials", Config{BaseURL: "https://u:p@graph.microsoft.com/v1.0", Auth: StaticToken("t")}},
		{"base with query", Config{BaseURL: "https://graph.microsoft.com/v1.0?x=1", Auth: StaticToken("t")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.cfg); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	c, err := New(Config{Auth: StaticToken("t")})
	if err != nil || c.BaseURL() != DefaultBaseURL {
		t.Fatalf("default base: %v %v", c, err)
	}
}
