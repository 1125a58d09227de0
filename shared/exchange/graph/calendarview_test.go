package graph

import (
	"strings"
	"testing"
	"time"
)

// TestCalendarView: the window goes as startDateTime/endDateTime in UTC,
// the pages ($top 100) are followed through @odata.nextLink, each
// instance keeps its type, seriesMasterId and originalStart, the answer
// stops at max and says more; a nextLink to another host is refused; a
// bad window or max is refused before any request.
func TestCalendarView(t *testing.T) {
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.FixedZone("CET", 3600))
	end := start.AddDate(0, 0, 31)
	occ := `{"id":"O1","subject":"Weekly","type":"occurrence","seriesMasterId":"M1","originalStart":"2026-03-02T08:00:00Z","start":{"dateTime":"2026-03-02T08:00:00.0000000","timeZone":"UTC"},"end":{"dateTime":"2026-03-02T09:00:00.0000000","timeZone":"UTC"}}`
	exc := `{"id":"O2","subject":"Moved","type":"exception","seriesMasterId":"M1","originalStart":"2026-03-09T08:00:00Z","start":{"dateTime":"2026-03-10T08:00:00.0000000","timeZone":"UTC"},"end":{"dateTime":"2026-03-10T09:00:00.0000000","timeZone":"UTC"}}`
	single := `{"id":"S1","subject":"Lunch","type":"singleInstance","start":{"dateTime":"2026-03-11T12:00:00.0000000","timeZone":"UTC"},"end":{"dateTime":"2026-03-11T13:00:00.0000000","timeZone":"UTC"}}`
	t.Run("two pages", func(t *testing.T) {
		rec := &recorder{answers: []canned{
			answer(200, []byte(`{"value":[`+occ+`,`+exc+`],"@odata.nextLink":"`+testBase+`/users/ann@contoso.com/calendarView?startDateTime=x&$skip=2"}`)),
			answer(200, []byte(`{"value":[`+single+`]}`)),
		}}
		evs, more, err := newTestClient(t, rec).CalendarInstances(bg, "ann@contoso.com", start, end, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if more || len(evs) != 3 || evs[1].Type != "exception" || evs[1].SeriesMasterID != "M1" || evs[1].OriginalStart.Format(time.RFC3339) != "2026-03-09T08:00:00Z" || evs[2].Type != "singleInstance" {
			t.Fatalf("events %+v, more %v", evs, more)
		}
		q := rec.reqs[0].URL.Query()
		if rec.reqs[0].URL.Path != "/v1.0/users/ann@contoso.com/calendarView" || q.Get("startDateTime") != "2026-02-28T23:00:00Z" || q.Get("endDateTime") != "2026-03-31T23:00:00Z" {
			t.Errorf("first request %s", rec.reqs[0].URL)
		}
		if q.Get("$top") != "100" || len(rec.reqs) != 2 || !strings.Contains(rec.reqs[1].URL.RawQuery, "skip=2") {
			t.Errorf("$top %q, %d requests", q.Get("$top"), len(rec.reqs))
		}
	})
	t.Run("cut at max", func(t *testing.T) {
		rec := &recorder{answers: []canned{answer(200, []byte(`{"value":[`+occ+`,`+exc+`,`+single+`]}`))}}
		evs, more, err := newTestClient(t, rec).CalendarInstances(bg, "ann@contoso.com", start, end, 2)
		if err != nil || !more || len(evs) != 2 {
			t.Fatalf("%d events, more %v, err %v", len(evs), more, err)
		}
	})
	t.Run("a nextLink to another host", func(t *testing.T) {
		rec := &recorder{answers: []canned{answer(200, []byte(`{"value":[],"@odata.nextLink":"https://evil.example/v1.0/users/x/calendarView"}`))}}
		if _, _, err := newTestClient(t, rec).CalendarInstances(bg, "ann@contoso.com", start, end, 10); err == nil || len(rec.reqs) != 1 {
			t.Fatalf("err %v after %d requests; want a refusal", err, len(rec.reqs))
		}
	})
	t.Run("bad window or max", func(t *testing.T) {
		rec := &recorder{}
		cl := newTestClient(t, rec)
		for _, c := range []struct {
			s, e time.Time
			max  int
		}{{end, start, 10}, {start, start, 10}, {start, end, 0}, {start, end, 1001}} {
			if _, _, err := cl.CalendarInstances(bg, "ann@contoso.com", c.s, c.e, c.max); err == nil {
				t.Errorf("%v-%v max %d accepted", c.s, c.e, c.max)
			}
		}
		if len(rec.reqs) != 0 {
			t.Errorf("%d requests sent", len(rec.reqs))
		}
	})
}
