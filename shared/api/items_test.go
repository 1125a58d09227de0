package api

import (
	"context"
	"fmt"
	"net/url"
	"testing"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// The listing pages through a mailbox's items; its cursors belong to the
// listing (tenant, mailbox, kind filter) that returned them, and bad input
// is a 400 naming the field.
func TestItemListing(t *testing.T) {
	e := newEnv(t)

	e.onboard("contoso", basicCred("u", "Items-pw-1"), "alice@contoso.com", "carol@contoso.com")
	e.onboard("globex", basicCred("u", "Items-pw-2"), "alice@contoso.com")
	ctx := context.Background()
	var changes []domain.ItemChange
	for i := range 5 {
		id := fmt.Sprintf("m%d", i)
		changes = append(changes, domain.ItemChange{Kind: domain.ChangeCreate, ItemID: id, ChangeKey: "ck1", Item: &domain.Item{ID: id, ChangeKey: "ck1", Kind: domain.KindMessage, Subject: "hello " + id}})
	}
	changes = append(changes, domain.ItemChange{Kind: domain.ChangeCreate, ItemID: "c0", ChangeKey: "ck1", Item: &domain.Item{ID: "c0", ChangeKey: "ck1", Kind: domain.KindContact, DisplayName: "Carol"}})
	for _, mb := range []string{"alice@contoso.com", "carol@contoso.com"} {
		if _, err := e.store.ApplyChanges(ctx, "contoso", mb, changes); err != nil {
			t.Fatal(err)
		}
	}
	base := "/tenants/contoso/mailboxes/alice@contoso.com/items"

	first := e.must(req{method: "GET", path: base + "?limit=4"}, 200)
	if n := len(first["items"].([]any)); n != 4 {
		t.Fatalf("first page has %d items, want 4", n)
	}
	feed, _ := first["feedCursor"].(string)
	if feed == "" {
		t.Fatal("listing of a mailbox with changes answers no feedCursor")
	}
	next := first["nextCursor"].(string)
	second := e.must(req{method: "GET", path: base + "?limit=4&cursor=" + url.QueryEscape(next)}, 200)
	if n := len(second["items"].([]any)); n != 2 || second["nextCursor"] != nil || second["feedCursor"] != feed {
		t.Fatalf("second page = %v, want 2 items, no nextCursor and the first page's feedCursor", second)
	}
	// The feed from feedCursor holds nothing yet: everything is listed.
	rest := e.must(req{method: "GET", path: "/tenants/contoso/mailboxes/alice@contoso.com/changes?cursor=" + url.QueryEscape(feed)}, 200)
	if n := len(rest["changes"].([]any)); n != 0 {
		t.Fatalf("feed after the listing's position has %d changes, want 0", n)
	}
	contacts := e.must(req{method: "GET", path: base + "?itemKind=contact"}, 200)
	if items := contacts["items"].([]any); len(items) != 1 || items[0].(map[string]any)["displayName"] != "Carol" {
		t.Fatalf("itemKind=contact = %v", contacts)
	}
	empty := e.must(req{method: "GET", path: "/tenants/globex/mailboxes/alice@contoso.com/items"}, 200)
	if n := len(empty["items"].([]any)); n != 0 || empty["feedCursor"] != "" {
		t.Fatalf("another tenant's same address lists %v", empty)
	}

	bad := []struct {
		name, path, field string
		status            int
	}{
		{"cursor of another mailbox", "/tenants/contoso/mailboxes/carol@contoso.com/items?cursor=" + url.QueryEscape(next), "cursor", 400},
		{"cursor of another tenant", "/tenants/globex/mailboxes/alice@contoso.com/items?cursor=" + url.QueryEscape(next), "cursor", 400},
		{"cursor of another kind filter", base + "?itemKind=message&cursor=" + url.QueryEscape(next), "cursor", 400},
		{"feed cursor as listing cursor", base + "?cursor=" + url.QueryEscape(feed), "cursor", 400},
		{"made-up cursor", base + "?cursor=m2", "cursor", 400},
		{"unknown kind", base + "?itemKind=task", "itemKind", 400},
		{"negative limit", base + "?limit=-1", "limit", 400},
		{"limit too large", base + "?limit=1001", "limit", 400},
		{"unknown parameter", base + "?since=2026-01-01", "since", 400},
		{"mailbox not registered", "/tenants/contoso/mailboxes/nobody@contoso.com/items", "", 404},
		{"unknown tenant", "/tenants/initech/mailboxes/alice@contoso.com/items", "", 404},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			out := e.must(req{method: "GET", path: tc.path}, tc.status)
			if tc.field != "" {
				if f := out["error"].(map[string]any)["field"]; f != tc.field {
					t.Fatalf("field %v, want %s: %v", f, tc.field, out)
				}
			}
		})
	}
}

// Removing a mailbox appends a delete per current item to the feeds, and
// adding it again starts from scratch: its items are announced as creates.
func TestMailboxRemovalAnnouncesDeletes(t *testing.T) {
	e := newEnv(t)

	e.onboard("contoso", basicCred("u", "Items-pw-3"), "alice@contoso.com", "carol@contoso.com")
	e.synced("contoso", "alice@contoso.com", "carol@contoso.com")
	ctx := context.Background()
	mk := func(id string) domain.ItemChange {
		return domain.ItemChange{Kind: domain.ChangeCreate, ItemID: id, ChangeKey: "ck1", Item: &domain.Item{ID: id, ChangeKey: "ck1", Kind: domain.KindMessage, Subject: id}}
	}
	for _, mb := range []string{"alice@contoso.com", "carol@contoso.com"} {
		if _, err := e.store.ApplyChanges(ctx, "contoso", mb, []domain.ItemChange{mk("a"), mk("b"), mk("c")}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.store.ApplyChanges(ctx, "contoso", "alice@contoso.com", []domain.ItemChange{{Kind: domain.ChangeDelete, ItemID: "c"}}); err != nil {
		t.Fatal(err)
	}
	head := e.must(req{method: "GET", path: "/tenants/contoso/changes?limit=1000"}, 200)["nextCursor"].(string)
	e.must(req{method: "DELETE", path: "/tenants/contoso/mailboxes/alice@contoso.com"}, 204)
	after := e.must(req{method: "GET", path: "/tenants/contoso/changes?cursor=" + url.QueryEscape(head)}, 200)["changes"].([]any)
	var got []string
	for _, c := range after {
		ch := c.(map[string]any)
		got = append(got, fmt.Sprint(ch["mailbox"], " ", ch["changeType"], " ", ch["itemId"], " ", ch["itemKind"]))
	}
	if want := "[alice@contoso.com delete a message alice@contoso.com delete b message]"; fmt.Sprint(got) != want {
		t.Fatalf("removal appended %v, want %s", got, want)
	}
	e.must(req{method: "GET", path: "/tenants/contoso/mailboxes/alice@contoso.com/items"}, 404)
	carol := e.must(req{method: "GET", path: "/tenants/contoso/mailboxes/carol@contoso.com/items"}, 200)
	if n := len(carol["items"].([]any)); n != 3 {
		t.Fatalf("carol lists %d items after alice's removal, want 3", n)
	}

	e.addMailboxes("contoso", "alice@contoso.com")
	// The first sync after the re-add reports the items as created again
	// (same change keys, c included): each is news, in the mailbox feed
	// only while the mailbox is in its initial sync.
	head = e.must(req{method: "GET", path: "/tenants/contoso/changes?limit=1000&cursor=" + url.QueryEscape(head)}, 200)["nextCursor"].(string)
	n, err := e.store.ApplyChanges(ctx, "contoso", "alice@contoso.com", []domain.ItemChange{mk("a"), mk("b"), mk("c")})
	if err != nil || n != 3 {
		t.Fatalf("full sync after the re-add appended %d, %v; want 3 creates", n, err)
	}
	listed := e.must(req{method: "GET", path: "/tenants/contoso/mailboxes/alice@contoso.com/items"}, 200)
	if n := len(listed["items"].([]any)); n != 3 || listed["initialSync"] != true {
		t.Fatalf("re-added mailbox lists %d items, initialSync %v; want 3 items, in the initial sync", n, listed["initialSync"])
	}
	if tail := e.must(req{method: "GET", path: "/tenants/contoso/changes?cursor=" + url.QueryEscape(head)}, 200)["changes"].([]any); len(tail) != 0 {
		t.Fatalf("the initial sync after the re-add put %v in the tenant feed, want nothing until it is complete", tail)
	}
	// Its end: one mailboxSynced in the tenant feed, then both feeds.
	e.synced("contoso", "alice@contoso.com", "alice@contoso.com")
	if _, err := e.store.ApplyChanges(ctx, "contoso", "alice@contoso.com", []domain.ItemChange{{Kind: domain.ChangeDelete, ItemID: "a"}}); err != nil {
		t.Fatal(err)
	}
	got = nil
	for _, c := range e.must(req{method: "GET", path: "/tenants/contoso/changes?cursor=" + url.QueryEscape(head)}, 200)["changes"].([]any) {
		ch := c.(map[string]any)
		got = append(got, fmt.Sprint(ch["mailbox"], " ", ch["changeType"], " ", ch["itemId"]))
	}
	if want := "[alice@contoso.com mailboxSynced <nil> alice@contoso.com delete a]"; fmt.Sprint(got) != want {
		t.Fatalf("after the initial sync the tenant feed has %v, want %s", got, want)
	}
	if listed := e.must(req{method: "GET", path: "/tenants/contoso/mailboxes/alice@contoso.com/items"}, 200); listed["initialSync"] != false {
		t.Fatalf("after its mailboxSynced the mailbox lists initialSync %v", listed["initialSync"])
	}
}

// Items an earlier registration left behind (a removal made before
// removals retired items, or one that raced a sync) are retired when the
// mailbox is added again: a mirror gets their deletes, and the first
// sync's creates are news.
func TestAddMailboxRetiresLeftoverItems(t *testing.T) {
	e := newEnv(t)

	e.onboard("contoso", basicCred("u", "Items-pw-4"))
	ctx := context.Background()
	left := domain.ItemChange{Kind: domain.ChangeCreate, ItemID: "old", ChangeKey: "ck1", Item: &domain.Item{ID: "old", ChangeKey: "ck1", Kind: domain.KindContact, DisplayName: "Old"}}
	if _, err := e.store.ApplyChanges(ctx, "contoso", "dave@contoso.com", []domain.ItemChange{left}); err != nil {
		t.Fatal(err)
	}
	head := e.must(req{method: "GET", path: "/tenants/contoso/changes"}, 200)["nextCursor"].(string)
	e.addMailboxes("contoso", "dave@contoso.com")
	after := e.must(req{method: "GET", path: "/tenants/contoso/changes?cursor=" + url.QueryEscape(head)}, 200)["changes"].([]any)
	if len(after) != 1 || after[0].(map[string]any)["changeType"] != "delete" || after[0].(map[string]any)["itemKind"] != "contact" {
		t.Fatalf("adding the mailbox appended %v, want the leftover's delete", after)
	}
	if n, err := e.store.ApplyChanges(ctx, "contoso", "dave@contoso.com", []domain.ItemChange{left}); err != nil || n != 1 {
		t.Fatalf("first sync's create of the leftover: appended %d, %v; want 1", n, err)
	}
	// Adding it again while registered touches nothing.
	if out := e.addMailboxes("contoso", "dave@contoso.com"); out["exists"] != 1.0 {
		t.Fatalf("second add = %v", out)
	}
	if items := e.must(req{method: "GET", path: "/tenants/contoso/mailboxes/dave@contoso.com/items"}, 200)["items"].([]any); len(items) != 1 {
		t.Fatalf("registered mailbox lists %v after a repeated add, want its item", items)
	}
}

// The tenant listing walks every registered mailbox's items, pages across
// mailbox boundaries, answers one tenant feed position, and binds its
// cursors to itself.
func TestTenantItemListing(t *testing.T) {
	e := newEnv(t)

	e.onboard("contoso", basicCred("u", "Items-pw-5"), "alice@contoso.com", "bob@contoso.com", "carol@contoso.com")
	e.onboard("globex", basicCred("u", "Items-pw-6"), "alice@contoso.com")
	e.synced("contoso", "alice@contoso.com", "carol@contoso.com")
	ctx := context.Background()
	mk := func(id string, kind domain.ItemKind) domain.ItemChange {
		return domain.ItemChange{Kind: domain.ChangeCreate, ItemID: id, ChangeKey: "ck1", Item: &domain.Item{ID: id, ChangeKey: "ck1", Kind: kind, Subject: id}}
	}
	// bob is in its initial sync: its item is not listed (the tenant feed
	// will announce the mailbox); an unregistered address's leftovers are
	// not listed.
	for mb, ids := range map[string][]string{"alice@contoso.com": {"a1", "a2", "a3"}, "bob@contoso.com": {"b1"}, "carol@contoso.com": {"c1", "c2"}, "zed@contoso.com": {"z1"}} {
		var cs []domain.ItemChange
		for _, id := range ids {
			cs = append(cs, mk(id, domain.KindMessage))
		}
		if _, err := e.store.ApplyChanges(ctx, "contoso", mb, cs); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.store.ApplyChanges(ctx, "contoso", "carol@contoso.com", []domain.ItemChange{mk("c3", domain.KindCalendar)}); err != nil {
		t.Fatal(err)
	}
	for _, limit := range []int{1, 3, 4, 100} {
		var got []string
		cursor, feed := "", ""
		for page := 0; ; page++ {
			p := e.must(req{method: "GET", path: fmt.Sprintf("/tenants/contoso/items?limit=%d&cursor=%s", limit, url.QueryEscape(cursor))}, 200)
			if page > 0 && p["feedCursor"] != feed {
				t.Fatalf("limit %d: page %d answers another feedCursor", limit, page)
			}
			feed, _ = p["feedCursor"].(string)
			items := p["items"].([]any)
			if len(items) > limit {
				t.Fatalf("limit %d: page of %d", limit, len(items))
			}
			for _, x := range items {
				it := x.(map[string]any)
				got = append(got, fmt.Sprint(it["mailbox"], " ", it["item"].(map[string]any)["id"]))
			}
			next, _ := p["nextCursor"].(string)
			if next == "" {
				break
			}
			cursor = next
		}
		want := "[alice@contoso.com a1 alice@contoso.com a2 alice@contoso.com a3 carol@contoso.com c1 carol@contoso.com c2 carol@contoso.com c3]"
		if fmt.Sprint(got) != want {
			t.Fatalf("limit %d: listed %v, want %s", limit, got, want)
		}
		rest := e.must(req{method: "GET", path: "/tenants/contoso/changes?cursor=" + url.QueryEscape(feed)}, 200)
		if n := len(rest["changes"].([]any)); n != 0 {
			t.Fatalf("tenant feed after the listing's position has %d changes, want 0", n)
		}
	}
	// bob's initial sync ends: the tenant feed after the listing's
	// position says so once, and the next listing includes bob.
	pos := e.must(req{method: "GET", path: "/tenants/contoso/items?limit=100"}, 200)["feedCursor"].(string)
	e.synced("contoso", "bob@contoso.com")
	tail := e.must(req{method: "GET", path: "/tenants/contoso/changes?cursor=" + url.QueryEscape(pos)}, 200)["changes"].([]any)
	if len(tail) != 1 || tail[0].(map[string]any)["changeType"] != "mailboxSynced" || tail[0].(map[string]any)["mailbox"] != "bob@contoso.com" {
		t.Fatalf("after bob's initial sync the tenant feed has %v, want one mailboxSynced of bob", tail)
	}
	if items := e.must(req{method: "GET", path: "/tenants/contoso/items?limit=100"}, 200)["items"].([]any); len(items) != 7 {
		t.Fatalf("after bob's initial sync the tenant lists %d items, want 7", len(items))
	}
	cal := e.must(req{method: "GET", path: "/tenants/contoso/items?itemKind=calendar"}, 200)["items"].([]any)
	if len(cal) != 1 || cal[0].(map[string]any)["mailbox"] != "carol@contoso.com" {
		t.Fatalf("itemKind=calendar lists %v", cal)
	}
	next := e.must(req{method: "GET", path: "/tenants/contoso/items?limit=2"}, 200)["nextCursor"].(string)
	mnext := e.must(req{method: "GET", path: "/tenants/contoso/mailboxes/alice@contoso.com/items?limit=2"}, 200)["nextCursor"].(string)
	for name, path := range map[string]string{
		"another tenant's":                  "/tenants/globex/items?cursor=" + url.QueryEscape(next),
		"another kind filter":               "/tenants/contoso/items?itemKind=message&cursor=" + url.QueryEscape(next),
		"a mailbox listing's":               "/tenants/contoso/items?cursor=" + url.QueryEscape(mnext),
		"the tenant's in a mailbox listing": "/tenants/contoso/mailboxes/alice@contoso.com/items?cursor=" + url.QueryEscape(next),
	} {
		out := e.must(req{method: "GET", path: path}, 400)
		if f := out["error"].(map[string]any)["field"]; f != "cursor" {
			t.Fatalf("%s cursor: field %v", name, f)
		}
	}
	e.must(req{method: "GET", path: "/tenants/initech/items"}, 404)
	e.must(req{method: "GET", path: "/tenants/contoso/items?itemKind=note"}, 400)
}
