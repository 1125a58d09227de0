package graphsim_test

import (
	"net/url"
	"slices"
	"strings"
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

// TestSeriesScheduleAndPatch: a series POSTed over Graph (out of office)
// with one occurrence moved and one deleted in the shared model answers
// getSchedule with each remaining instance (the moved one at its new time,
// the deleted one absent) as oof and digit 3; a PATCH with another pattern
// makes a new series, dropping the exceptions, as Exchange does.
func TestSeriesScheduleAndPatch(t *testing.T) {
	e := newEnv(t, graphsim.Options{})
	r := e.do("POST", "/users/"+alice+"/events", map[string]any{
		"subject": "Leave", "showAs": "oof",
		"start":      map[string]any{"dateTime": "2026-03-02T09:00:00", "timeZone": "UTC"},
		"end":        map[string]any{"dateTime": "2026-03-02T10:00:00", "timeZone": "UTC"},
		"recurrence": map[string]any{"pattern": map[string]any{"type": "daily", "interval": 1}, "range": map[string]any{"type": "numbered", "startDate": "2026-03-02", "numberOfOccurrences": 5}},
	})
	if r.status != 201 {
		t.Fatalf("create: %d %v", r.status, r.body)
	}
	id := r.body["id"].(string)
	day := func(d int) time.Time { return time.Date(2026, 3, d, 9, 0, 0, 0, time.UTC) }
	e.moveOccurrence(t, id, day(3), ewssim.Exception{Start: day(3).Add(5 * time.Hour), End: day(3).Add(6 * time.Hour), Subject: "Leave (afternoon)"})
	e.deleteOccurrence(t, id, day(4))
	s := e.do("POST", "/users/"+alice+"/calendar/getSchedule", map[string]any{
		"schedules": []string{alice}, "availabilityViewInterval": 60,
		"startTime": map[string]any{"dateTime": "2026-03-02T00:00:00", "timeZone": "UTC"},
		"endTime":   map[string]any{"dateTime": "2026-03-05T00:00:00", "timeZone": "UTC"},
	})
	v := s.values()
	if s.status != 200 || len(v) != 1 {
		t.Fatalf("getSchedule: %d %s", s.status, s.raw)
	}
	var got []string
	for _, it := range v[0]["scheduleItems"].([]any) {
		x := it.(map[string]any)
		got = append(got, x["start"].(map[string]any)["dateTime"].(string)[:16]+" "+x["status"].(string))
	}
	want := []string{"2026-03-02T09:00 oof", "2026-03-03T14:00 oof"}
	if !slices.Equal(got, want) {
		t.Errorf("schedule items %v, want %v", got, want)
	}
	view := v[0]["availabilityView"].(string)
	if len(view) != 72 || view[9] != '3' || view[24+14] != '3' || view[48+9] != '0' || strings.Count(view, "3") != 2 {
		t.Errorf("availabilityView %s", view)
	}
	p := e.do("PATCH", "/users/"+alice+"/events/"+id, map[string]any{
		"recurrence": map[string]any{"pattern": map[string]any{"type": "weekly", "interval": 1, "daysOfWeek": []string{"monday", "tuesday"}}, "range": map[string]any{"type": "noEnd", "startDate": "2026-03-02"}},
	})
	if p.status != 200 {
		t.Fatalf("patch: %d %v", p.status, p.body)
	}
	g := e.do("GET", "/users/"+alice+"/events/"+id+"?$select=recurrence,cancelledOccurrences&$expand=exceptionOccurrences", nil)
	rec := g.body["recurrence"].(map[string]any)["pattern"].(map[string]any)
	if rec["type"] != "weekly" || len(g.body["cancelledOccurrences"].([]any)) != 0 || len(g.body["exceptionOccurrences"].([]any)) != 0 {
		t.Errorf("after the new pattern: %v", g.body)
	}
	m, err := e.sim.ItemByImmutableID(id)
	if err != nil || m.Recurrence.Pattern != "WeeklyRecurrence" || !slices.Equal(m.Recurrence.DaysOfWeek, []string{"Monday", "Tuesday"}) || m.FreeBusy != "OOF" {
		t.Errorf("the shared model: %+v %q %v", m.Recurrence, m.FreeBusy, err)
	}
}

// TestSeriesInstancesWrittenOverGraph: an instance from calendarView
// PATCHed (subject, start, end) becomes an exception and one DELETEd a
// cancelled occurrence, in the shared model EWS serves; the master lists
// them; deleting it again, or through another user, is a 404; a PATCH of
// a property the model does not keep per instance is refused and changes
// nothing.
func TestSeriesInstancesWrittenOverGraph(t *testing.T) {
	e := newEnv(t, graphsim.Options{})
	r := e.do("POST", "/users/"+alice+"/events", map[string]any{
		"subject":    "Standup",
		"start":      map[string]any{"dateTime": "2026-03-02T09:00:00", "timeZone": "UTC"},
		"end":        map[string]any{"dateTime": "2026-03-02T09:15:00", "timeZone": "UTC"},
		"recurrence": map[string]any{"pattern": map[string]any{"type": "daily", "interval": 1}, "range": map[string]any{"type": "numbered", "startDate": "2026-03-02", "numberOfOccurrences": 5}},
	})
	if r.status != 201 {
		t.Fatalf("create: %d %v", r.status, r.body)
	}
	id := r.body["id"].(string)
	view := e.do("GET", "/users/"+alice+"/calendarView?startDateTime=2026-03-01T00:00:00Z&endDateTime=2026-03-10T00:00:00Z", nil).values()
	if len(view) != 5 {
		t.Fatalf("calendarView: %d instances", len(view))
	}
	second, third := view[1]["id"].(string), view[2]["id"].(string)
	p := e.do("PATCH", "/users/"+alice+"/events/"+second, map[string]any{"subject": "Standup (late)",
		"start": map[string]any{"dateTime": "2026-03-03T11:00:00", "timeZone": "UTC"}, "end": map[string]any{"dateTime": "2026-03-03T11:30:00", "timeZone": "UTC"}})
	if p.status != 200 || p.body["type"] != "exception" || p.body["subject"] != "Standup (late)" || p.body["seriesMasterId"] != id {
		t.Fatalf("patch an instance: %d %v", p.status, p.body)
	}
	if d := e.do("DELETE", "/users/"+alice+"/events/"+third, nil); d.status != 204 {
		t.Fatalf("delete an instance: %d %v", d.status, d.body)
	}
	for _, path := range []string{"/users/" + alice + "/events/" + third, "/users/" + bob + "/events/" + second} {
		if d := e.do("DELETE", path, nil); d.status != 404 {
			t.Errorf("DELETE %s: %d", path, d.status)
		}
	}
	before, _ := e.sim.ItemByImmutableID(id)
	if b := e.do("PATCH", "/users/"+alice+"/events/"+second, map[string]any{"isAllDay": true}); b.status != 400 {
		t.Errorf("patch isAllDay of an instance: %d", b.status)
	}
	m := e.do("GET", "/users/"+alice+"/events/"+id+"?$select=cancelledOccurrences&$expand=exceptionOccurrences", nil)
	cancelled, _ := m.body["cancelledOccurrences"].([]any)
	ex, _ := m.body["exceptionOccurrences"].([]any)
	if len(cancelled) != 1 || cancelled[0] != "OID."+id+".2026-03-04" || len(ex) != 1 || ex[0].(map[string]any)["id"] != second {
		t.Fatalf("master: %v", m.body)
	}
	v, err := e.sim.ItemByImmutableID(id)
	if err != nil || len(v.Exceptions) != 1 || v.Exceptions[0].Subject != "Standup (late)" || !v.Exceptions[0].Start.Equal(time.Date(2026, 3, 3, 11, 0, 0, 0, time.UTC)) ||
		!slices.Equal(v.DeletedOccurrences, []int{3}) || v.ChangeKey != before.ChangeKey {
		t.Errorf("the shared model: exceptions %+v deleted %v (%v); the refused patch changed it: %v", v.Exceptions, v.DeletedOccurrences, err, v.ChangeKey != before.ChangeKey)
	}
}
