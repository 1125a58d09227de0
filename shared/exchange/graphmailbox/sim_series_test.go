package graphmailbox_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
)

// TestSimSeriesRoundTrip: a weekly series in graphsim with a moved and a
// cancelled occurrence reaches the feed item with its pattern, range,
// exceptions and deleted occurrences; when an occurrence is cancelled
// later, the next incremental sync reports the master again with it.
func TestSimSeriesRoundTrip(t *testing.T) {
	e := newSimEnv(t)
	ctx := context.Background()
	// Monday 09:00 Berlin, a week after the fake clock's now.
	now := e.clock.Now()
	day := now.Truncate(24*time.Hour).AddDate(0, 0, 7)
	for day.Weekday() != time.Monday {
		day = day.AddDate(0, 0, 1)
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	start := time.Date(day.Year(), day.Month(), day.Day(), 9, 0, 0, 0, berlin)
	id := e.add(alice, "calendar", ewssim.Item{Kind: ewssim.KindCalendar, Subject: "Standup", Start: start, End: start.Add(15 * time.Minute),
		TimeZone: "W. Europe Standard Time", Organizer: ewssim.Address{Email: alice}, IsRecurring: true,
		Recurrence: &ewssim.Recurrence{Pattern: "WeeklyRecurrence", Interval: 1, DaysOfWeek: []string{"Monday"},
			Range: "NumberedRecurrence", StartDate: start.Format("2006-01-02"), Count: 10}})
	master, err := e.sim.ItemByImmutableID(id)
	if err != nil {
		t.Fatal(err)
	}
	second := start.AddDate(0, 0, 7)
	if err := e.sim.SetOccurrence(master.ID, second, ewssim.Exception{Start: second.Add(2 * time.Hour), End: second.Add(2*time.Hour + 15*time.Minute),
		Subject: "Standup (late)", Location: "Room 9"}); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.DeleteOccurrence(master.ID, start.AddDate(0, 0, 14)); err != nil {
		t.Fatal(err)
	}
	m := newMirror()
	a := e.access()
	if err := m.sync(ctx, a, alice); err != nil {
		t.Fatal(err)
	}
	it, ok := m.items[id]
	if !ok {
		t.Fatalf("series not in the mirror: %v", m.items)
	}
	r := it.Recurrence
	if it.CalendarItemType != domain.CalendarSeriesMaster || r == nil || r.Pattern.Type != domain.PatternWeekly || len(r.Pattern.DaysOfWeek) != 1 ||
		r.Pattern.DaysOfWeek[0] != "monday" || r.Pattern.FirstDayOfWeek != "sunday" || r.Range.Type != domain.RangeNumbered || r.Range.NumberOfOccurrences != 10 ||
		r.Range.StartDate != start.Format("2006-01-02") {
		t.Fatalf("series %+v recurrence %+v", it, r)
	}
	if len(it.ModifiedOccurrences) != 1 || it.ModifiedOccurrences[0].ItemID == "" || it.ModifiedOccurrences[0].ItemID == id || !it.ModifiedOccurrences[0].OriginalStart.Equal(second) ||
		!it.ModifiedOccurrences[0].Start.Equal(second.Add(2*time.Hour)) || it.ModifiedOccurrences[0].Location != "Room 9" {
		t.Errorf("modified %+v", it.ModifiedOccurrences)
	}
	if len(it.DeletedOccurrences) != 1 || !it.DeletedOccurrences[0].OriginalStart.Equal(start.AddDate(0, 0, 14)) {
		t.Errorf("deleted %+v", it.DeletedOccurrences)
	}

	// The moved occurrence is deleted, and another, across the DST
	// change when the series runs into it: still 09:00 Berlin.
	fifth := start.AddDate(0, 0, 28)
	for _, at := range []time.Time{second, fifth} {
		if err := e.sim.DeleteOccurrence(master.ID, at); err != nil {
			t.Fatal(err)
		}
	}
	feed := len(m.feed)
	if err := m.sync(ctx, a, alice); err != nil {
		t.Fatal(err)
	}
	it = m.items[id]
	if len(m.feed) == feed || len(it.ModifiedOccurrences) != 0 || len(it.DeletedOccurrences) != 3 || !it.DeletedOccurrences[2].OriginalStart.Equal(fifth) {
		t.Errorf("after the cancellation: %d new feed entries, modified %+v, deleted %+v", len(m.feed)-feed, it.ModifiedOccurrences, it.DeletedOccurrences)
	}
}

// TestSimSeriesMastersThrottled: a calendar page's series masters are
// read by id with the page; when Graph throttles one of them, the page
// and the masters read are reported and kept, the throttled one stays in
// the state, and the mailbox's next call waits Graph's Retry-After
// without a request; after it, only the throttled master is read again.
// When the whole batch of masters is throttled, the page is still
// reported, and every master is read after the wait.
func TestSimSeriesMastersThrottled(t *testing.T) {
	for _, c := range []struct {
		name      string
		throttled int // masters Graph throttles
	}{{"one master throttled", 1}, {"every master throttled", 2}} {
		t.Run(c.name, func(t *testing.T) {
			e := newSimEnv(t)
			ctx := context.Background()
			start := e.clock.Now().Add(48 * time.Hour).Truncate(time.Hour)
			for _, s := range []string{"Standup", "Review"} {
				e.add(alice, "calendar", ewssim.Item{Kind: ewssim.KindCalendar, Subject: s, Start: start, End: start.Add(time.Hour), TimeZone: "UTC", Organizer: ewssim.Address{Email: alice},
					IsRecurring: true, Recurrence: &ewssim.Recurrence{Pattern: "DailyRecurrence", Interval: 1, Range: "NoEndRecurrence", StartDate: start.Format("2006-01-02")}})
			}
			a := e.access()
			ref := domain.MailboxRef{Address: alice}
			e.graph.InjectFault(ewssim.Fault{Op: "events.get", Mailbox: alice, Kind: ewssim.FaultHTTP429, RetryAfter: 5 * time.Second, Count: c.throttled})
			page, err := a.SyncItems(ctx, ref, "calendar", "", 50)
			if err != nil || page.Done || len(page.Changes) != 2-c.throttled {
				t.Fatalf("partly throttled delta page = %+v, %v", page, err)
			}
			if c.throttled == 1 {
				if items, err := a.GetItems(ctx, ref, domain.KindCalendar, []string{page.Changes[0].ItemID}); err != nil || len(items) != 1 || !items[0].IsRecurring {
					t.Fatalf("the master read with the page: %+v, %v", items, err)
				}
			}
			calls := e.graph.Stats().Requests
			_, err = a.SyncItems(ctx, ref, "calendar", page.State, 50)
			var ae *domain.AccessError
			if !errors.As(err, &ae) || ae.Kind != domain.AccessThrottled || ae.RetryAfter != 5*time.Second {
				t.Fatalf("within Retry-After: %v", err)
			}
			if n := e.graph.Stats().Requests - calls; n != 0 {
				t.Errorf("%d requests within Retry-After", n)
			}
			e.clock.Add(5 * time.Second)
			gets := e.calls("events.get")
			last, err := a.SyncItems(ctx, ref, "calendar", page.State, 50)
			if err != nil || !last.Done || len(last.Changes) != c.throttled || (c.throttled == 1 && last.Changes[0].ItemID == page.Changes[0].ItemID) {
				t.Fatalf("after Retry-After: %+v, %v", last, err)
			}
			if n := e.calls("events.get") - gets; n != int64(c.throttled) {
				t.Errorf("%d masters read again, want the %d throttled", n, c.throttled)
			}
		})
	}
}
