package dynamostore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/testsupport/standin"
)

var snapTime = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func addr(i int) string { return fmt.Sprintf("user%03d@acme.example", i) }

// putMailboxes stores mailboxes addr(from)..addr(to-1) of tenant, and a
// checkpoint for every one not divisible by 3 (the rest never synced). The
// records and checkpoints carry the tenant's name, so a snapshot read from
// the wrong partition shows.
func putMailboxes(t *testing.T, s *Store, tenant string, from, to int) {
	t.Helper()
	ctx := context.Background()
	for i := from; i < to; i++ {
		a := addr(i)
		m := domain.Mailbox{TenantID: tenant, Address: a, Status: domain.MailboxStatus("active"),
			Hint: fmt.Sprintf("%s mailbox %d", tenant, i), UpdatedAt: snapTime}
		if err := s.PutMailbox(ctx, m); err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			continue
		}
		st := domain.SyncState{TenantID: tenant, Mailbox: a, HierarchyState: fmt.Sprintf("h-%s-%d", tenant, i),
			Folders: map[string]domain.FolderState{
				"AAMk" + a: {FolderID: "AAMk" + a, DistinguishedID: "inbox", DisplayName: "Inbox", FolderClass: "IPF.Note", SyncState: "S" + a},
			}, UpdatedAt: snapTime}
		if err := s.PutSyncState(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
}

// singleReads is what the snapshot must equal: GetMailbox and GetSyncState.
func singleReads(t *testing.T, s *Store, tenant, address string) domain.SyncSnapshot {
	t.Helper()
	ctx := context.Background()
	var want domain.SyncSnapshot
	m, err := s.GetMailbox(ctx, tenant, address)
	switch {
	case err == nil:
		want.Mailbox, want.Found = m, true
	case !errors.Is(err, domain.ErrNotFound):
		t.Fatal(err)
	}
	if want.State, err = s.GetSyncState(ctx, tenant, address); err != nil {
		t.Fatal(err)
	}
	return want
}

func TestGetSyncSnapshots(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, Options{})
	putMailboxes(t, s, "acme", 0, 300)
	// acme2 (acme is a prefix of it) has some of the same addresses and one
	// acme does not have; acm has nothing.
	putMailboxes(t, s, "acme2", 95, 115)
	putMailboxes(t, s, "acme2", 500, 501)
	// A checkpoint without a mailbox record (the mailbox was never added).
	if err := s.PutSyncState(ctx, domain.SyncState{TenantID: "acme", Mailbox: "ghost@acme.example", HierarchyState: "g"}); err != nil {
		t.Fatal(err)
	}

	var consecutive, scattered []string
	for i := 100; i < 110; i++ {
		consecutive = append(consecutive, addr(i))
	}
	for i := 0; i < 300; i += 25 {
		scattered = append(scattered, addr(i))
	}
	// The scattered cases must exercise the BatchGetItem fallback.
	if _, unreached, err := s.readRange(ctx, tenantPK("acme"), mailboxPrefix, scattered); err != nil || len(unreached) == 0 {
		t.Fatalf("a range read of every 25th mailbox reached all of them (err %v): the fallback is not tested", err)
	}
	for _, c := range []struct {
		name      string
		tenant    string
		addresses []string
		found     int
	}{
		{"consecutive", "acme", consecutive, 10},
		{"consecutive in reverse", "acme", []string{addr(104), addr(103), addr(102), addr(101), addr(100)}, 5},
		{"one", "acme", []string{addr(7)}, 1},
		{"every 25th of 300", "acme", scattered, 12},
		// Unknown addresses before, inside and after the range; the last
		// widens the range to every mailbox of the tenant.
		{"with unknown", "acme", append([]string{"aa@acme.example", "user100a@acme.example", "zz@acme.example"}, scattered...), 12},
		{"checkpoint without record", "acme", []string{"ghost@acme.example", addr(1)}, 1},
		{"another tenant's address", "acme", []string{addr(500), addr(100)}, 1},
		{"tenant with a longer id", "acme2", []string{addr(99), addr(100), addr(200), addr(500)}, 3},
		{"tenant with a shorter id", "acm", consecutive, 0},
		{"an address twice", "acme", []string{addr(5), addr(5)}, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := s.GetSyncSnapshots(ctx, c.tenant, c.addresses)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range c.addresses {
				snap, ok := got[a]
				if !ok {
					t.Fatalf("no snapshot of %s", a)
				}
				if want := singleReads(t, s, c.tenant, a); !reflect.DeepEqual(snap, want) {
					t.Errorf("snapshot of %s = %+v\nwant %+v", a, snap, want)
				}
				if snap.Found {
					if snap.Mailbox.TenantID != c.tenant || !strings.HasPrefix(snap.Mailbox.Hint, c.tenant+" ") {
						t.Errorf("snapshot of %s in %s holds %+v", a, c.tenant, snap.Mailbox)
					}
				}
				if snap.State.Version > 0 && !strings.HasPrefix(snap.State.HierarchyState, "h-"+c.tenant+"-") && a != "ghost@acme.example" {
					t.Errorf("checkpoint of %s in %s is %+v", a, c.tenant, snap.State)
				}
			}
			found := 0
			for _, snap := range got {
				if snap.Found {
					found++
				}
			}
			if found != c.found {
				t.Errorf("%d mailboxes found, want %d", found, c.found)
			}
			if len(got) > len(c.addresses) {
				t.Errorf("%d snapshots for %d addresses", len(got), len(c.addresses))
			}
		})
	}
}

func TestGetSyncSnapshotsRefusesBadInput(t *testing.T) {
	s := newTestStore(t, Options{})
	tooMany := make([]string, domain.MaxJobMailboxes+1)
	for i := range tooMany {
		tooMany[i] = addr(i)
	}
	for _, c := range []struct {
		name      string
		tenant    string
		addresses []string
	}{
		{"no tenant", "", []string{addr(1)}},
		{"tenant with #", "ac#me", []string{addr(1)}},
		{"no addresses", "acme", nil},
		{"empty address", "acme", []string{addr(1), ""}},
		{"too many", "acme", tooMany},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.GetSyncSnapshots(context.Background(), c.tenant, c.addresses)
			if code := domain.ErrorCodeOf(err); code != domain.CodeInvalid {
				t.Fatalf("error %v has code %q, want %q", err, code, domain.CodeInvalid)
			}
		})
	}
}

// readMeter sums the read units DynamoDB reports (ReturnConsumedCapacity
// TOTAL on every read).
type readMeter struct {
	mu  sync.Mutex
	rru float64
}

func (m *readMeter) take() float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.rru
	m.rru = 0
	return r
}

func (m *readMeter) install(st *middleware.Stack) error {
	return st.Initialize.Add(middleware.InitializeMiddlewareFunc("readMeter", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
		switch p := in.Parameters.(type) {
		case *dynamodb.GetItemInput:
			p.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
		case *dynamodb.QueryInput:
			p.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
		case *dynamodb.BatchGetItemInput:
			p.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
		}
		out, md, err := next.HandleInitialize(ctx, in)
		var caps []types.ConsumedCapacity
		switch r := out.Result.(type) {
		case *dynamodb.GetItemOutput:
			caps = append(caps, *r.ConsumedCapacity)
		case *dynamodb.QueryOutput:
			caps = append(caps, *r.ConsumedCapacity)
		case *dynamodb.BatchGetItemOutput:
			caps = r.ConsumedCapacity
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		for _, c := range caps {
			m.rru += aws.ToFloat64(c.CapacityUnits)
		}
		return out, md, err
	}), middleware.After)
}

// The point of GetSyncSnapshots is the bill: the sync worker's reads
// (eventually consistent), measured as DynamoDB reports them.
func TestGetSyncSnapshotsCost(t *testing.T) {
	ctx := context.Background()
	meter := &readMeter{}
	client := dynamodb.NewFromConfig(standin.AWSConfig(), func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(standin.DynamoDB(t))
		o.APIOptions = append(o.APIOptions, meter.install)
	})
	var r [6]byte
	rand.Read(r[:])
	s, err := New(client, Options{Table: "mailbridge-test-" + hex.EncodeToString(r[:]), EventuallyConsistentReads: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateTable(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.DeleteTable(context.Background()) })
	putMailboxes(t, s, "acme", 0, 300)

	var consecutive, scattered []string
	for i := 100; i < 110; i++ {
		consecutive = append(consecutive, addr(i))
	}
	for i := 0; i < 250; i += 25 {
		scattered = append(scattered, addr(i))
	}
	for _, c := range []struct {
		name      string
		addresses []string
		// most is the share of the single reads' units a snapshot may cost.
		most float64
	}{
		// Two Queries of under 4 KB each: 1 RRU instead of 10.
		{"10 consecutive", consecutive, 0.2},
		// Two Queries that give up early, then a BatchGetItem billed per
		// item like GetItem: never more than the single reads plus the two
		// bounded Queries.
		{"every 25th", scattered, 1.2},
	} {
		t.Run(c.name, func(t *testing.T) {
			meter.take()
			for _, a := range c.addresses {
				singleReads(t, s, "acme", a)
			}
			single := meter.take()
			snaps, err := s.GetSyncSnapshots(ctx, "acme", c.addresses)
			if err != nil {
				t.Fatal(err)
			}
			snap := meter.take()
			if len(snaps) != len(c.addresses) {
				t.Fatalf("%d snapshots, want %d", len(snaps), len(c.addresses))
			}
			t.Logf("%d mailboxes: GetMailbox+GetSyncState %.1f RRU, GetSyncSnapshots %.1f RRU (%.2f per mailbox)",
				len(c.addresses), single, snap, snap/float64(len(c.addresses)))
			if single == 0 {
				t.Fatal("DynamoDB reported no read units")
			}
			if snap > c.most*single {
				t.Errorf("GetSyncSnapshots cost %.1f RRU, more than %.0f%% of the %.1f RRU of single reads", snap, 100*c.most, single)
			}
		})
	}
}
