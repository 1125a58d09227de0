package domain

import (
	"context"
	"time"
)

// Ports: what the use cases need from storage, secrets and queues. Each has
// two adapters (AWS and embedded) that pass one contract test suite.

// TenantStore keeps tenant records (never credentials).
type TenantStore interface {
	// CreateTenant stores a new tenant with Version 1 (whatever t.Version
	// says); ErrConflict if the id exists.
	CreateTenant(ctx context.Context, t Tenant) error
	// GetTenant returns ErrNotFound for an unknown id.
	GetTenant(ctx context.Context, id string) (Tenant, error)
	// UpdateTenant replaces t if the stored Version equals t.Version, and
	// stores it with Version+1; ErrConflict otherwise.
	UpdateTenant(ctx context.Context, t Tenant) error
	// ListTenants pages through all tenants in id order.
	ListTenants(ctx context.Context, cursor string, limit int) (tenants []Tenant, next string, err error)
	// PurgeTenant deletes the tenant and everything stored under it
	// (mailboxes, sync state, items, feed, audit, and the idempotency
	// records saved for it, whatever their scope).
	PurgeTenant(ctx context.Context, id string) error
}

// MailboxQuery filters and pages ListMailboxes.
type MailboxQuery struct {
	Status MailboxStatus // empty: all
	Cursor string
	Limit  int
}

// MailboxStore keeps mailbox records.
type MailboxStore interface {
	// AddMailbox stores m if absent; ErrConflict if the address exists.
	AddMailbox(ctx context.Context, m Mailbox) error
	// PutMailbox creates or replaces m.
	PutMailbox(ctx context.Context, m Mailbox) error
	GetMailbox(ctx context.Context, tenantID, address string) (Mailbox, error)
	// DeleteMailbox removes the mailbox and its sync state, items (with
	// their immutable-id index) and feed entries are left to expire or
	// PurgeTenant; ErrNotFound if absent.
	DeleteMailbox(ctx context.Context, tenantID, address string) error
	// ListMailboxes pages through a tenant's mailboxes in address order.
	// A record that does not decode is listed as DamagedMailbox (status
	// damaged), never an error, so one bad record cannot hide the others
	// (a status filter sees it as damaged). GetMailbox returns a
	// *CorruptRecordError for it, GetSyncState for a damaged checkpoint.
	ListMailboxes(ctx context.Context, tenantID string, q MailboxQuery) (mailboxes []Mailbox, next string, err error)
}

// FolderState is the checkpoint of one folder.
type FolderState struct {
	FolderID        string `json:"folderId"`
	DistinguishedID string `json:"distinguishedId,omitempty"` // inbox, calendar, ...
	DisplayName     string `json:"displayName"`
	ParentID        string `json:"parentId,omitempty"`    // selects subfolders of selected folders
	FolderClass     string `json:"folderClass,omitempty"` // IPF.Note, IPF.Appointment, ...
	SyncState       string `json:"syncState,omitempty"`   // opaque EWS SyncState; empty = from scratch
	Unreadable      bool   `json:"unreadable,omitempty"`  // access denied last time (folder delegate)
	// Resync names the recovery resync in progress (after
	// ErrorInvalidSyncStateData): the item ids it has seen are kept under
	// this name (ItemStore.AddSeenIDs) until it ends with the deletes of
	// the stored items it did not see. Empty: none.
	Resync string `json:"resync,omitempty"`
}

// SyncState is the whole checkpoint of one mailbox: one item, written only
// after the changes it covers are stored, and only when it changed.
type SyncState struct {
	TenantID       string                 `json:"tenantId"`
	Mailbox        string                 `json:"mailbox"`
	HierarchyState string                 `json:"hierarchyState,omitempty"`
	Folders        map[string]FolderState `json:"folders,omitempty"` // by FolderID
	// Resume is set only when a job stopped early (throttled, out of time):
	// the work it had fetched but not finished, so the retry continues at
	// the call that failed instead of repeating the calls that succeeded.
	Resume *SyncResume `json:"resume,omitempty"`
	// InitialSyncDone: a sync of every selected folder ended and told the
	// store (ItemStore.MarkMailboxSynced), so later syncs need not ask.
	InitialSyncDone bool      `json:"initialSyncDone,omitempty"`
	Version         int64     `json:"version"` // optimistic concurrency
	UpdatedAt       time.Time `json:"updatedAt"`
}

// SyncResume is the unfinished part of an interrupted sync job. Folder
// checkpoints (FolderState.SyncState) still only move after the changes they
// cover are stored: PageState becomes the folder's SyncState once every
// change in Pending is applied.
type SyncResume struct {
	Tick          time.Time       `json:"tick"`                    // the job's tick
	HierarchyDone bool            `json:"hierarchyDone,omitempty"` // skip the hierarchy sync on retry
	DoneFolders   []string        `json:"doneFolders,omitempty"`   // folders finished in this tick
	Folder        string          `json:"folder,omitempty"`        // folder with a fetched, unfinished page
	PageState     string          `json:"pageState,omitempty"`     // that page's SyncState
	PageDone      bool            `json:"pageDone,omitempty"`      // that page was the folder's last
	Pending       []ItemChangeRef `json:"pending,omitempty"`       // its changes not yet applied
}

// SyncStateStore keeps sync checkpoints.
type SyncStateStore interface {
	// GetSyncState returns a zero SyncState (Version 0) when none is stored.
	GetSyncState(ctx context.Context, tenantID, mailbox string) (SyncState, error)
	// PutSyncState stores s if the stored Version equals s.Version (0 =
	// absent) and stores it with Version+1; ErrConflict otherwise.
	PutSyncState(ctx context.Context, s SyncState) error
}

// ItemChange is one change found by a sync, to be applied idempotently.
type ItemChange struct {
	Kind      ChangeKind
	ItemID    string
	ChangeKey string // empty for deletes
	Item      *Item  // nil for deletes
	// FolderID, on a delete, is the folder that reported it: with ids
	// that survive moves (Graph's immutable ids) a folder reports an item
	// that moved out as removed, so the delete applies only to an item
	// stored in that folder. Empty: whatever folder.
	FolderID string
	// ImmutableID (ItemChangeRef.ImmutableID) is the item's id that
	// survives moves, when ItemID is another id (an EWS id over Graph).
	// The store keeps, per mailbox, an index from it to the ItemID of the
	// latest upsert. A delete with it has no ItemID: it deletes the item
	// the index names (a hard-deleted item's id no longer translates). An
	// upsert whose immutable id the index maps to another live item is a
	// move that changed the item's id: that item is deleted first.
	ImmutableID string
}

// FeedQuery pages a change feed: a tenant's, or one mailbox's if Mailbox is set.
type FeedQuery struct {
	TenantID string
	Mailbox  string
	Cursor   string
	Limit    int
}

// ItemStore keeps the latest version of each item and the change feed.
type ItemStore interface {
	// ApplyChanges upserts items and appends a feed entry for each change
	// that is new: an item whose stored ChangeKey equals the change's, or
	// a delete of an item not stored, appends nothing. Re-applying the same
	// changes after a crash therefore appends nothing twice. It returns how
	// many feed entries were appended. The stored state, not the change's
	// Kind, decides create versus update (a resync from scratch reports
	// every item as created); a change key seen recently for the item is a
	// replay, even if a newer one was stored since. A deleted item keeps a
	// tombstone, so a replayed create of the deleted version appends
	// nothing, while a re-create with a new change key appends a create.
	// A delete naming a folder other than the stored item's appends
	// nothing (the item moved there), and a create from another folder
	// than the tombstone's is news even with a seen change key (the item
	// moved, and the old folder's delete was applied first).
	// Changes with an ImmutableID also resolve against the mailbox's
	// immutable-id index and update it in the same transaction as their
	// item (an upsert that is no news still adds a missing index entry);
	// the index lives as long as the items (PurgeTenant, not
	// DeleteMailbox, removes it).
	//
	// While the mailbox is in its initial sync (StartInitialSync until
	// MarkMailboxSynced), the entries go to the mailbox feed only, not to
	// the tenant feed: the tenant feed is one partition per tenant, and a
	// tenant's initial sync is the bulk of everything it ever writes. A
	// batch planned under one mode that would commit under the other is
	// re-planned, so no entry of a mailbox in its initial sync is in the
	// tenant feed and every entry after MarkMailboxSynced is.
	ApplyChanges(ctx context.Context, tenantID, mailbox string, changes []ItemChange) (appended int, err error)
	// StartInitialSync puts a mailbox that is not registered (about to be
	// added, or added again) in its initial sync; it does nothing when the
	// mailbox is registered, so a late call cannot take a mailbox already
	// announced back (the check and the mark are one atomic step). A
	// mailbox never put in its initial sync writes to both feeds.
	StartInitialSync(ctx context.Context, tenantID, mailbox string) error
	// MarkMailboxSynced ends the mailbox's initial sync: it appends one
	// ChangeMailboxSynced entry to the tenant feed and ends the mode in
	// one atomic step, and reports whether it did. A mailbox not in its
	// initial sync gets nothing, so calling it again (a redelivered job)
	// appends nothing twice.
	MarkMailboxSynced(ctx context.Context, tenantID, mailbox string) (announced bool, err error)
	// InInitialSync reports whether the mailbox is in its initial sync,
	// reading what is committed.
	InInitialSync(ctx context.Context, tenantID, mailbox string) (bool, error)
	// ReadFeed returns changes in order after Cursor, and the cursor to
	// continue from (equal to the given one when nothing is new). Cursors
	// are opaque and belong to one feed: a tenant feed's cursor is not
	// valid for a mailbox feed (adapters may refuse it as CodeInvalid).
	//
	// With a feed retention R (store option; 0 keeps every change), a
	// change is kept at least R after it was appended and may be dropped
	// after that. A cursor after which a change may have been dropped is
	// refused with CodeGone: the reader fell too far behind and must start
	// again without a cursor, which reads from the oldest change still
	// kept (possibly older than R: dropping is lazy). A reader that reads
	// at least once per R never sees CodeGone, however quiet the feed, and
	// never skips or repeats a change.
	ReadFeed(ctx context.Context, q FeedQuery) (changes []Change, next string, err error)

	// Recovery after a lost SyncState (a resync from scratch reports no
	// deletes) and after a folder vanished from the hierarchy. These run
	// rarely and may read every stored item of the mailbox.

	// ListFolderItemIDs pages through the ids of the mailbox's stored items
	// whose latest version is in folderID (Item.FolderID), in id order;
	// deleted items (tombstones) are not listed.
	ListFolderItemIDs(ctx context.Context, tenantID, mailbox, folderID, cursor string, limit int) (ids []string, next string, err error)
	// AddSeenIDs records that the resync named resync of folderID saw ids.
	// It is a set: adding an id again changes nothing, so a replayed page
	// is harmless. The ids survive jobs until DropSeenIDs (adapters may
	// also expire them after weeks).
	AddSeenIDs(ctx context.Context, tenantID, mailbox, folderID, resync string, ids []string) error
	// SeenIDs returns every id added under (folderID, resync), in no order.
	SeenIDs(ctx context.Context, tenantID, mailbox, folderID, resync string) ([]string, error)
	// DropSeenIDs forgets the seen ids of every resync of folderID.
	DropSeenIDs(ctx context.Context, tenantID, mailbox, folderID string) error
}

// AuditStore keeps the access audit trail; entries expire after the
// configured retention.
type AuditStore interface {
	AppendAudit(ctx context.Context, entries ...AuditEntry) error
	// ListAudit pages through a tenant's entries that match q's filters,
	// oldest first. A page may hold fewer than q.Limit entries (even none)
	// with a next cursor when a filter left out what the store read: keep
	// following the cursor until it is "".
	ListAudit(ctx context.Context, tenantID string, q AuditQuery) (entries []AuditEntry, next string, err error)
}

// SyncSnapshot is what a sync job reads before it calls Exchange: the
// mailbox record and its checkpoint.
type SyncSnapshot struct {
	Mailbox Mailbox
	Found   bool      // the mailbox is registered to the tenant
	State   SyncState // zero (Version 0) when none is stored
	// Damaged is set (a *CorruptRecordError) when the mailbox's record or
	// its checkpoint does not decode; Mailbox is then DamagedMailbox if
	// the record is the damaged one. The other snapshots are unaffected.
	Damaged error
}

// SyncSnapshotReader reads the snapshots of several mailboxes of one
// tenant at once. A store implements it when that is cheaper than a
// GetMailbox and a GetSyncState per mailbox: on DynamoDB a range query
// over consecutive mailboxes is billed by the bytes it reads, a GetItem by
// each item's size rounded up to 4 KB. Reads may be eventually consistent
// (a stale checkpoint only makes the job's conditional PutSyncState fail).
type SyncSnapshotReader interface {
	// GetSyncSnapshots returns one snapshot per address (as given; the
	// caller passes normalized addresses), Found false for an address that
	// is not the tenant's mailbox. It is cheapest when the addresses are
	// consecutive in address order; any set works.
	GetSyncSnapshots(ctx context.Context, tenantID string, addresses []string) (map[string]SyncSnapshot, error)
}

// JobProgressStore remembers which mailboxes of a several-mailbox SyncJob
// are done when the job must come back (one of its mailboxes was throttled
// or failed), so the redelivered job syncs only the rest: without it a
// throttle storm would sync a job's finished mailboxes again on every
// redelivery. It is written only when a job comes back and read only when
// one is redelivered, so a calm tick costs nothing here. Records are
// scoped to the tenant (PurgeTenant deletes them) and expire after ttl.
type JobProgressStore interface {
	// MarkJobDone adds mailboxes to the job's done set (a union: marking
	// twice, or concurrently, loses nothing) and sets its expiry to now+ttl.
	MarkJobDone(ctx context.Context, tenantID, jobID string, mailboxes []string, ttl time.Duration) error
	// JobDone returns the job's done set, in no order; empty (no error)
	// when none is stored or it expired.
	JobDone(ctx context.Context, tenantID, jobID string) ([]string, error)
}

// IdempotencyStore remembers the response to a request with an
// Idempotency-Key, so a retried POST returns the same answer.
//
// A record is found by (scope, key), the caller's name for a request, and
// belongs to one tenant, the one the request was about: PurgeTenant of that
// tenant deletes it. So a key is forgotten with the tenant it made, and a
// retry after an offboarding is a new request, never the replay of an
// answer about a tenant that is gone.
type IdempotencyStore interface {
	// GetIdempotent returns the live record under (scope, key); found is
	// false when none is stored or it expired.
	GetIdempotent(ctx context.Context, scope, key string) (value []byte, found bool, err error)
	// SaveIdempotent stores value under (scope, key) for tenantID if no
	// live record is there, and returns the stored value (the earlier one
	// if it existed).
	SaveIdempotent(ctx context.Context, tenantID, scope, key string, value []byte, ttl time.Duration) (stored []byte, existed bool, err error)
}

// Store is everything Mailbridge keeps, as one adapter implements it.
type Store interface {
	TenantStore
	MailboxStore
	SyncStateStore
	ItemStore
	ItemLister
	AuditStore
	IdempotencyStore
	WriteStateStore
}

// SecretStore keeps one credential per tenant.
type SecretStore interface {
	// PutCredential creates or replaces the tenant's credential.
	PutCredential(ctx context.Context, tenantID string, c Credential) error
	// GetCredential returns ErrNotFound when none is stored.
	GetCredential(ctx context.Context, tenantID string) (Credential, error)
	// DeleteCredential schedules deletion (with a recovery window where
	// the backend has one); ErrNotFound when none is stored.
	DeleteCredential(ctx context.Context, tenantID string) error
}

// QueueMessage is one message to send.
type QueueMessage struct {
	Body    []byte
	DedupID string        // deduplication id (FIFO queues; the embedded queue honours it too)
	GroupID string        // FIFO message group (bounds concurrency per group)
	Delay   time.Duration // initial invisibility, up to 15 minutes on SQS
}

// Queue sends jobs. Receiving is the runtime's business (Lambda's SQS event
// source, or the embedded queue's consumer loop).
type Queue interface {
	SendBatch(ctx context.Context, msgs []QueueMessage) error
}

// AccessReport is what an access check found for one mailbox: the answer to
// "does it work, and if not, what must the Exchange admin fix".
type AccessReport struct {
	Mailbox           string        `json:"mailbox"`
	Status            MailboxStatus `json:"status"`
	Mode              AccessMode    `json:"accessMode,omitempty"` // the mode that worked (after fallback)
	FellBack          bool          `json:"fellBack,omitempty"`
	ReadableFolders   []string      `json:"readableFolders,omitempty"`
	UnreadableFolders []string      `json:"unreadableFolders,omitempty"`
	ServerVersion     string        `json:"serverVersion,omitempty"`
	Throttled         bool          `json:"throttled,omitempty"`
	Detail            string        `json:"detail,omitempty"` // what Exchange said (response code), no secrets
	// The failure behind Status (or, with Status ok, behind Throttled),
	// which the fix hint is chosen by: its kind, its code (AccessError.Code)
	// and the back-off the server asked for. Empty when the check worked.
	ErrorKind    AccessErrorKind `json:"errorKind,omitempty"`
	Code         string          `json:"code,omitempty"`
	RetryAfterMs int64           `json:"retryAfterMs,omitempty"`
	// Hint says how to fix it. The checker leaves it empty; the
	// application writes it (app.ReportHint), the one source of hint text.
	Hint string `json:"hint,omitempty"`
}

// AccessChecker checks one mailbox's access with a tenant's credential,
// trying the tenant's mode and, where allowed, falling back from
// impersonation to delegate access (EWS). Implemented per protocol. It
// reports status and detail; the fix hint is the application's to write.
type AccessChecker interface {
	CheckAccess(ctx context.Context, t Tenant, m Mailbox, c Credential) (AccessReport, error)
}
