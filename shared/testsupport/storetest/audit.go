package storetest

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
)

func auditEntry(tenantID string, i int, at time.Time) domain.AuditEntry {
	return domain.AuditEntry{
		TenantID: tenantID, Mailbox: fmt.Sprintf("user%d@acme.example", i), Operation: "SyncFolderItems",
		AccessMode: domain.AccessImpersonation, Result: "ok", At: at, RequestID: fmt.Sprintf("req-%d", i),
	}
}

func listAudit(t *testing.T, s domain.Store, tenantID string, limit int) []domain.AuditEntry {
	t.Helper()
	return listAll(t, "ListAudit", limit, func(cursor string) ([]domain.AuditEntry, string, error) {
		return s.ListAudit(ctx, tenantID, domain.AuditQuery{Cursor: cursor, Limit: limit})
	})
}

func requestIDs(es []domain.AuditEntry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.RequestID
	}
	return out
}

func testAudit(t *testing.T, setup setupFunc) {
	t.Run("until finds the early entries of one call that spans hours", func(t *testing.T) {
		s, _ := setup(t)
		var es []domain.AuditEntry
		for i := range 30 {
			es = append(es, auditEntry("acme", i, Start.Add(time.Duration(i)*10*time.Minute)))
		}
		must(t, s.AppendAudit(ctx, es...))
		got := listAll(t, "ListAudit", 4, func(cursor string) ([]domain.AuditEntry, string, error) {
			return s.ListAudit(ctx, "acme", domain.AuditQuery{Until: Start.Add(95 * time.Minute), Cursor: cursor, Limit: 4})
		})
		if ids := requestIDs(got); !slices.Equal(ids, requestIDs(es[:10])) {
			t.Fatalf("until 95 min: %v, want the first 10", ids)
		}
	})
	t.Run("filters by mailbox, operation and time, paged, nothing skipped or repeated", func(t *testing.T) {
		s, _ := setup(t)
		// 240 calls of one entry each (a store that packs entries gets
		// one item per call, more than a filtered page reads at once):
		// every 40th about mailbox rare@, every 3rd a calendar write.
		var all []domain.AuditEntry
		for i := range 240 {
			e := auditEntry("acme", i, Start.Add(time.Duration(i)*time.Minute))
			if i%40 == 7 {
				e.Mailbox = "rare@acme.example"
			}
			if i%3 == 0 {
				e.Operation = fmt.Sprintf("calendar.create evt-%d", i)
			}
			must(t, s.AppendAudit(ctx, e))
			all = append(all, e)
		}
		must(t, s.AppendAudit(ctx, domain.AuditEntry{TenantID: "other", Mailbox: "rare@acme.example", Operation: "sync", Result: "ok", At: Start}))
		for _, tc := range []struct {
			name  string
			q     domain.AuditQuery
			limit int
		}{
			{"mailbox", domain.AuditQuery{Mailbox: "rare@acme.example"}, 2},
			{"mailbox, any case", domain.AuditQuery{Mailbox: "RARE@acme.example"}, 10},
			{"operation name", domain.AuditQuery{Operation: "calendar.create"}, 7},
			{"operation not a prefix", domain.AuditQuery{Operation: "calendar"}, 7},
			{"since", domain.AuditQuery{Since: Start.Add(200 * time.Minute)}, 9},
			{"until", domain.AuditQuery{Until: Start.Add(13 * time.Minute)}, 4},
			{"since and until, operation", domain.AuditQuery{Since: Start.Add(30 * time.Minute), Until: Start.Add(150 * time.Minute), Operation: "SyncFolderItems"}, 11},
			{"all filters, one entry", domain.AuditQuery{Mailbox: "rare@acme.example", Operation: "SyncFolderItems", Since: Start.Add(47 * time.Minute), Until: Start.Add(48 * time.Minute)}, 5},
		} {
			t.Run(tc.name, func(t *testing.T) {
				var want []string
				for _, e := range all {
					if tc.q.Matches(e) {
						want = append(want, e.RequestID)
					}
				}
				got := listAll(t, "ListAudit", tc.limit, func(cursor string) ([]domain.AuditEntry, string, error) {
					q := tc.q
					q.Cursor, q.Limit = cursor, tc.limit
					return s.ListAudit(ctx, "acme", q)
				})
				if ids := requestIDs(got); !slices.Equal(ids, want) {
					t.Fatalf("listed %v, want %v", ids, want)
				}
			})
		}
	})
	t.Run("entries list oldest first, paged, per tenant", func(t *testing.T) {
		s, _ := setup(t)
		var want []string
		// Two entries share a timestamp: both must survive.
		must(t, s.AppendAudit(ctx, auditEntry("acme", 0, Start), auditEntry("acme", 1, Start)))
		want = append(want, "req-0", "req-1")
		for i := 2; i < 9; i++ {
			must(t, s.AppendAudit(ctx, auditEntry("acme", i, Start.Add(time.Duration(i)*time.Minute))))
			want = append(want, fmt.Sprintf("req-%d", i))
		}
		must(t, s.AppendAudit(ctx, auditEntry("other", 99, Start)))
		got := listAudit(t, s, "acme", 4)
		if ids := requestIDs(got); !slices.Equal(ids, want) {
			t.Fatalf("audit %v, want %v", ids, want)
		}
		if got[3] != auditEntry("acme", 3, Start.Add(3*time.Minute)) {
			t.Fatalf("entry 3 = %+v", got[3])
		}
		if ids := requestIDs(listAudit(t, s, "other", 10)); !slices.Equal(ids, []string{"req-99"}) {
			t.Fatalf("other tenant's audit: %v", ids)
		}
	})
	t.Run("entries older than the retention are gone", func(t *testing.T) {
		s, clock := setup(t)
		must(t, s.AppendAudit(ctx, auditEntry("acme", 1, Start)))
		clock.Advance(20 * 24 * time.Hour)
		must(t, s.AppendAudit(ctx, auditEntry("acme", 2, clock.Now())))
		if n := len(listAudit(t, s, "acme", 10)); n != 2 {
			t.Fatalf("%d entries within retention, want 2", n)
		}
		clock.Advance(11 * 24 * time.Hour) // entry 1 is now 31 days old
		if ids := requestIDs(listAudit(t, s, "acme", 10)); !slices.Equal(ids, []string{"req-2"}) {
			t.Fatalf("after 31 days: %v, want [req-2]", ids)
		}
		clock.Advance(30 * 24 * time.Hour)
		if ids := requestIDs(listAudit(t, s, "acme", 10)); len(ids) != 0 {
			t.Fatalf("after 61 days: %v, want none", ids)
		}
	})
	t.Run("many entries of one call list back exactly, in order, across pages", func(t *testing.T) {
		s, _ := setup(t)
		// A batch worker's call: entries of two tenants interleaved, some
		// sharing a time, long results among them (a store may pack
		// entries, so packs must split and cursors point inside them).
		var batch, wantAcme, wantOther []domain.AuditEntry
		for i := range 57 {
			e := auditEntry("acme", i, Start.Add(time.Duration(i/3)*time.Second))
			if i%5 == 0 {
				e.Result = "error: retried: " + strings.Repeat("x", 400)
			}
			if i%4 == 1 {
				e.TenantID = "other"
				wantOther = append(wantOther, e)
			} else {
				wantAcme = append(wantAcme, e)
			}
			batch = append(batch, e)
		}
		must(t, s.AppendAudit(ctx, batch...))
		for _, limit := range []int{1, 7, 20, 100} {
			t.Run(fmt.Sprintf("limit %d", limit), func(t *testing.T) {
				if got := listAudit(t, s, "acme", limit); !slices.Equal(got, wantAcme) {
					t.Fatalf("acme: %d entries %v, want %d %v", len(got), requestIDs(got), len(wantAcme), requestIDs(wantAcme))
				}
				if got := listAudit(t, s, "other", limit); !slices.Equal(got, wantOther) {
					t.Fatalf("other: %v, want %v", requestIDs(got), requestIDs(wantOther))
				}
			})
		}
	})
	t.Run("entries of one call expire one by one", func(t *testing.T) {
		s, clock := setup(t)
		must(t, s.AppendAudit(ctx, auditEntry("acme", 1, Start), auditEntry("acme", 2, Start.Add(20*24*time.Hour))))
		clock.Advance(31 * 24 * time.Hour)
		if ids := requestIDs(listAudit(t, s, "acme", 10)); !slices.Equal(ids, []string{"req-2"}) {
			t.Fatalf("after 31 days: %v, want [req-2]", ids)
		}
	})
	t.Run("an entry without tenant is refused and nothing is stored", func(t *testing.T) {
		s, _ := setup(t)
		wantCode(t, s.AppendAudit(ctx, auditEntry("", 1, Start)), domain.CodeInvalid, "AppendAudit")
		wantCode(t, s.AppendAudit(ctx, auditEntry("acme", 1, Start), auditEntry("", 2, Start)), domain.CodeInvalid, "AppendAudit")
		if ids := requestIDs(listAudit(t, s, "acme", 10)); len(ids) != 0 {
			t.Fatalf("a refused call stored %v", ids)
		}
	})
}

func testIdempotency(t *testing.T, setup setupFunc) {
	s, clock := setup(t)
	const scope = "POST /tenants alice"
	if _, found, err := s.GetIdempotent(ctx, scope, "key-1"); err != nil || found {
		t.Fatalf("get before any save: found=%v err=%v", found, err)
	}
	stored, existed, err := s.SaveIdempotent(ctx, "acme", scope, "key-1", []byte(`{"first":true}`), time.Hour)
	must(t, err)
	if existed || !bytes.Equal(stored, []byte(`{"first":true}`)) {
		t.Fatalf("first save: existed=%v stored=%s", existed, stored)
	}
	got, found, err := s.GetIdempotent(ctx, scope, "key-1")
	must(t, err)
	if !found || !bytes.Equal(got, []byte(`{"first":true}`)) {
		t.Fatalf("get after save: found=%v value=%s", found, got)
	}
	// The key is the caller's, whatever tenant a retry names.
	stored, existed, err = s.SaveIdempotent(ctx, "globex", scope, "key-1", []byte(`{"second":true}`), time.Hour)
	must(t, err)
	if !existed || !bytes.Equal(stored, []byte(`{"first":true}`)) {
		t.Fatalf("retry: existed=%v stored=%s, want the first value", existed, stored)
	}
	for _, other := range [][2]string{{scope, "key-2"}, {"POST /tenants bob", "key-1"}} {
		_, existed, err = s.SaveIdempotent(ctx, "acme", other[0], other[1], []byte(`{}`), time.Hour)
		must(t, err)
		if existed {
			t.Fatalf("scope %q key %q collides with alice/key-1", other[0], other[1])
		}
	}
	wantCode(t, func() error {
		_, _, err := s.SaveIdempotent(ctx, "", scope, "key-9", []byte(`{}`), time.Hour)
		return err
	}(),
		domain.CodeInvalid, "SaveIdempotent without a tenant")
	clock.Advance(time.Hour + time.Second)
	if _, found, err := s.GetIdempotent(ctx, scope, "key-1"); err != nil || found {
		t.Fatalf("get after expiry: found=%v err=%v", found, err)
	}
	stored, existed, err = s.SaveIdempotent(ctx, "acme", scope, "key-1", []byte(`{"third":true}`), time.Hour)
	must(t, err)
	if existed || !bytes.Equal(stored, []byte(`{"third":true}`)) {
		t.Fatalf("after expiry: existed=%v stored=%s, want the new value", existed, stored)
	}
	t.Run("purging a tenant forgets the keys saved for it, whatever their scope", func(t *testing.T) {
		s, clock := setup(t)
		save := func(tenantID, scope, key string, ttl time.Duration) {
			t.Helper()
			_, existed, err := s.SaveIdempotent(ctx, tenantID, scope, key, []byte(tenantID), ttl)
			must(t, err)
			if existed {
				t.Fatalf("%s %s: a record exists", scope, key)
			}
		}
		save("acme", "POST /tenants alice", "k1", time.Hour)
		save("acme", "POST /tenants bob", "k1", time.Hour)
		save("acme2", "POST /tenants alice", "k2", time.Hour)
		// An expired record of acme's key replaced for another tenant is
		// that tenant's now.
		save("acme", "POST /tenants alice", "k3", time.Minute)
		clock.Advance(time.Minute + time.Second)
		save("acme2", "POST /tenants alice", "k3", time.Hour)
		must(t, s.PurgeTenant(ctx, "acme"))
		for _, c := range []struct {
			scope, key string
			want       bool
		}{{"POST /tenants alice", "k1", false}, {"POST /tenants bob", "k1", false}, {"POST /tenants alice", "k2", true}, {"POST /tenants alice", "k3", true}} {
			v, found, err := s.GetIdempotent(ctx, c.scope, c.key)
			must(t, err)
			if found != c.want || (found && string(v) != "acme2") {
				t.Fatalf("after purging acme, %s %s: found=%v value=%s, want found=%v (acme2's)", c.scope, c.key, found, v, c.want)
			}
		}
	})
}

func testPurge(t *testing.T, setup setupFunc) {
	s, _ := setup(t)
	fill := func(id string) {
		must(t, s.CreateTenant(ctx, tenant(id)))
		for _, a := range []string{ann, bob} {
			must(t, s.AddMailbox(ctx, mailbox(id, a, domain.MailboxOK)))
			must(t, s.PutSyncState(ctx, domain.SyncState{TenantID: id, Mailbox: a, HierarchyState: "h"}))
			apply(t, s, id, a, create("i1", "k1"), create("i2", "k1"))
		}
		// A deleted mailbox leaves items and feed entries behind, and
		// changes may even be stored for a mailbox never registered;
		// purge must find those too.
		must(t, s.DeleteMailbox(ctx, id, bob))
		apply(t, s, id, "ghost@acme.example", create("g1", "k1"))
		must(t, s.AppendAudit(ctx, auditEntry(id, 1, Start)))
		_, _, err := s.SaveIdempotent(ctx, id, "POST /tenants alice", "k-"+id, []byte("v"), time.Hour)
		must(t, err)
	}
	fill("acme")
	fill("acme2") // shares a prefix with acme
	must(t, s.PurgeTenant(ctx, "acme"))
	must(t, s.PurgeTenant(ctx, "acme")) // offboarding retries must not fail

	check := func(id string, present bool) {
		t.Helper()
		_, err := s.GetTenant(ctx, id)
		if present {
			must(t, err)
		} else {
			wantCode(t, err, domain.CodeNotFound, "GetTenant after purge")
		}
		ms, _, err := s.ListMailboxes(ctx, id, domain.MailboxQuery{Limit: 10})
		must(t, err)
		st, err := s.GetSyncState(ctx, id, ann)
		must(t, err)
		feed, _ := readAll(t, s, domain.FeedQuery{TenantID: id}, 100)
		bobFeed, _ := readAll(t, s, domain.FeedQuery{TenantID: id, Mailbox: bob}, 100)
		ghostFeed, _ := readAll(t, s, domain.FeedQuery{TenantID: id, Mailbox: "ghost@acme.example"}, 100)
		audit := listAudit(t, s, id, 10)
		_, existed, err := s.GetIdempotent(ctx, "POST /tenants alice", "k-"+id)
		must(t, err)
		counts := fmt.Sprintf("mailboxes=%d syncVersion=%d feed=%d bobFeed=%d ghostFeed=%d audit=%d idempotent=%v",
			len(ms), st.Version, len(feed), len(bobFeed), len(ghostFeed), len(audit), existed)
		want := "mailboxes=0 syncVersion=0 feed=0 bobFeed=0 ghostFeed=0 audit=0 idempotent=false"
		if present {
			want = "mailboxes=1 syncVersion=1 feed=5 bobFeed=2 ghostFeed=1 audit=1 idempotent=true"
		}
		if counts != want {
			t.Fatalf("tenant %s (present=%v): %s, want %s", id, present, counts, want)
		}
	}
	check("acme", false)
	check("acme2", true)
	// Items are gone too: the same changes are news again.
	if n := apply(t, s, "acme", bob, create("i1", "k1")); n != 1 {
		t.Fatalf("after purge a known change appended %d, want 1", n)
	}
	if n := apply(t, s, "acme", "ghost@acme.example", create("g1", "k1")); n != 1 {
		t.Fatalf("after purge the unregistered mailbox's change appended %d, want 1", n)
	}
	if n := apply(t, s, "acme2", bob, create("i1", "k1")); n != 0 {
		t.Fatalf("the other tenant's items were touched: appended %d", n)
	}
}
