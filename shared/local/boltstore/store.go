package boltstore

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/platform/storeplan"
)

// DefaultAuditRetention is how long audit entries are kept unless configured.
const DefaultAuditRetention = 90 * 24 * time.Hour

// Options configure a Store.
type Options struct {
	Clock          domain.Clock  // nil: the system clock
	AuditRetention time.Duration // 0: DefaultAuditRetention
	FeedRetention  time.Duration // 0: keep every change (see feedretention.go)
}

// PageSize is the page size of a new store file (an existing file keeps
// the one it was made with). The file is mmapped, and a read fault on a
// mapped file makes the kernel map the cached pages around it too (a 64 KB
// window, fault_around_bytes). With 4 KB pages the small, hot records (a
// mailbox, a checkpoint), written in the same transactions as items and
// feed entries, lie scattered among them, so every read of one brought up
// to 60 KB of items and feed into the process's resident set: a tick that
// reads every mailbox's records made most of the file resident (on tmpfs,
// where every page is cached: 248 MB of a 352 MB file at 10,000
// mailboxes). 32 KB pages bring it to 150 MB; 64 KB pages (122 MB) cost
// the initial sync a quarter more CPU, each transaction rewriting whole
// 64 KB leaves. Measured with make bench (b), docs/architecture.md.
const PageSize = 32 << 10

// Store is a domain.Store in one bbolt file.
type Store struct {
	db            *bolt.DB
	clock         domain.Clock
	retention     time.Duration
	feedRetention time.Duration
}

var _ domain.Store = (*Store)(nil)

var (
	bTenants   = []byte("tenants")
	bIdem      = []byte("idem")
	bMailboxes = []byte("mailboxes")
	bSync      = []byte("sync")
	bItems     = []byte("items")
	bFeed      = []byte("feed")
	bMFeed     = []byte("mfeed")
	bAudit     = []byte("audit")
)

// damaged is the error for a store file that cannot be read: what is
// wrong and what the operator can do.
func damaged(path string, cause error) error {
	return fmt.Errorf("open store %s: the file is damaged or not a Mailbridge store (%v): restore it from a backup, or move it aside to start with an empty store (its tenants, checkpoints and feeds are then gone; the next syncs rebuild the feeds from Exchange)", path, cause)
}

// Open opens (creating if needed) the store file at path, readable only by
// its owner.
func Open(path string, opts Options) (s *Store, err error) {
	// A damaged file can make bbolt panic while it reads its pages: turn
	// that into the same clear error as any other damage.
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, damaged(path, fmt.Errorf("%v", r))
		}
	}()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second, PageSize: PageSize})
	switch {
	case errors.Is(err, bolterrors.ErrTimeout):
		return nil, fmt.Errorf("open store %s: another mailbridge process holds it (its file lock); stop that process or use another --data directory", path)
	case err != nil:
		return nil, damaged(path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bTenants, bIdem, bCalRetries} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		// Feeds stored before generations existed get one now, so
		// their readers get cursors that stay valid.
		var feeds []string
		err := tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			if bytes.HasPrefix(name, []byte("t/")) && b.Bucket(bFeed) != nil && b.Get(kFeedGen) == nil {
				feeds = append(feeds, string(name[len("t/"):]))
			}
			return nil
		})
		for _, id := range feeds {
			if err == nil {
				err = ensureFeedGen(tx, id)
			}
		}
		return err
	})
	if err != nil {
		db.Close()
		return nil, damaged(path, err)
	}
	s = &Store{db: db, clock: opts.Clock, retention: opts.AuditRetention, feedRetention: max(opts.FeedRetention, 0)}
	if s.clock == nil {
		s.clock = domain.SystemClock{}
	}
	if s.retention <= 0 {
		s.retention = DefaultAuditRetention
	}
	return s, nil
}

// Close closes the file.
func (s *Store) Close() error { return s.db.Close() }

func tenantBucketName(id string) []byte { return []byte("t/" + id) }

// tenantBucket returns the tenant's sub-bucket name, nil if the tenant has
// no data yet (read transactions).
func tenantBucket(tx *bolt.Tx, tenantID string, name []byte) *bolt.Bucket {
	tb := tx.Bucket(tenantBucketName(tenantID))
	if tb == nil {
		return nil
	}
	return tb.Bucket(name)
}

// tenantBucketRW creates the tenant's sub-bucket if needed.
func tenantBucketRW(tx *bolt.Tx, tenantID string, name []byte) (*bolt.Bucket, error) {
	tb, err := tx.CreateBucketIfNotExists(tenantBucketName(tenantID))
	if err != nil {
		return nil, err
	}
	return tb.CreateBucketIfNotExists(name)
}

func join(a string, b []byte) []byte {
	k := make([]byte, 0, len(a)+1+len(b))
	k = append(k, a...)
	k = append(k, 0)
	return append(k, b...)
}

func u64(n uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, n)
	return b
}

func put(b *bolt.Bucket, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, data)
}

func get(b *bolt.Bucket, key []byte, v any) (bool, error) {
	if b == nil {
		return false, nil
	}
	data := b.Get(key)
	if data == nil {
		return false, nil
	}
	return true, json.Unmarshal(data, v)
}

// getRecord is get for the records one bad value must not take others
// down with (mailboxes, checkpoints): a value that does not decode is a
// *domain.CorruptRecordError naming the record by its key.
func getRecord(b *bolt.Bucket, key []byte, v any, record, tenantID string) (bool, error) {
	found, err := get(b, key, v)
	if err != nil {
		return true, &domain.CorruptRecordError{Record: record, TenantID: tenantID, Key: string(key), Err: err}
	}
	return found, nil
}

// Key-based cursors are the last key read, base64url-encoded.
func encodeKeyCursor(k string) string { return base64.RawURLEncoding.EncodeToString([]byte(k)) }

func decodeKeyCursor(c string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return "", domain.Invalid("cursor", "cursor is not one this API returned")
	}
	return string(b), nil
}

// --- tenants ---

// CreateTenant stores t with Version 1; ErrConflict if the id exists.
func (s *Store) CreateTenant(_ context.Context, t domain.Tenant) error {
	if t.ID == "" {
		return domain.Invalid("id", "tenant id is required")
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bTenants)
		if b.Get([]byte(t.ID)) != nil {
			return fmt.Errorf("tenant %s exists: %w", t.ID, domain.ErrConflict)
		}
		t.Version = 1
		return put(b, []byte(t.ID), t)
	})
}

// GetTenant returns ErrNotFound for an unknown id.
func (s *Store) GetTenant(_ context.Context, id string) (domain.Tenant, error) {
	var t domain.Tenant
	err := s.db.View(func(tx *bolt.Tx) error {
		ok, err := getRecord(tx.Bucket(bTenants), []byte(id), &t, "tenant", id)
		if err == nil && !ok {
			err = fmt.Errorf("tenant %s: %w", id, domain.ErrNotFound)
		}
		return err
	})
	if err != nil {
		return domain.Tenant{}, err // nothing half-decoded
	}
	return t, nil
}

// UpdateTenant replaces t if its Version is the stored one.
func (s *Store) UpdateTenant(_ context.Context, t domain.Tenant) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bTenants)
		var cur domain.Tenant
		ok, err := getRecord(b, []byte(t.ID), &cur, "tenant", t.ID)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("tenant %s: %w", t.ID, domain.ErrNotFound)
		}
		if cur.Version != t.Version {
			return fmt.Errorf("tenant %s is at version %d, not %d: %w", t.ID, cur.Version, t.Version, domain.ErrConflict)
		}
		t.Version++
		return put(b, []byte(t.ID), t)
	})
}

// ListTenants pages through tenants in id order.
func (s *Store) ListTenants(_ context.Context, cursor string, limit int) ([]domain.Tenant, string, error) {
	after, err := decodeKeyCursor(cursor)
	if err != nil {
		return nil, "", err
	}
	limit = storeplan.Limit(limit)
	var out []domain.Tenant
	next := ""
	err = s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bTenants).Cursor()
		k, v := c.Seek([]byte(after))
		if k != nil && cursor != "" && string(k) == after {
			k, v = c.Next()
		}
		for ; k != nil; k, v = c.Next() {
			if len(out) == limit {
				next = encodeKeyCursor(out[len(out)-1].ID)
				return nil
			}
			var t domain.Tenant
			if err := json.Unmarshal(v, &t); err != nil {
				// Listed as damaged, so the others are still scheduled.
				t = domain.DamagedTenant(string(k))
			}
			out = append(out, t)
		}
		return nil
	})
	return out, next, err
}

// PurgeTenant deletes the tenant and everything under it; purging an
// absent tenant is not an error, so offboarding can be retried.
func (s *Store) PurgeTenant(_ context.Context, id string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bTenants).Delete([]byte(id)); err != nil {
			return err
		}
		// The records first: their index lives in the tenant's bucket.
		if err := purgeIdempotent(tx, id); err != nil {
			return err
		}
		if tx.Bucket(tenantBucketName(id)) != nil {
			if err := tx.DeleteBucket(tenantBucketName(id)); err != nil {
				return err
			}
		}
		return nil
	})
}

// --- mailboxes ---

func checkTenantID(id string) error {
	if id == "" {
		return domain.Invalid("tenantId", "tenant id is required")
	}
	return nil
}

func validMailbox(m domain.Mailbox) error {
	if err := checkTenantID(m.TenantID); err != nil {
		return err
	}
	if m.Address == "" {
		return domain.Invalid("address", "mailbox address is required")
	}
	return nil
}

// AddMailbox stores m if absent; ErrConflict if the address exists.
func (s *Store) AddMailbox(_ context.Context, m domain.Mailbox) error {
	if err := validMailbox(m); err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		b, err := tenantBucketRW(tx, m.TenantID, bMailboxes)
		if err != nil {
			return err
		}
		if b.Get([]byte(m.Address)) != nil {
			return fmt.Errorf("mailbox %s exists: %w", m.Address, domain.ErrConflict)
		}
		return put(b, []byte(m.Address), m)
	})
}

// PutMailbox creates or replaces m.
func (s *Store) PutMailbox(_ context.Context, m domain.Mailbox) error {
	if err := validMailbox(m); err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		b, err := tenantBucketRW(tx, m.TenantID, bMailboxes)
		if err != nil {
			return err
		}
		return put(b, []byte(m.Address), m)
	})
}

// GetMailbox returns ErrNotFound if absent.
func (s *Store) GetMailbox(_ context.Context, tenantID, address string) (domain.Mailbox, error) {
	var m domain.Mailbox
	err := s.db.View(func(tx *bolt.Tx) error {
		ok, err := getRecord(tenantBucket(tx, tenantID, bMailboxes), []byte(address), &m, "mailbox", tenantID)
		if err == nil && !ok {
			err = fmt.Errorf("mailbox %s: %w", address, domain.ErrNotFound)
		}
		return err
	})
	if err != nil {
		return domain.Mailbox{}, err // nothing half-decoded
	}
	return m, nil
}

// DeleteMailbox removes the mailbox and its sync state; its items and feed
// entries stay until PurgeTenant.
func (s *Store) DeleteMailbox(_ context.Context, tenantID, address string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tenantBucket(tx, tenantID, bMailboxes)
		if b == nil || b.Get([]byte(address)) == nil {
			return fmt.Errorf("mailbox %s: %w", address, domain.ErrNotFound)
		}
		if err := b.Delete([]byte(address)); err != nil {
			return err
		}
		if sb := tenantBucket(tx, tenantID, bSync); sb != nil {
			return sb.Delete([]byte(address))
		}
		return nil
	})
}

// ListMailboxes pages through a tenant's mailboxes in address order.
func (s *Store) ListMailboxes(_ context.Context, tenantID string, q domain.MailboxQuery) ([]domain.Mailbox, string, error) {
	after, err := decodeKeyCursor(q.Cursor)
	if err != nil {
		return nil, "", err
	}
	limit := storeplan.Limit(q.Limit)
	var out []domain.Mailbox
	next := ""
	err = s.db.View(func(tx *bolt.Tx) error {
		b := tenantBucket(tx, tenantID, bMailboxes)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		k, v := c.Seek([]byte(after))
		if k != nil && q.Cursor != "" && string(k) == after {
			k, v = c.Next()
		}
		for ; k != nil; k, v = c.Next() {
			var m domain.Mailbox
			if err := json.Unmarshal(v, &m); err != nil {
				m = domain.DamagedMailbox(tenantID, string(k), "mailbox record")
			}
			if q.Status != "" && m.Status != q.Status {
				continue
			}
			if len(out) == limit {
				next = encodeKeyCursor(out[len(out)-1].Address)
				return nil
			}
			out = append(out, m)
		}
		return nil
	})
	return out, next, err
}

// --- sync state ---

// GetSyncState returns a zero SyncState (Version 0) when none is stored.
func (s *Store) GetSyncState(_ context.Context, tenantID, mailbox string) (domain.SyncState, error) {
	var st domain.SyncState
	err := s.db.View(func(tx *bolt.Tx) error {
		_, err := getRecord(tenantBucket(tx, tenantID, bSync), []byte(mailbox), &st, "sync state", tenantID)
		return err
	})
	if err != nil {
		st = domain.SyncState{} // nothing half-decoded
	}
	if st.Version == 0 {
		st.TenantID, st.Mailbox = tenantID, mailbox
	}
	return st, err
}

// PutSyncState stores st with Version+1 if st.Version is the stored one.
func (s *Store) PutSyncState(_ context.Context, st domain.SyncState) error {
	if st.TenantID == "" || st.Mailbox == "" {
		return domain.Invalid("mailbox", "sync state needs a tenant id and a mailbox")
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		b, err := tenantBucketRW(tx, st.TenantID, bSync)
		if err != nil {
			return err
		}
		var cur domain.SyncState
		if _, err := getRecord(b, []byte(st.Mailbox), &cur, "sync state", st.TenantID); err != nil {
			return err
		}
		if cur.Version != st.Version {
			return fmt.Errorf("sync state of %s is at version %d, not %d: %w", st.Mailbox, cur.Version, st.Version, domain.ErrConflict)
		}
		st.Version++
		return put(b, []byte(st.Mailbox), st)
	})
}

// --- items and feed ---

type storedItem struct {
	Keys    []string        `json:"keys"` // recent change keys, newest last
	Deleted bool            `json:"deleted,omitempty"`
	Folder  string          `json:"folder,omitempty"` // a tombstone's: the deleted version's folder
	Kind    domain.ItemKind `json:"kind,omitempty"`   // a tombstone's: the deleted item's kind
	Item    *domain.Item    `json:"item,omitempty"`
}

// kind is the item's kind: a live item's is its Item's, a tombstone's is Kind.
func (si storedItem) kind() domain.ItemKind {
	if si.Kind == "" && si.Item != nil {
		return si.Item.Kind
	}
	return si.Kind
}

// folder is the item's folder: a live item's is its Item's (not stored
// twice), a tombstone's is Folder.
func (si storedItem) folder() string {
	if si.Folder == "" && si.Item != nil {
		return si.Item.FolderID
	}
	return si.Folder
}

// ApplyChanges upserts the items and appends a feed entry for each change
// that is news, all in one transaction.
func (s *Store) ApplyChanges(_ context.Context, tenantID, mailbox string, changes []domain.ItemChange) (int, error) {
	if err := storeplan.Validate(tenantID, mailbox, changes); err != nil {
		return 0, err
	}
	if len(changes) == 0 {
		return 0, nil
	}
	appended := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		items, err := tenantBucketRW(tx, tenantID, bItems)
		if err != nil {
			return err
		}
		stored, index, err := readForPlan(tx, tenantID, mailbox, items, changes)
		if err != nil {
			return err
		}
		entries, _, aliases := storeplan.PlanIndexed(changes, stored, index)
		if err := putAliases(tx, tenantID, mailbox, entries, aliases); err != nil {
			return err
		}
		if len(entries) == 0 {
			return nil
		}
		feed, err := tenantBucketRW(tx, tenantID, bFeed)
		if err != nil {
			return err
		}
		mfeed, err := tenantBucketRW(tx, tenantID, bMFeed)
		if err != nil {
			return err
		}
		now := s.clock.Now().UTC()
		mailboxOnly := inInitialSync(tx, tenantID, mailbox)
		for _, e := range entries {
			si := storedItem{Keys: e.State.Keys, Deleted: e.State.Deleted, Item: e.Item}
			if e.Item == nil {
				si.Folder, si.Kind = e.State.Folder, e.State.Kind
			}
			if err := put(items, join(mailbox, []byte(e.ItemID)), si); err != nil {
				return err
			}
			seq, err := feed.NextSequence()
			if err != nil {
				return err
			}
			ch := domain.Change{Seq: strconv.FormatUint(seq, 10), TenantID: tenantID, Mailbox: mailbox, Kind: e.Kind, ItemID: e.ItemID, ItemKind: e.State.Kind, Item: e.Item, At: now}
			if err := put(feed, u64(seq), feedRecord{Change: ch, MailboxOnly: mailboxOnly}); err != nil {
				return err
			}
			if err := mfeed.Put(join(mailbox, u64(seq)), nil); err != nil {
				return err
			}
		}
		appended = len(entries)
		return s.pruneFeed(tx, tenantID, now)
	})
	if err != nil {
		return 0, err
	}
	return appended, nil
}

// ReadFeed returns the changes after q.Cursor, in order. Cursors carry the
// feed's generation (storeplan.EncodeFeedCursor); the mailbox feeds share
// the tenant feed's numbering, so their positions are tenant feed numbers.
func (s *Store) ReadFeed(_ context.Context, q domain.FeedQuery) ([]domain.Change, string, error) {
	limit := storeplan.Limit(q.Limit)
	var out []domain.Change
	err := s.db.View(func(tx *bolt.Tx) error {
		feed := tenantBucket(tx, q.TenantID, bFeed)
		var gen string
		var head uint64
		if feed != nil {
			gen, head = string(tx.Bucket(tenantBucketName(q.TenantID)).Get(kFeedGen)), feed.Sequence()
		}
		after, err := storeplan.DecodeFeedCursor(q.Cursor, q.TenantID, q.Mailbox, gen, head)
		if err != nil || feed == nil {
			return err
		}
		add := func(seq, v []byte) error {
			var rec feedRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return err
			}
			if q.Mailbox == "" && !rec.inTenantFeed() {
				return nil
			}
			ch := rec.Change
			ch.Seq = storeplan.EncodeFeedCursor(q.TenantID, q.Mailbox, gen, binary.BigEndian.Uint64(seq))
			out = append(out, ch)
			return nil
		}
		if err := s.checkCursor(tx, q, after); err != nil {
			return err
		}
		// after < head here, so after+1 does not wrap.
		if q.Mailbox == "" {
			c := feed.Cursor()
			for k, v := c.Seek(u64(after + 1)); k != nil && len(out) < limit; k, v = c.Next() {
				if err := add(k, v); err != nil {
					return err
				}
			}
			return nil
		}
		mfeed := tenantBucket(tx, q.TenantID, bMFeed)
		if mfeed == nil {
			return nil
		}
		prefix := join(q.Mailbox, nil)
		c := mfeed.Cursor()
		for k, _ := c.Seek(join(q.Mailbox, u64(after+1))); k != nil && bytes.HasPrefix(k, prefix) && len(out) < limit; k, _ = c.Next() {
			seq := k[len(prefix):]
			v := feed.Get(seq)
			if v == nil {
				return fmt.Errorf("mailbox feed index points at missing entry %x", seq)
			}
			if err := add(seq, v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	next := q.Cursor
	if len(out) > 0 {
		next = out[len(out)-1].Seq
	}
	return out, next, nil
}

// kFeedGen, a key of the tenant's bucket, holds the generation of its
// feeds: made with the first append, gone with the purge, so a feed
// started again refuses the cursors of the one before.
var kFeedGen = []byte("feedgen")

// ensureFeedGen gives the tenant's feeds a generation if they have none.
func ensureFeedGen(tx *bolt.Tx, tenantID string) error {
	tb := tx.Bucket(tenantBucketName(tenantID))
	if tb == nil || tb.Get(kFeedGen) != nil {
		return nil
	}
	return tb.Put(kFeedGen, []byte(storeplan.NewFeedGeneration()))
}

// --- audit ---

// AppendAudit stores entries and prunes the tenant's expired ones.
func (s *Store) AppendAudit(_ context.Context, entries ...domain.AuditEntry) error {
	for _, e := range entries {
		if e.TenantID == "" {
			return domain.Invalid("tenantId", "audit entry without tenant id")
		}
	}
	cutoff := s.clock.Now().Add(-s.retention)
	return s.db.Update(func(tx *bolt.Tx) error {
		pruned := map[string]bool{}
		for _, e := range entries {
			b, err := tenantBucketRW(tx, e.TenantID, bAudit)
			if err != nil {
				return err
			}
			if !pruned[e.TenantID] {
				pruned[e.TenantID] = true
				c := b.Cursor()
				for k, _ := c.First(); k != nil && int64(binary.BigEndian.Uint64(k)) < cutoff.UnixNano(); k, _ = c.First() {
					if err := c.Delete(); err != nil {
						return err
					}
				}
			}
			seq, err := b.NextSequence()
			if err != nil {
				return err
			}
			key := append(u64(uint64(e.At.UnixNano())), u64(seq)...)
			if err := put(b, key, e); err != nil {
				return err
			}
		}
		return nil
	})
}

// ListAudit pages through a tenant's audit entries that match q, oldest
// first, skipping those past the retention. Keys are entry times, so the
// time filters bound the walk; the others are checked per entry.
func (s *Store) ListAudit(_ context.Context, tenantID string, q domain.AuditQuery) ([]domain.AuditEntry, string, error) {
	var after []byte
	if q.Cursor != "" {
		b, err := hex.DecodeString(q.Cursor)
		if err != nil || len(b) != 16 {
			return nil, "", domain.Invalid("cursor", "cursor is not one this API returned")
		}
		after = b
	}
	limit := storeplan.Limit(q.Limit)
	from := s.clock.Now().Add(-s.retention)
	if q.Since.After(from) {
		from = q.Since
	}
	lo := u64(uint64(from.UnixNano()))
	var out []domain.AuditEntry
	next := ""
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tenantBucket(tx, tenantID, bAudit)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		start := lo
		if after != nil && bytes.Compare(after, lo) >= 0 {
			start = after
		}
		var last []byte
		for k, v := c.Seek(start); k != nil; k, v = c.Next() {
			if bytes.Equal(k, after) {
				continue
			}
			if !q.Until.IsZero() && int64(binary.BigEndian.Uint64(k)) >= q.Until.UnixNano() {
				return nil
			}
			var e domain.AuditEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return err
			}
			if !q.Matches(e) {
				continue
			}
			if len(out) == limit {
				next = hex.EncodeToString(last)
				return nil
			}
			out = append(out, e)
			last = k
		}
		return nil
	})
	return out, next, err
}

// --- idempotency ---

// bIdemIndex, inside a tenant's bucket, names the idempotency records
// saved for the tenant (their bIdem keys), so PurgeTenant finds them
// whatever their scope.
var bIdemIndex = []byte("idem")

type idemRecord struct {
	Expires time.Time `json:"expires"`
	Value   []byte    `json:"value"`
	Tenant  string    `json:"tenant,omitempty"`
}

// GetIdempotent returns the live record under (scope, key).
func (s *Store) GetIdempotent(_ context.Context, scope, key string) ([]byte, bool, error) {
	now := s.clock.Now()
	var rec idemRecord
	found := false
	err := s.db.View(func(tx *bolt.Tx) error {
		ok, err := get(tx.Bucket(bIdem), join(scope, []byte(key)), &rec)
		found = ok && now.Before(rec.Expires)
		return err
	})
	if err != nil || !found {
		return nil, false, err
	}
	return rec.Value, true, nil
}

// SaveIdempotent stores value under (scope, key) for tenantID unless a
// live record exists, and returns the stored value.
func (s *Store) SaveIdempotent(_ context.Context, tenantID, scope, key string, value []byte, ttl time.Duration) ([]byte, bool, error) {
	if key == "" {
		return nil, false, domain.Invalid("Idempotency-Key", "idempotency key is empty")
	}
	if err := checkTenantID(tenantID); err != nil {
		return nil, false, err
	}
	now := s.clock.Now()
	var stored []byte
	existed := false
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bIdem)
		k := join(scope, []byte(key))
		var rec idemRecord
		ok, err := get(b, k, &rec)
		if err != nil {
			return err
		}
		if ok && now.Before(rec.Expires) {
			stored, existed = rec.Value, true
			return nil
		}
		stored = value
		idx, err := tenantBucketRW(tx, tenantID, bIdemIndex)
		if err != nil {
			return err
		}
		if err := idx.Put(k, nil); err != nil {
			return err
		}
		return put(b, k, idemRecord{Expires: now.Add(ttl), Value: value, Tenant: tenantID})
	})
	return stored, existed, err
}

// purgeIdempotent deletes the idempotency records saved for tenant id (an
// expired one since replaced for another tenant stays).
func purgeIdempotent(tx *bolt.Tx, id string) error {
	idx := tenantBucket(tx, id, bIdemIndex)
	if idx == nil {
		return nil
	}
	b := tx.Bucket(bIdem)
	return idx.ForEach(func(k, _ []byte) error {
		var rec idemRecord
		ok, err := get(b, k, &rec)
		if err != nil || !ok || rec.Tenant != id {
			return err
		}
		return b.Delete(k)
	})
}

// FreePages is the number of free and pending pages in the file and the
// page size: what the file holds beyond its data (for the benchmarks'
// memory notes).
func (s *Store) FreePages() (free, pending, pageSize int) {
	st := s.db.Stats()
	return st.FreePageN, st.PendingPageN, s.db.Info().PageSize
}
