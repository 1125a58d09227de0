package graphsim_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
	"github.com/mailbridge/mailbridge/shared/exchange/graphsim"
)

const markerID = "String {66f5a359-4659-4830-9070-00047ec6ac6e} Name MailbridgeEventId"

func newEvent(subject, tx, marker string) map[string]any {
	ev := map[string]any{
		"subject":   subject,
		"body":      map[string]string{"contentType": "text", "content": "Flight LH 400"},
		"start":     map[string]string{"dateTime": "2026-03-02T09:00:00", "timeZone": "Pacific Standard Time"},
		"end":       map[string]string{"dateTime": "2026-03-02T10:00:00", "timeZone": "Pacific Standard Time"},
		"location":  map[string]string{"displayName": "FRA"},
		"attendees": []any{map[string]any{"emailAddress": map[string]string{"address": bob, "name": "Bob"}, "type": "required"}},
	}
	if tx != "" {
		ev["transactionId"] = tx
	}
	if marker != "" {
		ev["singleValueExtendedProperties"] = []any{map[string]string{"id": markerID, "value": marker}}
	}
	return ev
}

func TestEventWrites(t *testing.T) {
	e := newEnv(t, graphsim.Options{})
	path := "/users/" + alice + "/events"
	first := e.do("POST", path, newEvent("Trip", "tx-1", "trip-42"))
	if first.status != 201 {
		t.Fatalf("create: %d %s", first.status, first.raw)
	}
	id := first.body["id"].(string)
	if first.body["transactionId"] != "tx-1" || first.body["start"].(map[string]any)["dateTime"] != "2026-03-02T17:00:00.0000000" {
		t.Errorf("created event: %s", first.raw)
	}
	again := e.do("POST", path, newEvent("Trip (retry)", "tx-1", "trip-42"))
	if again.status != 201 || again.body["id"] != id || again.body["subject"] != "Trip" {
		t.Errorf("same transactionId made a new event: %s", again.raw)
	}
	other := e.do("POST", path, newEvent("Other", "", "trip-43"))
	if other.status != 201 || other.body["id"] == id {
		t.Fatalf("second event: %s", other.raw)
	}
	if items, _ := e.sim.Items(alice, "calendar"); len(items) != 2 {
		t.Errorf("%d calendar items, want 2", len(items))
	}

	filter := func(f string) string { return path + "?$filter=" + url.QueryEscape(f) }
	tests := []struct {
		name   string
		path   string
		status int
		ids    []string
	}{
		{"marker match", filter("singleValueExtendedProperties/Any(ep: ep/id eq '" + markerID + "' and ep/value eq 'trip-42')"), 200, []string{id}},
		{"other marker", filter("singleValueExtendedProperties/any(ep: ep/id eq '" + markerID + "' and ep/value eq 'trip-43')"), 200, []string{other.body["id"].(string)}},
		{"no match", filter("singleValueExtendedProperties/Any(ep: ep/id eq '" + markerID + "' and ep/value eq 'nope')"), 200, nil},
		{"unsupported filter", filter("subject eq 'Trip'"), 400, nil},
		{"mismatched lambda variable", filter("singleValueExtendedProperties/Any(ep: x/id eq '" + markerID + "' and ep/value eq 'trip-42')"), 400, nil},
		{"all events", path, 200, []string{id, other.body["id"].(string)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("GET", tc.path, nil)
			if r.status != tc.status {
				t.Fatalf("%d %s", r.status, r.raw)
			}
			if tc.status != 200 {
				if r.errorCode() != "ErrorInvalidUrlQueryFilter" {
					t.Errorf("error %s", r.raw)
				}
				return
			}
			var got []string
			for _, v := range r.values() {
				got = append(got, v["id"].(string))
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.ids) {
				t.Errorf("ids %v, want %v", got, tc.ids)
			}
		})
	}

	r := e.do("GET", path+"/"+id+"?$expand="+url.QueryEscape("singleValueExtendedProperties($filter=id eq '"+markerID+"')"), nil)
	props, _ := r.body["singleValueExtendedProperties"].([]any)
	if len(props) != 1 || props[0].(map[string]any)["value"] != "trip-42" || props[0].(map[string]any)["id"] != markerID {
		t.Errorf("$expand: %s", r.raw)
	}

	upd := e.do("PATCH", path+"/"+id, map[string]any{"subject": "Trip to FRA", "end": map[string]string{"dateTime": "2026-03-02T19:00:00", "timeZone": "UTC"}})
	if upd.status != 200 || upd.body["subject"] != "Trip to FRA" || upd.body["end"].(map[string]any)["dateTime"] != "2026-03-02T19:00:00.0000000" {
		t.Errorf("PATCH: %d %s", upd.status, upd.raw)
	}
	bad := e.do("PATCH", path+"/"+id, map[string]any{"end": map[string]string{"dateTime": "2026-03-01T00:00:00", "timeZone": "UTC"}})
	if bad.status != 400 {
		t.Errorf("PATCH end before start: %d", bad.status)
	}
	// The same item through EWS: the marker is there under PublicStrings-
	// independent set id, and the subject is the patched one.
	ewsID, err := e.sim.EWSIDOf(id)
	if err != nil {
		t.Fatal(err)
	}
	it, _, _ := e.sim.GetItem(ewsID)
	if it.Subject != "Trip to FRA" || len(it.Extended) != 1 || it.Extended[0].Value != "trip-42" {
		t.Errorf("EWS view: %+v", it)
	}
	if del := e.do("DELETE", path+"/"+id, nil); del.status != 204 {
		t.Errorf("DELETE: %d %s", del.status, del.raw)
	}
	if gone := e.do("GET", path+"/"+id, nil); gone.status != 404 || gone.errorCode() != "ErrorItemNotFound" {
		t.Errorf("GET after DELETE: %d %s", gone.status, gone.raw)
	}
}

func TestTranslateExchangeIDs(t *testing.T) {
	e := newEnv(t, graphsim.Options{})
	ref := e.addMessage(alice, "inbox", "hello")
	all, _, _ := e.deltaRound("/users/" + alice + "/mailFolders/inbox/messages/delta")
	r := e.do("POST", "/users/"+alice+"/translateExchangeIds", map[string]any{"inputIds": []string{ref.ID, "garbage"}, "sourceIdType": "ewsId", "targetIdType": "restImmutableEntryId"})
	vals := r.values()
	if r.status != 200 || len(vals) != 2 || vals[0]["targetId"] != all[0]["id"] || vals[1]["errorDetails"] == nil {
		t.Errorf("translate: %s (delta id %v)", r.raw, all[0]["id"])
	}
	back := e.do("POST", "/users/"+alice+"/translateExchangeIds", map[string]any{"inputIds": []string{all[0]["id"].(string)}, "sourceIdType": "restImmutableEntryId", "targetIdType": "ewsId"})
	if back.values()[0]["targetId"] != ref.ID {
		t.Errorf("back to EWS: %s", back.raw)
	}
}

func TestGetSchedule(t *testing.T) {
	sim := ewssim.New(ewssim.Options{Seed: 7})
	ds, err := sim.Generate(ewssim.GenOptions{Mailboxes: 3, ItemsPerMailbox: 300, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	g := graphsim.New(sim, graphsim.Options{})
	e := &env{t: t, sim: sim, graph: g}
	e.srv = newServer(t, g)
	e.token = tokenFrom(t, e.srv.URL, ds.Account)
	window := func(schedules []string, interval int) map[string]any {
		return map[string]any{
			"schedules":                schedules,
			"startTime":                map[string]string{"dateTime": "2026-01-05T00:00:00", "timeZone": "UTC"},
			"endTime":                  map[string]string{"dateTime": "2026-01-12T00:00:00", "timeZone": "UTC"},
			"availabilityViewInterval": interval,
		}
	}
	path := "/users/" + ds.Mailboxes[0] + "/calendar/getSchedule"
	tooMany := make([]string, 21)
	for i := range tooMany {
		tooMany[i] = ds.Mailboxes[i%3]
	}
	if r := e.do("POST", path, window(tooMany, 60)); r.status != 400 {
		t.Errorf("21 schedules: %d", r.status)
	}
	r := e.do("POST", path, window([]string{ds.Mailboxes[0], ds.Mailboxes[1], "ghost@contoso.com"}, 60))
	if r.status != 200 {
		t.Fatalf("getSchedule: %d %s", r.status, r.raw)
	}
	vals := r.values()
	for i, v := range vals[:2] {
		view := v["availabilityView"].(string)
		if len(view) != 7*24 {
			t.Fatalf("availabilityView has %d digits, want 168", len(view))
		}
		items := v["scheduleItems"].([]any)
		if len(items) == 0 {
			t.Fatalf("schedule %d has no items in a generated week", i)
		}
		// Each item's hours are busy in the view.
		for _, x := range items {
			st, _ := time.Parse("2006-01-02T15:04:05.0000000", x.(map[string]any)["start"].(map[string]any)["dateTime"].(string))
			h := int(st.Sub(time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)) / time.Hour)
			if h >= 0 && h < len(view) && view[h] != '2' {
				t.Errorf("hour %d holds an item but the view says %c", h, view[h])
			}
		}
		if strings.Count(view, "2") == 0 {
			t.Errorf("view without busy time: %s", view)
		}
	}
	if e := vals[2]["error"].(map[string]any); e["responseCode"] != "ErrorMailRecipientNotFound" {
		t.Errorf("unknown schedule: %v", vals[2])
	}
}
