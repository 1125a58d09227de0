package dynamostore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/storetest"
	"github.com/mailbridge/mailbridge/shared/teststandin"
)

func TestMain(m *testing.M) { teststandin.Main(m) }

// newTestStore makes a store on a fresh table in DynamoDB Local.
func newTestStore(t *testing.T, opts Options) *Store {
	t.Helper()
	client := NewClient(teststandin.AWSConfig(), teststandin.DynamoDB(t))
	var r [6]byte
	rand.Read(r[:])
	opts.Table = "mailbridge-test-" + hex.EncodeToString(r[:])
	s, err := New(client, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateTable(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.DeleteTable(context.Background()) })
	return s
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T, opts storetest.Options) domain.Store {
		return newTestStore(t, Options{Clock: opts.Clock, AuditRetention: opts.AuditRetention})
	})
}
