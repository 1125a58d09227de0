package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
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
