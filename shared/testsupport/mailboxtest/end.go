package mailboxtest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
)

// End cases (CalendarWriter.EndEvent, ending a meeting early): each runs
// on its own event in one mailbox and checks the item as the simulator
// holds it afterwards.
func runEnd(t *testing.T, newEnv func(t testing.TB) Env) {
	h := NewHarness(t, newEnv(t))
	ctx := context.Background()
	m := h.Env.Mailboxes[0]
	w, err := h.Env.Calendar.ConnectCalendar(ctx, h.Env.Tenant, h.Env.Credential)
	if err != nil {
		t.Fatal(err)
	}
	ref := domain.MailboxRef{Address: m, Mode: h.Env.Tenant.AccessMode}
	now := time.Now().UTC().Truncate(time.Minute)
	wroteAt := now.Add(-2 * time.Hour)
	// write creates clientEventID from start to end and returns its
	// simulator item.
	write := func(t *testing.T, clientEventID string, start, end time.Time) string {
		t.Helper()
		got, err := w.PutEvent(ctx, ref, clientEventID, domain.EventSpec{Subject: "Standup " + clientEventID, Start: start, End: end}, false, wroteAt)
		if err != nil || got.Result != domain.EventCreated {
			t.Fatalf("PutEvent = %+v, %v", got, err)
		}
		v := h.calendarBySubject(m, "Standup "+clientEventID)
		if len(v) != 1 {
			t.Fatalf("%d events named Standup %s", len(v), clientEventID)
		}
		return v[0].ID
	}
	item := func(t *testing.T, simID string) ewssim.Item {
		t.Helper()
		it, _, err := h.Env.Sim.GetItem(simID)
		if err != nil {
			t.Fatal(err)
		}
		return it
	}
	unchanged := func(t *testing.T, simID string, start, end time.Time) {
		t.Helper()
		if it := item(t, simID); !it.Start.Equal(start) || !it.End.Equal(end) {
			t.Errorf("the event now runs %s-%s, want it unchanged at %s-%s", it.Start, it.End, start, end)
		}
	}

	t.Run("a running meeting ends at the minute asked", func(t *testing.T) {
		start, end := now.Add(-30*time.Minute), now.Add(30*time.Minute)
		id := write(t, "end-running", start, end)
		got, err := w.EndEvent(ctx, ref, "end-running", now, now)
		if err != nil || got.Result != domain.EventEnded || got.ItemID != h.ID(id) {
			t.Fatalf("EndEvent = %+v, %v; want ended %s", got, err, h.ID(id))
		}
		if it := item(t, id); !it.Start.Equal(start) || !it.End.Equal(now) || it.Subject != "Standup end-running" {
			t.Fatalf("the event runs %s-%s (%q), want %s-%s with its subject", it.Start, it.End, it.Subject, start, now)
		}
		// Ended again later: it already ended, and it is not extended.
		if _, err := w.EndEvent(ctx, ref, "end-running", now.Add(10*time.Minute), now.Add(10*time.Minute)); !errors.Is(err, domain.ErrEventAlreadyEnded) {
			t.Errorf("a second EndEvent = %v; want already ended", err)
		}
		unchanged(t, id, start, now)
	})
	t.Run("a meeting not started is refused and unchanged", func(t *testing.T) {
		start, end := now.Add(time.Hour), now.Add(2*time.Hour)
		id := write(t, "end-future", start, end)
		for _, at := range []time.Time{now, start} {
			if _, err := w.EndEvent(ctx, ref, "end-future", at, now); !errors.Is(err, domain.ErrEventNotStarted) {
				t.Errorf("EndEvent at %s = %v; want not started", at, err)
			}
		}
		unchanged(t, id, start, end)
	})
	t.Run("a meeting the user shortened is not extended", func(t *testing.T) {
		start, end := now.Add(-time.Hour), now.Add(time.Hour)
		id := write(t, "end-shortened", start, end)
		h.update(id, func(it *ewssim.Item) { it.End = now.Add(-10 * time.Minute) })
		if _, err := w.EndEvent(ctx, ref, "end-shortened", now, now); !errors.Is(err, domain.ErrEventAlreadyEnded) {
			t.Errorf("EndEvent = %v; want already ended", err)
		}
		unchanged(t, id, start, now.Add(-10*time.Minute))
	})
	t.Run("a request older than the last write changes nothing", func(t *testing.T) {
		start, end := now.Add(-time.Hour), now.Add(time.Hour)
		id := write(t, "end-older", start, end)
		got, err := w.EndEvent(ctx, ref, "end-older", now, wroteAt.Add(-time.Minute))
		if err != nil || got.Result != domain.EventSuperseded {
			t.Fatalf("EndEvent = %+v, %v; want superseded", got, err)
		}
		unchanged(t, id, start, end)
	})
	t.Run("only events Mailbridge wrote", func(t *testing.T) {
		start := now.Add(-time.Hour)
		own := h.add(m, "calendar", event("Board meeting", start))
		for _, cid := range []string{"never-written", "Board meeting", own, h.ID(own)} {
			if _, err := w.EndEvent(ctx, ref, cid, now, now); !errors.Is(err, domain.ErrEventNotFound) {
				t.Errorf("EndEvent(%q) = %v; want not found", cid, err)
			}
		}
		unchanged(t, own, start, start.Add(time.Hour))
	})
}
