package api

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/exchange/ewsmailbox"
	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
	"github.com/mailbridge/mailbridge/shared/platform/urlguard"
)

// Scheduling people and rooms on the EWS simulator, through the API.
const (
	availUser     = "svc-sched@contoso.com"
	availPassword = "Avail-Api-Passw0rd"
)

var (
	availPeople = []string{"ann@contoso.com", "bob@contoso.com"}
	availRooms  = []string{"room1@contoso.com", "room2@contoso.com", "room3@contoso.com"}
	// availDay is a Monday after testNow.
	availDay = time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
)

// availabilitySimEnv serves the API with the availability route wired as
// in production (app.Protocols over the EWS adapter) against ewssim on
// TLS, over the store mk builds, with tenant "contoso" onboarded.
func availabilitySimEnv(t *testing.T, mk func(testing.TB, ...envOption) *env) (*env, *ewssim.Sim) {
	t.Helper()
	sim := ewssim.New(ewssim.Options{Seed: 5})
	for _, a := range availPeople {
		if err := sim.AddMailbox(a, strings.Split(a, "@")[0]); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range availRooms {
		if err := sim.AddRoom(ewssim.Room{Address: a, DisplayName: "Room " + a[4:5]}); err != nil {
			t.Fatal(err)
		}
	}
	if err := sim.AddRoomList("hq@contoso.com", "HQ", availRooms[1], availRooms[0]); err != nil {
		t.Fatal(err)
	}
	if err := sim.AddRoomList("annex@contoso.com", "Annex", availRooms[2]); err != nil {
		t.Fatal(err)
	}
	if err := sim.AddAccount(ewssim.Account{Username: availUser, Password: availPassword, ImpersonationScope: slices.Concat(availPeople, availRooms)}); err != nil {
		t.Fatal(err)
	}
	srv, err := sim.Start(true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	policy := urlguard.Policy{DevLoopback: true}
	tr := policy.Transport()
	tr.TLSClientConfig = &tls.Config{RootCAs: srv.CertPool(), MinVersion: tls.VersionTLS12}
	opts := ewsmailbox.Options{URLGuard: &policy, HTTPClient: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
	protocols := app.Protocols{EWS: app.ProtocolAdapters{Availability: ewsmailbox.NewAvailabilityConnector(opts), Rooms: ewsmailbox.NewRoomConnector(opts),
		People: ewsmailbox.NewPeopleConnector(opts), RoomCalendar: ewsmailbox.NewRoomCalendarConnector(opts)}}
	e := mk(t, func(d *Deps) {
		d.Availability = protocols
		d.Rooms = protocols
		d.People = protocols
		d.RoomCalendar = protocols
		d.URLPolicy = policy
	})
	e.must(req{method: "POST", path: "/tenants", body: tenantBody("contoso", srv.EWSURL, basicCred(availUser, availPassword), "")}, 201)
	// Ann: 09:00-10:00 UTC; room1: 10:00-11:00; room2: 09:00-11:00.
	for _, b := range []struct {
		m          string
		start, end int
	}{{availPeople[0], 9, 10}, {availRooms[0], 10, 11}, {availRooms[1], 9, 11}} {
		if _, err := sim.AddItem(b.m, "calendar", ewssim.Item{Kind: ewssim.KindCalendar, Subject: "Taken",
			Start: availDay.Add(time.Duration(b.start) * time.Hour), End: availDay.Add(time.Duration(b.end) * time.Hour), Organizer: ewssim.Address{Email: b.m}}); err != nil {
			t.Fatal(err)
		}
	}
	return e, sim
}

func availabilityBody(extra string) string {
	ms, _ := json.Marshal(slices.Concat(availPeople, availRooms, []string{"nobody@contoso.com"}))
	people, _ := json.Marshal(availPeople)
	rooms, _ := json.Marshal(append(slices.Clone(availRooms), "nobody@contoso.com"))
	return fmt.Sprintf(`{"mailboxes":%s,"start":"2026-11-30T09:00:00+01:00","end":"2026-11-30T13:00:00+01:00","meetingMinutes":60,"slotMinutes":60,`+
		`"timeZone":"Europe/Berlin","workingHours":{"start":"09:00","end":"17:00"},"groups":[{"kind":"all","mailboxes":%s},{"kind":"any","count":1,"mailboxes":%s}]%s}`,
		ms, people, rooms, extra)
}

// TestAvailabilityAPI: on both stores, the answer lists each mailbox's
// busy time in the request's zone, the unknown mailbox's reason, and the
// slots with their free rooms; nothing is stored.
func TestAvailabilityAPI(t *testing.T) {
	for _, st := range []struct {
		name string
		mk   func(testing.TB, ...envOption) *env
	}{{"bolt", newEnv}, {"dynamodb", awsEnv}} {
		t.Run(st.name, func(t *testing.T) {
			e, sim := availabilitySimEnv(t, st.mk)
			before := e.snapshotBut("availability.read")
			calls := sim.Stats().TotalCalls()
			w := e.do(req{method: "POST", path: "/tenants/contoso/availability", body: availabilityBody("")})
			if w.Code != 200 {
				t.Fatalf("availability = %d %s", w.Code, w.Body)
			}
			var got availabilityResponse
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if got.Protocol != "ews" || got.Batches != 1 || sim.Stats().TotalCalls()-calls != 1 || got.TimeZone != "Europe/Berlin" || got.WindowsZone != "W. Europe Standard Time" {
				t.Errorf("protocol %s, %d batches, %d calls, zone %s (%s); want ews, one call, Europe/Berlin (W. Europe Standard Time)", got.Protocol, got.Batches, sim.Stats().TotalCalls()-calls, got.TimeZone, got.WindowsZone)
			}
			byMailbox := map[string]string{}
			for _, m := range got.Mailboxes {
				var parts []string
				for _, b := range m.Busy {
					parts = append(parts, b.Start.Format("15:04Z07:00")+"-"+b.End.Format("15:04")+" "+string(b.Status))
				}
				s := m.Status + " " + strings.Join(parts, ",")
				if m.Error != nil {
					s += string(m.Error.Kind) + " " + m.Error.Message
				}
				byMailbox[m.Mailbox] = s
			}
			want := map[string]string{
				"ann@contoso.com":    "ok 10:00+01:00-11:00 busy",
				"bob@contoso.com":    "ok ",
				"room1@contoso.com":  "ok 11:00+01:00-12:00 busy",
				"room2@contoso.com":  "ok 10:00+01:00-12:00 busy",
				"room3@contoso.com":  "ok ",
				"nobody@contoso.com": "error mailbox_not_found no such mailbox",
			}
			if fmt.Sprint(byMailbox) != fmt.Sprint(want) {
				t.Errorf("mailboxes\n got %v\nwant %v", byMailbox, want)
			}
			var slots []string
			for _, s := range got.Slots {
				slots = append(slots, s.Start.Format(time.RFC3339)+" "+strings.Join(s.Groups[0].Free, ",")+" | "+strings.Join(s.Groups[1].Free, ","))
			}
			wantSlots := []string{
				"2026-11-30T09:00:00+01:00 ann@contoso.com,bob@contoso.com | room1@contoso.com,room2@contoso.com,room3@contoso.com",
				"2026-11-30T11:00:00+01:00 ann@contoso.com,bob@contoso.com | room3@contoso.com",
				"2026-11-30T12:00:00+01:00 ann@contoso.com,bob@contoso.com | room1@contoso.com,room2@contoso.com,room3@contoso.com",
			}
			if !slices.Equal(slots, wantSlots) {
				t.Errorf("slots\n got %q\nwant %q", slots, wantSlots)
			}
			if e.snapshotBut("availability.read") != before {
				t.Error("an availability request changed the stores (beyond its audit entry)")
			}
			if got := auditOps(e, "availability"); got != "availability.read (6 mailboxes, 4h0m0s) by an unauthenticated caller: answered 5, failed 1, 1 calls" {
				t.Errorf("audit: %s", got)
			}
		})
	}
}

// TestAvailabilityHostile: every field's bad values get a JSON 4xx naming
// the field, before Exchange is called, and change nothing.
func TestAvailabilityHostile(t *testing.T) {
	e, sim := availabilitySimEnv(t, newEnv)
	post := func(body string) req { return req{method: "POST", path: "/tenants/contoso/availability", body: body} }
	with := func(field, value string) req {
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(availabilityBody("")), &m); err != nil {
			t.Fatal(err)
		}
		if value == "" {
			delete(m, field)
		} else {
			m[field] = json.RawMessage(value)
		}
		b, _ := json.Marshal(m)
		return post(string(b))
	}
	var tooMany []string
	for i := range 501 {
		tooMany = append(tooMany, fmt.Sprintf("p%03d@contoso.com", i))
	}
	tooManyJSON, _ := json.Marshal(tooMany)
	cases := []refusedCase{
		// The body.
		{"not JSON", post(`{"mailboxes":`), 400, "", "truncated"},
		{"an array", post(`[]`), 400, "", "object"},
		{"two objects", post(availabilityBody("") + `{}`), 400, "", "exactly one"},
		{"plain text", req{method: "POST", path: "/tenants/contoso/availability", body: "x", header: map[string]string{"Content-Type": "text/plain"}}, 415, "", "application/json"},
		{"too large", post(`{"mailboxes":["` + strings.Repeat("a", MaxBodyBytes) + `"]}`), 413, "", "larger"},
		{"unknown field", post(availabilityBody(`,"rooms":[]`)), 400, "rooms", "unknown"},
		{"case-variant key", post(strings.Replace(availabilityBody(""), `"meetingMinutes"`, `"MeetingMinutes"`, 1)), 400, "MeetingMinutes", "case-sensitive"},
		{"repeated key", post(availabilityBody(`,"meetingMinutes":30`)), 400, "meetingMinutes", "more than once"},
		{"unknown query parameter", req{method: "POST", path: "/tenants/contoso/availability?dryRun=1", body: availabilityBody("")}, 400, "dryRun", "unknown"},
		// mailboxes
		{"mailboxes missing", with("mailboxes", ""), 400, "mailboxes", "1 to 500"},
		{"mailboxes empty", with("mailboxes", `[]`), 400, "mailboxes", "1 to 500"},
		{"mailboxes a string", with("mailboxes", `"ann@contoso.com"`), 400, "mailboxes", "array"},
		{"mailboxes of numbers", with("mailboxes", `[1]`), 400, "mailboxes", "string"},
		{"501 mailboxes", with("mailboxes", string(tooManyJSON)), 400, "mailboxes", "at most 500"},
		{"a display-name address", with("mailboxes", `["Ann <ann@contoso.com>"]`), 400, "mailboxes[0]", "plain address"},
		{"a non-ASCII address", with("mailboxes", `["\u212aate@contoso.com"]`), 400, "mailboxes[0]", "ASCII"},
		{"a lone surrogate in an address", with("mailboxes", `["ann\ud800@contoso.com"]`), 400, "mailboxes", "surrogate"},
		{"a mailbox twice", with("mailboxes", `["ann@contoso.com","ANN@contoso.com"]`), 400, "mailboxes[1]", "twice"},
		// start, end
		{"start missing", with("start", ""), 400, "start", "required"},
		{"start without offset", with("start", `"2026-11-30T09:00:00"`), 400, "start", "RFC 3339"},
		{"start a date", with("start", `"2026-11-30"`), 400, "start", "RFC 3339"},
		{"start a number", with("start", `1764489600`), 400, "start", "string"},
		{"start in year 1", with("start", `"0001-01-01T00:00:00Z"`), 400, "start", "between the years"},
		{"end before start", with("end", `"2026-11-30T08:00:00+01:00"`), 400, "end", "after start"},
		{"end 43 days on", with("end", `"2027-01-12T09:00:00+01:00"`), 400, "end", "at most 42 days"},
		{"end in year 9999", with("end", `"9999-12-31T00:00:00Z"`), 400, "end", "between the years"},
		// meetingMinutes, slotMinutes
		{"meeting missing", with("meetingMinutes", ""), 400, "meetingMinutes", "between 5 and 1440"},
		{"meeting 4 minutes", with("meetingMinutes", `4`), 400, "meetingMinutes", "between 5 and 1440"},
		{"meeting fractional", with("meetingMinutes", `30.5`), 400, "meetingMinutes", "integer"},
		{"meeting a string", with("meetingMinutes", `"30"`), 400, "meetingMinutes", "integer"},
		{"meeting huge", with("meetingMinutes", `99999999999999999999`), 400, "meetingMinutes", "integer"},
		{"meeting longer than the window", with("meetingMinutes", `300`), 400, "meetingMinutes", "does not fit"},
		{"slot negative", with("slotMinutes", `-15`), 400, "slotMinutes", "between 5 and 1440"},
		{"slot 2 days", with("slotMinutes", `2880`), 400, "slotMinutes", "between 5 and 1440"},
		// timeZone
		{"zone unknown", with("timeZone", `"Europe/Atlantis"`), 400, "timeZone", "IANA"},
		{"zone unknown Windows name", with("timeZone", `"W. Europe Time"`), 400, "timeZone", "Windows"},
		{"zone Local", with("timeZone", `"Local"`), 400, "timeZone", "IANA"},
		{"zone traversal", with("timeZone", `"../../../etc/passwd"`), 400, "timeZone", "IANA"},
		{"zone an object", with("timeZone", `{}`), 400, "timeZone", "string"},
		// workingHours
		{"hours a string", with("workingHours", `"9-5"`), 400, "workingHours", "object"},
		{"hours without start", with("workingHours", `{"end":"17:00"}`), 400, "workingHours.start", "time of day"},
		{"hours 9am", with("workingHours", `{"start":"9am","end":"17:00"}`), 400, "workingHours.start", "time of day"},
		{"hours end 24:30", with("workingHours", `{"start":"09:00","end":"24:30"}`), 400, "workingHours.end", "time of day"},
		{"hours reversed", with("workingHours", `{"start":"17:00","end":"09:00"}`), 400, "workingHours.end", "after"},
		{"hours unknown day", with("workingHours", `{"start":"09:00","end":"17:00","days":["funday"]}`), 400, "workingHours.days[0]", "monday"},
		{"hours a day twice", with("workingHours", `{"start":"09:00","end":"17:00","days":["friday","friday"]}`), 400, "workingHours.days[1]", "twice"},
		{"hours unknown field", with("workingHours", `{"start":"09:00","end":"17:00","zone":"UTC"}`), 400, "zone", "unknown"},
		// groups
		{"groups an object", with("groups", `{}`), 400, "groups", "array"},
		{"group kind unknown", with("groups", `[{"kind":"most","mailboxes":["ann@contoso.com"]}]`), 400, "groups[0].kind", `"all" or "any"`},
		{"group without mailboxes", with("groups", `[{"kind":"all"}]`), 400, "groups[0].mailboxes", "at least one"},
		{"group names a mailbox not requested", with("groups", `[{"kind":"all","mailboxes":["eve@contoso.com"]}]`), 400, "groups[0].mailboxes[0]", "not in mailboxes"},
		{"group count above its size", with("groups", `[{"kind":"any","count":2,"mailboxes":["room1@contoso.com"]}]`), 400, "groups[0].count", "between 1 and"},
		{"group count zero on all", with("groups", `[{"kind":"all","count":5,"mailboxes":["ann@contoso.com"]}]`), 400, "groups[0].count", "no count"},
		{"group count a string", with("groups", `[{"kind":"any","count":"1","mailboxes":["ann@contoso.com"]}]`), 400, "groups.count", "integer"},
		{"group unknown field", with("groups", `[{"kind":"any","min":1,"mailboxes":["ann@contoso.com"]}]`), 400, "min", "unknown"},
		{"21 groups", with("groups", "["+strings.Repeat(`{"kind":"all","mailboxes":["ann@contoso.com"]},`, 20)+`{"kind":"all","mailboxes":["ann@contoso.com"]}]`), 400, "groups", "at most 20"},
		// The tenant.
		{"unknown tenant", req{method: "POST", path: "/tenants/globex/availability", body: availabilityBody("")}, 404, "", "globex"},
		{"bad tenant id", req{method: "POST", path: "/tenants/Not_A_Tenant!/availability", body: availabilityBody("")}, 400, "id", ""},
		{"GET", req{method: "GET", path: "/tenants/contoso/availability"}, 405, "", "POST"},
	}
	assertRefused(t, e, sim, cases)
}

// refusedCase is a request the API must refuse: its status, the field its
// JSON error names and a phrase of its message.
type refusedCase struct {
	name   string
	r      req
	status int
	field  string
	says   string
}

// assertRefused sends each case and requires its JSON error, then that
// none of them called Exchange (sim) or changed the stores.
func assertRefused(t *testing.T, e *env, sim *ewssim.Sim, cases []refusedCase) {
	t.Helper()
	before := e.snapshot()
	calls := sim.Stats().TotalCalls()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := e.do(tc.r)
			var body errorBody
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || w.Header().Get("Content-Type") != "application/json" {
				t.Fatalf("answer is not a JSON error: %d %s", w.Code, w.Body)
			}
			if w.Code != tc.status || body.Error.Field != tc.field || !strings.Contains(body.Error.Message, tc.says) {
				t.Fatalf("= %d field %q %q; want %d field %q saying %q", w.Code, body.Error.Field, body.Error.Message, tc.status, tc.field, tc.says)
			}
		})
	}
	if n := sim.Stats().TotalCalls() - calls; n != 0 {
		t.Errorf("refused requests made %d calls to Exchange", n)
	}
	if e.snapshot() != before {
		t.Error("refused requests changed the stores")
	}
}
