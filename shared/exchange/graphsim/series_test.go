package graphsim_test

import (
	"net/url"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
	"github.com/mailbridge/mailbridge/shared/exchange/graphsim"
)

// TestSeriesServed: a series created with a recurrence is a seriesMaster
// of the shared model (the series EWS serves) whose recurrence comes back
// as Graph renders it (every member filled), whose cancelled occurrences
// (deleted in the model) come only on $select (occurrence ids with the
// day in the series' zone) and whose exceptions come on $expand; a bad
// recurrence is refused and creates nothing.
func TestSeriesServed(t *testing.T) {
	e := newEnv(t, graphsim.Options{})
	body := func(rec map[string]any) map[string]any {
		return map[string]any{
			"subject":    "Standup",
			"start":      map[string]any{"dateTime": "2026-03-02T00:30:00", "timeZone": "W. Europe Standard Time"},
			"end":        map[string]any{"dateTime": "2026-03-02T01:00:00", "timeZone": "W. Europe Standard Time"},
			"recurrence": rec,
		}
	}
	r := e.do("POST", "/users/"+alice+"/events", body(map[string]any{
		"pattern": map[string]any{"type": "Daily", "interval": 2},
		"range":   map[string]any{"type": "noEnd", "startDate": "2026-03-02"},
	}))
	if r.status != 201 || r.body["type"] != "seriesMaster" {
		t.Fatalf("create: %d %v", r.status, r.body)
	}
	id := r.body["id"].(string)
	rec := r.body["recurrence"].(map[string]any)
	p, rg := rec["pattern"].(map[string]any), rec["range"].(map[string]any)
	if p["type"] != "daily" || p["index"] != "first" || p["firstDayOfWeek"] != "sunday" || p["month"] != 0.0 ||
		rg["endDate"] != "0001-01-01" || rg["recurrenceTimeZone"] != "W. Europe Standard Time" {
		t.Errorf("recurrence %v", rec)
	}
	if _, ok := r.body["cancelledOccurrences"]; ok {
		t.Error("cancelledOccurrences without $select")
	}
	// 00:30 Berlin on 4 March is 23:30 UTC on 3 March: the id names the
	// series' day. The series' exceptions are the shared model's, made
	// here as an EWS client makes them.
	at := time.Date(2026, 3, 3, 23, 30, 0, 0, time.UTC)
	e.moveOccurrence(t, id, at.AddDate(0, 0, 2), ewssim.Exception{Start: at, End: at.Add(time.Hour), Subject: "Moved"})
	e.deleteOccurrence(t, id, at)
	g := e.do("GET", "/users/"+alice+"/events/"+id+"?$select=cancelledOccurrences&$expand="+url.QueryEscape("exceptionOccurrences($select=id,originalStart,subject)"), nil)
	cancelled, _ := g.body["cancelledOccurrences"].([]any)
	ex, _ := g.body["exceptionOccurrences"].([]any)
	if g.status != 200 || len(cancelled) != 1 || cancelled[0] != "OID."+id+".2026-03-04" || len(ex) != 1 {
		t.Fatalf("%d %v", g.status, g.body)
	}
	x := ex[0].(map[string]any)
	if x["subject"] != "Moved" || x["originalStart"] != "2026-03-05T23:30:00Z" || x["start"] != nil {
		t.Errorf("exception %v", x)
	}
	v, err := e.sim.ItemByImmutableID(id)
	if err != nil || v.Recurrence == nil || v.Recurrence.Pattern != "DailyRecurrence" || v.Recurrence.Interval != 2 || v.Recurrence.Range != "NoEndRecurrence" {
		t.Errorf("the shared model's series: %+v %v", v.Recurrence, err)
	}
	before := len(e.do("GET", "/users/"+alice+"/events", nil).values())
	for _, bad := range []map[string]any{
		{"pattern": map[string]any{"type": "hourly", "interval": 1}, "range": map[string]any{"type": "noEnd", "startDate": "2026-03-02"}},
		{"pattern": map[string]any{"type": "weekly", "interval": 1}, "range": map[string]any{"type": "noEnd", "startDate": "2026-03-02"}},
		{"pattern": map[string]any{"type": "daily", "interval": 1}, "range": map[string]any{"type": "endDate", "startDate": "2026-03-02", "endDate": "2026-01-01"}},
		{"pattern": map[string]any{"type": "daily", "interval": 0}, "range": map[string]any{"type": "noEnd", "startDate": "2026-03-02"}},
	} {
		if r := e.do("POST", "/users/"+alice+"/events", body(bad)); r.status != 400 || r.errorCode() != "ErrorInvalidRequest" {
			t.Errorf("%v: %d %v", bad, r.status, r.body)
		}
	}
	if after := len(e.do("GET", "/users/"+alice+"/events", nil).values()); after != before {
		t.Errorf("refused series created events: %d -> %d", before, after)
	}
}

// TestEventPropsServed: an event's free/busy status, reminder and
// responses-requested flag are held as POST and PATCH set them and served
// back; a value outside Graph's enum is refused and creates nothing.
func TestEventPropsServed(t *testing.T) {
	e := newEnv(t, graphsim.Options{})
	body := map[string]any{
		"subject": "Focus time",
		"start":   map[string]any{"dateTime": "2026-03-02T09:00:00", "timeZone": "UTC"},
		"end":     map[string]any{"dateTime": "2026-03-02T11:00:00", "timeZone": "UTC"},
		"showAs":  "oof", "isReminderOn": false, "reminderMinutesBeforeStart": 30, "responseRequested": false,
	}
	r := e.do("POST", "/users/"+alice+"/events", body)
	if r.status != 201 || r.body["showAs"] != "oof" || r.body["isReminderOn"] != false || r.body["reminderMinutesBeforeStart"] != 30.0 || r.body["responseRequested"] != false {
		t.Fatalf("create: %d %v", r.status, r.body)
	}
	id := r.body["id"].(string)
	if p := e.do("PATCH", "/users/"+alice+"/events/"+id, map[string]any{"showAs": "Tentative"}); p.status != 200 {
		t.Fatalf("patch: %d %v", p.status, p.body)
	}
	g := e.do("GET", "/users/"+alice+"/events/"+id, nil)
	if g.body["showAs"] != "tentative" || g.body["isReminderOn"] != false {
		t.Errorf("after the patch: %v", g.body)
	}
	before := len(e.do("GET", "/users/"+alice+"/events", nil).values())
	body["showAs"] = "sleeping"
	if r := e.do("POST", "/users/"+alice+"/events", body); r.status != 400 {
		t.Errorf("showAs sleeping: %d %v", r.status, r.body)
	}
	body["showAs"], body["reminderMinutesBeforeStart"] = "busy", -5
	if r := e.do("POST", "/users/"+alice+"/events", body); r.status != 400 {
		t.Errorf("negative reminder: %d %v", r.status, r.body)
	}
	if after := len(e.do("GET", "/users/"+alice+"/events", nil).values()); after != before {
		t.Errorf("refused events were created: %d -> %d", before, after)
	}
}
