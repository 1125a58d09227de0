package boltstore

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// Feed retention. With Options.FeedRetention set, each append drops the
// tenant's changes older than the retention (oldest first, at most
// pruneBatch per append so one append stays small) and remembers, per
// feed, the last number it dropped: bucket "pruned", key "" for the tenant
// feed and the address for a mailbox feed. A cursor before that number has
// lost a change, so reading from it is refused with CodeGone; a cursor at
// or after it has lost nothing (a quiet reader whose own last change was
// dropped reads on). The numbering has no gaps (numbers come from the
// bucket's sequence inside the appending transaction), so that is exact.

var (
	bPruned       = []byte("pruned")
	tenantFeedKey = []byte("*")
)

const pruneBatch = 1000

// pruneFeed runs after every append (in its transaction); it also gives a
// feed that just started its generation.
func (s *Store) pruneFeed(tx *bolt.Tx, tenantID string, now time.Time) error {
	if err := ensureFeedGen(tx, tenantID); err != nil {
		return err
	}
	if s.feedRetention <= 0 {
		return nil
	}
	feed := tenantBucket(tx, tenantID, bFeed)
	mfeed := tenantBucket(tx, tenantID, bMFeed)
	if feed == nil || mfeed == nil {
		return nil
	}
	cutoff := now.Add(-s.feedRetention)
	// Collect first: a bolt cursor must not delete under itself.
	type old struct {
		seq     []byte
		mailbox string
		rec     feedRecord
	}
	var drop []old
	c := feed.Cursor()
	for k, v := c.First(); k != nil && len(drop) < pruneBatch; k, v = c.Next() {
		var rec feedRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			return fmt.Errorf("feed entry %x: %w", k, err)
		}
		if !rec.At.Before(cutoff) {
			break
		}
		drop = append(drop, old{seq: append([]byte(nil), k...), mailbox: rec.Mailbox, rec: rec})
	}
	if len(drop) == 0 {
		return nil
	}
	pruned, err := tenantBucketRW(tx, tenantID, bPruned)
	if err != nil {
		return err
	}
	for _, d := range drop {
		if err := feed.Delete(d.seq); err != nil {
			return err
		}
		if err := mfeed.Delete(join(d.mailbox, d.seq)); err != nil {
			return err
		}
		// Only the feeds that showed the entry lost a change: an entry
		// of an initial sync is no tenant change, an announcement no
		// mailbox change.
		var keys [][]byte
		if d.rec.inTenantFeed() {
			keys = append(keys, tenantFeedKey)
		}
		if d.rec.inMailboxFeed() {
			keys = append(keys, []byte(d.mailbox))
		}
		for _, key := range keys {
			if err := pruned.Put(key, d.seq); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkCursor refuses a cursor from before a dropped change of its feed.
func (s *Store) checkCursor(tx *bolt.Tx, q domain.FeedQuery, after uint64) error {
	pruned := tenantBucket(tx, q.TenantID, bPruned)
	if pruned == nil || q.Cursor == "" {
		return nil
	}
	key := tenantFeedKey
	if q.Mailbox != "" {
		key = []byte(q.Mailbox)
	}
	v := pruned.Get(key)
	if len(v) != 8 || binary.BigEndian.Uint64(v) <= after {
		return nil
	}
	return &domain.Error{Code: domain.CodeGone, Message: fmt.Sprintf(
		"cursor %s has expired: changes after it were older than the feed retention (%s) and are no longer kept; read the feed again without a cursor", q.Cursor, s.feedRetention)}
}
