package storetest

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
)

func testTenants(t *testing.T, setup setupFunc) {
	t.Run("create and get round-trip every field, version 1", func(t *testing.T) {
		s, _ := setup(t)
		want := tenant("acme")
		want.Version = 0
		must(t, s.CreateTenant(ctx, want))
		got, err := s.GetTenant(ctx, "acme")
		must(t, err)
		want.Version = 1
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("GetTenant = %+v\nwant %+v", got, want)
		}
	})
	t.Run("create of an existing id conflicts and keeps the first", func(t *testing.T) {
		s, _ := setup(t)
		must(t, s.CreateTenant(ctx, tenant("acme")))
		second := tenant("acme")
		second.DisplayName = "Impostor"
		wantCode(t, s.CreateTenant(ctx, second), domain.CodeConflict, "second CreateTenant")
		got, err := s.GetTenant(ctx, "acme")
		must(t, err)
		if got.DisplayName != "Tenant acme" {
			t.Fatalf("display name %q after conflicting create", got.DisplayName)
		}
	})
	t.Run("unknown tenant is not found", func(t *testing.T) {
		s, _ := setup(t)
		_, err := s.GetTenant(ctx, "nobody")
		wantCode(t, err, domain.CodeNotFound, "GetTenant")
		wantCode(t, s.UpdateTenant(ctx, tenant("nobody")), domain.CodeNotFound, "UpdateTenant")
	})
	t.Run("update with the stored version bumps it; a stale one conflicts", func(t *testing.T) {
		s, _ := setup(t)
		must(t, s.CreateTenant(ctx, tenant("acme")))
		cur, err := s.GetTenant(ctx, "acme")
		must(t, err)
		cur.DisplayName = "Acme Corp"
		cur.AccessMode = domain.AccessDelegate
		cur.UpdatedAt = Start.Add(time.Hour)
		must(t, s.UpdateTenant(ctx, cur))
		got, err := s.GetTenant(ctx, "acme")
		must(t, err)
		if got.Version != cur.Version+1 || got.DisplayName != "Acme Corp" || got.AccessMode != domain.AccessDelegate {
			t.Fatalf("after update: %+v", got)
		}
		stale := cur // still carries the old version
		stale.DisplayName = "Lost update"
		wantCode(t, s.UpdateTenant(ctx, stale), domain.CodeConflict, "stale UpdateTenant")
		got, err = s.GetTenant(ctx, "acme")
		must(t, err)
		if got.DisplayName != "Acme Corp" {
			t.Fatalf("stale update changed the tenant: %+v", got)
		}
	})
	t.Run("list pages in id order without repeats", func(t *testing.T) {
		s, _ := setup(t)
		var want []string
		for _, id := range []string{"t5", "t1", "t7", "t3", "t2", "t6", "t4"} {
			must(t, s.CreateTenant(ctx, tenant(id)))
			want = append(want, id)
		}
		slices.Sort(want)
		var got []string
		for _, tn := range listAll(t, "ListTenants", 3, func(cursor string) ([]domain.Tenant, string, error) {
			return s.ListTenants(ctx, cursor, 3)
		}) {
			got = append(got, tn.ID)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("listed %v, want %v", got, want)
		}
	})
	t.Run("a malformed cursor is bad input", func(t *testing.T) {
		s, _ := setup(t)
		_, _, err := s.ListTenants(ctx, "%%not a cursor%%", 10)
		wantCode(t, err, domain.CodeInvalid, "ListTenants")
	})
}

func testMailboxes(t *testing.T, setup setupFunc) {
	t.Run("add, get, conflict, replace, delete", func(t *testing.T) {
		s, _ := setup(t)
		m := mailbox("acme", "ann@acme.example", domain.MailboxPending)
		m.AccessMode = domain.AccessDelegate
		m.UnreadableFolders = []string{"Projects"}
		must(t, s.AddMailbox(ctx, m))
		got, err := s.GetMailbox(ctx, "acme", "ann@acme.example")
		must(t, err)
		if !reflect.DeepEqual(got, m) {
			t.Fatalf("GetMailbox = %+v\nwant %+v", got, m)
		}
		wantCode(t, s.AddMailbox(ctx, m), domain.CodeConflict, "second AddMailbox")

		m.Status = domain.MailboxOK
		m.LastSync = Start.Add(time.Minute)
		must(t, s.PutMailbox(ctx, m))
		got, err = s.GetMailbox(ctx, "acme", "ann@acme.example")
		must(t, err)
		if got.Status != domain.MailboxOK || !got.LastSync.Equal(m.LastSync) {
			t.Fatalf("after PutMailbox: %+v", got)
		}
		must(t, s.DeleteMailbox(ctx, "acme", "ann@acme.example"))
		_, err = s.GetMailbox(ctx, "acme", "ann@acme.example")
		wantCode(t, err, domain.CodeNotFound, "GetMailbox after delete")
		wantCode(t, s.DeleteMailbox(ctx, "acme", "ann@acme.example"), domain.CodeNotFound, "second DeleteMailbox")
	})
	t.Run("put creates an absent mailbox", func(t *testing.T) {
		s, _ := setup(t)
		must(t, s.PutMailbox(ctx, mailbox("acme", "new@acme.example", domain.MailboxPending)))
		_, err := s.GetMailbox(ctx, "acme", "new@acme.example")
		must(t, err)
	})
	t.Run("delete drops the sync state", func(t *testing.T) {
		s, _ := setup(t)
		must(t, s.AddMailbox(ctx, mailbox("acme", "ann@acme.example", domain.MailboxOK)))
		must(t, s.PutSyncState(ctx, domain.SyncState{TenantID: "acme", Mailbox: "ann@acme.example", HierarchyState: "h1"}))
		must(t, s.DeleteMailbox(ctx, "acme", "ann@acme.example"))
		st, err := s.GetSyncState(ctx, "acme", "ann@acme.example")
		must(t, err)
		if st.Version != 0 || st.HierarchyState != "" {
			t.Fatalf("sync state survived the mailbox: %+v", st)
		}
	})
	t.Run("list pages in address order, filters by status, stays in its tenant", func(t *testing.T) {
		s, _ := setup(t)
		var all, ok []string
		for i := 0; i < 11; i++ {
			addr := fmt.Sprintf("user%02d@acme.example", (i*7)%11) // added out of order
			st := domain.MailboxOK
			if (i*7)%11%3 == 0 {
				st = domain.MailboxAccessDenied
			} else {
				ok = append(ok, addr)
			}
			all = append(all, addr)
			must(t, s.AddMailbox(ctx, mailbox("acme", addr, st)))
		}
		must(t, s.AddMailbox(ctx, mailbox("other", "user03@acme.example", domain.MailboxOK)))
		must(t, s.AddMailbox(ctx, mailbox("acme2", "zed@acme.example", domain.MailboxOK)))
		slices.Sort(all)
		slices.Sort(ok)
		for _, tc := range []struct {
			name   string
			status domain.MailboxStatus
			limit  int
			want   []string
		}{
			{"all, pages of 4", "", 4, all},
			{"all, one page", "", 100, all},
			{"ok only, pages of 2", domain.MailboxOK, 2, ok},
			{"denied only", domain.MailboxAccessDenied, 3, []string{"user00@acme.example", "user03@acme.example", "user06@acme.example", "user09@acme.example"}},
			{"no match", domain.MailboxNotFound, 5, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				ms := listAll(t, "ListMailboxes", tc.limit, func(cursor string) ([]domain.Mailbox, string, error) {
					return s.ListMailboxes(ctx, "acme", domain.MailboxQuery{Status: tc.status, Limit: tc.limit, Cursor: cursor})
				})
				for _, m := range ms {
					if m.TenantID != "acme" {
						t.Fatalf("listed a mailbox of tenant %q", m.TenantID)
					}
				}
				if got := addrs(ms); !slices.Equal(got, tc.want) {
					t.Fatalf("listed %v\nwant %v", got, tc.want)
				}
			})
		}
	})
}

func testSyncState(t *testing.T, setup setupFunc) {
	s, _ := setup(t)
	st, err := s.GetSyncState(ctx, "acme", "ann@acme.example")
	must(t, err)
	if st.Version != 0 || st.Folders != nil || st.HierarchyState != "" {
		t.Fatalf("absent sync state = %+v, want zero", st)
	}
	want := domain.SyncState{
		TenantID: "acme", Mailbox: "ann@acme.example", HierarchyState: "H1",
		Folders: map[string]domain.FolderState{
			"AAMk1": {FolderID: "AAMk1", DistinguishedID: "inbox", DisplayName: "Inbox", FolderClass: "IPF.Note", SyncState: "S1"},
			"AAMk2": {FolderID: "AAMk2", DisplayName: "Projects", FolderClass: "IPF.Note", Unreadable: true},
		},
		UpdatedAt: Start,
	}
	must(t, s.PutSyncState(ctx, want))
	got, err := s.GetSyncState(ctx, "acme", "ann@acme.example")
	must(t, err)
	want.Version = 1
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("GetSyncState = %+v\nwant %+v", got, want)
	}
	stale := want
	stale.Version = 0
	stale.HierarchyState = "lost"
	wantCode(t, s.PutSyncState(ctx, stale), domain.CodeConflict, "PutSyncState with version 0 over a stored state")
	ahead := want
	ahead.Version = 5
	wantCode(t, s.PutSyncState(ctx, ahead), domain.CodeConflict, "PutSyncState with a version ahead")

	next := got
	next.HierarchyState = "H2"
	must(t, s.PutSyncState(ctx, next))
	got, err = s.GetSyncState(ctx, "acme", "ann@acme.example")
	must(t, err)
	if got.Version != 2 || got.HierarchyState != "H2" {
		t.Fatalf("after second put: version %d hierarchy %q", got.Version, got.HierarchyState)
	}
	other, err := s.GetSyncState(ctx, "other", "ann@acme.example")
	must(t, err)
	if other.Version != 0 {
		t.Fatalf("another tenant sees the sync state: %+v", other)
	}
}
