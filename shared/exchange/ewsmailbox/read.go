package ewsmailbox

// read.go owns the sync reads: domain.Connector and domain.MailboxAccess.
// It calls only EWS read operations (the sync path has no write to call)
// and never retries (the sync use case owns retries).

import (
	"context"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ews"
)

// Connector builds each tenant's MailboxAccess over a shared ClientCache,
// so a warm Lambda reuses connections and OAuth tokens across jobs.
type Connector struct {
	clients *ClientCache
}

// maxCachedClients bounds the Connector's cache (see NewClientCache).
const maxCachedClients = 1024

// NewConnector returns a Connector building clients with opts.
func NewConnector(opts Options) *Connector {
	return &Connector{clients: NewClientCache(opts, maxCachedClients)}
}

var _ domain.Connector = (*Connector)(nil)

// Connect returns the tenant's MailboxAccess. It does no network I/O.
func (c *Connector) Connect(_ context.Context, t domain.Tenant, cred domain.Credential) (domain.MailboxAccess, error) {
	a := &Access{clients: c.clients.For(t, cred), flags: ews.AtLeast(t.ExchangeVersion, "Exchange2013"), version: t.ExchangeVersion, html: t.BodyFormatOf() == domain.BodyFormatHTML}
	if _, err := a.clients.Client(t.EWSURL); err != nil {
		return nil, clientConfigError(err)
	}
	return a, nil
}

// Access is one tenant's domain.MailboxAccess.
type Access struct {
	clients TenantClients
	// flags: the tenant's Exchange knows item:Flag (Exchange 2013 and
	// later); an older one would reject every GetItem that asks for it.
	flags bool
	// version is the tenant's Exchange version: which calendar properties
	// its GetItem knows (ews.ShapeCalendarFor).
	version string
	// html: the tenant wants message bodies as HTML (bodyFormat html).
	html bool
}

var _ domain.MailboxAccess = (*Access)(nil)

// SyncHierarchy implements domain.MailboxAccess (SyncFolderHierarchy).
func (a *Access) SyncHierarchy(ctx context.Context, m domain.MailboxRef, state string) (domain.HierarchyPage, error) {
	cl, t, err := a.clients.Target(m)
	if err != nil {
		return domain.HierarchyPage{}, err
	}
	r, err := cl.SyncFolderHierarchy(ctx, t, state)
	if err != nil {
		return domain.HierarchyPage{}, classify(useRead, err, "")
	}
	page := domain.HierarchyPage{State: r.SyncState, Done: r.IncludesLastFolderInRange}
	for _, ch := range r.Changes {
		switch ch.Kind {
		case ews.ChangeCreate:
			page.Created = append(page.Created, folderInfo(ch.Folder, ""))
		case ews.ChangeUpdate:
			page.Updated = append(page.Updated, folderInfo(ch.Folder, ""))
		case ews.ChangeDelete:
			page.Deleted = append(page.Deleted, ch.Folder.ID)
		}
	}
	return page, nil
}

func folderInfo(f ews.Folder, dist string) domain.FolderInfo {
	return domain.FolderInfo{ID: f.ID, ParentID: f.ParentID, DisplayName: f.DisplayName, FolderClass: f.FolderClass, DistinguishedID: dist}
}

// SyncItems implements domain.MailboxAccess (SyncFolderItems). A read-flag
// change is an update: the item's ChangeKey changes with it.
func (a *Access) SyncItems(ctx context.Context, m domain.MailboxRef, folderID, state string, max int) (domain.ItemsPage, error) {
	cl, t, err := a.clients.Target(m)
	if err != nil {
		return domain.ItemsPage{}, err
	}
	r, err := cl.SyncFolderItems(ctx, t, ews.FolderRef{ID: folderID}, state, max)
	if err != nil {
		return domain.ItemsPage{}, classify(useRead, err, folderID)
	}
	page := domain.ItemsPage{State: r.SyncState, Done: r.IncludesLastItemInRange, Changes: make([]domain.ItemChangeRef, 0, len(r.Changes))}
	for _, ch := range r.Changes {
		kind := domain.ChangeUpdate
		switch ch.Kind {
		case ews.ChangeCreate:
			kind = domain.ChangeCreate
		case ews.ChangeDelete:
			kind = domain.ChangeDelete
		}
		page.Changes = append(page.Changes, domain.ItemChangeRef{Kind: kind, ItemID: ch.ItemID, ChangeKey: ch.ChangeKey})
	}
	return page, nil
}

// GetItems implements domain.MailboxAccess (one GetItem call of at most
// ews.MaxGetItemIDs ids). Items gone meanwhile are skipped; so is an item
// Exchange cannot return for a permanent reason (it would otherwise block
// its folder forever), which the caller sees as a missing item.
func (a *Access) GetItems(ctx context.Context, m domain.MailboxRef, kind domain.ItemKind, ids []string) ([]domain.Item, error) {
	cl, t, err := a.clients.Target(m)
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, nil
	}
	results, err := cl.GetItem(ctx, t, ids, shapeFor(kind, a.flags, a.html, a.version))
	if err != nil {
		return nil, classify(useRead, err, "")
	}
	items := make([]domain.Item, 0, len(results))
	for _, r := range results {
		if r.Err != nil {
			ae := classify(useRead, r.Err, "")
			if ae.Kind == domain.AccessPermanent {
				continue
			}
			return nil, ae
		}
		if r.Item != nil {
			items = append(items, Normalize(*r.Item))
		}
	}
	if kind == domain.KindCalendar {
		if err := a.fillExceptions(ctx, cl, t, items); err != nil {
			return nil, err
		}
	}
	return items, nil
}

// calendarShape reads calendar items with Mailbridge's marker, so the
// feed says which events Mailbridge wrote for which client event id, and
// their body as text or, for an html tenant, HTML (as messages).
func calendarShape(version string, html bool) ews.Shape {
	s := ews.ShapeCalendarFor(version)
	s.Extended = []ews.ExtendedField{MarkerField}
	if html {
		s.BodyType = "HTML"
	}
	return s
}

func shapeFor(kind domain.ItemKind, flags, html bool, version string) ews.Shape {
	switch kind {
	case domain.KindCalendar:
		return calendarShape(version, html)
	case domain.KindContact:
		return ews.ShapeContact
	}
	s := ews.ShapeMessage
	if flags {
		s = ews.ShapeMessageFlag
	}
	if html {
		s.BodyType = "HTML"
	}
	return s
}

// DistinguishedFolders implements domain.MailboxAccess (one GetFolder call
// for all names). A folder a delegate may not read comes back unreadable.
func (a *Access) DistinguishedFolders(ctx context.Context, m domain.MailboxRef, names []string) ([]domain.FolderInfo, []string, error) {
	cl, t, err := a.clients.Target(m)
	if err != nil {
		return nil, nil, err
	}
	if len(names) == 0 {
		return nil, nil, nil
	}
	refs := make([]ews.FolderRef, len(names))
	for i, n := range names {
		refs[i] = ews.FolderRef{Distinguished: n}
	}
	results, err := cl.GetFolder(ctx, t, refs)
	if err != nil {
		return nil, nil, classify(useRead, err, "")
	}
	var found []domain.FolderInfo
	var unreadable []string
	for i, r := range results {
		name := names[i]
		switch {
		case r.Err == nil && r.Folder != nil:
			found = append(found, folderInfo(*r.Folder, name))
		case r.Err != nil:
			ae := classify(useRead, r.Err, name)
			if ae.Kind != domain.AccessDenied {
				return nil, nil, ae
			}
			unreadable = append(unreadable, name)
		}
	}
	return found, unreadable, nil
}
