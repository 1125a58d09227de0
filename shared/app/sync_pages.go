// sync_pages.go owns a folder's pages: each page of changes is read from
// the mailbox access, its items are fetched in batches (GetItems), and the
// page is stored in one ApplyChanges (idempotent by ItemId + ChangeKey)
// before the folder's SyncState moves. It also owns the time budget that
// stops a job between pages.

package app

import (
	"context"
	"fmt"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// syncFolder pages through one folder's changes.
func (r *syncRun) syncFolder(ctx context.Context, id string) error {
	reset := false
	r.res.Folders++
	for {
		if err := r.checkBudget(ctx); err != nil {
			return err
		}
		fs := r.st.Folders[id]
		page, err := callAccess(r, func() (domain.ItemsPage, error) {
			return r.access.SyncItems(ctx, r.ref, id, fs.SyncState, r.s.pageSize())
		})
		if err != nil {
			ae := asAccess(err)
			switch {
			case ae != nil && ae.Kind == domain.AccessDenied:
				// Folder-level delegate: this folder is not shared (yet).
				// Its checkpoint is kept; a never-read folder is backfilled
				// from scratch once shared.
				fs.Unreadable = true
				r.st.Folders[id] = fs
				return nil
			case ae != nil && ae.Kind == domain.AccessSyncStateInvalid && fs.SyncState != "" && !reset:
				reset = true
				r.startResync(id, fs)
				continue
			}
			return err
		}
		if fs.Unreadable {
			fs.Unreadable = false
			r.st.Folders[id] = fs
		}
		r.res.Pages++
		if err := r.applyPage(ctx, id, page.State, page.Done, page.Changes); err != nil {
			return err
		}
		if page.Done {
			return nil
		}
	}
}

// applyPage fetches and normalizes a page's changes batch by batch and
// stores them in one ApplyChanges per page (one store transaction rather
// than one per batch), then moves the folder's checkpoint to the page's
// state. If a fetch fails, what was fetched is stored first and r.cur
// keeps the rest, so a throttled job resumes at the failed batch.
func (r *syncRun) applyPage(ctx context.Context, folderID, pageState string, pageDone bool, refs []domain.ItemChangeRef) error {
	r.cur = &domain.SyncResume{Folder: folderID, PageState: pageState, PageDone: pageDone, Pending: refs}
	if err := r.seenFirst(ctx, folderID, refs); err != nil {
		return err
	}
	p := r.fetchPage(ctx, folderID, pageState, pageDone, refs)
	if _, err := r.storePage(ctx, p); err != nil {
		return err
	}
	return p.err
}

// seenFirst records a resyncing folder's page as seen before its changes
// are stored: the ids outlive this job, which may end (throttled) before
// the resync's last page.
func (r *syncRun) seenFirst(ctx context.Context, folderID string, refs []domain.ItemChangeRef) error {
	if resync := r.st.Folders[folderID].Resync; resync != "" {
		return r.addSeen(ctx, folderID, resync, refs)
	}
	return nil
}

// pageRead is a page of changes and what was fetched of its items.
type pageRead struct {
	folder  string
	state   string
	done    bool
	refs    []domain.ItemChangeRef
	fetched []domain.ItemChange
	covered int   // refs[:covered] are in fetched
	err     error // the fetch that failed; nil if none did
}

// fetchPage fetches a page's items batch by batch, up to the first
// failed fetch: it reads the store and the checkpoint but changes
// neither, so pages of several folders can be fetched at once.
func (r *syncRun) fetchPage(ctx context.Context, folderID, pageState string, pageDone bool, refs []domain.ItemChangeRef) pageRead {
	p := pageRead{folder: folderID, state: pageState, done: pageDone, refs: refs}
	for p.covered < len(refs) {
		n, chunk, err := r.fetchChunk(ctx, folderID, refs[p.covered:])
		if err != nil {
			p.err = err
			break
		}
		p.fetched = append(p.fetched, chunk...)
		p.covered += n
	}
	return p
}

// storePage stores what was fetched of a page, then, when all of it was,
// moves the folder's checkpoint (ending a resync on its last page) and
// reports true. When r.cur holds the page, its Pending keeps what is
// still to fetch.
func (r *syncRun) storePage(ctx context.Context, p pageRead) (bool, error) {
	if len(p.fetched) > 0 {
		if err := r.archivePage(ctx, p.fetched); err != nil {
			return false, err
		}
		appended, err := r.s.Store.ApplyChanges(ctx, r.tenant.ID, r.mbox.Address, p.fetched)
		if err != nil {
			return false, fmt.Errorf("sync: storing changes: %w", err)
		}
		r.res.Changes += len(p.fetched)
		r.res.Appended += appended
	}
	if r.cur != nil && r.cur.Folder == p.folder {
		r.cur.Pending = p.refs[p.covered:]
	}
	if p.covered < len(p.refs) {
		return false, nil
	}
	if resync := r.st.Folders[p.folder].Resync; resync != "" && p.done {
		if err := r.endResync(ctx, p.folder, resync); err != nil {
			return false, err
		}
	}
	return true, r.pageStored(ctx, p.folder, p.state, p.done)
}

// fetchChunk fetches the first chunk of rest: up to one GetItems batch of
// items, plus the deletes between them. It returns how many refs the
// chunk covers and their changes; an item deleted since the page was read
// is left out (its delete follows).
func (r *syncRun) fetchChunk(ctx context.Context, folderID string, rest []domain.ItemChangeRef) (int, []domain.ItemChange, error) {
	batch := r.s.getItemBatch()
	n, ids := 0, make([]string, 0, batch)
	for ; n < len(rest) && len(ids) < batch; n++ {
		if rest[n].Kind != domain.ChangeDelete {
			ids = append(ids, rest[n].ItemID)
		}
	}
	for n < len(rest) && rest[n].Kind == domain.ChangeDelete {
		n++
	}
	var byID map[string]domain.Item
	if len(ids) > 0 {
		kind := domain.KindOfFolderClass(r.st.Folders[folderID].FolderClass)
		items, err := callAccess(r, func() ([]domain.Item, error) {
			return r.access.GetItems(ctx, r.ref, kind, ids)
		})
		if err != nil {
			return 0, nil, err
		}
		byID = make(map[string]domain.Item, len(items))
		for _, it := range items {
			byID[it.ID] = it
		}
	}
	out := make([]domain.ItemChange, 0, n)
	for _, c := range rest[:n] {
		if c.Kind == domain.ChangeDelete {
			out = append(out, domain.ItemChange{Kind: domain.ChangeDelete, ItemID: c.ItemID, FolderID: folderID, ImmutableID: c.ImmutableID})
			continue
		}
		it, ok := byID[c.ItemID]
		if !ok {
			continue // deleted since the sync call; its delete follows
		}
		it.FolderID = folderID
		if it.ChangeKey == "" {
			it.ChangeKey = c.ChangeKey
		}
		out = append(out, domain.ItemChange{Kind: c.Kind, ItemID: it.ID, ChangeKey: it.ChangeKey, Item: &it, ImmutableID: c.ImmutableID})
	}
	return n, out, nil
}

// checkBudget stops the job between pages when its time budget is used
// or the invocation's deadline is near: it asks to be continued.
func (r *syncRun) checkBudget(ctx context.Context) error {
	if r.s.Budget > 0 && r.s.now().Sub(r.started) >= r.s.Budget {
		return &RetryLater{Reason: "time budget used; continuing in a new job"}
	}
	// Context deadlines are wall-clock, so this reads the real clock.
	if dl, ok := ctx.Deadline(); ok && r.s.DeadlineMargin > 0 && time.Until(dl) < r.s.DeadlineMargin {
		return &RetryLater{Reason: "invocation deadline near; continuing in a new job"}
	}
	return nil
}
