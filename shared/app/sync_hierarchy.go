// sync_hierarchy.go owns the folder hierarchy and folder selection: the
// folder list is brought up to date on every job (new folders start with
// an empty SyncState, so they are backfilled from scratch), the selected
// well-known folders are identified (a hierarchy sync does not say which
// folder is the inbox), and the folders to sync are chosen.
//
// Folder selection: tenant.Folders names well-known folders (default
// inbox, sentitems, calendar, contacts) and takes their subfolders too, so
// a folder created under the inbox is synced on the next run; "all" takes
// every mail, calendar and contact folder. A folder the account may not
// read (folder-level delegate) is flagged, listed on the mailbox with a
// hint, retried every job and backfilled from scratch once shared.

package app

import (
	"context"
	"slices"
	"strings"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// syncHierarchy brings the folder list up to date; new folders start with
// an empty SyncState, so they are backfilled from scratch. Folders that
// vanished are dropped (dropVanished) before the hierarchy state moves.
func (r *syncRun) syncHierarchy(ctx context.Context) error {
	if r.st.Folders == nil {
		r.st.Folders = map[string]domain.FolderState{}
	}
	state := r.st.HierarchyState
	reset := false
	seen := map[string]bool{}
	gone := map[string]bool{} // folders deleted in Exchange
	for {
		page, err := callAccess(r, func() (domain.HierarchyPage, error) {
			return r.access.SyncHierarchy(ctx, r.ref, state)
		})
		if err != nil && page.State != "" {
			// Part of the call succeeded (Graph reads its mail and contact
			// folders side by side): keep what it covers, as for a page
			// before a failing one.
			r.mergeHierarchyPage(page, seen, gone)
			state = page.State
		}
		if err != nil {
			ae := asAccess(err)
			if ae != nil && ae.Kind == domain.AccessSyncStateInvalid && state != "" && !reset {
				state, reset, seen, gone = "", true, map[string]bool{}, map[string]bool{}
				r.res.Resyncs++
				continue
			}
			if ae != nil && ae.Kind == domain.AccessDenied && r.ref.Mode.Delegated() {
				// The folder tree is hidden (folders shared one by one,
				// e.g. an explicit calendar permission after the fallback
				// to delegate access); the shared well-known folders can
				// still be read.
				return nil
			}
			if !reset && len(gone) == 0 {
				// Keep the pages merged so far (a Graph hierarchy is a
				// mail and a contacts phase, each its own request): the
				// folders they named are in the working checkpoint, so a
				// throttled job's retry continues here instead of
				// repeating them. With deletions or a reset pending the
				// end's work is not done yet: start again.
				r.st.HierarchyState = state
			}
			return err
		}
		r.mergeHierarchyPage(page, seen, gone)
		state = page.State
		if page.Done {
			break
		}
	}
	if reset {
		// A full resync lists every folder: drop those that vanished.
		for id := range r.st.Folders {
			if !seen[id] {
				gone[id] = true
			}
		}
	}
	if err := r.dropVanished(ctx, gone); err != nil {
		return err
	}
	r.st.HierarchyState = state
	return nil
}

// mergeHierarchyPage records a hierarchy page's created and updated
// folders (in seen) and its deleted ones (in gone).
func (r *syncRun) mergeHierarchyPage(page domain.HierarchyPage, seen, gone map[string]bool) {
	for _, f := range slices.Concat(page.Created, page.Updated) {
		delete(gone, f.ID)
		fs := r.st.Folders[f.ID]
		fs.FolderID, fs.DisplayName, fs.FolderClass, fs.ParentID = f.ID, f.DisplayName, f.FolderClass, f.ParentID
		if f.DistinguishedID != "" {
			fs.DistinguishedID = f.DistinguishedID
		}
		r.st.Folders[f.ID] = fs
		seen[f.ID] = true
	}
	for _, id := range page.Deleted {
		gone[id] = true
	}
}

// selectors is the tenant's folder selection.
func (r *syncRun) selectors() []string {
	if len(r.tenant.Folders) == 0 {
		return domain.DefaultFolders
	}
	return r.tenant.Folders
}

// resolveDistinguished learns which folders are the selected well-known
// ones (one GetFolder call, only while one of them is still unknown).
func (r *syncRun) resolveDistinguished(ctx context.Context) error {
	var missing []string
	for _, name := range r.selectors() {
		if name == domain.FolderAll {
			continue
		}
		known := false
		for _, fs := range r.st.Folders {
			if fs.DistinguishedID == name {
				known = true
				break
			}
		}
		if !known {
			missing = append(missing, name)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	type answer struct {
		found      []domain.FolderInfo
		unreadable []string
	}
	a, err := callAccess(r, func() (answer, error) {
		found, unreadable, err := r.access.DistinguishedFolders(ctx, r.ref, missing)
		return answer{found, unreadable}, err
	})
	// A throttled answer may still name some folders: keep them, so the
	// retry asks only for the rest.
	if ae := asAccess(err); err != nil && (ae == nil || ae.Kind != domain.AccessThrottled || len(a.found) == 0) {
		return err
	}
	if r.st.Folders == nil {
		r.st.Folders = map[string]domain.FolderState{}
	}
	for _, f := range a.found {
		fs := r.st.Folders[f.ID]
		fs.FolderID, fs.DistinguishedID = f.ID, f.DistinguishedID
		if fs.DisplayName == "" {
			fs.DisplayName, fs.FolderClass, fs.ParentID = f.DisplayName, f.FolderClass, f.ParentID
		}
		r.st.Folders[f.ID] = fs
	}
	r.unreadable = a.unreadable
	return err
}

// syncableClass reports whether Mailbridge normalizes a folder's items.
func syncableClass(c string) bool {
	if c == "" {
		return true
	}
	for _, p := range []string{"IPF.Note", "IPF.Appointment", "IPF.Contact"} {
		if c == p || strings.HasPrefix(c, p+".") {
			return true
		}
	}
	return false
}

// selected lists the folders to sync, in a stable order. A selector names
// a well-known folder and takes its subfolders too, so a folder created
// under the inbox after onboarding is synced on the next run.
func (r *syncRun) selected() []string {
	sel := r.selectors()
	all := slices.Contains(sel, domain.FolderAll)
	var out []string
	for id, fs := range r.st.Folders {
		if !syncableClass(fs.FolderClass) {
			continue
		}
		if all || r.underSelected(fs, sel) {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

func (r *syncRun) underSelected(fs domain.FolderState, sel []string) bool {
	for depth := 0; depth < 64; depth++ { // bound: a corrupt parent chain must not loop
		if fs.DistinguishedID != "" && slices.Contains(sel, fs.DistinguishedID) {
			return true
		}
		p, ok := r.st.Folders[fs.ParentID]
		if fs.ParentID == "" || !ok {
			return false
		}
		fs = p
	}
	return false
}

// anyReadable reports whether at least one selected folder was readable.
func (r *syncRun) anyReadable() bool {
	for _, id := range r.selected() {
		if !r.st.Folders[id].Unreadable {
			return true
		}
	}
	return false
}

// unreadableNames lists the selected folders the service account may not
// read, by display name (or well-known name).
func (r *syncRun) unreadableNames() []string {
	names := slices.Clone(r.unreadable)
	for _, id := range r.selected() {
		if fs := r.st.Folders[id]; fs.Unreadable {
			name := fs.DisplayName
			if name == "" {
				name = fs.DistinguishedID
			}
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}
