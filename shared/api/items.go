package api

import (
	"net/http"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// Routes for bootstrapping and resyncing a mirror of a mailbox or a tenant.
var itemRoutes = []route{
	{"GET", "/tenants/{id}/mailboxes/{address}/items", with(scoped, 200), (*server).listItems},
	{"GET", "/tenants/{id}/items", with(scoped, 200), (*server).listTenantItems},
}

type itemPage struct {
	Items []domain.Item `json:"items"`
	// NextCursor continues the listing; absent on its last page.
	NextCursor string `json:"nextCursor,omitempty"`
	// FeedCursor is the mailbox feed position the whole listing reflects
	// (the same on every page): read the mailbox feed from it next.
	// Empty: read the feed from its start.
	FeedCursor string `json:"feedCursor"`
	// InitialSync: the mailbox is in its initial sync (just added), so its
	// changes are not in the tenant feed yet; a tenant-feed consumer drops
	// what it holds of the mailbox and waits for its mailboxSynced.
	InitialSync bool `json:"initialSync"`
}

func (s *server) listItems(w http.ResponseWriter, r *http.Request) error {
	q, err := query(r, "cursor", "limit", "itemKind")
	if err != nil {
		return err
	}
	limit, err := queryLimit(q, "limit")
	if err != nil {
		return err
	}
	page, err := s.tenants.ListItems(r.Context(), r.PathValue("id"), r.PathValue("address"), q["cursor"], limit, domain.ItemKind(q["itemKind"]))
	if err != nil {
		return err
	}
	if page.Items == nil {
		page.Items = []domain.Item{}
	}
	writeJSON(w, http.StatusOK, itemPage{Items: page.Items, NextCursor: page.NextCursor, FeedCursor: page.FeedCursor, InitialSync: page.InitialSync})
	return nil
}

type tenantItem struct {
	Mailbox string      `json:"mailbox"`
	Item    domain.Item `json:"item"`
}

type tenantItemPage struct {
	Items      []tenantItem `json:"items"`
	NextCursor string       `json:"nextCursor,omitempty"`
	// FeedCursor is the tenant feed position the whole listing reflects.
	FeedCursor string `json:"feedCursor"`
}

func (s *server) listTenantItems(w http.ResponseWriter, r *http.Request) error {
	q, err := query(r, "cursor", "limit", "itemKind")
	if err != nil {
		return err
	}
	limit, err := queryLimit(q, "limit")
	if err != nil {
		return err
	}
	page, err := s.tenants.ListTenantItems(r.Context(), r.PathValue("id"), q["cursor"], limit, domain.ItemKind(q["itemKind"]))
	if err != nil {
		return err
	}
	out := tenantItemPage{Items: make([]tenantItem, len(page.Items)), NextCursor: page.NextCursor, FeedCursor: page.FeedCursor}
	for i, it := range page.Items {
		out.Items[i] = tenantItem{Mailbox: it.Mailbox, Item: it.Item}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
