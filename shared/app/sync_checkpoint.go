// sync_checkpoint.go owns the checkpoint.

package app

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/mailbridge/mailbridge/shared/domain"
)

func (r *syncRun) markDone(id string) {
	r.skip[id] = true
	if !slices.Contains(r.done, id) {
		r.done = append(r.done, id)
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
	return a.HierarchyState == b.HierarchyState && maps.Equal(a.Folders, b.Folders) && resumeEqual(a.Resume, b.Resume)
}

func resumeEqual(a, b *domain.SyncResume) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Tick.Equal(b.Tick) && a.HierarchyDone == b.HierarchyDone && slices.Equal(a.DoneFolders, b.DoneFolders) &&
		a.Folder == b.Folder && a.PageState == b.PageState && a.PageDone == b.PageDone && slices.Equal(a.Pending, b.Pending)
}
