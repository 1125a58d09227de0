package mailboxtest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/teambition/rrule-go"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
)

// seriesSpec is a recurring series of the availability test: its master
// and the occurrences moved (original start -> new start, one hour) and
// deleted.
type seriesSpec struct {
	mailbox string
	master  ewssim.Item
	moved   map[time.Time]time.Time
	deleted []time.Time
}

// runAvailabilitySeries: busy blocks match the calendars with recurring
// series: daily and weekly series in three zones, across Europe's DST
// change, with an occurrence moved into the window from after it, one
// moved within it and deleted ones, with busy, tentative, out-of-office
// and free series, answer exactly the intervals a brute-force expansion
// of each series' RRULE (rrule-go) with its exceptions gives; and "all of
// 3 people and any 1 of 6 rooms" answers exactly the slots brute force
// finds over those calendars.
func runAvailabilitySeries(t *testing.T, newEnv func(t testing.TB) Env) {
	env := newEnv(t)
	h := NewHarness(t, env)
	ctx := context.Background()
	uc := &app.Availability{Store: h.Store, Secrets: h.Syncer.Secrets, Connector: env.Availability, Log: h.Syncer.Log}

	people := []string{"sae@contoso.com", "tom@contoso.com", "uma@contoso.com"}
	var rooms []string
	for i := range 6 {
		rooms = append(rooms, fmt.Sprintf("sroom%d@contoso.com", i))
	}
	env.AddInScope(t, slices.Concat(people, rooms)...)

	// The window: four days either side of the next change to summer
	// time in Berlin (the last Sunday of March).
	berlin, london, pacific := zone(t, "Europe/Berlin"), zone(t, "Europe/London"), zone(t, "America/Los_Angeles")
	y := time.Now().Year() + 1
	dst := time.Date(y, time.April, 1, 0, 0, 0, 0, time.UTC)
	for dst = dst.AddDate(0, 0, -1); dst.Weekday() != time.Sunday; dst = dst.AddDate(0, 0, -1) {
	}
	start, end := dst.AddDate(0, 0, -4), dst.AddDate(0, 0, 4)
	at := func(d time.Time, loc *time.Location, hour, min int) time.Time {
		return time.Date(d.Year(), d.Month(), d.Day(), hour, min, 0, 0, loc)
	}
	series := func(mailbox, zoneName string, s time.Time, dur time.Duration, status string, r ewssim.Recurrence) seriesSpec {
		r.StartDate = s.Format(time.DateOnly)
		return seriesSpec{mailbox: mailbox, master: ewssim.Item{Kind: ewssim.KindCalendar, Subject: "Series", Start: s, End: s.Add(dur),
			TimeZone: zoneName, FreeBusy: status, Organizer: ewssim.Address{Email: mailbox}, IsRecurring: true, Recurrence: &r}}
	}
	daily := func(iv int) ewssim.Recurrence {
		return ewssim.Recurrence{Pattern: "DailyRecurrence", Interval: iv, Range: "NoEndRecurrence"}
	}
	weekly := func(days ...string) ewssim.Recurrence {
		return ewssim.Recurrence{Pattern: "WeeklyRecurrence", Interval: 1, DaysOfWeek: days, Range: "EndDateRecurrence", EndDate: end.AddDate(0, 0, 30).Format(time.DateOnly)}
	}

	// sae: daily 09:00 Berlin (08:00 UTC before the change, 07:00 after);
	// Saturday's moved to 15:00, Monday's deleted.
	sae := series(people[0], "W. Europe Standard Time", at(start.AddDate(0, 0, -10), berlin, 9, 0), time.Hour, "", daily(1))
	sae.moved = map[time.Time]time.Time{at(dst.AddDate(0, 0, -1), berlin, 9, 0): at(dst.AddDate(0, 0, -1), berlin, 15, 0)}
	sae.deleted = []time.Time{at(dst.AddDate(0, 0, 1), berlin, 9, 0)}
	// tom: Monday, Wednesday, Friday 13:00 London, out of office; the
	// Monday after the window moved into it.
	tom := series(people[1], "GMT Standard Time", at(start.AddDate(0, 0, -14), london, 13, 0), 90*time.Minute, "OOF", weekly("Monday", "Wednesday", "Friday"))
	after := end.AddDate(0, 0, 1)
	for after.Weekday() != time.Monday {
		after = after.AddDate(0, 0, 1)
	}
	tom.moved = map[time.Time]time.Time{at(after, london, 13, 0): at(dst.AddDate(0, 0, 2), london, 7, 0)}
	// uma: Tuesday and Thursday 10:00 Los Angeles, tentative, 10 times.
	uma := series(people[2], "Pacific Standard Time", at(start.AddDate(0, 0, -8), pacific, 10, 0), time.Hour, "Tentative",
		ewssim.Recurrence{Pattern: "WeeklyRecurrence", Interval: 1, DaysOfWeek: []string{"Tuesday", "Thursday"}, Range: "NumberedRecurrence", Count: 10})
	specs := []seriesSpec{sae, tom, uma}
	// Rooms: every day or every other day, two hours from a room's hour
	// (Berlin); the first room's series shows free (books nothing); the
	// third has one occurrence moved and one deleted.
	for i, r := range rooms {
		status := ""
		if i == 0 {
			status = "Free"
		}
		s := series(r, "W. Europe Standard Time", at(start.AddDate(0, 0, -3), berlin, 8+2*i, 0), 2*time.Hour, status, daily(1+i%2))
		if i == 2 {
			o := at(dst, berlin, 8+2*i, 0)
			s.moved = map[time.Time]time.Time{o: o.Add(-5 * time.Hour)}
			s.deleted = []time.Time{o.AddDate(0, 0, 2)}
		}
		specs = append(specs, s)
	}

	placed := map[string][]domain.BusyInterval{}
	for _, m := range slices.Concat(people, rooms) {
		placed[m] = []domain.BusyInterval{}
	}
	for _, s := range specs {
		ref, err := env.Sim.AddItem(s.mailbox, "calendar", s.master)
		if err != nil {
			t.Fatal(err)
		}
		for o, n := range s.moved {
			if err := env.Sim.SetOccurrence(ref.ID, o, ewssim.Exception{Start: n, End: n.Add(time.Hour), Subject: "Moved"}); err != nil {
				t.Fatalf("%s: moving %s: %v", s.mailbox, o, err)
			}
		}
		for _, o := range s.deleted {
			if err := env.Sim.DeleteOccurrence(ref.ID, o); err != nil {
				t.Fatalf("%s: deleting %s: %v", s.mailbox, o, err)
			}
		}
		placed[s.mailbox] = append(placed[s.mailbox], bruteForce(t, s, start, end)...)
	}

	res, err := uc.Check(ctx, env.Tenant.ID, app.AvailabilityInput{Mailboxes: slices.Concat(people, rooms), Start: start, End: end, MeetingMinutes: 60, SlotMinutes: 15,
		Groups: []app.GroupInput{{Kind: "all", Mailboxes: people}, {Kind: "any", Count: 1, Mailboxes: rooms}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range res.Mailboxes {
		if m.Failure != nil {
			t.Fatalf("%s failed: %+v", m.Mailbox, m.Failure)
		}
		if got, want := intervals(m.Busy), intervals(placed[m.Mailbox]); !slices.Equal(got, want) {
			t.Errorf("%s busy\n got %v\nwant %v", m.Mailbox, got, want)
		}
	}
	statuses := map[domain.BusyStatus]bool{}
	for _, bs := range placed {
		for _, b := range bs {
			statuses[b.Status] = true
		}
	}
	if len(statuses) != 3 || len(placed[rooms[0]]) != 0 {
		t.Fatalf("brute force placed statuses %v, %d intervals in the free room: the test's calendars are not what it says", statuses, len(placed[rooms[0]]))
	}

	want := bruteForceSlots(placed, people, rooms, start, end)
	var got []string
	for _, s := range res.Slots {
		got = append(got, s.Start.UTC().Format(time.RFC3339)+" "+strings.Join(s.Free[1], ","))
	}
	if !slices.Equal(got, want) {
		t.Errorf("%d slots, brute force %d\n got %v\nwant %v", len(got), len(want), got, want)
	}
	if len(want) == 0 || len(want) == int(end.Sub(start)/(15*time.Minute))-3 {
		t.Fatalf("%d slots: the calendars constrain nothing or everything; the check proves nothing", len(want))
	}
}

func zone(t *testing.T, name string) *time.Location {
	t.Helper()
	l, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// bruteForce expands a series with a standard library: the RRULE the
// feed carries for its recurrence (domain.RRuleOf) from the master's start
// in its zone, then its deleted occurrences removed and its moved ones
// placed at their new times; the instances overlapping [start, end),
// clipped to it, with the series' status (none for a free series).
func bruteForce(t *testing.T, s seriesSpec, start, end time.Time) []domain.BusyInterval {
	t.Helper()
	z, ok := domain.ResolveTimeZone(s.master.TimeZone)
	if !ok {
		t.Fatalf("zone %q", s.master.TimeZone)
	}
	loc := zone(t, z.IANA)
	rule, err := domain.RRuleOf(domainRecurrence(*s.master.Recurrence), loc)
	if err != nil {
		t.Fatal(err)
	}
	opt, err := rrule.StrToROptionInLocation(rule, loc)
	if err != nil {
		t.Fatalf("rrule-go rejects %q: %v", rule, err)
	}
	opt.Dtstart = s.master.Start.In(loc)
	rr, err := rrule.NewRRule(*opt)
	if err != nil {
		t.Fatal(err)
	}
	status := map[string]domain.BusyStatus{"": domain.BusyBusy, "Busy": domain.BusyBusy, "Tentative": domain.BusyTentative, "OOF": domain.BusyOutOfOffice}[s.master.FreeBusy]
	if s.master.FreeBusy == "Free" {
		return nil
	}
	dur := s.master.End.Sub(s.master.Start)
	var out []domain.BusyInterval
	add := func(b, e time.Time) {
		if b.Before(end) && e.After(start) {
			out = append(out, domain.BusyInterval{Start: maxTime(b, start).UTC(), End: minTime(e, end).UTC(), Status: status})
		}
	}
	moved := map[int64]bool{}
	for o, n := range s.moved {
		moved[o.Unix()] = true
		add(n, n.Add(time.Hour))
	}
	for _, o := range rr.Between(s.master.Start, end.AddDate(0, 0, 60), true) {
		if moved[o.Unix()] || slices.ContainsFunc(s.deleted, func(d time.Time) bool { return d.Equal(o) }) {
			continue
		}
		add(o, o.Add(dur))
	}
	return out
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// domainRecurrence is the series' recurrence as the feed describes it
// (the EWS adapter's mapping of these patterns).
func domainRecurrence(r ewssim.Recurrence) domain.Recurrence {
	p := domain.RecurrencePattern{Type: map[string]string{"DailyRecurrence": domain.PatternDaily, "WeeklyRecurrence": domain.PatternWeekly}[r.Pattern], Interval: r.Interval}
	for _, d := range r.DaysOfWeek {
		p.DaysOfWeek = append(p.DaysOfWeek, strings.ToLower(d))
	}
	rg := domain.RecurrenceRange{StartDate: r.StartDate}
	switch r.Range {
	case "NoEndRecurrence":
		rg.Type = domain.RangeNoEnd
	case "EndDateRecurrence":
		rg.Type, rg.EndDate = domain.RangeEndDate, r.EndDate
	case "NumberedRecurrence":
		rg.Type, rg.NumberOfOccurrences = domain.RangeNumbered, r.Count
	}
	return domain.Recurrence{Pattern: p, Range: rg}
}
