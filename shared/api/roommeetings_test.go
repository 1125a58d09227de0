package api

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
)

// TestRoomMeetingsAPI: through HTTP on the EWS simulator (answers checked
// against the OpenAPI): the policy set with PATCH and shown on the
// tenant; with it, a room meeting ended now and another checked in (twice,
// one answer), both audited with the caller; a user mailbox refused with
// 403 naming the setting; an id no meeting has, 404; a meeting not yet
// started, 409.
func TestRoomMeetingsAPI(t *testing.T) {
	e, sim := availabilitySimEnv(t, newEnv)
	e.addMailboxes("contoso", "ann@contoso.com")
	now := testNow.Truncate(time.Minute)
	book := func(mailbox, subject string, start, end time.Duration) string {
		ref, err := sim.AddItem(mailbox, "calendar", ewssim.Item{Kind: ewssim.KindCalendar, Subject: subject, Start: now.Add(start), End: now.Add(end),
			Organizer: ewssim.Address{Email: "bob@contoso.com"}, Attendees: []ewssim.Address{{Email: mailbox}}})
		if err != nil {
			t.Fatal(err)
		}
		return url.PathEscape(ref.ID)
	}
	running := book("room1@contoso.com", "Running", -20*time.Minute, 40*time.Minute)
	standup := book("room1@contoso.com", "Standup", -5*time.Minute, 25*time.Minute)
	later := book("room1@contoso.com", "Later", 2*time.Hour, 3*time.Hour)
	annS := book("ann@contoso.com", "1:1", -20*time.Minute, 40*time.Minute)
	path := func(mailbox, id, op string) string {
		return "/tenants/contoso/rooms/" + mailbox + "/meetings/" + id + "/" + op
	}
	// Off by default: refused, naming the setting.
	off := e.do(req{method: "POST", path: path("room1@contoso.com", running, "end")})
	if off.Code != 403 || !strings.Contains(off.Body.String(), "roomPolicy.enabled") {
		t.Fatalf("end with the policy off = %d %s", off.Code, off.Body)
	}
	tn := e.must(req{method: "PATCH", path: "/tenants/contoso", body: `{"roomPolicy":{"enabled":true,"rooms":["Room1@contoso.com"],"checkInMinutes":10}}`}, 200)
	if got := fmt.Sprint(tn["roomPolicy"]); got != "map[allRooms:false checkInMinutes:10 enabled:true notifyOrganizer:true rooms:[room1@contoso.com]]" {
		t.Errorf("the tenant's policy: %s", got)
	}
	list := e.must(req{method: "GET", path: "/tenants/contoso/rooms/room1@contoso.com/meetings?start=" + url.QueryEscape(now.Add(-time.Hour).Format(time.RFC3339))}, 200)
	var listed []string
	for _, m := range list["meetings"].([]any) {
		mm := m.(map[string]any)
		if mm["itemId"] == "" {
			t.Errorf("%v listed without an id", mm["subject"])
		}
		listed = append(listed, fmt.Sprintf("%s:%v", mm["subject"], mm["state"]))
	}
	if got := strings.Join(listed, ","); got != "Running:<nil>,Standup:<nil>,Later:<nil>" {
		t.Errorf("listed %s", got)
	}
	ended := e.must(req{method: "POST", path: path("room1@contoso.com", running, "end")}, 200)
	if ended["end"] != now.Format(time.RFC3339) || ended["subject"] != "Running" || ended["room"] != "room1@contoso.com" {
		t.Errorf("end answered %v", ended)
	}
	first := e.must(req{method: "POST", path: path("room1@contoso.com", standup, "checkin")}, 200)
	again := e.must(req{method: "POST", path: path("room1@contoso.com", standup, "checkin")}, 200)
	if first["checkedInAt"] != again["checkedInAt"] || first["checkedInAt"] == nil {
		t.Errorf("check-ins answered %v then %v", first, again)
	}
	list = e.must(req{method: "GET", path: "/tenants/contoso/rooms/room1@contoso.com/meetings"}, 200)
	for _, m := range list["meetings"].([]any) {
		mm := m.(map[string]any)
		if want := map[string]any{"Standup": "checkedIn"}[mm["subject"].(string)]; mm["state"] != want {
			t.Errorf("%s listed with state %v, want %v", mm["subject"], mm["state"], want)
		}
	}
	for _, tc := range []struct {
		path   string
		status int
		says   string
	}{
		{path("ann@contoso.com", annS, "end"), 403, "roomPolicy.rooms"},
		{path("ann@contoso.com", annS, "checkin"), 403, "author-only"},
		{path("room1@contoso.com", "AAMkAGUnknown==", "end"), 404, "no meeting"},
		{path("room1@contoso.com", annS, "end"), 404, "no meeting"},
		{path("room1@contoso.com", later, "end"), 409, "not started"},
		{path("room1@contoso.com", later, "checkin"), 409, "15 minutes"},
	} {
		w := e.do(req{method: "POST", path: tc.path})
		if w.Code != tc.status || !strings.Contains(w.Body.String(), tc.says) {
			t.Errorf("POST %s = %d %s, want %d saying %q", tc.path, w.Code, w.Body, tc.status, tc.says)
		}
	}
	it, _, err := sim.GetItem(mustUnescape(t, annS))
	if err != nil || !it.End.Equal(now.Add(40*time.Minute)) {
		t.Errorf("the user's meeting changed: %+v %v", it, err)
	}
	audit := e.must(req{method: "GET", path: "/tenants/contoso/audit"}, 200)
	var ops []string
	for _, a := range audit["entries"].([]any) {
		if op := a.(map[string]any)["operation"].(string); strings.HasPrefix(op, "room.") {
			ops = append(ops, strings.SplitN(op, " ", 2)[0])
		}
	}
	if strings.Join(ops, ",") != "room.meetings.read,room.end,room.checkin,room.meetings.read" {
		t.Errorf("room audit entries %v, want one end and one check-in", ops)
	}
}

func mustUnescape(t *testing.T, s string) string {
	t.Helper()
	u, err := url.PathUnescape(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestRoomPolicySetting: a policy given on create is stored normalized
// and shown; a PATCH replaces it as a whole; the tenant answers show the
// defaults when it is off.
func TestRoomPolicySetting(t *testing.T) {
	e := newEnv(t)
	tn := e.must(req{method: "POST", path: "/tenants", body: tenantBody("globex", "https://mail.globex.com/EWS/Exchange.asmx", basicCred("svc", "Policy-pw-1"),
		`,"roomPolicy":{"enabled":true,"rooms":["B-Room@Globex.com","a-room@globex.com"],"checkInMinutes":15,"notifyOrganizer":false}`)}, 201)
	if got := fmt.Sprint(tn["roomPolicy"]); got != "map[allRooms:false checkInMinutes:15 enabled:true notifyOrganizer:false rooms:[a-room@globex.com b-room@globex.com]]" {
		t.Errorf("created with %s", got)
	}
	tn = e.must(req{method: "PATCH", path: "/tenants/globex", body: `{"roomPolicy":{"enabled":true,"allRooms":true}}`}, 200)
	if got := fmt.Sprint(tn["roomPolicy"]); got != "map[allRooms:true checkInMinutes:0 enabled:true notifyOrganizer:true rooms:[]]" {
		t.Errorf("replaced by %s", got)
	}
	tn = e.must(req{method: "PATCH", path: "/tenants/globex", body: `{"roomPolicy":{}}`}, 200)
	if got := fmt.Sprint(tn["roomPolicy"]); got != "map[allRooms:false checkInMinutes:0 enabled:false notifyOrganizer:true rooms:[]]" {
		t.Errorf("turned off: %s", got)
	}
}
