package mailboxtest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
)

// runAvailability: free/busy answers the busy intervals the calendars
// hold inside the window (and none outside it), for several mailboxes in
// one call within the protocol's batch limit; a mailbox outside the scope
// fails alone or answers, as the Env declares.
func runAvailability(t *testing.T, newEnv func(t testing.TB) Env) {
	env := newEnv(t)
	if env.Availability == nil {
		t.Fatal("the Env has no availability connector")
	}
	ctx := context.Background()
	m := env.Mailboxes[0]
	day := time.Now().UTC().Truncate(24 * time.Hour).Add(10 * 24 * time.Hour)
	busy := []struct{ start, end time.Duration }{{9 * time.Hour, 10 * time.Hour}, {14 * time.Hour, 15*time.Hour + 30*time.Minute}}
	for _, b := range busy {
		if _, err := env.Sim.AddItem(m, "calendar", ewssim.Item{Kind: ewssim.KindCalendar, Subject: "Busy", Start: day.Add(b.start), End: day.Add(b.end), Organizer: ewssim.Address{Email: m}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := env.Sim.AddItem(m, "calendar", ewssim.Item{Kind: ewssim.KindCalendar, Subject: "Next day", Start: day.Add(33 * time.Hour), End: day.Add(34 * time.Hour), Organizer: ewssim.Address{Email: m}}); err != nil {
		t.Fatal(err)
	}
	r, err := env.Availability.ConnectAvailability(ctx, env.Tenant, env.Credential)
	if err != nil {
		t.Fatal(err)
	}
	if l := r.Limits(); l.MaxMailboxes < 20 || l.MaxWindow < 42*24*time.Hour {
		t.Fatalf("limits %+v: every protocol takes at least 20 mailboxes and 42 days a call", l)
	}
	res, err := r.Availability(ctx, []string{m, env.OutOfScope}, day, day.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || res[0].Mailbox != m || res[1].Mailbox != env.OutOfScope {
		t.Fatalf("answers %+v, want one per mailbox in order", res)
	}
	var got []string
	for _, b := range res[0].Busy {
		got = append(got, b.Start.UTC().Format(time.RFC3339)+"-"+b.End.UTC().Format(time.RFC3339)+" "+string(b.Status))
	}
	var want []string
	for _, b := range busy {
		want = append(want, day.Add(b.start).Format(time.RFC3339)+"-"+day.Add(b.end).Format(time.RFC3339)+" "+string(domain.BusyBusy))
	}
	// Generated calendar items may fall on that day too: the added ones
	// must all be there, and nothing from the next day.
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("busy %v lacks %s", got, w)
		}
	}
	for _, b := range res[0].Busy {
		if !b.Start.Before(day.Add(24*time.Hour)) || !b.End.After(day) {
			t.Errorf("busy interval %v-%v lies outside the window", b.Start, b.End)
		}
	}
	if res[0].Err != nil {
		t.Errorf("in-scope mailbox failed: %v", res[0].Err)
	}
	if (res[1].Err != nil) != env.AvailabilityScoped {
		t.Errorf("out-of-scope mailbox: err %v, want failure %v", res[1].Err, env.AvailabilityScoped)
	}
}
