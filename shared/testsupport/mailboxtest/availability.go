package mailboxtest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/app"
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
	r, err := env.Availability.ConnectAvailability(ctx, env.Tenant, env.Credential, "")
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

	// A batch led by a mailbox the calls cannot act as (outside the scope,
	// or none at all): with a mailbox of the tenant to act as, it fails
	// alone and the others answer.
	r, err = env.Availability.ConnectAvailability(ctx, env.Tenant, env.Credential, m)
	if err != nil {
		t.Fatal(err)
	}
	for _, first := range []string{env.OutOfScope, UnknownMailbox} {
		res, err := r.Availability(ctx, []string{first, m}, day, day.Add(24*time.Hour))
		if err != nil {
			t.Fatalf("led by %s: %v", first, err)
		}
		if res[1].Err != nil || len(res[1].Busy) < len(busy) {
			t.Errorf("led by %s: %s failed (%v) or lost its busy time (%d intervals)", first, m, res[1].Err, len(res[1].Busy))
		}
		if wantErr := first == UnknownMailbox || env.AvailabilityScoped; (res[0].Err != nil) != wantErr {
			t.Errorf("%s: err %v, want failure %v", first, res[0].Err, wantErr)
		}
	}
}

// runAvailabilityUseCase: the use case behind POST
// /tenants/{id}/availability over the protocol's adapter and simulator.
// 250 mailboxes go out in the protocol's batch size, one request to the
// server each; "all of 3 people and any 1 of 20 rooms" returns exactly the
// slots a brute-force check over the calendars finds; a mailbox that does
// not exist fails alone; a window one day beyond the protocol's limit is
// refused before any request.
func runAvailabilityUseCase(t *testing.T, newEnv func(t testing.TB) Env) {
	env := newEnv(t)
	h := NewHarness(t, env)
	ctx := context.Background()
	uc := &app.Availability{Store: h.Store, Secrets: h.Syncer.Secrets, Connector: env.Availability, Log: h.Syncer.Log}
	r, err := env.Availability.ConnectAvailability(ctx, env.Tenant, env.Credential, "")
	if err != nil {
		t.Fatal(err)
	}
	lim := r.Limits()

	people := []string{"ann@contoso.com", "bob@contoso.com", "cyd@contoso.com"}
	var rooms, crowd []string
	for i := range 20 {
		rooms = append(rooms, fmt.Sprintf("room%02d@contoso.com", i))
	}
	for i := range 250 - len(people) - len(rooms) {
		crowd = append(crowd, fmt.Sprintf("person%03d@contoso.com", i))
	}
	env.AddInScope(t, slices.Concat(people, rooms, crowd)...)

	// Calendars over three days: random meetings on a 15-minute grid.
	start := time.Now().UTC().Truncate(24 * time.Hour).Add(10 * 24 * time.Hour)
	end := start.Add(3 * 24 * time.Hour)
	rng := rand.New(rand.NewPCG(11, 12))
	placed := map[string][]domain.BusyInterval{}
	for _, m := range slices.Concat(people, rooms) {
		placed[m] = []domain.BusyInterval{}
		for range 3 + rng.IntN(10) {
			s := start.Add(time.Duration(rng.IntN(3*24*4)) * 15 * time.Minute)
			e := s.Add(time.Duration(1+rng.IntN(8)) * 15 * time.Minute)
			if _, err := env.Sim.AddItem(m, "calendar", ewssim.Item{Kind: ewssim.KindCalendar, Subject: "Meeting", Start: s, End: e, Organizer: ewssim.Address{Email: m}}); err != nil {
				t.Fatal(err)
			}
			placed[m] = append(placed[m], domain.BusyInterval{Start: s, End: e, Status: domain.BusyBusy})
		}
	}

	t.Run("250 mailboxes in protocol-sized batches", func(t *testing.T) {
		all := slices.Concat(people, rooms, crowd)
		before := env.Calls()
		res, err := uc.Check(ctx, env.Tenant.ID, app.AvailabilityInput{Mailboxes: all, Start: start, End: end, MeetingMinutes: 30})
		if err != nil {
			t.Fatal(err)
		}
		want := (250 + lim.MaxMailboxes - 1) / lim.MaxMailboxes
		if res.Batches != want || env.Calls()-before != int64(want) {
			t.Errorf("%d batches, %d requests to the server; want %d of at most %d mailboxes", res.Batches, env.Calls()-before, want, lim.MaxMailboxes)
		}
		for i, m := range res.Mailboxes {
			if m.Mailbox != all[i] || m.Failure != nil {
				t.Fatalf("answer %d: %s failure %+v; want %s answered", i, m.Mailbox, m.Failure, all[i])
			}
		}
	})

	t.Run("all people and any one room: the brute-force slots", func(t *testing.T) {
		ms := slices.Concat(people, rooms, []string{UnknownMailbox})
		res, err := uc.Check(ctx, env.Tenant.ID, app.AvailabilityInput{Mailboxes: ms, Start: start, End: end, MeetingMinutes: 60, SlotMinutes: 15,
			Groups: []app.GroupInput{{Kind: "all", Mailboxes: people}, {Kind: "any", Count: 1, Mailboxes: append(slices.Clone(rooms), UnknownMailbox)}}})
		if err != nil {
			t.Fatal(err)
		}
		// Busy blocks match the calendars.
		for _, m := range res.Mailboxes {
			if m.Mailbox == UnknownMailbox {
				if m.Failure == nil || m.Failure.Kind != domain.AccessMailboxNotFound {
					t.Errorf("unknown mailbox: failure %+v, want mailbox_not_found", m.Failure)
				}
				continue
			}
			if m.Failure != nil {
				t.Fatalf("%s failed: %+v", m.Mailbox, m.Failure)
			}
			if got, want := intervals(m.Busy), intervals(placed[m.Mailbox]); !slices.Equal(got, want) {
				t.Errorf("%s busy\n got %v\nwant %v", m.Mailbox, got, want)
			}
		}
		// Slots: every 15 minutes, a 60-minute meeting all people and at
		// least one room have free.
		want := bruteForceSlots(placed, people, rooms, start, end)
		var got []string
		for _, s := range res.Slots {
			if len(s.Free[0]) != len(people) {
				t.Errorf("slot %s lists %v of the people", s.Start, s.Free[0])
			}
			got = append(got, s.Start.UTC().Format(time.RFC3339)+" "+strings.Join(s.Free[1], ","))
		}
		if !slices.Equal(got, want) {
			t.Errorf("%d slots, brute force %d\n got %v\nwant %v", len(got), len(want), got, want)
		}
		if len(want) == 0 || len(want) == 3*24*4-3 {
			t.Fatalf("%d slots: the calendars constrain nothing or everything; the check proves nothing", len(want))
		}
	})

	t.Run("a window beyond the protocol's limit is refused", func(t *testing.T) {
		before := env.Calls()
		_, err := uc.Check(ctx, env.Tenant.ID, app.AvailabilityInput{Mailboxes: people, Start: start, End: start.Add(lim.MaxWindow + 24*time.Hour), MeetingMinutes: 30})
		days := fmt.Sprintf("at most %d days", int(lim.MaxWindow/(24*time.Hour)))
		if domain.ErrorCodeOf(err) != domain.CodeInvalid || !strings.Contains(err.Error(), days) {
			t.Fatalf("err %v; want invalid naming %q", err, days)
		}
		if n := env.Calls() - before; n != 0 {
			t.Errorf("%d requests made for a refused window", n)
		}
	})
}

func intervals(b []domain.BusyInterval) []string {
	var out []string
	for _, x := range b {
		out = append(out, x.Start.UTC().Format(time.RFC3339)+"/"+x.End.UTC().Format(time.RFC3339)+" "+string(x.Status))
	}
	slices.Sort(out)
	return out
}

// bruteForceSlots lists, every 15 minutes from start, the 60-minute
// meetings that all people and at least one room have free in placed (the
// calendars' busy intervals), each as "<start RFC 3339> <free rooms>":
// what the availability answer's slots must be.
func bruteForceSlots(placed map[string][]domain.BusyInterval, people, rooms []string, start, end time.Time) []string {
	freeAt := func(m string, s, e time.Time) bool {
		for _, b := range placed[m] {
			if b.Start.Before(e) && b.End.After(s) {
				return false
			}
		}
		return true
	}
	var want []string
	for s := start; !s.Add(time.Hour).After(end); s = s.Add(15 * time.Minute) {
		e := s.Add(time.Hour)
		ok := true
		for _, p := range people {
			ok = ok && freeAt(p, s, e)
		}
		var free []string
		for _, r := range rooms {
			if freeAt(r, s, e) {
				free = append(free, r)
			}
		}
		if ok && len(free) > 0 {
			want = append(want, s.Format(time.RFC3339)+" "+strings.Join(free, ","))
		}
	}
	return want
}
