package app_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
	"github.com/mailbridge/mailbridge/shared/local/boltstore"
)

// seenSpy is the bolt store, recording which resyncs stored seen ids.
type seenSpy struct {
	*boltstore.Store
	resyncs map[[2]string]int // (folder, resync) → ids added
	// failDeletes > 0: a batch of only deletes stores its first delete and
	// then fails, as a store that dies mid-way, that many times.
	failDeletes int
}

func (s *seenSpy) ApplyChanges(ctx context.Context, tenantID, mailbox string, changes []domain.ItemChange) (int, error) {
	onlyDeletes := len(changes) > 1
	for _, c := range changes {
		onlyDeletes = onlyDeletes && c.Kind == domain.ChangeDelete
	}
	if s.failDeletes > 0 && onlyDeletes {
		s.failDeletes--
		if _, err := s.Store.ApplyChanges(ctx, tenantID, mailbox, changes[:1]); err != nil {
			return 0, err
		}
		return 0, errors.New("store unavailable")
	}
	return s.Store.ApplyChanges(ctx, tenantID, mailbox, changes)
}

func (s *seenSpy) AddSeenIDs(ctx context.Context, tenantID, mailbox, folderID, resync string, ids []string) error {
	s.resyncs[[2]string{folderID, resync}] += len(ids)
	return s.Store.AddSeenIDs(ctx, tenantID, mailbox, folderID, resync, ids)
}

func (e *simEnv) spySeen() *seenSpy {
	spy := &seenSpy{Store: e.store, resyncs: map[[2]string]int{}}
	e.syncer.Store = spy
	return spy
}

// syncUntilDone runs jobs of one tick for m, as the queue would after each
// RetryLater, and returns how many jobs it took and how many of them ended
// with a folder's resync unfinished in the stored checkpoint.
func (e *simEnv) syncUntilDone(m string) (jobs, midResync int) {
	e.t.Helper()
	for jobs = 1; jobs <= 200; jobs++ {
		_, err := e.sync(m)
		var rl *app.RetryLater
		switch {
		case errors.As(err, &rl):
			for _, fs := range e.checkpoint(m).Folders {
				if fs.Resync != "" && fs.SyncState != "" {
					midResync++
					break
				}
			}
			continue
		case err != nil:
			e.t.Fatalf("sync %s: %v", m, err)
		}
		return jobs, midResync
	}
	e.t.Fatalf("sync %s: still retrying after 200 jobs", m)
	return 0, 0
}

// assertNextSyncQuiet syncs m once more with nothing changed on the
// server: the job is incremental again (no resync) and the feed does not
// grow.
func (e *simEnv) assertNextSyncQuiet(m string) {
	e.t.Helper()
	n := len(e.feed(m))
	if res := e.mustSync(m); res.Resyncs != 0 || res.Appended != 0 {
		e.t.Fatalf("next sync: %d resyncs, %d appended; want none", res.Resyncs, res.Appended)
	}
	if got := len(e.feed(m)); got != n {
		e.t.Fatalf("feed grew from %d to %d on the next sync", n, got)
	}
}

// checkpoint is the stored sync state of m.
func (e *simEnv) checkpoint(m string) domain.SyncState {
	e.t.Helper()
	st, err := e.store.GetSyncState(context.Background(), "acme", m)
	if err != nil {
		e.t.Fatal(err)
	}
	return st
}

// assertRecovered checks the feed entries appended since before: exactly
// one delete per id in deleted and one update per id in updated, nothing
// else; and that no resync is left in the checkpoint nor the seen ids of
// the resyncs spy saw in the store.
func (e *simEnv) assertRecovered(m string, spy *seenSpy, before int, deleted, updated []string) {
	e.t.Helper()
	feed := e.feed(m)
	assertNoDuplicates(e.t, feed)
	delta := feed[before:]
	slices.Sort(deleted)
	slices.Sort(updated)
	if got := idsOf(delta, domain.ChangeDelete); !slices.Equal(got, deleted) {
		e.t.Errorf("deletes after recovery: %v, want %v", got, deleted)
	}
	if got := idsOf(delta, domain.ChangeUpdate); !slices.Equal(got, updated) {
		e.t.Errorf("updates after recovery: %v, want %v", got, updated)
	}
	if got := idsOf(delta, domain.ChangeCreate); len(got) != 0 {
		e.t.Errorf("unchanged items repeated as creates: %v", got)
	}
	for id, fs := range e.checkpoint(m).Folders {
		if fs.Resync != "" {
			e.t.Errorf("folder %s (%s) still names resync %s", id, fs.DisplayName, fs.Resync)
		}
	}
	for k := range spy.resyncs {
		ids, err := e.store.SeenIDs(context.Background(), "acme", m, k[0], k[1])
		if err != nil || len(ids) != 0 {
			e.t.Errorf("folder %s: %d seen ids of resync %s left (%v)", k[0], len(ids), k[1], err)
		}
	}
}

func TestSimResyncEmitsMissedDeletes(t *testing.T) {
	tests := []struct {
		name   string
		folder string // invalidated folder; "" = the whole mailbox, hierarchy too
		// throttle makes 30% of GetItem calls answer ErrorServerBusy, and
		// small pages make the resync span several jobs.
		throttle bool
	}{
		{name: "one folder", folder: "inbox"},
		{name: "whole mailbox", folder: ""},
		{name: "throttled resync over many jobs", folder: "", throttle: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newSimEnv(t, 1, 800, domain.AccessImpersonation, ewssim.Options{})
			m := e.ds.Mailboxes[0]
			if tc.throttle {
				e.syncer.PageSize, e.syncer.GetItemBatch = 20, 10
			}
			e.mustSync(m)
			spy := e.spySeen()
			before := len(e.feed(m))
			inbox, calendar := e.simItems(m, "inbox"), e.simItems(m, "calendar")
			// Deleted before the state is lost: never reported by Exchange.
			deleted := []string{inbox[0], inbox[7], inbox[len(inbox)-1]}
			if tc.folder == "" {
				deleted = append(deleted, calendar[2])
			}
			for _, id := range deleted {
				if err := e.sim.DeleteItem(id); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := e.sim.UpdateItem(inbox[3], func(it *ewssim.Item) { it.Subject = "edited while the state was invalid" }); err != nil {
				t.Fatal(err)
			}
			if err := e.sim.InvalidateSyncStates(m, tc.folder); err != nil {
				t.Fatal(err)
			}
			if tc.throttle {
				e.sim.InjectFault(ewssim.Fault{Op: "GetItem", Rate: 0.3, Kind: ewssim.FaultSOAP, Code: "ErrorServerBusy", BackOff: time.Second})
			}
			jobs, mid := e.syncUntilDone(m)
			t.Logf("recovery took %d jobs, %d stopped mid-resync", jobs, mid)
			if tc.throttle && mid < 2 {
				t.Fatalf("the throttled recovery took %d jobs, %d of them stopped mid-resync; the test wants several", jobs, mid)
			}
			added := 0
			for _, n := range spy.resyncs {
				added += n
			}
			if want := len(e.simItems(m, "inbox")); added < want {
				t.Fatalf("the resync stored %d seen ids, the inbox alone holds %d", added, want)
			}
			e.assertRecovered(m, spy, before, deleted, []string{inbox[3]})

			// The next sync is incremental again and finds nothing.
			e.sim.ClearFaults()
			e.assertNextSyncQuiet(m)
		})
	}
}

func TestSimFirstSyncEmitsNoDeletes(t *testing.T) {
	// A folder's first sync (empty state) is no recovery: nothing stored
	// may be deleted, and the feed holds one create per item.
	e := newSimEnv(t, 1, 400, domain.AccessImpersonation, ewssim.Options{})
	m := e.ds.Mailboxes[0]
	e.mustSync(m)
	feed := e.feed(m)
	if got := idsOf(feed, domain.ChangeDelete); len(got) != 0 {
		t.Fatalf("first sync appended deletes: %v", got)
	}
	if got, want := idsOf(feed, domain.ChangeCreate), e.simItems(m, "inbox", "sentitems", "calendar", "contacts"); !slices.Equal(got, want) {
		t.Fatalf("first sync: %d creates, want %d", len(got), len(want))
	}
}

func TestSimDeletedFolderEmitsDeletes(t *testing.T) {
	tests := []struct {
		name       string
		invalidate bool // the hierarchy state is lost too: the folder is found gone by a full hierarchy resync
	}{
		{name: "reported deleted by the hierarchy sync"},
		{name: "missing from a hierarchy resync", invalidate: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newSimEnv(t, 1, 200, domain.AccessImpersonation, ewssim.Options{})
			m := e.ds.Mailboxes[0]
			fid, err := e.sim.AddFolder(m, "inbox", "Clients", "IPF.Note")
			if err != nil {
				t.Fatal(err)
			}
			sub, err := e.sim.AddFolder(m, fid, "Archive", "IPF.Note")
			if err != nil {
				t.Fatal(err)
			}
			var gone []string
			for i, f := range []string{fid, fid, fid, sub, sub} {
				r, err := e.sim.AddItem(m, f, ewssim.Item{Kind: ewssim.KindMessage, Subject: "client " + string(rune('A'+i))})
				if err != nil {
					t.Fatal(err)
				}
				gone = append(gone, r.ID)
			}
			e.mustSync(m)
			before := len(e.feed(m))
			if got := idsOf(e.feed(m), domain.ChangeCreate); !slices.Contains(got, gone[0]) || !slices.Contains(got, gone[4]) {
				t.Fatal("the new folders' items were not synced")
			}
			if err := e.sim.DeleteFolder(m, fid); err != nil { // and its subfolder
				t.Fatal(err)
			}
			if tc.invalidate {
				if err := e.sim.InvalidateSyncStates(m, ""); err != nil {
					t.Fatal(err)
				}
			}
			spy := e.spySeen()
			e.mustSync(m)
			e.assertRecovered(m, spy, before, gone, nil)
			st := e.checkpoint(m)
			for _, id := range []string{fid, sub} {
				if _, ok := st.Folders[id]; ok {
					t.Errorf("checkpoint still holds deleted folder %s", id)
				}
			}
			e.assertNextSyncQuiet(m)
		})
	}
}

func TestSimRecoveryDeletePassFailsMidway(t *testing.T) {
	// The delete pass stores one delete and fails: the job is redelivered,
	// the pass runs again, and each delete is in the feed once.
	e := newSimEnv(t, 1, 400, domain.AccessImpersonation, ewssim.Options{})
	m := e.ds.Mailboxes[0]
	e.mustSync(m)
	spy := e.spySeen()
	spy.failDeletes = 1
	before := len(e.feed(m))
	inbox := e.simItems(m, "inbox")
	deleted := []string{inbox[1], inbox[2], inbox[5]}
	for _, id := range deleted {
		if err := e.sim.DeleteItem(id); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.sim.InvalidateSyncStates(m, "inbox"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.sync(m); err == nil || app.IsRejectedJob(err) {
		t.Fatalf("job with a failing store: %v, want an error to redeliver", err)
	}
	if got := len(idsOf(e.feed(m)[before:], domain.ChangeDelete)); got != 1 {
		t.Fatalf("the failed pass stored %d deletes, the test wants 1", got)
	}
	e.mustSync(m)
	e.assertRecovered(m, spy, before, deleted, nil)
}
