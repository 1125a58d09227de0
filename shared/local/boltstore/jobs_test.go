package boltstore

import (
	"context"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mailbridge/mailbridge/shared/testsupport/storetest"
)

// Expired job records do not pile up in the file: a mark deletes the
// tenant's expired ones.
func TestMarkJobDoneDeletesExpiredRecords(t *testing.T) {
	ctx := context.Background()
	clock := storetest.NewClock(storetest.Start)
	s := openTestStore(t, Options{Clock: clock})
	mark := func(tenantID, jobID string, ttl time.Duration) {
		t.Helper()
		if err := s.MarkJobDone(ctx, tenantID, jobID, []string{"ann@acme.example"}, ttl); err != nil {
			t.Fatal(err)
		}
	}
	mark("acme", "old-1", time.Hour)
	mark("acme", "old-2", time.Hour)
	mark("acme", "young", 3*time.Hour)
	mark("other", "old-3", time.Hour)
	clock.Advance(2 * time.Hour)
	mark("acme", "new", time.Hour)

	keys := func(tenantID string) []string {
		var ks []string
		err := s.db.View(func(tx *bolt.Tx) error {
			return tenantBucket(tx, tenantID, bJobs).ForEach(func(k, _ []byte) error {
				ks = append(ks, string(k))
				return nil
			})
		})
		if err != nil {
			t.Fatal(err)
		}
		return ks
	}
	if got, want := keys("acme"), []string{"new", "young"}; !slices.Equal(got, want) {
		t.Errorf("acme's job records: %q, want %q", got, want)
	}
	// Another tenant's records wait for that tenant's next mark (or purge).
	if got, want := keys("other"), []string{"old-3"}; !slices.Equal(got, want) {
		t.Errorf("other's job records: %q, want %q", got, want)
	}
}
