package app

import (
	"context"
	"testing"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// The tenant listing leaves out mailboxes in their initial sync and walks
// at most tenantListMailboxesPerPage mailboxes a page: a tenant of many
// mailboxes still in their initial sync answers pages with no items and a
// nextCursor, and the listing still ends with every listed item once.
func TestTenantListingBoundsMailboxesPerPage(t *testing.T) {
	ts, _ := newTestTenants(t, &tenantsCallLog{})
	ctx := context.Background()
	if _, err := ts.Onboard(ctx, NewTenant{ID: "contoso", EWSURL: "https://mail.contoso.com/EWS/Exchange.asmx",
		Credential: domain.Credential{Kind: domain.AuthBasic, Username: "svc", Password: "App-List-pw"}}); err != nil {
		t.Fatal(err)
	}
	addrs := []string{"a@contoso.com", "b@contoso.com", "c@contoso.com", "d@contoso.com", "e@contoso.com"}
	var in []NewMailbox
	for _, a := range addrs {
		in = append(in, NewMailbox{Address: a})
	}
	if _, err := ts.AddMailboxes(ctx, "contoso", in); err != nil {
		t.Fatal(err)
	}
	item := func(id string) domain.ItemChange {
		return domain.ItemChange{Kind: domain.ChangeCreate, ItemID: id, ChangeKey: "k1", Item: &domain.Item{ID: id, ChangeKey: "k1", Kind: domain.KindMessage}}
	}
	for _, a := range addrs {
		if _, err := ts.Store.ApplyChanges(ctx, "contoso", a, []domain.ItemChange{item("x-" + a)}); err != nil {
			t.Fatal(err)
		}
	}
	// Only e's initial sync is done.
	if _, err := ts.Store.MarkMailboxSynced(ctx, "contoso", "e@contoso.com"); err != nil {
		t.Fatal(err)
	}
	defer func(n int) { tenantListMailboxesPerPage = n }(tenantListMailboxesPerPage)
	tenantListMailboxesPerPage = 2
	var got []string
	pages, cursor := 0, ""
	for {
		page, err := ts.ListTenantItems(ctx, "contoso", cursor, 10, "")
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, it := range page.Items {
			got = append(got, it.Mailbox+" "+it.Item.ID)
		}
		if page.NextCursor == "" {
			break
		}
		if pages > 10 {
			t.Fatal("the listing does not end")
		}
		cursor = page.NextCursor
	}
	if len(got) != 1 || got[0] != "e@contoso.com x-e@contoso.com" {
		t.Fatalf("listed %v, want only e's item (the others are in their initial sync)", got)
	}
	if pages != 3 {
		t.Fatalf("%d pages for 5 mailboxes at 2 a page, want 3", pages)
	}
}
