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
