// sync_together.go owns reading several folders at once, for a mailbox
// access that allows it (domain.ParallelReader: Graph, 4 requests per
// mailbox). A job then syncs its folders in rounds: each round reads the
// next page of up to ReadsAtOnce folders side by side (the page and its
// items: the network part), then stores the pages one after the other in
// folder order, each moving its folder's checkpoint as sync_pages.go does
// (only after its changes are stored). A round thus costs one round trip
// instead of one per folder, plus the reads a page needs after it (over
// Graph: its attachment lists, a calendar page's series masters): the
// access sends those as soon as its page is in, sharing the mailbox's
// request slots with the other folders' reads of the round, so they make
// one wave, not a round trip per folder or a round of their own.
//
// When a read fails (throttled, say), a read of the round not started yet
// is not sent, the pages read beside it are still stored (so the retry
// does not read them again; their items mostly come with the page, so
// their fetches are not cut short), and the job ends with the first
// failure in folder order. At most one unfinished page is kept for the
// retry (r.cur, as for one folder at a time); the items of another
// unfinished page that were fetched are stored, and that page is read
// again by the retry (stored changes are upserted idempotently).
//
// Storing a later folder's page before an earlier folder's (whose read
// failed) changes only how a move between the two reaches the feed: with
// Graph's immutable ids, a delete and a create of the id, or one update
// naming the new folder (docs/graph.md).

package app

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// readsAtOnce is how many folders the job reads at once: 1 unless the
// access says more.
func (r *syncRun) readsAtOnce() int {
	if p, ok := r.access.(domain.ParallelReader); ok {
		return max(p.ReadsAtOnce(), 1)
	}
	return 1
}

// folderRead is one folder's part of a round.
type folderRead struct {
	page    pageRead
	readErr error // the page's own read (SyncItems) failed
	read    bool  // the page was read
}

// syncFoldersTogether syncs the folders ids (in order), n at once.
func (r *syncRun) syncFoldersTogether(ctx context.Context, ids []string, n int) error {
	reset := map[string]bool{} // folders whose resync started in this job
	r.res.Folders += len(ids)
	active := ids
	for len(active) > 0 {
		if err := r.checkBudget(ctx); err != nil {
			return err
		}
		round := active[:min(n, len(active))]
		reads := r.readRound(ctx, round)
		var again []string // the round's folders with more to read
		var firstErr error
		for i, id := range round {
			more, failed, err := r.settleRead(ctx, id, reads[i], reset)
			if err != nil {
				// The store failed: stop here, as one folder at a time
				// would.
				return err
			}
			switch {
			case failed != nil:
				if firstErr == nil {
					firstErr = failed
				}
			case more:
				again = append(again, id)
			default:
				r.markDone(id)
			}
		}
		if firstErr != nil {
			return firstErr
		}
		active = append(again, active[len(round):]...)
	}
	return nil
}

// readRound reads the next page of each folder side by side, with its
// items. Nothing of the checkpoint changes meanwhile.
func (r *syncRun) readRound(ctx context.Context, ids []string) []folderRead {
	reads := make([]folderRead, len(ids))
	var halt atomic.Bool
	var wg sync.WaitGroup
	for i, id := range ids {
		fs := r.st.Folders[id]
		wg.Go(func() {
			if halt.Load() {
				return
			}
			page, err := callAccess(r, func() (domain.ItemsPage, error) {
				return r.access.SyncItems(ctx, r.ref, id, fs.SyncState, r.s.pageSize())
			})
			if err != nil {
				reads[i].readErr = err
				halt.Store(true)
				return
			}
			// Its items are fetched even when another read failed
			// meanwhile: over Graph they mostly come with the page,
			// without a request, and a page left unfinished is fetched by
			// id when the job comes back.
			reads[i].read = true
			reads[i].page = r.fetchPage(ctx, id, page.State, page.Done, page.Changes)
		})
	}
	wg.Wait()
	return reads
}

// settleRead stores what a round read of one folder, in the ways
// syncFolder and applyPage do one folder at a time. It reports whether
// the folder has more to read, the read's own failure (the job ends
// after the round's other reads are stored) and the store's error (the
// job ends now).
func (r *syncRun) settleRead(ctx context.Context, id string, rd folderRead, reset map[string]bool) (more bool, failed, err error) {
	fs := r.st.Folders[id]
	if rd.readErr != nil {
		ae := asAccess(rd.readErr)
		switch {
		case ae != nil && ae.Kind == domain.AccessDenied:
			// Folder-level delegate: not shared (yet); see syncFolder.
			fs.Unreadable = true
			r.st.Folders[id] = fs
			return false, nil, nil
		case ae != nil && ae.Kind == domain.AccessSyncStateInvalid && fs.SyncState != "" && !reset[id]:
			reset[id] = true
			r.startResync(id, fs)
			return true, nil, nil
		}
		return false, rd.readErr, nil
	}
	if !rd.read {
		// Not read: another read of the round failed first.
		return true, nil, nil
	}
	if fs.Unreadable {
		fs.Unreadable = false
		r.st.Folders[id] = fs
	}
	r.res.Pages++
	p := rd.page
	if r.cur == nil {
		// The first unfinished page of the job is kept for its retry.
		r.cur = &domain.SyncResume{Folder: id, PageState: p.state, PageDone: p.done, Pending: p.refs}
	}
	if err := r.seenFirst(ctx, id, p.refs); err != nil {
		return false, nil, err
	}
	stored, err := r.storePage(ctx, p)
	if err != nil {
		return false, nil, err
	}
	if !stored {
		// Its own fetch failed, or it stopped for another read's failure.
		return true, p.err, nil
	}
	return !p.done, nil, nil
}
