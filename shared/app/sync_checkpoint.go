// sync_checkpoint.go owns the checkpoint (the mailbox's one SyncState
// item) and the rule it keeps: nothing lost, nothing doubled. A folder's
// SyncState moves only after the changes of the page it covers are
// stored, and the checkpoint is written every CheckpointEvery pages and at
// the end of a job, only when it differs from the stored one (each write
// is billed), conditionally on the version read (a concurrent or stale
// run gets a conflict). A crash at any point re-runs pages whose changes
// are upserted again idempotently.
//
// It also owns Resume: a job that stops early (throttled, out of time, an
// error) saves the page it had fetched but not finished and the folders
// this tick already did, so the job's next run starts at the call that
// failed and repeats no successful call.

package app

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// loadState reads the checkpoint (from the snapshot when the job has one)
// into the stored and the working copy.
func (r *syncRun) loadState(ctx context.Context) error {
	var st domain.SyncState
	if r.snap != nil {
		st = r.snap.State
	} else {
		var err error
		if st, err = r.s.Store.GetSyncState(ctx, r.tenant.ID, r.mbox.Address); err != nil {
			return fmt.Errorf("sync: reading sync state: %w", err)
		}
	}
	st.TenantID, st.Mailbox = r.tenant.ID, r.mbox.Address
	r.saved = cloneState(st)
	r.st = cloneState(st)
	return nil
}

// restoreResume takes up the progress an earlier run of the same tick
// saved: the folders it finished are skipped, and the page it had not
// finished is kept (r.cur) in case this run stops before reaching it.
func (r *syncRun) restoreResume() (resume *domain.SyncResume, sameTick bool) {
	resume = r.st.Resume
	sameTick = resume != nil && !r.job.Tick.IsZero() && resume.Tick.Equal(r.job.Tick)
	r.skip = map[string]bool{}
	if sameTick {
		for _, id := range resume.DoneFolders {
			r.skip[id] = true
		}
		r.done = slices.Clone(resume.DoneFolders)
	}
	if resume != nil && resume.Folder != "" {
		// Kept if this run stops before reaching it.
		r.cur = &domain.SyncResume{Folder: resume.Folder, PageState: resume.PageState, PageDone: resume.PageDone, Pending: resume.Pending}
	}
	return resume, sameTick
}

// finishResumedPage finishes first a page fetched but not finished by an
// earlier run; its checkpoint only moves once its changes are stored.
func (r *syncRun) finishResumedPage(ctx context.Context, resume *domain.SyncResume) error {
	if resume == nil || resume.Folder == "" {
		return nil
	}
	r.cur = nil
	if fs, ok := r.st.Folders[resume.Folder]; ok && !fs.Unreadable {
		if err := r.applyPage(ctx, resume.Folder, resume.PageState, resume.PageDone, resume.Pending); err != nil {
			return err
		}
		if resume.PageDone {
			r.markDone(resume.Folder)
		}
	}
	return nil
}

func (r *syncRun) markDone(id string) {
	r.skip[id] = true
	if !slices.Contains(r.done, id) {
		r.done = append(r.done, id)
	}
}

// pageStored moves the folder's SyncState to the page's state, once the
// page's changes are stored, and writes the checkpoint every
// CheckpointEvery pages.
func (r *syncRun) pageStored(ctx context.Context, folderID, pageState string, pageDone bool) error {
	fs := r.st.Folders[folderID]
	fs.SyncState = pageState
	if pageDone {
		fs.Resync = ""
	}
	r.st.Folders[folderID] = fs
	if r.cur != nil && r.cur.Folder == folderID {
		// Another folder's unfinished page (read beside this one) stays.
		r.cur = nil
	}
	r.sinceCkpt++
	if r.sinceCkpt >= r.s.checkpointEvery() {
		return r.checkpoint(ctx)
	}
	return nil
}

// keepProgress sets the checkpoint's Resume at the end of a job: an
// unfinished job comes back and keeps what this tick has done (or what an
// earlier run saved, when this one did nothing); a finished one, or one
// whose problem is recorded on the mailbox, clears it, so the next tick
// starts afresh.
func (r *syncRun) keepProgress(unfinished bool) {
	if !unfinished {
		r.st.Resume = nil
		return
	}
	r.st.Resume = &domain.SyncResume{Tick: r.job.Tick, HierarchyDone: r.hierDone, DoneFolders: r.done}
	if r.cur != nil {
		r.st.Resume.Folder, r.st.Resume.PageState, r.st.Resume.PageDone, r.st.Resume.Pending =
			r.cur.Folder, r.cur.PageState, r.cur.PageDone, r.cur.Pending
	}
	if !r.hierDone && len(r.done) == 0 && r.cur == nil {
		r.st.Resume = r.saved.Resume
	}
}

// checkpoint stores the working SyncState if it differs from the stored
// one: an unchanged checkpoint is never rewritten (each write is billed).
func (r *syncRun) checkpoint(ctx context.Context) error {
	r.sinceCkpt = 0
	if stateEqual(r.st, r.saved) {
		return nil
	}
	r.st.Version = r.saved.Version
	r.st.UpdatedAt = r.s.now()
	if err := r.s.Store.PutSyncState(ctx, r.st); err != nil {
		return fmt.Errorf("sync: saving checkpoint: %w", err)
	}
	r.st.Version++
	r.saved = cloneState(r.st)
	r.res.Checkpoints++
	return nil
}

func cloneState(s domain.SyncState) domain.SyncState {
	s.Folders = maps.Clone(s.Folders)
	if s.Resume != nil {
		r := *s.Resume
		r.DoneFolders = slices.Clone(r.DoneFolders)
		r.Pending = slices.Clone(r.Pending)
		s.Resume = &r
	}
	return s
}

func stateEqual(a, b domain.SyncState) bool {
	return a.HierarchyState == b.HierarchyState && a.InitialSyncDone == b.InitialSyncDone && maps.Equal(a.Folders, b.Folders) && resumeEqual(a.Resume, b.Resume)
}

func resumeEqual(a, b *domain.SyncResume) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Tick.Equal(b.Tick) && a.HierarchyDone == b.HierarchyDone && slices.Equal(a.DoneFolders, b.DoneFolders) &&
		a.Folder == b.Folder && a.PageState == b.PageState && a.PageDone == b.PageDone && slices.Equal(a.Pending, b.Pending)
}
