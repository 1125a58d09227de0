package app_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
)

// tenantFeed reads the whole tenant feed.
func (e *simEnv) tenantFeed() []domain.Change {
	e.t.Helper()
	return e.feed("")
}

// A mailbox's initial sync, spread over jobs (the first is throttled
// midway and comes back), goes to its mailbox feed only; the job that
// completes it appends one mailboxSynced to the tenant feed, a redelivered
// or later job none; the mailbox's later changes are in both feeds.
func TestSimInitialSyncAnnouncedOnce(t *testing.T) {
	e := newSimEnv(t, 2, 60, domain.AccessImpersonation, ewssim.Options{})
	e.syncer.PageSize, e.syncer.CheckpointEvery = 10, 1
	m, other := e.ds.Mailboxes[0], e.ds.Mailboxes[1]
	e.sim.InjectFault(ewssim.Fault{Op: "SyncFolderItems", Mailbox: m, Skip: 3, Count: 1, Kind: ewssim.FaultSOAP, Code: "ErrorServerBusy", BackOff: time.Second})
	res, err := e.sync(m)
	if err == nil || res.Announced {
		t.Fatalf("the throttled first job: announced %v, err %v; want it to come back, unannounced", res.Announced, err)
	}
	if res.Appended == 0 {
		t.Fatal("the throttled first job stored nothing; the test needs an initial sync spread over jobs")
	}
	if tf := e.tenantFeed(); len(tf) != 0 {
		t.Fatalf("an unfinished initial sync put %d changes in the tenant feed, want none", len(tf))
	}
	e.clock.Advance(2 * time.Second)
	if res := e.mustSync(m); !res.Announced {
		t.Fatal("the job that completed the initial sync did not announce it")
	}
	// The queue redelivers the job; the next tick syncs again.
	for range 2 {
		if res := e.mustSync(m); res.Announced {
			t.Fatal("a later job announced the mailbox again")
		}
		e.clock.Advance(5 * time.Minute)
	}
	all := e.simItems(m, "inbox", "sentitems", "calendar", "contacts")
	if got := idsOf(e.feed(m), domain.ChangeCreate); !slices.Equal(got, all) {
		t.Fatalf("mailbox feed has %d creates, the mailbox %d items", len(got), len(all))
	}
	tf := e.tenantFeed()
	if len(tf) != 1 || tf[0].Kind != domain.ChangeMailboxSynced || tf[0].Mailbox != m {
		t.Fatalf("tenant feed %+v, want one mailboxSynced of %s", tf, m)
	}
	if in, err := e.store.InInitialSync(context.Background(), "acme", other); err != nil || !in {
		t.Fatalf("the mailbox never synced: in its initial sync %v (%v), want true", in, err)
	}

	// After the announcement: both feeds.
	inbox := e.simItems(m, "inbox")
	if _, err := e.sim.UpdateItem(inbox[0], func(it *ewssim.Item) { it.Subject += " (edited)" }); err != nil {
		t.Fatal(err)
	}
	e.mustSync(m)
	tf = e.tenantFeed()
	if len(tf) != 2 || tf[1].Kind != domain.ChangeUpdate || tf[1].ItemID != inbox[0] {
		t.Fatalf("tenant feed after an edit %+v, want the announcement, then the update of %s", tf, inbox[0])
	}
	if mf := e.feed(m); mf[len(mf)-1].ItemID != inbox[0] || slices.ContainsFunc(mf, func(c domain.Change) bool { return c.Kind == domain.ChangeMailboxSynced }) {
		t.Fatal("the mailbox feed lacks the update or holds the announcement")
	}
}
