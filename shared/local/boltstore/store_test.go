package boltstore

import (
	"path/filepath"
	"testing"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/storetest"
)

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T, opts storetest.Options) domain.Store {
		s, err := Open(filepath.Join(t.TempDir(), "mailbridge.db"), Options{Clock: opts.Clock, AuditRetention: opts.AuditRetention, FeedRetention: opts.FeedRetention})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
