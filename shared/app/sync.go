package app

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// Sync defaults.
const (
	// DefaultSyncPageSize is SyncFolderItems' MaxChangesReturned: near the EWS
	// maximum of 512, and five whole GetItem batches.
	DefaultSyncPageSize = 500
	// MaxSyncPageSize is the largest MaxChangesReturned EWS accepts.
	MaxSyncPageSize = 512
	// DefaultGetItemBatch is how many items one GetItem call fetches.
	DefaultGetItemBatch = domain.MaxGetItems
	// DefaultThrottleDelay is the requeue delay when Exchange throttles
	// without saying how long to wait. Delays are whole seconds on SQS, so
	// the smallest is one; MaxThrottleDelay caps what a server may ask.
	DefaultThrottleDelay = 5 * time.Second
	MaxThrottleDelay     = 15 * time.Minute
	// DefaultLastSyncRefresh: see Syncer.LastSyncRefresh.
	DefaultLastSyncRefresh = time.Hour
	// DefaultCheckpointEvery is how many pages a long (initial) sync runs
	// between checkpoints: a crash repeats at most that many pages, and a
	// mailbox with few changes still writes its checkpoint once per job.
	DefaultCheckpointEvery = 8
	// ConflictRetryDelay is the requeue delay when the checkpoint changed
	// under a job: long enough for an eventually consistent read to catch
	// up (typically well under a second).
	ConflictRetryDelay = time.Second
)

// Syncer is the sync-mailbox use case: one job syncs one mailbox's selected
// folders incrementally, stores the changes, appends them to the change feed
// and only then moves the checkpoint (Invariant 1).
//
// A job: load the tenant (offboarded: refused) and the mailbox (not the
// tenant's: refused, Invariant 4), the credential, then SyncFolderHierarchy
// (new folders start with an empty SyncState, so they are backfilled), one
// GetFolder while a selected well-known folder is still unidentified (a
// hierarchy sync does not say which folder is the inbox), and per selected
// folder SyncFolderItems pages, GetItem in batches, one ApplyChanges per
// page (idempotent by ItemId + ChangeKey), and the folder's SyncState moves
// once its whole page is stored. The checkpoint (one SyncState item per
// mailbox) is written every CheckpointEvery pages and at the end, and only
// when it differs from the stored one.
//
// Folder selection: tenant.Folders names well-known folders (default
// inbox, sentitems, calendar, contacts) and takes their subfolders too, so
// a folder created under the inbox is synced on the next run; "all" takes
// every mail, calendar and contact folder. A folder the account may not
// read (folder-level delegate) is flagged, listed on the mailbox with a
// hint, retried every job and backfilled from scratch once shared.
//
// ErrorInvalidSyncStateData: the folder is resynced from an empty state;
// unchanged items come back with the ChangeKey already stored, so the feed
// does not repeat them. A from-scratch sync reports no deletes, so the
// resync is named (FolderState.Resync) and each page's item ids are stored
// as seen (ItemStore.AddSeenIDs) before the page is applied: the set
// survives the several jobs a throttled resync may take, and a replayed
// page only adds ids again. Its last page then lists the folder's stored
// items (ListFolderItemIDs) and applies a delete for each one not seen,
// before the checkpoint moves: a crash runs the pass again, and a delete of
// a deleted item appends nothing. The seen ids are dropped once the
// checkpoint without the resync is stored. A folder that vanishes from the
// hierarchy gets a delete for each of its stored items the same way, before
// its checkpoint is dropped. (Rejected: marking a generation on every item,
// which costs a write per unchanged item; keeping the set only in memory,
// which a throttled resync of a large folder would never complete.) The
// listing reads every stored item of the mailbox, once per recovery.
//
// Retry ownership (Invariant 2): throttling (and a used-up time budget)
// returns *RetryLater for the runtime to requeue with the server's delay;
// the job first stores SyncState.Resume: the page it had fetched but not
// finished and the folders this tick already did, so the retry starts at
// the call that failed and repeats no successful call. Access problems are
// recorded on the mailbox with a fix hint and the job succeeds (the
// scheduler retries NeedsAdmin mailboxes slowly); an impersonation refusal
// falls back to delegate access when the tenant allows it (seed 004).
// Anything else is returned for the queue to redeliver.
//
// Cost: an idle mailbox costs its EWS calls, one audit entry (a share of
// a packed item with DeferAudit) and no other write: the checkpoint is
// compared first, and the mailbox record is only written when its status,
// hint, mode or unreadable folders change (or its LastSync is an hour old).
type Syncer struct {
	Store domain.Store
	// Tenants reads the tenant record; nil: Store. The sync worker puts a
	// TenantCache here.
	Tenants   TenantGetter
	Secrets   domain.SecretStore // the caller wraps it in a cache
	Connector domain.Connector
	Clock     domain.Clock
	Log       *slog.Logger

	PageSize        int // MaxChangesReturned, 1..512; default 512
	GetItemBatch    int // items per GetItem call; default and most domain.MaxGetItems
	CheckpointEvery int // pages between checkpoints; default 8
	// Budget is the wall time a job may use before it checkpoints and asks
	// to be continued; 0 = no limit.
	Budget time.Duration
	// LastSyncRefresh is how stale Mailbox.LastSync may get before a
	// successful job rewrites the mailbox record just to move it; default
	// DefaultLastSyncRefresh. (Writing it every job would cost a write per
	// mailbox per interval.)
	LastSyncRefresh time.Duration
	// DeadlineMargin does the same when the context's deadline (the
	// Lambda's) is closer than this, leaving time to checkpoint; 0 = off.
	DeadlineMargin time.Duration
	// DeferAudit leaves the job's audit entry in SyncResult.Audit for the
	// caller to write instead of appending it: BatchWorker writes a
	// batch's entries in one call (packed, one write instead of ten).
	DeferAudit bool
}

// TenantGetter reads a tenant record (domain.Store, or a TenantCache).
type TenantGetter interface {
	GetTenant(ctx context.Context, id string) (domain.Tenant, error)
}

// SyncResult says what one job did.
type SyncResult struct {
	TenantID    string               `json:"tenantId"`
	Mailbox     string               `json:"mailbox"`
	Mode        domain.AccessMode    `json:"mode,omitempty"` // the mode used
	FellBack    bool                 `json:"fellBack,omitempty"`
	Status      domain.MailboxStatus `json:"status,omitempty"`
	Folders     int                  `json:"folders"`  // folders synced
	Pages       int                  `json:"pages"`    // SyncFolderItems pages
	Changes     int                  `json:"changes"`  // changes applied (before idempotency)
	Appended    int                  `json:"appended"` // feed entries appended
	Resyncs     int                  `json:"resyncs,omitempty"`
	EWSCalls    int                  `json:"ewsCalls"`
	Throttled   int                  `json:"throttled"`
	Checkpoints int                  `json:"checkpoints"` // SyncState writes
	Unreadable  []string             `json:"unreadable,omitempty"`
	// Audit is the job's audit entry when Syncer.DeferAudit is set: the
	// caller must store it.
	Audit []domain.AuditEntry `json:"-"`
}

// RetryLater asks the runtime to run the job again after After: the server
// throttled us, or the job used its time budget. Progress made so far is
// checkpointed. The Lambda never sleeps: the queue holds the delay.
type RetryLater struct {
	After  time.Duration
	Reason string
}

func (e *RetryLater) Error() string {
	return fmt.Sprintf("retry later (after %s): %s", e.After, e.Reason)
}

// IsRejectedJob reports whether err says the job itself is wrong (unknown
// tenant, mailbox not registered to it, offboarded tenant, malformed job):
// running it again cannot help, so the runtime drops it after logging.
func IsRejectedJob(err error) bool {
	switch domain.ErrorCodeOf(err) {
	case domain.CodeInvalid, domain.CodeNotFound, domain.CodeForbidden:
		return true
	}
	return false
}

func (s *Syncer) logger() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

func (s *Syncer) now() time.Time { return s.Clock.Now().UTC() }

func (s *Syncer) pageSize() int {
	if s.PageSize <= 0 || s.PageSize > MaxSyncPageSize {
		return DefaultSyncPageSize
	}
	return s.PageSize
}

func (s *Syncer) getItemBatch() int {
	if s.GetItemBatch <= 0 {
		return DefaultGetItemBatch
	}
	return min(s.GetItemBatch, domain.MaxGetItems)
}

func (s *Syncer) lastSyncRefresh() time.Duration {
	if s.LastSyncRefresh <= 0 {
		return DefaultLastSyncRefresh
	}
	return s.LastSyncRefresh
}

func (s *Syncer) checkpointEvery() int {
	if s.CheckpointEvery <= 0 {
		return DefaultCheckpointEvery
	}
	return s.CheckpointEvery
}

// SyncMailbox runs one job. Errors: *RetryLater (requeue with its delay), a
// rejected job (IsRejectedJob: drop it), anything else (redeliver).
func (s *Syncer) SyncMailbox(ctx context.Context, job domain.SyncJob) (SyncResult, error) {
	return s.SyncMailboxWith(ctx, job, nil)
}

// SyncMailboxWith runs one job from a snapshot of the mailbox record and
// its checkpoint read beforehand (domain.SyncSnapshotReader, for several
// mailboxes at once); a nil snap reads them here. A stale snapshot is
// safe: the checkpoint is written conditionally on its version.
func (s *Syncer) SyncMailboxWith(ctx context.Context, job domain.SyncJob, snap *domain.SyncSnapshot) (SyncResult, error) {
	res := SyncResult{TenantID: job.TenantID, Mailbox: job.Mailbox}
	if err := ValidateTenantID(job.TenantID); err != nil {
		return res, err
	}
	addr, verr := NormalizeAddress("mailbox", job.Mailbox)
	if verr != nil {
		return res, verr
	}
	res.Mailbox = addr

	tenants := s.Tenants
	if tenants == nil {
		tenants = s.Store
	}
	t, err := tenants.GetTenant(ctx, job.TenantID)
	if err != nil {
		if domain.IsNotFound(err) {
			return res, domain.NotFound("tenant %q does not exist", job.TenantID)
		}
		return res, fmt.Errorf("sync: reading tenant: %w", err)
	}
	if t.Status == domain.TenantOffboarded {
		return res, &domain.Error{Code: domain.CodeForbidden, Message: fmt.Sprintf("tenant %q is offboarded", t.ID)}
	}
	var m domain.Mailbox
	if snap != nil {
		m = snap.Mailbox
		if !snap.Found {
			err = domain.ErrNotFound
		}
	} else {
		m, err = s.Store.GetMailbox(ctx, t.ID, addr)
	}
	if err != nil {
		if domain.IsNotFound(err) {
			// Tenant isolation (Invariant 4): a job may only name the
			// tenant's own mailboxes. The refusal is audited.
			s.audit(ctx, &res, t, addr, t.AccessMode, "refused: mailbox not registered to tenant")
			return res, &domain.Error{Code: domain.CodeForbidden, Message: fmt.Sprintf("mailbox %s is not registered to tenant %q", addr, t.ID)}
		}
		return res, fmt.Errorf("sync: reading mailbox: %w", err)
	}
	if m.TenantID != "" && m.TenantID != t.ID {
		s.audit(ctx, &res, t, addr, t.AccessMode, "refused: mailbox not registered to tenant")
		return res, &domain.Error{Code: domain.CodeForbidden, Message: fmt.Sprintf("mailbox %s is not registered to tenant %q", addr, t.ID)}
	}

	r := &syncRun{s: s, job: job, tenant: t, mbox: m, res: &res, started: s.now(), snap: snap}
	runErr := r.run(ctx)
	return res, r.finish(ctx, runErr)
}

// syncRun is the state of one job.
type syncRun struct {
	s      *Syncer
	job    domain.SyncJob
	tenant domain.Tenant
	mbox   domain.Mailbox
	access domain.MailboxAccess
	ref    domain.MailboxRef
	res    *SyncResult
	snap   *domain.SyncSnapshot // read beforehand; nil: read the checkpoint here

	st    domain.SyncState // working copy
	saved domain.SyncState // as stored
	// progress of this tick, saved in st.Resume if the job stops early
	hierDone   bool
	done       []string
	skip       map[string]bool // folders a previous run of this tick finished
	cur        *domain.SyncResume
	unreadable []string // distinguished names not readable
	sinceCkpt  int
	started    time.Time
	synced     bool // the job completed
	// dropSeen lists folders whose recovery resync ended (or that
	// vanished): their seen ids are dropped once the checkpoint saying so
	// is stored.
	dropSeen []string
}

// configuredMode is the mailbox's override or the tenant's mode.
func (r *syncRun) configuredMode() domain.AccessMode {
	if r.mbox.AccessMode.Valid() {
		return r.mbox.AccessMode
	}
	if r.tenant.AccessMode.Valid() {
		return r.tenant.AccessMode
	}
	return domain.AccessImpersonation
}

// startMode is the configured mode, or delegate when an earlier sync or
// the verifier fell back to it and the tenant still allows that.
func (r *syncRun) startMode() domain.AccessMode {
	mode := r.configuredMode()
	if mode == domain.AccessImpersonation && r.tenant.AllowFallback && r.mbox.EffectiveMode.Delegated() {
		return r.mbox.EffectiveMode
	}
	return mode
}

func (r *syncRun) run(ctx context.Context) error {
	mode := r.startMode()
	r.ref = domain.MailboxRef{Address: r.mbox.Address, Mode: mode, EWSURL: r.mbox.EWSURL}
	r.res.Mode = mode
	cred, err := r.s.Secrets.GetCredential(ctx, r.tenant.ID)
	if err != nil {
		if domain.IsNotFound(err) {
			return &domain.AccessError{Kind: domain.AccessAuth, Code: "NoStoredCredentials"}
		}
		return fmt.Errorf("sync: reading credentials: %w", err)
	}
	r.access, err = r.s.Connector.Connect(ctx, r.tenant, cred)
	if err != nil {
		return err
	}
	var st domain.SyncState
	if r.snap != nil {
		st = r.snap.State
	} else if st, err = r.s.Store.GetSyncState(ctx, r.tenant.ID, r.mbox.Address); err != nil {
		return fmt.Errorf("sync: reading sync state: %w", err)
	}
	st.TenantID, st.Mailbox = r.tenant.ID, r.mbox.Address
	r.saved = cloneState(st)
	r.st = cloneState(st)

	err = r.syncAll(ctx)
	if ae := asAccess(err); ae != nil && ae.Kind == domain.AccessAuth {
		// The credential may be a cached one that was rotated since: read
		// it afresh and, if it changed, try once more (secretcache.Cache
		// has Forget; an uncached store needs nothing).
		if f, ok := r.s.Secrets.(interface{ Forget(tenantID string) }); ok {
			f.Forget(r.tenant.ID)
			fresh, ferr := r.s.Secrets.GetCredential(ctx, r.tenant.ID)
			if ferr == nil && fresh.MemoryKey() != cred.MemoryKey() {
				if r.access, ferr = r.s.Connector.Connect(ctx, r.tenant, fresh); ferr != nil {
					return ferr
				}
				err = r.syncAll(ctx)
			}
		}
	}
	if ae := asAccess(err); ae != nil && ae.Kind == domain.AccessOutOfScope &&
		mode == domain.AccessImpersonation && r.tenant.AllowFallback {
		// Seed 004: the mailbox is outside the impersonation scope but may
		// have granted the service account explicit permission.
		r.ref.Mode = domain.AccessDelegate
		r.res.Mode, r.res.FellBack = domain.AccessDelegate, true
		err = r.syncAll(ctx)
	}
	return err
}

func throttleDelay(d time.Duration) time.Duration {
	if d <= 0 {
		return DefaultThrottleDelay
	}
	return min(max(d, time.Second), MaxThrottleDelay)
}

func asAccess(err error) *domain.AccessError {
	var ae *domain.AccessError
	if errors.As(err, &ae) {
		return ae
	}
	return nil
}

// syncAll syncs the hierarchy and every selected folder, resuming an
// interrupted run of the same tick.
func (r *syncRun) syncAll(ctx context.Context) error {
	resume := r.st.Resume
	sameTick := resume != nil && !r.job.Tick.IsZero() && resume.Tick.Equal(r.job.Tick)
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
	if !(sameTick && resume.HierarchyDone) {
		if err := r.syncHierarchy(ctx); err != nil {
			return err
		}
	}
	r.hierDone = true
	if err := r.resolveDistinguished(ctx); err != nil {
		return err
	}
	// A page fetched but not finished by an earlier run is finished first;
	// its checkpoint only moves once its changes are stored.
	if resume != nil && resume.Folder != "" {
		r.cur = nil
		if fs, ok := r.st.Folders[resume.Folder]; ok && !fs.Unreadable {
			if err := r.applyPage(ctx, resume.Folder, resume.PageState, resume.PageDone, resume.Pending); err != nil {
				return err
			}
			if resume.PageDone {
				r.markDone(resume.Folder)
			}
		}
	}
	for _, id := range r.selected() {
		if r.skip[id] {
			continue
		}
		if err := r.syncFolder(ctx, id); err != nil {
			return err
		}
		r.markDone(id)
	}
	return nil
}

func (r *syncRun) markDone(id string) {
	r.skip[id] = true
	if !slices.Contains(r.done, id) {
		r.done = append(r.done, id)
	}
}

// syncHierarchy brings the folder list up to date; new folders start with
// an empty SyncState, so they are backfilled from scratch.
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
		if err != nil {
			ae := asAccess(err)
			if ae != nil && ae.Kind == domain.AccessSyncStateInvalid && state != "" && !reset {
				state, reset, seen, gone = "", true, map[string]bool{}, map[string]bool{}
				r.res.Resyncs++
				continue
			}
			if ae != nil && ae.Kind == domain.AccessDenied && r.ref.Mode.Delegated() {
				// The folder tree is hidden (folders shared one by one,
				// e.g. seed 004's explicit calendar permission); the
				// shared well-known folders can still be read.
				return nil
			}
			return err
		}
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
	// A vanished folder's items get deletes before its checkpoint goes:
	// if storing them fails, the folder is still known, and the hierarchy
	// state has not moved, so the next job reports it gone again.
	for _, id := range slices.Sorted(maps.Keys(gone)) {
		fs, ok := r.st.Folders[id]
		if !ok {
			continue
		}
		if fs.SyncState != "" || fs.Resync != "" || (r.cur != nil && r.cur.Folder == id) {
			// Only a folder that was (being) synced has stored items.
			if err := r.deleteFolderItems(ctx, id, nil); err != nil {
				return err
			}
		}
		if fs.Resync != "" {
			r.dropSeen = append(r.dropSeen, id)
		}
		delete(r.st.Folders, id)
	}
	r.st.HierarchyState = state
	return nil
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
	if err != nil {
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
	return nil
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
				// Resync from scratch: unchanged items come back with the
				// ChangeKey already stored, so the feed does not repeat them.
				// It reports no deletes: the ids it sees are kept under a
				// new name (one of an earlier, restarted resync may hold ids
				// deleted since), and its last page deletes the rest.
				reset = true
				fs.SyncState, fs.Resync = "", rand.Text()
				r.st.Folders[id] = fs
				r.res.Resyncs++
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
	resync := r.st.Folders[folderID].Resync
	if resync != "" {
		// Seen before stored: the ids outlive this job, which may end
		// (throttled) before the resync's last page.
		if err := r.addSeen(ctx, folderID, resync, refs); err != nil {
			return err
		}
	}
	kind := domain.KindOfFolderClass(r.st.Folders[folderID].FolderClass)
	batch := r.s.getItemBatch()
	var fetched []domain.ItemChange
	covered := 0 // refs[:covered] are in fetched
	store := func() error {
		if len(fetched) > 0 {
			appended, err := r.s.Store.ApplyChanges(ctx, r.tenant.ID, r.mbox.Address, fetched)
			if err != nil {
				return fmt.Errorf("sync: storing changes: %w", err)
			}
			r.res.Changes += len(fetched)
			r.res.Appended += appended
			fetched = fetched[:0]
		}
		refs, covered = refs[covered:], 0
		r.cur.Pending = refs
		return nil
	}
	for covered < len(refs) {
		// A chunk holds up to batch items to fetch, plus the deletes
		// between them.
		rest := refs[covered:]
		n, ids := 0, make([]string, 0, batch)
		for ; n < len(rest) && len(ids) < batch; n++ {
			if rest[n].Kind != domain.ChangeDelete {
				ids = append(ids, rest[n].ItemID)
			}
		}
		for n < len(rest) && rest[n].Kind == domain.ChangeDelete {
			n++
		}
		byID := map[string]domain.Item{}
		if len(ids) > 0 {
			items, err := callAccess(r, func() ([]domain.Item, error) {
				return r.access.GetItems(ctx, r.ref, kind, ids)
			})
			if err != nil {
				if serr := store(); serr != nil {
					return serr
				}
				return err
			}
			for _, it := range items {
				byID[it.ID] = it
			}
		}
		for _, c := range rest[:n] {
			if c.Kind == domain.ChangeDelete {
				fetched = append(fetched, domain.ItemChange{Kind: domain.ChangeDelete, ItemID: c.ItemID})
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
			fetched = append(fetched, domain.ItemChange{Kind: c.Kind, ItemID: it.ID, ChangeKey: it.ChangeKey, Item: &it})
		}
		covered += n
	}
	if err := store(); err != nil {
		return err
	}
	if resync != "" && pageDone {
		if err := r.deleteUnseen(ctx, folderID, resync); err != nil {
			return err
		}
		r.dropSeen = append(r.dropSeen, folderID)
	}
	fs := r.st.Folders[folderID]
	fs.SyncState = pageState
	if pageDone {
		fs.Resync = ""
	}
	r.st.Folders[folderID] = fs
	r.cur = nil
	r.sinceCkpt++
	if r.sinceCkpt >= r.s.checkpointEvery() {
		return r.checkpoint(ctx)
	}
	return nil
}

// addSeen records the ids a recovery resync's page reports.
func (r *syncRun) addSeen(ctx context.Context, folderID, resync string, refs []domain.ItemChangeRef) error {
	ids := make([]string, 0, len(refs))
	for _, c := range refs {
		if c.Kind != domain.ChangeDelete {
			ids = append(ids, c.ItemID)
		}
	}
	if err := r.s.Store.AddSeenIDs(ctx, r.tenant.ID, r.mbox.Address, folderID, resync, ids); err != nil {
		return fmt.Errorf("sync: recording resync progress: %w", err)
	}
	return nil
}

// deleteUnseen ends a recovery resync: the stored items of the folder it
// did not see were deleted in Exchange while the SyncState was invalid.
// The seen ids are held in a map for the pass (some 200 bytes per id: 10
// MB for a 50,000-item folder).
func (r *syncRun) deleteUnseen(ctx context.Context, folderID, resync string) error {
	ids, err := r.s.Store.SeenIDs(ctx, r.tenant.ID, r.mbox.Address, folderID, resync)
	if err != nil {
		return fmt.Errorf("sync: reading resync progress: %w", err)
	}
	seen := make(map[string]struct{}, len(ids))
	for _, id := range ids {
		seen[id] = struct{}{}
	}
	return r.deleteFolderItems(ctx, folderID, seen)
}

// deleteFolderItems applies a delete for each stored item of the folder
// not in keep, through ApplyChanges like any change: a delete of an item
// already deleted appends nothing, so a crashed pass simply runs again.
func (r *syncRun) deleteFolderItems(ctx context.Context, folderID string, keep map[string]struct{}) error {
	cursor := ""
	for {
		ids, next, err := r.s.Store.ListFolderItemIDs(ctx, r.tenant.ID, r.mbox.Address, folderID, cursor, 1000)
		if err != nil {
			return fmt.Errorf("sync: listing stored items of a folder: %w", err)
		}
		var dels []domain.ItemChange
		for _, id := range ids {
			if _, ok := keep[id]; !ok {
				dels = append(dels, domain.ItemChange{Kind: domain.ChangeDelete, ItemID: id})
			}
		}
		if len(dels) > 0 {
			appended, err := r.s.Store.ApplyChanges(ctx, r.tenant.ID, r.mbox.Address, dels)
			if err != nil {
				return fmt.Errorf("sync: storing deletes: %w", err)
			}
			r.res.Changes += len(dels)
			r.res.Appended += appended
		}
		if next == "" || next == cursor {
			return nil
		}
		cursor = next
	}
}

// dropSeenIDs forgets the seen ids of resyncs the stored checkpoint no
// longer names. Best effort: ids left behind only take space (the
// DynamoDB adapter expires them).
func (r *syncRun) dropSeenIDs(ctx context.Context) {
	for _, id := range r.dropSeen {
		if fs, ok := r.saved.Folders[id]; ok && fs.Resync != "" {
			continue // a new resync of the folder started since
		}
		if err := r.s.Store.DropSeenIDs(ctx, r.tenant.ID, r.mbox.Address, id); err != nil {
			r.s.logger().Warn("sync: dropping resync progress", "tenantId", r.tenant.ID, "mailbox", r.mbox.Address, "error", err.Error())
		}
	}
	r.dropSeen = nil
}

// callAccess runs one mailbox-access request (one EWS call), counting it.
func callAccess[T any](r *syncRun, f func() (T, error)) (T, error) {
	v, err := f()
	r.res.EWSCalls++
	if ae := asAccess(err); ae != nil && ae.Kind == domain.AccessThrottled {
		r.res.Throttled++
	}
	return v, err
}

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

// finish saves progress, records the outcome on the mailbox and in the
// audit trail, and decides what the runtime does with the job.
func (r *syncRun) finish(ctx context.Context, runErr error) error {
	res := r.res
	ae := asAccess(runErr)
	var rl *RetryLater
	switch {
	case runErr == nil:
		r.st.Resume = nil
	case ae != nil && ae.Kind == domain.AccessThrottled:
		rl = &RetryLater{After: throttleDelay(ae.RetryAfter), Reason: "throttled by Exchange (" + ae.Code + ")"}
	default:
		errors.As(runErr, &rl)
	}
	comesBack := rl != nil || (runErr != nil && (ae == nil || ae.Kind == domain.AccessTransient))
	if comesBack {
		// The same job comes back: keep what this tick has done.
		r.st.Resume = &domain.SyncResume{Tick: r.job.Tick, HierarchyDone: r.hierDone, DoneFolders: r.done}
		if r.cur != nil {
			r.st.Resume.Folder, r.st.Resume.PageState, r.st.Resume.PageDone, r.st.Resume.Pending =
				r.cur.Folder, r.cur.PageState, r.cur.PageDone, r.cur.Pending
		}
		if !r.hierDone && len(r.done) == 0 && r.cur == nil {
			r.st.Resume = r.saved.Resume
		}
	} else if runErr != nil {
		r.st.Resume = nil // access problems: the next tick starts afresh
	}
	var ckptErr error
	if r.access != nil {
		ckptErr = r.checkpoint(ctx)
	}
	if ckptErr == nil {
		r.dropSeenIDs(ctx)
	}

	status, hint, detail := r.outcome(runErr)
	res.Status = status
	r.synced = runErr == nil
	switch {
	case comesBack:
		// Unfinished: what this run saw says nothing new about the mailbox.
		res.Unreadable = r.mbox.UnreadableFolders
	case runErr == nil:
		res.Unreadable = r.unreadableNames()
		r.recordMailbox(ctx, status, hint, detail, res.Unreadable)
	default:
		res.Unreadable = r.mbox.UnreadableFolders
		r.recordMailbox(ctx, status, hint, detail, res.Unreadable)
	}

	result := string(status)
	switch {
	case rl != nil:
		result = "retry later: " + rl.Reason
	case runErr != nil && (ae == nil || ae.Kind == domain.AccessTransient):
		result = "error: retried"
	default:
		if detail != "" {
			result += ": " + detail
		}
		if runErr == nil {
			result = fmt.Sprintf("%s: %d changes appended", status, res.Appended)
		}
	}
	if ckptErr != nil {
		result += " (checkpoint not saved: retried)"
	}
	r.s.audit(ctx, res, r.tenant, r.mbox.Address, r.ref.Mode, result)

	switch {
	case ckptErr != nil && domain.IsConflict(ckptErr):
		// The checkpoint moved since this job read it: a concurrent run, or
		// an eventually consistent read that was stale. What this job
		// stored is idempotent; run it again on a fresh read.
		return &RetryLater{After: ConflictRetryDelay, Reason: "checkpoint changed since it was read"}
	case ckptErr != nil:
		return ckptErr
	case rl != nil:
		return rl
	case runErr == nil:
		return nil
	case ae != nil && ae.Kind != domain.AccessTransient:
		// Recorded on the mailbox with a hint: no hot retries.
		return nil
	}
	return runErr
}

// outcome maps a job's error to the mailbox status, a fix hint and what
// Exchange said.
func (r *syncRun) outcome(err error) (domain.MailboxStatus, string, string) {
	if err == nil {
		if names := r.unreadableNames(); len(names) > 0 && !r.anyReadable() {
			return domain.MailboxAccessDenied, "grant the service account FullAccess on the mailbox, or share the folders " + strings.Join(names, ", ") + " with it", "ErrorAccessDenied"
		}
		if names := r.unreadableNames(); len(names) > 0 {
			return domain.MailboxOK, fmt.Sprintf("share the folders %s with the service account (folder permission Reviewer or higher); they are synced from scratch once readable", strings.Join(names, ", ")), ""
		}
		return domain.MailboxOK, "", ""
	}
	ae := asAccess(err)
	if ae == nil || ae.Kind == domain.AccessThrottled || ae.Kind == domain.AccessTransient {
		// Throttled, out of time, or trouble on our side: the job comes
		// back, and the mailbox is as it was as far as we know.
		return r.mbox.Status, r.mbox.Hint, r.mbox.LastError
	}
	detail := ae.Code
	switch ae.Kind {
	case domain.AccessAuth:
		return domain.MailboxAuthFailed, fmt.Sprintf("Exchange rejected the service account's credentials: rotate them with PUT /tenants/%s/credentials", r.tenant.ID), detail
	case domain.AccessOutOfScope:
		hint := "the mailbox is outside the service account's impersonation scope: add it to the management scope (on-premises) or the application access policy's scope group (Exchange Online)"
		if !r.tenant.AllowFallback {
			hint += ", or allow fallback to delegate access and grant the service account permission on the mailbox"
		}
		return domain.MailboxOutOfScope, hint, detail
	case domain.AccessDenied:
		return domain.MailboxAccessDenied, "grant the service account FullAccess on the mailbox, or share the folders to sync with it", detail
	case domain.AccessMailboxNotFound:
		return domain.MailboxNotFound, fmt.Sprintf("Exchange has no mailbox %s: check the address, or remove it with DELETE /tenants/%s/mailboxes/%s", r.mbox.Address, r.tenant.ID, r.mbox.Address), detail
	}
	return domain.MailboxError, "Exchange refused the request; see lastError and run POST /tenants/" + r.tenant.ID + "/verify?mailbox=" + r.mbox.Address, detail
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

// recordMailbox writes the mailbox record only when what an admin sees of
// it changed: a steady mailbox costs no write per job.
func (r *syncRun) recordMailbox(ctx context.Context, status domain.MailboxStatus, hint, detail string, unreadable []string) {
	m := r.mbox
	m.Status, m.Hint, m.LastError = status, hint, detail
	m.UnreadableFolders = unreadable
	if r.res.FellBack || (status == domain.MailboxOK && m.EffectiveMode != r.ref.Mode) {
		m.EffectiveMode = r.ref.Mode
	}
	now := r.s.now()
	synced := status == domain.MailboxOK && r.synced
	if mailboxSame(m, r.mbox) && !(synced && now.Sub(r.mbox.LastSync) >= r.s.lastSyncRefresh()) {
		return
	}
	if synced {
		m.LastSync = now
	}
	m.UpdatedAt = now
	// The job's copy of the record may be seconds old (a snapshot read for
	// a whole job): write the sync's fields onto the record as it is now,
	// so an admin's change made meanwhile (an access mode or URL override)
	// is kept, and a mailbox deleted meanwhile is not brought back.
	fresh, err := r.s.Store.GetMailbox(ctx, r.tenant.ID, m.Address)
	if domain.IsNotFound(err) {
		r.s.logger().Info("sync: mailbox deleted during its sync; status not recorded", "tenantId", r.tenant.ID, "mailbox", m.Address)
		return
	}
	if err != nil {
		r.s.logger().Error("sync: recording mailbox status", "tenantId", r.tenant.ID, "mailbox", m.Address, "error", err.Error())
		return
	}
	fresh.Status, fresh.Hint, fresh.LastError, fresh.UnreadableFolders = m.Status, m.Hint, m.LastError, m.UnreadableFolders
	fresh.EffectiveMode, fresh.UpdatedAt = m.EffectiveMode, m.UpdatedAt
	if m.LastSync.After(fresh.LastSync) {
		fresh.LastSync = m.LastSync
	}
	if err := r.s.Store.PutMailbox(ctx, fresh); err != nil {
		r.s.logger().Error("sync: recording mailbox status", "tenantId", r.tenant.ID, "mailbox", m.Address, "error", err.Error())
	}
}

func mailboxSame(a, b domain.Mailbox) bool {
	return a.Status == b.Status && a.Hint == b.Hint && a.LastError == b.LastError &&
		a.EffectiveMode == b.EffectiveMode && slices.Equal(a.UnreadableFolders, b.UnreadableFolders)
}

// audit writes one entry, or with DeferAudit hands it to the caller in
// res. A failure to write is logged, not returned: the access has happened
// and the job's result stands.
func (s *Syncer) audit(ctx context.Context, res *SyncResult, t domain.Tenant, mailbox string, mode domain.AccessMode, result string) {
	e := domain.AuditEntry{TenantID: t.ID, Mailbox: mailbox, Operation: "sync", AccessMode: mode, Result: result, At: s.now()}
	if s.DeferAudit {
		res.Audit = append(res.Audit, e)
		return
	}
	if err := s.Store.AppendAudit(ctx, e); err != nil {
		s.logger().Error("sync: audit append failed", "tenantId", t.ID, "mailbox", mailbox, "error", err.Error())
	}
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
