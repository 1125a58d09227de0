package boltstore

import (
	"context"

	bolt "go.etcd.io/bbolt"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// The initial sync (domain.ItemStore.StartInitialSync). Bucket "initial"
// holds a key per mailbox in its initial sync. The tenant feed bucket
// still holds every entry (the mailbox feeds index it and share its
// numbering); an entry of the initial sync is stored as a feedRecord
// marked MailboxOnly, and tenant feed reads pass over it. Everything runs
// in one write transaction, so the mode a batch is planned under is the
// mode it commits under.

var bInitial = []byte("initial")

// feedRecord is a stored feed entry.
type feedRecord struct {
	domain.Change
	// MailboxOnly: written in the mailbox's initial sync, so in its
	// mailbox feed and not in the tenant feed.
	MailboxOnly bool `json:"mailboxOnly,omitempty"`
}

// inTenantFeed reports whether a tenant feed read shows the entry.
func (r feedRecord) inTenantFeed() bool { return !r.MailboxOnly }

// inMailboxFeed reports whether the entry is in its mailbox's feed (the
// announcement is not).
func (r feedRecord) inMailboxFeed() bool { return r.Kind != domain.ChangeMailboxSynced }

func inInitialSync(tx *bolt.Tx, tenantID, mailbox string) bool {
	b := tenantBucket(tx, tenantID, bInitial)
	return b != nil && b.Get([]byte(mailbox)) != nil
}

// StartInitialSync marks the mailbox unless it is registered.
func (s *Store) StartInitialSync(_ context.Context, tenantID, mailbox string) error {
	if err := checkTenantID(tenantID); err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		if mb := tenantBucket(tx, tenantID, bMailboxes); mb != nil && mb.Get([]byte(mailbox)) != nil {
			return nil
		}
		b, err := tenantBucketRW(tx, tenantID, bInitial)
		if err != nil {
			return err
		}
		return b.Put([]byte(mailbox), []byte{1})
	})
}

// InInitialSync reports the mark.
func (s *Store) InInitialSync(_ context.Context, tenantID, mailbox string) (bool, error) {
	if err := checkTenantID(tenantID); err != nil {
		return false, err
	}
	in := false
	err := s.db.View(func(tx *bolt.Tx) error {
		in = inInitialSync(tx, tenantID, mailbox)
		return nil
	})
	return in, err
}

// MarkMailboxSynced appends the announcement and removes the mark in one
// transaction.
func (s *Store) MarkMailboxSynced(ctx context.Context, tenantID, mailbox string) (bool, error) {
	if err := checkTenantID(tenantID); err != nil {
		return false, err
	}
	// A read first: the common call finds nothing to do and needs no
	// write transaction (no fsync).
	if in, err := s.InInitialSync(ctx, tenantID, mailbox); err != nil || !in {
		return false, err
	}
	announced := false
	err := s.db.Update(func(tx *bolt.Tx) error {
		if !inInitialSync(tx, tenantID, mailbox) {
			return nil
		}
		if err := tenantBucket(tx, tenantID, bInitial).Delete([]byte(mailbox)); err != nil {
			return err
		}
		feed, err := tenantBucketRW(tx, tenantID, bFeed)
		if err != nil {
			return err
		}
		seq, err := feed.NextSequence()
		if err != nil {
			return err
		}
		now := s.clock.Now().UTC()
		if err := put(feed, u64(seq), feedRecord{Change: domain.Change{TenantID: tenantID, Mailbox: mailbox, Kind: domain.ChangeMailboxSynced, At: now}}); err != nil {
			return err
		}
		announced = true
		return s.pruneFeed(tx, tenantID, now)
	})
	if err != nil {
		return false, err
	}
	return announced, nil
}
