package storetest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// Damager breaks one stored record the way a bad disk page or a hand edit
// would: the record is still there under its key, but its value no longer
// decodes. Each adapter's test implements it on its own storage (bolt:
// garbage bytes; DynamoDB: an attribute of the wrong type).
type Damager interface {
	DamageTenant(t *testing.T, tenantID string)
	DamageMailbox(t *testing.T, tenantID, address string)
	DamageSyncState(t *testing.T, tenantID, address string)
}

// RunCorruptRecords is the contract for a record that does not decode: it
// is reported by its key (a *domain.CorruptRecordError, a damaged entry in
// the listing) and isolated, so the tenant's other mailboxes still list,
// read and snapshot, and removing the mailbox clears it for a fresh add.
// newStore returns an empty store and a way to damage its records.
func RunCorruptRecords(t *testing.T, newStore func(t *testing.T) (domain.Store, Damager)) {
	addr := func(i int) string { return fmt.Sprintf("user%02d@acme.example", i) }
	const badRecord, badState = 3, 6 // of 10 mailboxes
	setup := func(t *testing.T) domain.Store {
		t.Helper()
		s, d := newStore(t)
		for i := range 10 {
			m := mailbox("acme", addr(i), domain.MailboxOK)
			m.Hint = fmt.Sprint("mailbox ", i)
			must(t, s.PutMailbox(ctx, m))
			must(t, s.PutSyncState(ctx, domain.SyncState{TenantID: "acme", Mailbox: addr(i), HierarchyState: fmt.Sprint("h", i)}))
		}
		must(t, s.PutMailbox(ctx, mailbox("other", addr(badRecord), domain.MailboxOK)))
		d.DamageMailbox(t, "acme", addr(badRecord))
		d.DamageSyncState(t, "acme", addr(badState))
		return s
	}
	wantCorrupt := func(t *testing.T, err error, record, address string) {
		t.Helper()
		var ce *domain.CorruptRecordError
		if !errors.As(err, &ce) || !errors.Is(err, domain.ErrCorruptRecord) {
			t.Fatalf("error %v (%T), want a *domain.CorruptRecordError", err, err)
		}
		if ce.Record != record || ce.TenantID != "acme" || ce.Key != address {
			t.Fatalf("corrupt record %q %q %q, want %s %s of acme", ce.Record, ce.Key, ce.TenantID, record, address)
		}
	}
	wantDamaged := func(t *testing.T, m domain.Mailbox, address string) {
		t.Helper()
		if m.TenantID != "acme" || m.Address != address || m.Status != domain.MailboxDamaged || m.LastError == "" || m.Hint != domain.DamagedMailboxHint {
			t.Fatalf("damaged mailbox listed as %+v", m)
		}
	}

	t.Run("listing reports the bad record and keeps the others", func(t *testing.T) {
		s := setup(t)
		for _, limit := range []int{3, 100} { // pages that cross the bad record, and one page
			var all []domain.Mailbox
			cursor := ""
			for range 20 {
				page, next, err := s.ListMailboxes(ctx, "acme", domain.MailboxQuery{Cursor: cursor, Limit: limit})
				must(t, err)
				all = append(all, page...)
				if next == "" {
					break
				}
				cursor = next
			}
			if len(all) != 10 {
				t.Fatalf("limit %d: listed %d mailboxes, want all 10", limit, len(all))
			}
			for i, m := range all {
				if m.Address != addr(i) {
					t.Fatalf("limit %d: mailbox %d is %s, want %s", limit, i, m.Address, addr(i))
				}
				if i == badRecord {
					wantDamaged(t, m, addr(i))
					continue
				}
				if m.Status != domain.MailboxOK || m.Hint != fmt.Sprint("mailbox ", i) {
					t.Fatalf("limit %d: good mailbox listed as %+v", limit, m)
				}
			}
		}
		ok, _, err := s.ListMailboxes(ctx, "acme", domain.MailboxQuery{Status: domain.MailboxOK, Limit: 100})
		must(t, err)
		if len(ok) != 9 {
			t.Fatalf("status ok lists %d mailboxes, want the 9 good ones", len(ok))
		}
		for _, m := range ok {
			if m.Status != domain.MailboxOK || m.Address == addr(badRecord) {
				t.Fatalf("status ok lists %+v", m)
			}
		}
		damaged, _, err := s.ListMailboxes(ctx, "acme", domain.MailboxQuery{Status: domain.MailboxDamaged, Limit: 100})
		must(t, err)
		if len(damaged) != 1 {
			t.Fatalf("status damaged lists %+v, want the one bad record", damaged)
		}
		wantDamaged(t, damaged[0], addr(badRecord))
		other, _, err := s.ListMailboxes(ctx, "other", domain.MailboxQuery{Limit: 100})
		must(t, err)
		if len(other) != 1 || other[0].Status != domain.MailboxOK {
			t.Fatalf("another tenant's mailbox of the same address: %+v", other)
		}
	})

	t.Run("reads name the bad record", func(t *testing.T) {
		s := setup(t)
		_, err := s.GetMailbox(ctx, "acme", addr(badRecord))
		wantCorrupt(t, err, "mailbox", addr(badRecord))
		_, err = s.GetSyncState(ctx, "acme", addr(badState))
		wantCorrupt(t, err, "sync state", addr(badState))
		for _, i := range []int{0, badRecord + 1, badState - 1, 9} {
			m, err := s.GetMailbox(ctx, "acme", addr(i))
			must(t, err)
			st, err := s.GetSyncState(ctx, "acme", addr(i))
			must(t, err)
			if m.Status != domain.MailboxOK || st.HierarchyState != fmt.Sprint("h", i) {
				t.Fatalf("good mailbox %d read as %+v, %+v", i, m, st)
			}
		}
	})

	t.Run("snapshots isolate the bad records", func(t *testing.T) {
		s := setup(t)
		r, ok := s.(domain.SyncSnapshotReader)
		if !ok {
			t.Fatalf("%T does not implement domain.SyncSnapshotReader", s)
		}
		var all []string
		for i := range 10 {
			all = append(all, addr(i))
		}
		snaps, err := r.GetSyncSnapshots(ctx, "acme", all)
		must(t, err)
		for i, a := range all {
			snap := snaps[a]
			switch i {
			case badRecord:
				wantCorrupt(t, snap.Damaged, "mailbox", a)
				wantDamaged(t, snap.Mailbox, a)
				if !snap.Found {
					t.Fatalf("damaged mailbox %s not found", a)
				}
			case badState:
				wantCorrupt(t, snap.Damaged, "sync state", a)
				if !snap.Found || snap.Mailbox.Status != domain.MailboxOK || snap.State.Version != 0 {
					t.Fatalf("mailbox with a damaged checkpoint: %+v", snap)
				}
			default:
				if snap.Damaged != nil || !snap.Found || snap.Mailbox.Hint != fmt.Sprint("mailbox ", i) || snap.State.HierarchyState != fmt.Sprint("h", i) {
					t.Fatalf("good snapshot %d: %+v", i, snap)
				}
			}
		}
	})

	t.Run("a damaged tenant is listed as damaged, the others as usual", func(t *testing.T) {
		s, d := newStore(t)
		ids := []string{"t1", "t2", "t3", "t4"}
		for _, id := range ids {
			must(t, s.CreateTenant(ctx, tenant(id)))
		}
		d.DamageTenant(t, "t2")
		for _, limit := range []int{1, 100} {
			var all []domain.Tenant
			cursor := ""
			for range 10 {
				page, next, err := s.ListTenants(ctx, cursor, limit)
				must(t, err)
				all = append(all, page...)
				if next == "" {
					break
				}
				cursor = next
			}
			if len(all) != len(ids) {
				t.Fatalf("limit %d: listed %d tenants, want %d", limit, len(all), len(ids))
			}
			for i, tn := range all {
				if tn.ID != ids[i] {
					t.Fatalf("limit %d: tenant %d is %q, want %q", limit, i, tn.ID, ids[i])
				}
				want := domain.TenantActive
				if ids[i] == "t2" {
					want = domain.TenantDamaged
				}
				if tn.Status != want {
					t.Fatalf("limit %d: tenant listed as %+v, want status %s", limit, tn, want)
				}
			}
		}
		_, err := s.GetTenant(ctx, "t2")
		var ce *domain.CorruptRecordError
		if !errors.As(err, &ce) || ce.Record != "tenant" || ce.Key != "t2" {
			t.Fatalf("GetTenant of the damaged tenant: %v, want a *domain.CorruptRecordError for t2", err)
		}
		if _, err := s.GetTenant(ctx, "t3"); err != nil {
			t.Fatal(err)
		}
		must(t, s.PurgeTenant(ctx, "t2"))
		_, err = s.GetTenant(ctx, "t2")
		wantCode(t, err, domain.CodeNotFound, "GetTenant after purging the damaged tenant")
	})

	t.Run("removing and adding again clears the damage", func(t *testing.T) {
		s := setup(t)
		for _, i := range []int{badRecord, badState} {
			must(t, s.DeleteMailbox(ctx, "acme", addr(i)))
			must(t, s.AddMailbox(ctx, mailbox("acme", addr(i), domain.MailboxPending)))
			m, err := s.GetMailbox(ctx, "acme", addr(i))
			must(t, err)
			st, err := s.GetSyncState(ctx, "acme", addr(i))
			must(t, err)
			if m.Status != domain.MailboxPending || st.Version != 0 {
				t.Fatalf("re-added mailbox %d: %+v, checkpoint %+v", i, m, st)
			}
			must(t, s.PutSyncState(ctx, st))
		}
		all, _, err := s.ListMailboxes(ctx, "acme", domain.MailboxQuery{Limit: 100})
		must(t, err)
		for _, m := range all {
			if m.Status == domain.MailboxDamaged {
				t.Fatalf("still damaged after re-adding: %+v", m)
			}
		}
	})
}
