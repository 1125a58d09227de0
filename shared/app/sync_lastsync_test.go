package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
)

// TestSimLastSyncFollowsSyncs: a mailbox's lastSync is the time of the
// last sync that delivered changes (issue 12: it stayed minutes old while
// syncs delivered changes), and a mailbox with nothing new has it moved at
// least every DefaultLastSyncRefresh.
func TestSimLastSyncFollowsSyncs(t *testing.T) {
	e := newSimEnv(t, 1, 20, domain.AccessImpersonation, ewssim.Options{})
	m := e.ds.Mailboxes[0]
	lastSync := func() time.Time {
		t.Helper()
		mb, err := e.store.GetMailbox(context.Background(), "acme", m)
		if err != nil {
			t.Fatal(err)
		}
		if mb.Status != domain.MailboxOK {
			t.Fatalf("mailbox status %q, want ok", mb.Status)
		}
		return mb.LastSync
	}
	e.mustSync(m)
	if got := lastSync(); !got.Equal(e.clock.Now()) {
		t.Fatalf("after the first sync lastSync = %v, want %v", got, e.clock.Now())
	}
	inbox := e.simItems(m, "inbox")
	for i := range 3 {
		e.clock.Advance(time.Minute) // well within the refresh
		if _, err := e.sim.UpdateItem(inbox[i], func(it *ewssim.Item) { it.Subject = "changed" }); err != nil {
			t.Fatal(err)
		}
		if res := e.mustSync(m); res.Appended == 0 {
			t.Fatalf("sync %d appended nothing", i)
		}
		if got := lastSync(); !got.Equal(e.clock.Now()) {
			t.Fatalf("a sync that delivered changes left lastSync at %v, want %v", got, e.clock.Now())
		}
	}
	// Nothing new: lastSync may lag, by at most the refresh.
	delivered := e.clock.Now()
	for range 70 {
		e.clock.Advance(time.Minute)
		e.mustSync(m)
		if lag := e.clock.Now().Sub(lastSync()); lag > app.DefaultLastSyncRefresh {
			t.Fatalf("idle mailbox: lastSync %v behind, more than %v", lag, app.DefaultLastSyncRefresh)
		}
	}
	if !lastSync().After(delivered) {
		t.Fatal("70 idle minutes of syncs never moved lastSync")
	}
}

// TestSimLastSyncRefreshSetting: the operator's refresh decides how often
// syncs that find nothing rewrite an idle mailbox's record: every sync,
// every 15 minutes, or the default hour; and the setting reads as
// documented (MAILBRIDGE_LASTSYNC_REFRESH).
func TestSimLastSyncRefreshSetting(t *testing.T) {
	for _, tc := range []struct {
		name    string
		refresh time.Duration
		writes  int // record writes in 120 idle minutes, one sync a minute
	}{
		{"every sync", app.LastSyncEverySync, 120},
		{"15 minutes", 15 * time.Minute, 8},
		{"default", 0, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newSimEnv(t, 1, 5, domain.AccessImpersonation, ewssim.Options{})
			e.syncer.LastSyncRefresh = tc.refresh
			m := e.ds.Mailboxes[0]
			e.mustSync(m)
			first, err := e.store.GetMailbox(context.Background(), "acme", m)
			if err != nil {
				t.Fatal(err)
			}
			writes, prev := 0, first.UpdatedAt
			for range 120 {
				e.clock.Advance(time.Minute)
				e.mustSync(m)
				mb, err := e.store.GetMailbox(context.Background(), "acme", m)
				if err != nil {
					t.Fatal(err)
				}
				if !mb.UpdatedAt.Equal(prev) {
					writes, prev = writes+1, mb.UpdatedAt
				}
			}
			if writes != tc.writes {
				t.Fatalf("%d record writes in 120 idle syncs, want %d", writes, tc.writes)
			}
		})
	}
	for _, tc := range []struct {
		in   string
		want time.Duration
		bad  bool
	}{
		{"every", app.LastSyncEverySync, false},
		{"0", app.LastSyncEverySync, false},
		{"0s", app.LastSyncEverySync, false},
		{"15m", 15 * time.Minute, false},
		{"24h", 24 * time.Hour, false},
		{"1s", time.Second, false},
		{"25h", 0, true},
		{"500ms", 0, true},
		{"-1h", 0, true},
		{"hourly", 0, true},
		{"Every", 0, true},
	} {
		got, err := app.ParseLastSyncRefresh(tc.in)
		if (err != nil) != tc.bad || (!tc.bad && got != tc.want) {
			t.Errorf("ParseLastSyncRefresh(%q) = %v, %v; want %v (refused: %v)", tc.in, got, err, tc.want, tc.bad)
		}
	}
}
