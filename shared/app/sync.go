// sync.go owns the sync-mailbox use case's shape: the Syncer, its options
// and defaults, what a job returns (SyncResult, RetryLater), and a job's
// top-level flow (admit, run, finish). Each concern of the flow lives in
// its own sync_*.go file, named in the Syncer's comment.

package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
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
	// LastSyncEverySync is the Syncer.LastSyncRefresh that moves an idle
	// mailbox's LastSync on every successful sync.
	LastSyncEverySync time.Duration = -1
	// MaxLastSyncRefresh bounds MAILBRIDGE_LASTSYNC_REFRESH: a lastSync
	// more than a day behind would no longer tell a live mailbox from a
	// stuck one.
	MaxLastSyncRefresh = 24 * time.Hour
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
// and only then moves the checkpoint (nothing lost, nothing doubled). It
// reaches Exchange only through domain.MailboxAccess, so every protocol
// behind that port (EWS today) runs the same use case.
//
// A job (SyncMailboxWith):
//
//   - admission (sync_admit.go): load the tenant (offboarded: refused) and
//     the mailbox (not the tenant's: refused, tenant isolation), then the
//     credential;
//   - the access mode (sync_mode.go): impersonation or delegate, with the
//     fallback from impersonation to delegate access;
//   - the hierarchy (sync_hierarchy.go): the folder list, the selected
//     well-known folders, and which folders are selected (new ones are
//     backfilled from scratch);
//   - per selected folder, its pages (sync_pages.go; several folders at
//     once when the access allows it, sync_together.go): a page of changes,
//     the items in batches, one ApplyChanges per page (idempotent by
//     ItemId + ChangeKey), and the folder's SyncState moves once its whole
//     page is stored;
//   - recovery (sync_resync.go) after an invalid sync state or a vanished
//     folder;
//   - the checkpoint (sync_checkpoint.go): one SyncState item per mailbox,
//     written every CheckpointEvery pages and at the end, only when it
//     differs from the stored one, with the tick's progress (Resume) when
//     the job stops early;
//   - the outcome (sync_outcome.go): one decision of what follows the
//     sync (requeue or not and with what delay, the mailbox's status and
//     hint, whether its record is written), and the audit entry
//     (sync_audit.go).
//
// Cost: an idle mailbox costs its mailbox-access calls, one audit entry (a
// share of a packed item with DeferAudit) and no other write: the
// checkpoint is compared first, and the mailbox record is only written
// when its status, hint, mode or unreadable folders change (or its
// LastSync is an hour old).
type Syncer struct {
	Store domain.Store
	// Tenants reads the tenant record; nil: Store. The sync worker puts a
	// TenantCache here.
	Tenants   TenantGetter
	Secrets   domain.SecretStore // the caller wraps it in a cache
	Connector domain.Connector
	Clock     domain.Clock
	Log       *slog.Logger

	PageSize        int // MaxChangesReturned, 1..512; default DefaultSyncPageSize
	GetItemBatch    int // items per GetItem call; default and most domain.MaxGetItems
	CheckpointEvery int // pages between checkpoints; default 8
	// Budget is the wall time a job may use before it checkpoints and asks
	// to be continued; 0 = no limit.
	Budget time.Duration
	// LastSyncRefresh is how stale Mailbox.LastSync may get before a
	// successful job that found nothing new rewrites the mailbox record
	// just to move it; 0: DefaultLastSyncRefresh; LastSyncEverySync (any
	// negative value): every such job. (Writing it every such job costs a
	// write per idle mailbox per interval, docs/configuration.md; a job
	// that appended changes always moves it.) Operators set it with
	// MAILBRIDGE_LASTSYNC_REFRESH (ParseLastSyncRefresh).
	LastSyncRefresh time.Duration
	// DeadlineMargin does the same when the context's deadline (the
	// Lambda's) is closer than this, leaving time to checkpoint; 0 = off.
	DeadlineMargin time.Duration
	// DeferAudit leaves the job's audit entry in SyncResult.Audit for the
	// caller to write instead of appending it: BatchWorker writes a
	// batch's entries in one call (packed, one write instead of ten).
	DeferAudit bool

	// Archive receives the MIME of each new message of a tenant with
	// archive export on (sync_archive.go), read through Content;
	// ArchiveMaxBytes bounds it (0: DefaultArchiveMaxBytes; at most
	// domain.MaxArchiveBytes), ArchiveReads the MIME reads the process
	// runs at once (0: DefaultArchiveReads). Nil Archive: no archive; a
	// tenant with archive on then fails its syncs (ErrArchiveNotConfigured)
	// rather than skip its messages.
	Archive         domain.ArchiveStore
	Content         domain.ContentConnector
	ArchiveMaxBytes int64
	ArchiveReads    int

	archiveOnce sync.Once
	archiveSem  chan struct{}
}

// TenantGetter reads a tenant record (domain.Store, or a TenantCache).
type TenantGetter interface {
	GetTenant(ctx context.Context, id string) (domain.Tenant, error)
}

// SyncResult says what one job did.
type SyncResult struct {
	TenantID    string               `json:"tenantId"`
	Mailbox     string               `json:"mailbox"`
	Mode        domain.AccessMode    `json:"accessMode,omitempty"` // the mode used
	FellBack    bool                 `json:"fellBack,omitempty"`
	Status      domain.MailboxStatus `json:"status,omitempty"`
	Folders     int                  `json:"folders"`             // folders synced
	Pages       int                  `json:"pages"`               // SyncFolderItems pages
	Changes     int                  `json:"changes"`             // changes applied (before idempotency)
	Appended    int                  `json:"appended"`            // feed entries appended
	Announced   bool                 `json:"announced,omitempty"` // this sync ended the initial sync (mailboxSynced appended)
	Resyncs     int                  `json:"resyncs,omitempty"`
	EWSCalls    int                  `json:"ewsCalls"`
	Throttled   int                  `json:"throttled"`
	Checkpoints int                  `json:"checkpoints"`        // SyncState writes
	Archived    int                  `json:"archived,omitempty"` // messages written to the archive
	Unreadable  []string             `json:"unreadable,omitempty"`
	// Audit is the job's audit entry when Syncer.DeferAudit is set: the
	// caller must store it.
	Audit []domain.AuditEntry `json:"-"`
}

// RetryLater asks the runtime to run the job again after After: the server
// throttled us, the job used its time budget, or its checkpoint changed
// under it. Progress made so far is checkpointed. The Lambda never sleeps: the queue holds the delay.
type RetryLater struct {
	After  time.Duration
	Reason string
}

func (e *RetryLater) Error() string {
	return fmt.Sprintf("retry later (after %s): %s", e.After, e.Reason)
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
	switch {
	case s.LastSyncRefresh < 0:
		return 0 // every sync: LastSync is always at least 0 old
	case s.LastSyncRefresh == 0:
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
	t, m, err := s.admit(ctx, job, snap, &res)
	if domain.IsCorrupt(err) {
		return res, s.skipDamaged(ctx, &res, t, m, err)
	}
	if err != nil {
		return res, err
	}
	r := &syncRun{s: s, job: job, tenant: t, mbox: m, res: &res, started: s.now(), snap: snap}
	runErr := r.run(ctx)
	if domain.IsCorrupt(runErr) {
		// The checkpoint, read without a snapshot, does not decode.
		return res, s.skipDamaged(ctx, &res, t, m, runErr)
	}
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
	// account names who the sync runs as, for hints (no secret).
	account Account
	// cred is the job's credential, for the content reader (archive).
	cred    domain.Credential
	content domain.ContentReader // opened on first archive; nil before

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
	// dropSeen lists folders whose recovery resync ended (or that
	// vanished): their seen ids are dropped once the checkpoint saying so
	// is stored.
	dropSeen []string
	// mu guards res's call counts while folders are read at once.
	mu sync.Mutex
}

// run connects, reads the checkpoint and syncs the mailbox: once more
// with a freshly read credential when the cached one was rotated, and once
// more in delegate mode when the fallback from impersonation to delegate
// access applies.
func (r *syncRun) run(ctx context.Context) error {
	mode := r.startMode()
	r.ref = domain.MailboxRef{Address: r.mbox.Address, Mode: mode, EWSURL: r.mbox.EWSURL}
	r.res.Mode = mode
	cred, err := r.connect(ctx)
	if err != nil {
		return err
	}
	if err := r.loadState(ctx); err != nil {
		return err
	}
	err = r.syncAll(ctx)
	if ae := asAccess(err); ae != nil && ae.Kind == domain.AccessAuth {
		renewed, cerr := r.reconnectIfRotated(ctx, cred)
		if cerr != nil {
			return cerr
		}
		if renewed {
			err = r.syncAll(ctx)
		}
	}
	if r.mayFallBack(mode, err) {
		r.fallBack()
		err = r.syncAll(ctx)
	}
	return err
}

// syncAll syncs the hierarchy and every selected folder, resuming an
// interrupted run of the same tick.
func (r *syncRun) syncAll(ctx context.Context) error {
	resume, sameTick := r.restoreResume()
	if !(sameTick && resume.HierarchyDone) {
		if err := r.syncHierarchy(ctx); err != nil {
			return err
		}
	}
	r.hierDone = true
	if err := r.resolveDistinguished(ctx); err != nil {
		return err
	}
	if err := r.finishResumedPage(ctx, resume); err != nil {
		return err
	}
	var ids []string
	for _, id := range r.selected() {
		if !r.skip[id] {
			ids = append(ids, id)
		}
	}
	if n := r.readsAtOnce(); n > 1 && len(ids) > 1 {
		return r.syncFoldersTogether(ctx, ids, n)
	}
	for _, id := range ids {
		if err := r.syncFolder(ctx, id); err != nil {
			return err
		}
		r.markDone(id)
	}
	return nil
}

// finish saves the checkpoint, then carries out what decideOutcome
// decides: the mailbox record, the audit entry, and what the runtime does
// with the job (the returned error).
func (r *syncRun) finish(ctx context.Context, runErr error) error {
	f := r.facts(runErr)
	o := decideOutcome(f)
	r.keepProgress(o.unfinished)
	if r.access != nil && runErr == nil && !r.st.InitialSyncDone {
		r.announce(ctx)
	}
	if r.access != nil {
		f.checkpointErr = r.checkpoint(ctx)
	}
	if f.checkpointErr == nil {
		r.dropSeenIDs(ctx)
	} else {
		// The checkpoint's fate changes what the runtime does with the
		// job, not what the run came to (o.unfinished stays).
		o = decideOutcome(f)
	}
	r.res.Status, r.res.Unreadable = o.status, o.unreadable
	if o.writeMailbox {
		r.recordMailbox(ctx, o.mailbox)
	}
	r.s.audit(ctx, r.res, r.tenant, r.mbox.Address, r.ref.Mode, o.audit)
	return o.err
}

// callAccess runs one mailbox-access request (one EWS call), counting it.
// Several may run at once (sync_together.go).
func callAccess[T any](r *syncRun, f func() (T, error)) (T, error) {
	v, err := f()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.res.EWSCalls++
	if ae := asAccess(err); ae != nil && ae.Kind == domain.AccessThrottled {
		r.res.Throttled++
	}
	return v, err
}

func asAccess(err error) *domain.AccessError {
	var ae *domain.AccessError
	if errors.As(err, &ae) {
		return ae
	}
	return nil
}

// announce ends the mailbox's initial sync once every selected folder has
// been synced to its end (a run that ended without error): the store
// appends one mailboxSynced to the tenant feed. Before the checkpoint
// that records it, so a crash between the two leaves a redelivered job to
// call again, which appends nothing twice (the store ends the mode and
// appends in one step). A failure is left to the next sync, which calls
// again: until then the mailbox's changes stay in its own feed, and the
// announcement that comes later covers them.
func (r *syncRun) announce(ctx context.Context) {
	announced, err := r.s.Store.MarkMailboxSynced(ctx, r.tenant.ID, r.mbox.Address)
	if err != nil {
		r.s.logger().Warn("sync: announcing the initial sync failed; the next sync tries again", "tenant", r.tenant.ID, "mailbox", r.mbox.Address, "err", err)
		return
	}
	r.st.InitialSyncDone = true
	r.res.Announced = announced
}
