package boltstore

import (
	"path/filepath"
	"testing"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/testsupport/storetest"
)

// openTestStore opens a store on a fresh file, closed when the test ends.
func openTestStore(t *testing.T, opts Options) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "mailbridge.db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T, opts storetest.Options) domain.Store {
		return openTestStore(t, Options{Clock: opts.Clock, AuditRetention: opts.AuditRetention, FeedRetention: opts.FeedRetention})
	})
}
