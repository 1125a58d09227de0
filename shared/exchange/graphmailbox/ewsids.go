package graphmailbox

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/graph"
)

// EWS ids over Graph. A tenant onboarded on EWS keeps EWS ids in its feed
// after it switches to Graph (domain.IDFormatEWS): its consumer holds
// them, and its stored folders and items are keyed on them. This Access
// then translates every id it reports with translateExchangeIds:
//
//   - items (delta pages, GetItems): restImmutableEntryId to ewsId, one
//     call per page for all the page's ids; each change also carries its
//     immutable id (ItemChangeRef.ImmutableID);
//   - folders: restId to ewsId, kept per mailbox (folder ids never
//     change); the synthetic calendar and contacts folders become the
//     default calendar's and contacts folder's EWS ids, read once per full
//     hierarchy round (one $batch);
//   - ids it is given (GetItems misses): ewsId to restImmutableEntryId.
//
// A folder's SyncState then names the Graph folder it reads
// ("e|<route>|<Graph state>"), so later pages need no folder lookup.
// States written by EWS (or by Graph without translation) are refused as
// AccessSyncStateInvalid: the sync use case resyncs the folder, and
// unchanged items come back with the ids and change keys already stored.
//
// What translation cannot do: a removed id names an item that is gone
// (hard-deleted: no translation) or lives elsewhere (moved: its EWS id is
// the new one), so no translation names the EWS id the feed reported.
// Removals are therefore reported by immutable id only, untranslated, and
// the item store resolves them against its index from immutable ids to
// the ids it stored (domain.ItemChange.ImmutableID), which the upserts'
// immutable ids keep current; a moved item's new EWS id then replaces the
// old one in the feed.

// ewsStatePrefix marks a folder state written with EWS ids.
const ewsStatePrefix = "e|"

// folderIDs maps one mailbox's Graph folders (routes, as the non-
// translating Access names them) and EWS folder ids both ways.
type folderIDs struct {
	toRoute map[string]string // EWS folder id -> route
	toEWS   map[string]string // route -> EWS folder id
}

func (a *Access) folderMap(user string) *folderIDs {
	a.mu.Lock()
	defer a.mu.Unlock()
	f := a.folderIDs[user]
	if f == nil {
		f = &folderIDs{toRoute: map[string]string{}, toEWS: map[string]string{}}
		a.folderIDs[user] = f
	}
	return f
}

func (a *Access) ewsOfRoute(user, route string) (string, bool) {
	f := a.folderMap(user)
	a.mu.Lock()
	defer a.mu.Unlock()
	id, ok := f.toEWS[route]
	return id, ok
}

func (a *Access) routeOfEWS(user, ews string) (string, bool) {
	f := a.folderMap(user)
	a.mu.Lock()
	defer a.mu.Unlock()
	r, ok := f.toRoute[ews]
	return r, ok
}

func (a *Access) remember(user, route, ews string) {
	f := a.folderMap(user)
	a.mu.Lock()
	defer a.mu.Unlock()
	f.toEWS[route], f.toRoute[ews] = ews, route
}

// translate maps ids of one mailbox from one format to another, up to
// graph.MaxTranslateIDs a call. Ids Graph could not translate are absent
// from the result.
func (a *Access) translate(ctx context.Context, user string, ids []string, from, to string) (map[string]string, error) {
	out := make(map[string]string, len(ids))
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	for chunk := range slices.Chunk(ids, graph.MaxTranslateIDs) {
		res, err := a.cl.TranslateExchangeIDs(ctx, user, graph.TranslateRequest{InputIDs: chunk, SourceIDType: from, TargetIDType: to})
		if err != nil {
			return nil, classify(err, useMailbox, "")
		}
		for _, r := range res {
			if graph.ConvertErr(r) == nil {
				out[r.SourceID] = r.TargetID
			}
		}
	}
	return out, nil
}

// graphFolderID is the Graph id behind a route: "" for the synthetic
// folders, whose ids are resolved apart (defaultFolders).
func graphFolderID(route string) string {
	switch {
	case route == CalendarFolderID || route == ContactsFolderID || route == "":
		return ""
	case strings.HasPrefix(route, contactSubfolderPrefix):
		return strings.TrimPrefix(route, contactSubfolderPrefix)
	}
	return route
}

// defaultFolders reads the Graph ids of the default calendar and contacts
// folder in one $batch: the calendar's own id, and the contacts folder's
// as the parent of one of its contacts or subfolders (Graph names no
// default contacts folder otherwise). An id it cannot read stays "": the
// folder keeps its synthetic id (an app without that permission, an empty
// contacts folder).
func (a *Access) defaultFolders(ctx context.Context, user string) (calendar, contacts string, err error) {
	one := map[string]string{"Prefer": "odata.maxpagesize=1"}
	reqs := []graph.BatchRequest{
		{Method: "GET", URL: graph.ItemPath("users", user, "calendar") + "?" + encodeQuery("$select", "id")},
		{Method: "GET", URL: graph.ItemPath("users", user, "contacts", "delta") + "?" + encodeQuery("$select", "parentFolderId"), Headers: one},
		{Method: "GET", URL: graph.ItemPath("users", user, "contactFolders", "delta"), Headers: one},
	}
	resps, err := a.cl.Batch(ctx, user, reqs)
	if err != nil {
		return "", "", classify(err, useMailbox, "")
	}
	for i, r := range resps {
		if batchErr(r) != nil {
			continue
		}
		if i == 0 {
			var c struct {
				ID string `json:"id"`
			}
			if json.Unmarshal(r.Body, &c) == nil {
				calendar = c.ID
			}
			continue
		}
		var l struct {
			Value []struct {
				ParentFolderID string `json:"parentFolderId"`
			} `json:"value"`
		}
		if contacts == "" && json.Unmarshal(r.Body, &l) == nil && len(l.Value) > 0 {
			contacts = l.Value[0].ParentFolderID
		}
	}
	return calendar, contacts, nil
}

// foldersToEWS translates folders (and their parents) and deleted folder
// ids to EWS ids, remembering each. fresh resolves the synthetic folders'
// ids first (a full round lists them). A folder whose id cannot be
// translated (deleted meanwhile) is left out.
func (a *Access) foldersToEWS(ctx context.Context, user string, fresh bool, lists [][]domain.FolderInfo, deleted []string) ([][]domain.FolderInfo, []string, error) {
	var need []string
	want := func(route string) {
		if route == "" {
			return
		}
		if _, ok := a.ewsOfRoute(user, route); !ok {
			if g := graphFolderID(route); g != "" {
				need = append(need, g)
			}
		}
	}
	var cal, con string
	if _, known := a.ewsOfRoute(user, CalendarFolderID); fresh || !known {
		var err error
		if cal, con, err = a.defaultFolders(ctx, user); err != nil {
			return nil, nil, err
		}
		need = append(need, cal, con)
	}
	for _, l := range lists {
		for _, f := range l {
			want(f.ID)
			want(f.ParentID)
		}
	}
	for _, id := range deleted {
		want(id)
	}
	need = slices.DeleteFunc(need, func(s string) bool { return s == "" })
	tr := map[string]string{}
	if len(need) > 0 {
		var err error
		if tr, err = a.translate(ctx, user, need, graph.IDFormatREST, graph.IDFormatEWS); err != nil {
			return nil, nil, err
		}
	}
	if cal != "" || con != "" || fresh {
		for route, g := range map[string]string{CalendarFolderID: cal, ContactsFolderID: con} {
			if e, ok := tr[g]; ok && g != "" {
				a.remember(user, route, e)
			} else {
				a.remember(user, route, route) // stays synthetic
			}
		}
	}
	lookup := func(route string) (string, bool) {
		if route == "" {
			return "", true
		}
		if e, ok := a.ewsOfRoute(user, route); ok {
			return e, true
		}
		e, ok := tr[graphFolderID(route)]
		if ok {
			a.remember(user, route, e)
		}
		return e, ok
	}
	out := make([][]domain.FolderInfo, len(lists))
	for i, l := range lists {
		for _, f := range l {
			id, ok := lookup(f.ID)
			if !ok {
				a.opts.Logger.InfoContext(ctx, "graphmailbox: folder id not translated (gone since?)", "mailbox", user)
				continue
			}
			if p, ok := lookup(f.ParentID); ok {
				f.ParentID = p
			}
			f.ID = id
			out[i] = append(out[i], f)
		}
	}
	var gone []string
	for _, id := range deleted {
		if e, ok := lookup(id); ok {
			gone = append(gone, e)
		}
	}
	return out, gone, nil
}

// hierarchyToEWS translates a hierarchy page's folder ids.
func (a *Access) hierarchyToEWS(ctx context.Context, user string, page domain.HierarchyPage) (domain.HierarchyPage, error) {
	fresh := slices.ContainsFunc(page.Created, func(f domain.FolderInfo) bool { return f.ID == CalendarFolderID })
	lists, gone, err := a.foldersToEWS(ctx, user, fresh, [][]domain.FolderInfo{page.Created, page.Updated}, page.Deleted)
	if err != nil {
		return domain.HierarchyPage{}, err
	}
	page.Created, page.Updated, page.Deleted = lists[0], lists[1], gone
	return page, nil
}

// routeFor finds the Graph folder behind an EWS folder id: from what this
// Access has seen, else by reading the whole hierarchy again (a job that
// resumed past its hierarchy sync in a new process).
func (a *Access) routeFor(ctx context.Context, m domain.MailboxRef, folderID string) (string, error) {
	if r, ok := a.routeOfEWS(m.Address, folderID); ok {
		return r, nil
	}
	// Folders read side by side may all miss: one reads the hierarchy,
	// the others find their routes after it.
	a.routeMu.Lock()
	defer a.routeMu.Unlock()
	if r, ok := a.routeOfEWS(m.Address, folderID); ok {
		return r, nil
	}
	state := ""
	for range 1000 { // bound: a hierarchy that never ends must not loop
		page, err := a.SyncHierarchy(ctx, m, state)
		if err != nil {
			return "", err
		}
		if page.Done {
			break
		}
		state = page.State
	}
	if r, ok := a.routeOfEWS(m.Address, folderID); ok {
		return r, nil
	}
	// Gone since the hierarchy was read: the next job's hierarchy sync
	// drops it.
	return "", &domain.AccessError{Kind: domain.AccessTransient, Code: "FolderNotFound", Folder: folderID,
		Err: fmt.Errorf("no Graph folder has the EWS id %s", folderID)}
}

// syncItemsEWS is SyncItems with EWS ids: folderID is an EWS folder id,
// the state names the Graph folder, and the page's item ids (and its kept
// items) are translated in one call.
func (a *Access) syncItemsEWS(ctx context.Context, m domain.MailboxRef, folderID, state string, max int) (domain.ItemsPage, error) {
	route, inner := "", ""
	if state != "" {
		rest, ok := strings.CutPrefix(state, ewsStatePrefix)
		r, st, ok2 := strings.Cut(rest, "|")
		if !ok || !ok2 || r == "" {
			return domain.ItemsPage{}, invalidState("ForeignSyncState", folderID, errBadState)
		}
		route, inner = r, st
	} else {
		var err error
		if route, err = a.routeFor(ctx, m, folderID); err != nil {
			return domain.ItemsPage{}, err
		}
	}
	page, items, err := a.syncItems(ctx, m, route, folderID, inner, max)
	if err != nil {
		return domain.ItemsPage{}, err
	}
	ids := make([]string, 0, len(page.Changes))
	for _, c := range page.Changes {
		if c.Kind != domain.ChangeDelete {
			ids = append(ids, c.ItemID)
		}
	}
	tr := map[string]string{}
	if len(ids) > 0 {
		if tr, err = a.translate(ctx, m.Address, ids, graph.IDFormatRESTImmutable, graph.IDFormatEWS); err != nil {
			return domain.ItemsPage{}, err
		}
	}
	refs := page.Changes[:0]
	for _, c := range page.Changes {
		if c.Kind == domain.ChangeDelete {
			c.ItemID, c.ImmutableID = "", c.ItemID
			refs = append(refs, c)
			continue
		}
		// Untranslated: an item gone since the page was read (its removal
		// follows).
		if e, ok := tr[c.ItemID]; ok {
			c.ItemID, c.ImmutableID = e, c.ItemID
			refs = append(refs, c)
		}
	}
	page.Changes = refs
	kept := items[:0]
	for _, it := range items {
		if e, ok := tr[it.ID]; ok {
			it.ID = e
			kept = append(kept, it)
		}
	}
	a.keep(m.Address, folderID, kept)
	page.State = ewsStatePrefix + route + "|" + page.State
	return page, nil
}

// fetchEWS fetches items by EWS id: translated to Graph's (one call per
// 1000), read, and reported under the EWS ids asked for.
func (a *Access) fetchEWS(ctx context.Context, m domain.MailboxRef, kind domain.ItemKind, ids []string) ([]domain.Item, error) {
	tr, err := a.translate(ctx, m.Address, ids, graph.IDFormatEWS, graph.IDFormatRESTImmutable)
	if err != nil {
		return nil, err
	}
	back := make(map[string]string, len(tr))
	graphIDs := make([]string, 0, len(tr))
	for e, g := range tr {
		back[g] = e
		graphIDs = append(graphIDs, g)
	}
	if len(graphIDs) == 0 {
		return nil, nil
	}
	slices.Sort(graphIDs)
	items, err := a.fetch(ctx, m, kind, graphIDs)
	if err != nil {
		return nil, err
	}
	out := items[:0]
	for _, it := range items {
		if e, ok := back[it.ID]; ok {
			it.ID = e
			out = append(out, it)
		}
	}
	return out, nil
}
