package boltstore

import (
	"context"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/testsupport/storetest"
)

// damager overwrites a record's value with bytes that are not JSON, as a
// damaged page of the file would leave it.
type damager struct{ s *Store }

func (d damager) damage(t *testing.T, tenantID string, bucket []byte, key string) {
	t.Helper()
	err := d.s.db.Update(func(tx *bolt.Tx) error {
		b := tenantBucket(tx, tenantID, bucket)
		if b == nil || b.Get([]byte(key)) == nil {
			t.Fatalf("no record %s to damage", key)
		}
		return b.Put([]byte(key), []byte{0x7b, 0x00, 0xff, 0x13, '"'})
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (d damager) DamageTenant(t *testing.T, tenantID string) {
	t.Helper()
	err := d.s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bTenants).Put([]byte(tenantID), []byte(`{"id":`))
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (d damager) DamageMailbox(t *testing.T, tenantID, address string) {
	d.damage(t, tenantID, bMailboxes, address)
}

func (d damager) DamageSyncState(t *testing.T, tenantID, address string) {
	d.damage(t, tenantID, bSync, address)
}

func TestContractCorruptRecords(t *testing.T) {
	storetest.RunCorruptRecords(t, func(t *testing.T) (domain.Store, storetest.Damager) {
		s := openTestStore(t, Options{})
		return s, damager{s}
	})
}

// TestPendingCalendarRetriesSkipsADamagedRecord: one retry record that
// does not decode is reported by its key; the others are returned.
func TestPendingCalendarRetriesSkipsADamagedRecord(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t, Options{})
	at := storetest.Start
	for _, id := range []string{"req-a", "req-b", "req-c"} {
		if _, err := s.SaveCalendarRetry(ctx, domain.CalendarRetry{Request: domain.WriteRequest{ID: id}, RetriesDone: 1, RetryAt: at}); err != nil {
			t.Fatal(err)
		}
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bCalRetries).Put(calRetryKey(domain.CalendarRetry{Request: domain.WriteRequest{ID: "req-b"}, RetriesDone: 1}), []byte("{\x00"))
	})
	if err != nil {
		t.Fatal(err)
	}
	got, damaged, err := s.PendingCalendarRetries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Request.ID != "req-a" || got[1].Request.ID != "req-c" {
		t.Errorf("pending %+v, want req-a and req-c", got)
	}
	if len(damaged) != 1 || !domain.IsCorrupt(damaged[0]) || !strings.Contains(damaged[0].Error(), "req-b retry 1") {
		t.Errorf("damaged %v, want req-b retry 1 reported", damaged)
	}
}
