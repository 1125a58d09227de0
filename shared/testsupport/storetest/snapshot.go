package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// testSyncSnapshots: a snapshot is what GetMailbox and GetSyncState
// return, for the tenant asked only.
func testSyncSnapshots(t *testing.T, setup setupFunc) {
	s, _ := setup(t)
	r, ok := s.(domain.SyncSnapshotReader)
	if !ok {
		t.Fatalf("%T does not implement domain.SyncSnapshotReader", s)
	}
	addr := func(i int) string { return fmt.Sprintf("user%02d@acme.example", i) }
	for _, tenant := range []string{"acme", "acme2"} {
		for i := range 20 {
			if tenant == "acme2" && i >= 5 {
				break
			}
			m := domain.Mailbox{TenantID: tenant, Address: addr(i), Status: domain.MailboxStatus("active"), Hint: tenant}
			if err := s.PutMailbox(ctx, m); err != nil {
				t.Fatal(err)
			}
			if i%2 == 0 {
				st := domain.SyncState{TenantID: tenant, Mailbox: addr(i), HierarchyState: fmt.Sprintf("h-%s-%d", tenant, i)}
				if err := s.PutSyncState(ctx, st); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	for _, c := range []struct {
		name      string
		tenant    string
		addresses []string
		found     int
	}{
		{"consecutive", "acme", []string{addr(3), addr(4), addr(5), addr(6)}, 4},
		{"scattered with unknown", "acme", []string{addr(19), "nobody@acme.example", addr(0), addr(10)}, 3},
		{"other tenant", "acme2", []string{addr(4), addr(5)}, 1},
		{"unknown tenant", "acm", []string{addr(4)}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := r.GetSyncSnapshots(ctx, c.tenant, c.addresses)
			if err != nil {
				t.Fatal(err)
			}
			found := 0
			for _, a := range c.addresses {
				var want domain.SyncSnapshot
				m, err := s.GetMailbox(ctx, c.tenant, a)
				switch {
				case err == nil:
					want.Mailbox, want.Found = m, true
					found++
				case !errors.Is(err, domain.ErrNotFound):
					t.Fatal(err)
				}
				if want.State, err = s.GetSyncState(ctx, c.tenant, a); err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got[a], want) {
					t.Errorf("snapshot of %s = %+v\nwant %+v", a, got[a], want)
				}
				if got[a].Found && got[a].Mailbox.Hint != c.tenant {
					t.Errorf("snapshot of %s in %s holds %+v", a, c.tenant, got[a].Mailbox)
				}
			}
			if found != c.found || len(got) != len(c.addresses) {
				t.Errorf("%d snapshots, %d found; want %d, %d found", len(got), found, len(c.addresses), c.found)
			}
		})
	}
	for _, c := range []struct {
		name      string
		tenant    string
		addresses []string
	}{
		{"no tenant", "", []string{addr(1)}},
		{"no addresses", "acme", nil},
		{"empty address", "acme", []string{""}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := r.GetSyncSnapshots(ctx, c.tenant, c.addresses)
			if code := domain.ErrorCodeOf(err); code != domain.CodeInvalid {
				t.Fatalf("error %v has code %q, want %q", err, code, domain.CodeInvalid)
			}
		})
	}
}
