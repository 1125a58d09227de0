package dynamostore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/testsupport/standin"
	"github.com/mailbridge/mailbridge/shared/testsupport/storetest"
)

func TestMain(m *testing.M) { standin.Main(m) }

// newTestStore makes a store on a fresh table in DynamoDB Local.
func newTestStore(t *testing.T, opts Options) *Store {
	t.Helper()
	client := NewClient(standin.AWSConfig(), standin.DynamoDB(t))
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
		return newTestStore(t, Options{Clock: opts.Clock, AuditRetention: opts.AuditRetention, FeedRetention: opts.FeedRetention})
	})
}

// The entries of one call are packed: one item per 20 entries of a tenant,
// each item small.
func TestAppendAuditPacks(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, Options{})
	now := time.Now().UTC()
	var es []domain.AuditEntry
	for i := range 45 {
		tenant := "acme"
		if i%9 == 0 {
			tenant = "other" // 5 entries
		}
		es = append(es, domain.AuditEntry{TenantID: tenant, Mailbox: fmt.Sprintf("user%d@acme.example", i), Operation: "sync",
			AccessMode: domain.AccessImpersonation, Result: "ok: 0 changes appended", At: now})
	}
	if err := s.AppendAudit(ctx, es...); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		tenant string
		items  int
	}{{"acme", 2}, {"other", 1}} {
		out, err := s.db.Query(ctx, &dynamodb.QueryInput{
			TableName:                 s.table,
			KeyConditionExpression:    aws.String("pk = :pk AND begins_with(sk, :a)"),
			ExpressionAttributeValues: item{":pk": str(tenantPK(c.tenant)), ":a": str("A#")},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Items) != c.items {
			t.Errorf("tenant %s: %d audit items, want %d", c.tenant, len(out.Items), c.items)
		}
		for _, it := range out.Items {
			if n := len(getB(it, "z")); n > auditPackBytes {
				t.Errorf("tenant %s: an item of %d bytes", c.tenant, n)
			}
		}
	}
}

// One call for more tenants than a BatchWriteItem takes items (25) stores
// every tenant's entry.
func TestAppendAuditManyTenants(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, Options{})
	now := time.Now().UTC()
	var es []domain.AuditEntry
	for i := range 26 {
		es = append(es, domain.AuditEntry{TenantID: fmt.Sprintf("t%02d", i), Operation: "sync", Result: "ok", At: now})
	}
	if err := s.AppendAudit(ctx, es...); err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		got, _, err := s.ListAudit(ctx, e.TenantID, domain.AuditQuery{Limit: 10})
		if err != nil || len(got) != 1 || got[0].TenantID != e.TenantID {
			t.Fatalf("ListAudit(%s) = %+v, %v; want its one entry", e.TenantID, got, err)
		}
	}
}
