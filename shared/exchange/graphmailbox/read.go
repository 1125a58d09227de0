package graphmailbox

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/graph"
)

// Synthetic folder ids (see the package doc).
const (
	CalendarFolderID       = "calendar"
	ContactsFolderID       = "contacts"
	contactSubfolderPrefix = "contacts:"
)

var (
	calendarFolder = domain.FolderInfo{ID: CalendarFolderID, DisplayName: "Calendar", FolderClass: "IPF.Appointment", DistinguishedID: domain.FolderCalendar}
	contactsFolder = domain.FolderInfo{ID: ContactsFolderID, DisplayName: "Contacts", FolderClass: "IPF.Contact", DistinguishedID: domain.FolderContacts}
)

// Access is one tenant's domain.MailboxAccess over Graph. It is safe for
// concurrent use by the mailboxes of one job.
type Access struct {
	cl      *graph.Client
	opts    Options
	folders []string // the tenant's folder selection

	// ewsIDs: the tenant's feed carries EWS ids (it was onboarded on EWS),
	// so every id reported is translated (ewsids.go).
	ewsIDs bool

	// routeMu lets one SyncItems at a time read the hierarchy again to
	// find a folder's route (ewsids.go routeFor).
	routeMu sync.Mutex

	mu sync.Mutex
	// folderIDs holds, per mailbox, the EWS ids of the Graph folders seen
	// (ewsIDs only): folder ids never change, so one translation lasts.
	folderIDs map[string]*folderIDs
	// pages holds, per mailbox and folder, the full items of the folder's
	// last SyncItems page not yet handed out by GetItems: the sync use
	// case asks for them right after (after the pages of the other
	// folders it reads at once), and Graph's delta pages carry them
	// already.
	pages map[string]map[string]map[string]domain.Item
	// attachments is the connector's cache of attachment lists; nil:
	// none (content.go).
	attachments *attachmentCache
	// throttled holds, per mailbox, until when a partly throttled read
	// asks its next calls to wait (waitThrottle).
	throttled map[string]throttledUntil
}

type throttledUntil struct {
	until time.Time
	after time.Duration // Graph's Retry-After, reported as given
}

var (
	_ domain.MailboxAccess  = (*Access)(nil)
	_ domain.ParallelReader = (*Access)(nil)
)

// ReadsAtOnce implements domain.ParallelReader: the client's cap of calls
// in flight per mailbox (Outlook's 4).
func (a *Access) ReadsAtOnce() int { return a.cl.MailboxConcurrency() }

// needsMail reports whether the selection needs the mail folder
// hierarchy: a calendar-only tenant never reads it (its app may hold no
// Mail.Read at all).
func (a *Access) needsMail() bool {
	if len(a.folders) == 0 {
		return true
	}
	return slices.ContainsFunc(a.folders, func(f string) bool { return f != domain.FolderCalendar && f != domain.FolderContacts })
}

func (a *Access) needsContacts() bool {
	return len(a.folders) == 0 || slices.Contains(a.folders, domain.FolderContacts) || slices.Contains(a.folders, domain.FolderAll)
}

// SyncHierarchy implements domain.MailboxAccess: the mailFolders delta
// and the contactFolders delta requests of the round that are not done
// yet, side by side (one round trip; Outlook allows 4 requests per
// mailbox at once), each phase's link kept in the state. Graph does not
// tell new folders from changed ones: the first round reports folders as
// created, later rounds as updated. When one request fails and the other
// succeeds, the page of the one that succeeded comes back with the error
// (its State covers it), so a throttled job's retry does not send it
// again. A round from scratch also looks up the selection's well-known
// mail folders beside its two requests (probeWellKnown), and names them
// on the page. With EWS ids the page's folder ids are translated
// (ewsids.go).
func (a *Access) SyncHierarchy(ctx context.Context, m domain.MailboxRef, state string) (domain.HierarchyPage, error) {
	page, err := a.syncHierarchy(ctx, m, state)
	if !a.ewsIDs || page.State == "" {
		return page, err
	}
	translated, terr := a.hierarchyToEWS(ctx, m.Address, page)
	if terr != nil {
		if err != nil {
			// The page cannot be reported: the request's own error says
			// what the retry waits for.
			return domain.HierarchyPage{}, err
		}
		return domain.HierarchyPage{}, terr
	}
	return translated, err
}

// syncHierarchy is SyncHierarchy with Graph's folder ids. A page that
// comes with an error has a State only if one of its requests succeeded.
func (a *Access) syncHierarchy(ctx context.Context, m domain.MailboxRef, state string) (domain.HierarchyPage, error) {
	h, fresh, err := parseHierState(state)
	if err != nil {
		return domain.HierarchyPage{}, invalidState("InvalidSyncState", "", err)
	}
	for _, l := range []string{h.Mail, h.Contacts} {
		if l != "" && !sameEndpoint(l, a.cl.BaseURL()) {
			return domain.HierarchyPage{}, invalidState("EndpointChanged", "", fmt.Errorf("the saved link is not on %s", a.cl.BaseURL()))
		}
	}
	doMail := h.Phase != phaseContacts && a.needsMail()
	doContacts := h.Phase != phaseMail && a.needsContacts()
	var (
		mail struct {
			page *graph.DeltaPage[graph.MailFolder]
			err  error
		}
		contacts struct {
			page *graph.DeltaPage[graph.ContactFolder]
			err  error
		}
		wg sync.WaitGroup
	)
	if doMail {
		wg.Go(func() {
			mail.page, mail.err = a.cl.MailFoldersDelta(ctx, m.Address, graph.DeltaOptions{PageSize: a.opts.PageSize, Link: h.Mail})
		})
	}
	if doContacts {
		wg.Go(func() {
			contacts.page, contacts.err = a.cl.ContactFoldersDelta(ctx, m.Address, graph.DeltaOptions{PageSize: a.opts.PageSize, Link: h.Contacts})
		})
	}
	var (
		wellKnown []domain.FolderInfo
		lookupErr *domain.AccessError
	)
	if fresh && doMail {
		// A hierarchy from scratch does not say which folder is the
		// inbox: the selection's well-known mail folders are looked up
		// beside it (probeWellKnown), in the same round trip, instead of
		// by the sync use case's DistinguishedFolders call after it.
		wg.Go(func() { wellKnown, lookupErr = a.probeWellKnown(ctx, m.Address) })
	}
	wg.Wait()

	var page domain.HierarchyPage
	add := func(f domain.FolderInfo) {
		if h.Initial {
			page.Created = append(page.Created, f)
		} else {
			page.Updated = append(page.Updated, f)
		}
	}
	// The phases still to read after this call.
	mailLeft, contactsLeft := doMail, doContacts
	var firstErr error
	if doMail {
		if mail.err != nil {
			firstErr = classify(mail.err, useMailbox, "")
		} else {
			for _, f := range mail.page.Items {
				add(domain.FolderInfo{ID: f.ID, ParentID: f.ParentFolderID, DisplayName: f.DisplayName, FolderClass: "IPF.Note"})
			}
			for _, r := range mail.page.Removed {
				page.Deleted = append(page.Deleted, r.ID)
			}
			if mail.page.Done() {
				h.Mail, mailLeft = mail.page.DeltaLink, false
			} else {
				h.Mail = mail.page.NextLink
			}
		}
	}
	if doContacts {
		switch {
		case contacts.err != nil && graph.Classify(contacts.err) == graph.ClassAccessDenied:
			// No Contacts.Read: the mailbox's other folders still sync,
			// the contacts folder's own sync reports it unreadable, and
			// the next round asks again.
			a.opts.Logger.InfoContext(ctx, "graphmailbox: contact folders not readable", "mailbox", m.Address, "code", codeOf(contacts.err))
			h.Contacts, contactsLeft = "", false
		case contacts.err != nil:
			if firstErr == nil {
				firstErr = classify(contacts.err, useMailbox, "")
			}
		default:
			for _, f := range contacts.page.Items {
				// contactFolders delta is flat: every contact folder is
				// under the default one.
				add(domain.FolderInfo{ID: contactSubfolderPrefix + f.ID, ParentID: ContactsFolderID, DisplayName: f.DisplayName, FolderClass: "IPF.Contact"})
			}
			for _, r := range contacts.page.Removed {
				page.Deleted = append(page.Deleted, contactSubfolderPrefix+r.ID)
			}
			if contacts.page.Done() {
				h.Contacts, contactsLeft = contacts.page.DeltaLink, false
			} else {
				h.Contacts = contacts.page.NextLink
			}
		}
	}
	if lookupErr != nil && lookupErr.Kind == domain.AccessThrottled {
		// The page is not held up by it (its retry would read the
		// hierarchy again): the mailbox waits Graph's Retry-After instead
		// (waitThrottle), so the sync use case's DistinguishedFolders
		// call for the folders not found ends the job with the
		// throttling, and the job's retry asks for them.
		a.throttle(m.Address, lookupErr.RetryAfter)
		lookupErr = nil
	}
	if lookupErr != nil && firstErr == nil {
		// The hierarchy's own requests went through: the page comes back
		// with the lookup's failure, as with a failed hierarchy request.
		firstErr = lookupErr
	}
	progressed := (doMail && mail.err == nil) || (doContacts && (contacts.err == nil || !contactsLeft))
	if firstErr != nil && !progressed {
		return domain.HierarchyPage{}, firstErr
	}
	if fresh {
		page.Created = append([]domain.FolderInfo{calendarFolder, contactsFolder}, page.Created...)
	}
	for _, f := range wellKnown {
		i := slices.IndexFunc(page.Created, func(c domain.FolderInfo) bool { return c.ID == f.ID })
		if i < 0 {
			// On a later page of the hierarchy: named now, listed then.
			page.Created = append(page.Created, f)
			continue
		}
		page.Created[i].DistinguishedID = f.DistinguishedID
	}
	switch {
	case mailLeft && contactsLeft:
		h.Phase = phaseBoth
	case mailLeft:
		h.Phase = phaseMail
	case contactsLeft:
		h.Phase = phaseContacts
	default:
		// The round is over; the next one reads both from their
		// deltaLinks.
		h.Phase, h.Initial, page.Done = phaseBoth, false, true
	}
	page.State = h.encode()
	return page, firstErr
}

// probeWellKnown looks up the well-known mail folders of the tenant's
// selection (inbox, sentitems, ...; calendar and contacts are the
// synthetic folders, named by the hierarchy itself) in one $batch, as
// DistinguishedFolders does, and returns those found, each with its
// DistinguishedID. It is sent beside the first hierarchy requests of a
// sync from scratch (the $batch holds one of the mailbox's 4 slots per
// name, so with the default selection the three requests fill them), so
// the sync use case finds them known and does not ask after the
// hierarchy: one round trip less on every initial sync. A folder Graph
// does not give (not readable, unknown) is left for the sync use case's
// DistinguishedFolders call, which reports it as before. Throttling does
// not fail the hierarchy page (whose retry would read the hierarchy
// again): the mailbox waits Graph's Retry-After (waitThrottle), so the
// DistinguishedFolders call that follows ends the job with it without a
// request. Another failure (the batch refused or cut) is the hierarchy
// page's error, as a failed hierarchy request's would be. Nothing is
// retried here.
func (a *Access) probeWellKnown(ctx context.Context, user string) ([]domain.FolderInfo, *domain.AccessError) {
	sel := a.folders
	if len(sel) == 0 {
		sel = domain.DefaultFolders
	}
	var names []string
	for _, n := range sel {
		switch n {
		case domain.FolderAll, domain.FolderCalendar, domain.FolderContacts:
			continue
		}
		names = append(names, n)
	}
	if len(names) == 0 || len(names) > graph.MaxBatchRequests {
		return nil, nil
	}
	resps, aerr := a.probeFolders(ctx, user, names)
	if aerr != nil {
		return nil, aerr
	}
	var (
		found []domain.FolderInfo
		first *domain.AccessError
	)
	for i, r := range resps {
		if err := batchErr(r); err != nil {
			switch graph.Classify(err) {
			case graph.ClassAccessDenied, graph.ClassNotFound, graph.ClassInvalid:
			default:
				if first == nil {
					first = classify(err, useFolder, names[i])
				}
			}
			continue
		}
		if f, ok := wellKnownMailFolder(names[i], r.Body); ok {
			found = append(found, f)
		}
	}
	return found, first
}

// SyncItems implements domain.MailboxAccess: one delta request, then
// what the page needs read beside it (a message page's attachment lists,
// a calendar page's marker lookups and first series masters), sent as
// soon as the page is in. Items are reported as created in the first
// round and updated later (Graph does not tell; the store decides by
// what it holds), removals as deletes. The page's items are kept for the
// GetItems call that follows.
// With EWS ids, folderID is an EWS folder id and the page's ids are
// translated (ewsids.go).
func (a *Access) SyncItems(ctx context.Context, m domain.MailboxRef, folderID, state string, max int) (domain.ItemsPage, error) {
	if a.ewsIDs {
		return a.syncItemsEWS(ctx, m, folderID, state, max)
	}
	page, items, err := a.syncItems(ctx, m, folderID, folderID, state, max)
	if err != nil {
		return domain.ItemsPage{}, err
	}
	a.keep(m.Address, folderID, items)
	return page, nil
}

// syncItems reads one delta page of the Graph folder route (a mail
// folder's Graph id or a synthetic folder), normalizing its items into
// folder report. It returns the page and its full items.
func (a *Access) syncItems(ctx context.Context, m domain.MailboxRef, route, folderID, state string, max int) (domain.ItemsPage, []domain.Item, error) {
	st, err := parseItemState(state)
	if err != nil {
		return domain.ItemsPage{}, nil, invalidState("InvalidSyncState", folderID, err)
	}
	if st.link != "" && !sameEndpoint(st.link, a.cl.BaseURL()) {
		return domain.ItemsPage{}, nil, invalidState("EndpointChanged", folderID, fmt.Errorf("the saved link is not on %s", a.cl.BaseURL()))
	}
	size := a.opts.PageSize
	if max > 0 {
		size = min(max, size)
	}
	do := graph.DeltaOptions{Link: st.link, PageSize: size}
	user := m.Address
	kind := ChangeKindFor(st.initial)
	var (
		next, delta string
		removed     []graph.Removed
		items       []domain.Item
		refs        []domain.ItemChangeRef
		mastersRead []domain.Item // series masters read with a calendar page
	)
	seen := map[string]bool{}
	ref := func(id, ck string) {
		if !seen[id] {
			seen[id] = true
			refs = append(refs, domain.ItemChangeRef{Kind: kind, ItemID: id, ChangeKey: ck})
		}
	}
	if err := a.waitThrottle(user, folderID); err != nil {
		return domain.ItemsPage{}, nil, err
	}
	switch {
	case route == CalendarFolderID && len(st.masters) > 0:
		return a.pendingMasters(ctx, m, folderID, st)
	case route == CalendarFolderID:
		now := a.opts.Clock.Now().UTC()
		if st.link == "" {
			st.start = now.Add(-a.opts.CalendarBack).Truncate(time.Second)
		} else if now.Add(-a.opts.CalendarBack).Sub(st.start) > a.opts.CalendarSlack {
			// The window no longer covers what a fresh one would: resync
			// (events that left it get deletes, new ones ahead come in).
			return domain.ItemsPage{}, nil, invalidState("CalendarWindowExpired", folderID,
				fmt.Errorf("the calendar window starting %s is older than %s", st.start.Format("2006-01-02"), a.opts.CalendarSlack))
		}
		var written []string // events an app created (with a transactionId): maybe Mailbridge
		do.BodyType = a.opts.BodyFormat
		p, err := a.cl.EventsDelta(ctx, user, graph.EventsDeltaOptions{DeltaOptions: do, Start: st.start, End: st.start.Add(a.opts.CalendarBack + a.opts.CalendarAhead)})
		if err != nil {
			return domain.ItemsPage{}, nil, classify(err, useFolder, folderID)
		}
		next, delta, removed = p.NextLink, p.DeltaLink, p.Removed
		var masters []string
		master := func(id string) {
			if !seen[id] {
				seen[id] = true
				masters = append(masters, id)
			}
		}
		for _, e := range p.Items {
			switch e.Type {
			case "occurrence", "exception":
				// EWS reports the series master: so does this adapter.
				if e.SeriesMasterID != "" {
					master(e.SeriesMasterID)
				}
			case "seriesMaster":
				// A master on a page lacks its exceptions and cancelled
				// occurrences (read by id only).
				master(e.ID)
			default:
				it := NormalizeEvent(e, folderID)
				items = append(items, it)
				ref(it.ID, it.ChangeKey)
				if e.TransactionID != "" && it.ClientEventID == "" {
					written = append(written, it.ID)
				}
			}
		}
		// The page's series masters (the first $batch of them) are read
		// by id beside the marker lookups, in the wave of requests that
		// follows the round's delta pages (the job reads the calendar
		// beside other folders, whose attachment lists go out then too;
		// the client shares the mailbox's 4 slots among them). Their
		// read does not fail the page: the masters not read (throttled,
		// failed, or past the first batch) stay in the state for the
		// calls that follow (pendingMasters), so a throttled read of them
		// costs neither this page nor the masters read before.
		var wg sync.WaitGroup
		if len(masters) > 0 {
			chunk := masters[:min(len(masters), graph.MaxBatchRequests)]
			wg.Go(func() {
				var ferr *domain.AccessError
				mastersRead, st.masters, ferr = a.fetchMasters(ctx, m, chunk)
				switch {
				case ferr == nil:
				case len(mastersRead) == 0:
					st.masters = chunk
					if ferr.Kind == domain.AccessThrottled {
						a.throttle(user, ferr.RetryAfter)
					}
				default:
					a.throttle(user, ferr.RetryAfter)
				}
				st.masters = append(st.masters, masters[len(chunk):]...)
			})
		}
		err = a.markEvents(ctx, user, items, written)
		wg.Wait()
		if err != nil {
			return domain.ItemsPage{}, nil, err
		}
	case route == ContactsFolderID || strings.HasPrefix(route, contactSubfolderPrefix):
		gid := strings.TrimPrefix(route, contactSubfolderPrefix)
		if route == ContactsFolderID {
			gid = ""
			if do.Link == "" {
				// The default contacts folder has its own delta
				// (/users/{id}/contacts/delta), which the client has no
				// call for; it is an ordinary delta round from this URL.
				do.Link = a.cl.BaseURL() + graph.ItemPath("users", user, "contacts", "delta")
			}
		}
		p, err := a.cl.ContactsDelta(ctx, user, gid, do)
		if err != nil {
			return domain.ItemsPage{}, nil, classify(err, useFolder, folderID)
		}
		next, delta, removed = p.NextLink, p.DeltaLink, p.Removed
		for _, c := range p.Items {
			it := NormalizeContact(c, folderID)
			items = append(items, it)
			ref(it.ID, it.ChangeKey)
		}
	default:
		// A page whose attachment lists were cut short by throttling is
		// kept, so the job's retry does not read it again (content.go).
		p, kept := a.attachments.page(user, route, st.link)
		if !kept {
			var err error
			do.BodyType = a.opts.BodyFormat
			p, err = a.cl.MessagesDelta(ctx, user, route, graph.MessagesDeltaOptions{DeltaOptions: do})
			if err != nil {
				return domain.ItemsPage{}, nil, classify(err, useFolder, folderID)
			}
		}
		next, delta, removed = p.NextLink, p.DeltaLink, p.Removed
		for _, msg := range p.Items {
			it := NormalizeMessage(msg, folderID)
			items = append(items, it)
			ref(it.ID, it.ChangeKey)
		}
		if err := a.withAttachments(ctx, user, items); err != nil {
			a.attachments.keepPage(user, route, st.link, p)
			return domain.ItemsPage{}, nil, err
		}
		a.attachments.dropPage(user, route, st.link)
	}
	for _, r := range removed {
		// A removed occurrence was never reported: its delete is a no-op
		// for the store.
		if !seen[r.ID] {
			seen[r.ID] = true
			refs = append(refs, domain.ItemChangeRef{Kind: domain.ChangeDelete, ItemID: r.ID})
		}
	}
	page := domain.ItemsPage{Changes: refs}
	if delta != "" {
		page.Done = true
		st.initial, st.link = false, delta
	} else {
		st.link = next
	}
	// The masters read come after the page's changes, as the call that
	// follows would report them (ChangeKindFor of the state after it).
	masterKind := ChangeKindFor(st.initial)
	for i := range mastersRead {
		mastersRead[i].FolderID = folderID
		page.Changes = append(page.Changes, domain.ItemChangeRef{Kind: masterKind, ItemID: mastersRead[i].ID, ChangeKey: mastersRead[i].ChangeKey})
	}
	items = append(items, mastersRead...)
	if len(st.masters) > 0 {
		// The round ends when its masters are read.
		st.linkDone, page.Done = page.Done, false
	}
	page.State = st.encode()
	return page, items, nil
}

// pendingMasters reads the series masters of the last calendar page
// still to read by id (those its own call did not read: throttled,
// failed, or past the first 20), 20 to a $batch, and reports them as a
// page. When Graph throttles
// some of them, the ones read are reported and the rest stay in the
// state; the mailbox then waits Graph's Retry-After (waitThrottle), so
// the throttling still ends the job, and a master read is not sent again.
func (a *Access) pendingMasters(ctx context.Context, m domain.MailboxRef, folderID string, st itemState) (domain.ItemsPage, []domain.Item, error) {
	kind := ChangeKindFor(st.initial)
	chunk := st.masters[:min(len(st.masters), graph.MaxBatchRequests)]
	fetched, rest, ferr := a.fetchMasters(ctx, m, chunk)
	if ferr != nil && len(fetched) == 0 {
		return domain.ItemsPage{}, nil, ferr
	}
	page := domain.ItemsPage{}
	for i := range fetched {
		fetched[i].FolderID = folderID
		page.Changes = append(page.Changes, domain.ItemChangeRef{Kind: kind, ItemID: fetched[i].ID, ChangeKey: fetched[i].ChangeKey})
	}
	st.masters = append(rest, st.masters[len(chunk):]...)
	if ferr != nil {
		a.throttle(m.Address, ferr.RetryAfter)
	}
	if len(st.masters) == 0 {
		page.Done = st.linkDone
		st.linkDone = false
	}
	page.State = st.encode()
	return page, fetched, nil
}

// fetchMasters reads series masters by Graph id in one $batch. It returns
// the masters read, the ids Graph throttled (to read again) and the
// throttling; another failure of the batch or of a request fails it all.
// A master gone meanwhile is skipped.
func (a *Access) fetchMasters(ctx context.Context, m domain.MailboxRef, ids []string) ([]domain.Item, []string, *domain.AccessError) {
	reqs := make([]graph.BatchRequest, len(ids))
	for i, id := range ids {
		reqs[i] = graph.BatchRequest{Method: "GET", URL: graph.ItemPath("users", m.Address, "events", id) + "?" + encodeQuery("$select", eventSelect, "$expand", eventExpand),
			Headers: map[string]string{"Prefer": `outlook.timezone="UTC", outlook.body-content-type="` + a.opts.BodyFormat + `"`}}
	}
	resps, err := a.cl.Batch(ctx, m.Address, reqs)
	if err != nil {
		return nil, nil, classify(err, useFolder, "")
	}
	var (
		items     []domain.Item
		rest      []string
		throttled *domain.AccessError
	)
	for i, r := range resps {
		if err := batchErr(r); err != nil {
			switch graph.Classify(err) {
			case graph.ClassNotFound, graph.ClassPermanent, graph.ClassInvalid:
				continue
			case graph.ClassThrottled:
				rest = append(rest, ids[i])
				if throttled == nil {
					throttled = classify(err, useFolder, "")
				}
				continue
			}
			return nil, nil, classify(err, useFolder, "")
		}
		if it, ok := decodeItem(domain.KindCalendar, r.Body); ok {
			items = append(items, it)
		}
	}
	if throttled != nil {
		return items, rest, throttled
	}
	return items, nil, nil
}

// throttle makes the mailbox's next calls wait Graph's Retry-After (at
// least a second).
func (a *Access) throttle(mailbox string, after time.Duration) {
	after = max(after, time.Second)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.throttled[mailbox] = throttledUntil{until: a.opts.Clock.Now().Add(after), after: after}
}

// waitThrottle answers a call to a mailbox Graph throttled in this job
// (a partly throttled read that reported what it read) with the
// throttling, without a request, until its Retry-After has passed.
func (a *Access) waitThrottle(mailbox, folder string) *domain.AccessError {
	a.mu.Lock()
	t, ok := a.throttled[mailbox]
	a.mu.Unlock()
	if !ok || !a.opts.Clock.Now().Before(t.until) {
		return nil
	}
	return &domain.AccessError{Kind: domain.AccessThrottled, RetryAfter: t.after, Code: "TooManyRequests", Folder: folder,
		Err: fmt.Errorf("graph throttled this mailbox and asked to wait %s", t.after)}
}

// ChangeKindFor is the change kind a delta round reports for an item it
// lists: Graph does not say whether it is new.
func ChangeKindFor(initialRound bool) domain.ChangeKind {
	if initialRound {
		return domain.ChangeCreate
	}
	return domain.ChangeUpdate
}

// keep replaces the kept page of the mailbox's folder.
func (a *Access) keep(mailbox, folder string, items []domain.Item) {
	a.mu.Lock()
	defer a.mu.Unlock()
	folders := a.pages[mailbox]
	if len(items) == 0 {
		delete(folders, folder)
		if len(folders) == 0 {
			delete(a.pages, mailbox)
		}
		return
	}
	page := make(map[string]domain.Item, len(items))
	for _, it := range items {
		page[it.ID] = it
	}
	if folders == nil {
		folders = map[string]map[string]domain.Item{}
		a.pages[mailbox] = folders
	}
	folders[folder] = page
}

// take hands out the kept items among ids, from any of the mailbox's
// folders, and returns the ids it lacks.
func (a *Access) take(mailbox string, kind domain.ItemKind, ids []string) (hits []domain.Item, misses []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	folders := a.pages[mailbox]
	for _, id := range ids {
		found := false
		for folder, page := range folders {
			if it, ok := page[id]; ok && it.Kind == kind {
				hits = append(hits, it)
				delete(page, id)
				if len(page) == 0 {
					delete(folders, folder)
				}
				found = true
				break
			}
		}
		if !found {
			misses = append(misses, id)
		}
	}
	if len(folders) == 0 {
		delete(a.pages, mailbox)
	}
	return hits, misses
}

// Properties read when an item is fetched by id: what normalization
// needs (an event's body in the tenant's body format: Prefer:
// outlook.body-content-type).
var (
	eventSelect = "id,changeKey,subject,start,end,originalStartTimeZone,originalEndTimeZone,location,organizer,attendees,type,seriesMasterId," +
		"originalStart,recurrence,isAllDay,isCancelled,showAs,responseRequested,responseStatus,onlineMeeting,onlineMeetingUrl," +
		"isReminderOn,reminderMinutesBeforeStart,cancelledOccurrences,body"
	// eventExpand reads a series master's exceptions in the same request,
	// with the marker.
	eventExpand   = expandMarker + ",exceptionOccurrences($select=id,originalStart,start,end,subject,location,isCancelled)"
	contactSelect = "id,changeKey,parentFolderId,displayName,givenName,surname,emailAddresses,businessPhones,mobilePhone,homePhones," +
		"categories,companyName,jobTitle,department,officeLocation,businessAddress,homeAddress,otherAddress,birthday,personalNotes"
)

// GetItems implements domain.MailboxAccess. Items of the last SyncItems
// page are served without a request; the others (a resumed job, series
// masters) are fetched by id, 20 to a $batch request. Items gone
// meanwhile, and items Graph cannot return for a permanent reason, are
// skipped (the latter would otherwise block their folder for ever).
func (a *Access) GetItems(ctx context.Context, m domain.MailboxRef, kind domain.ItemKind, ids []string) ([]domain.Item, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	items, misses := a.take(m.Address, kind, ids)
	if len(misses) == 0 {
		return items, nil
	}
	if a.ewsIDs {
		fetched, err := a.fetchEWS(ctx, m, kind, misses)
		return append(items, fetched...), err
	}
	fetched, err := a.fetch(ctx, m, kind, misses)
	return append(items, fetched...), err
}

// fetch reads items by Graph id, 20 to a $batch request.
func (a *Access) fetch(ctx context.Context, m domain.MailboxRef, kind domain.ItemKind, misses []string) ([]domain.Item, error) {
	var items []domain.Item
	collection, sel := "messages", strings.Join(graph.DefaultMessageSelect, ",")
	switch kind {
	case domain.KindCalendar:
		collection, sel = "events", eventSelect
	case domain.KindContact:
		collection, sel = "contacts", contactSelect
	}
	for chunk := range slices.Chunk(misses, graph.MaxBatchRequests) {
		reqs := make([]graph.BatchRequest, len(chunk))
		for i, id := range chunk {
			q := encodeQuery("$select", sel)
			prefer := `outlook.timezone="UTC"`
			switch kind {
			case domain.KindCalendar:
				q = encodeQuery("$select", sel, "$expand", eventExpand) // the marker and exceptions in the same request
				prefer += `, outlook.body-content-type="` + a.opts.BodyFormat + `"`
			case domain.KindMessage:
				q = encodeQuery("$select", sel, "$expand", graph.DefaultMessageExpand) // as on the delta pages
				prefer += `, outlook.body-content-type="` + a.opts.BodyFormat + `"`
			}
			reqs[i] = graph.BatchRequest{Method: "GET", URL: graph.ItemPath("users", m.Address, collection, id) + "?" + q,
				Headers: map[string]string{"Prefer": prefer}}
		}
		resps, err := a.cl.Batch(ctx, m.Address, reqs)
		if err != nil {
			return nil, classify(err, useFolder, "")
		}
		for _, r := range resps {
			if err := batchErr(r); err != nil {
				switch graph.Classify(err) {
				case graph.ClassNotFound, graph.ClassPermanent, graph.ClassInvalid:
					continue
				}
				return nil, classify(err, useFolder, "")
			}
			it, ok := decodeItem(kind, r.Body)
			if ok {
				items = append(items, it)
			}
		}
	}
	if kind == domain.KindMessage {
		if err := a.withAttachments(ctx, m.Address, items); err != nil {
			return nil, err
		}
	}
	return items, nil
}

// decodeItem normalizes a fetched item; false for a body that is not one.
func decodeItem(kind domain.ItemKind, body json.RawMessage) (domain.Item, bool) {
	switch kind {
	case domain.KindCalendar:
		var e graph.Event
		if json.Unmarshal(body, &e) != nil || e.ID == "" {
			return domain.Item{}, false
		}
		return NormalizeEvent(e, CalendarFolderID), true
	case domain.KindContact:
		var c graph.Contact
		if json.Unmarshal(body, &c) != nil || c.ID == "" {
			return domain.Item{}, false
		}
		return NormalizeContact(c, ""), true
	}
	var msg graph.Message
	if json.Unmarshal(body, &msg) != nil || msg.ID == "" {
		return domain.Item{}, false
	}
	return NormalizeMessage(msg, msg.ParentFolderID), true
}

// DistinguishedFolders implements domain.MailboxAccess: one $batch for
// all names. Mail folders are read by their well-known name; calendar and
// contacts are the synthetic folders, probed with a one-item read so a
// missing permission shows as unreadable. A 403 makes a name unreadable;
// a name Graph does not know (404, 400) is neither found nor unreadable.
func (a *Access) DistinguishedFolders(ctx context.Context, m domain.MailboxRef, names []string) ([]domain.FolderInfo, []string, error) {
	if len(names) == 0 {
		return nil, nil, nil
	}
	if err := a.waitThrottle(m.Address, ""); err != nil {
		// The well-known folder lookup beside the hierarchy was throttled.
		return nil, nil, err
	}
	if len(names) > graph.MaxBatchRequests {
		return nil, nil, &domain.AccessError{Kind: domain.AccessPermanent, Code: "TooManyFolders",
			Err: fmt.Errorf("%d well-known folders; one request takes %d", len(names), graph.MaxBatchRequests)}
	}
	resps, aerr := a.probeFolders(ctx, m.Address, names)
	if aerr != nil {
		return nil, nil, aerr
	}
	var found []domain.FolderInfo
	var unreadable []string
	// A throttled sub-request does not void the others: what was found
	// comes back with the throttling error, so the retry asks only for the
	// rest (each sub-request counts against the mailbox's budget).
	var throttled *domain.AccessError
	for i, r := range resps {
		name := names[i]
		if err := batchErr(r); err != nil {
			switch graph.Classify(err) {
			case graph.ClassAccessDenied:
				unreadable = append(unreadable, name)
			case graph.ClassNotFound, graph.ClassInvalid:
			case graph.ClassThrottled:
				if throttled == nil {
					throttled = classify(err, useFolder, name)
				}
			default:
				return nil, nil, classify(err, useFolder, name)
			}
			continue
		}
		switch name {
		case domain.FolderCalendar:
			found = append(found, calendarFolder)
		case domain.FolderContacts:
			found = append(found, contactsFolder)
		default:
			f, ok := wellKnownMailFolder(name, r.Body)
			if !ok {
				return nil, nil, &domain.AccessError{Kind: domain.AccessPermanent, Code: "MalformedResponse", Folder: name,
					Err: fmt.Errorf("the mail folder %s came back without an id", name)}
			}
			found = append(found, f)
		}
	}
	if a.ewsIDs && len(found) > 0 {
		lists, _, err := a.foldersToEWS(ctx, m.Address, false, [][]domain.FolderInfo{found}, nil)
		if err != nil {
			return nil, nil, err
		}
		found = lists[0]
	}
	if throttled != nil {
		return found, unreadable, throttled
	}
	return found, unreadable, nil
}

// probeFolders reads the well-known folders names in one $batch of
// folderProbe requests (DistinguishedFolders, and probeWellKnown beside
// a hierarchy from scratch); the answers are in the order of names.
func (a *Access) probeFolders(ctx context.Context, user string, names []string) ([]graph.BatchResponse, *domain.AccessError) {
	reqs := make([]graph.BatchRequest, len(names))
	for i, n := range names {
		reqs[i] = folderProbe(user, n)
	}
	resps, err := a.cl.Batch(ctx, user, reqs)
	if err != nil {
		return nil, classify(err, useMailbox, "")
	}
	return resps, nil
}

// wellKnownMailFolder is the mail folder a probe of the well-known name
// answered with; false when the answer names no folder.
func wellKnownMailFolder(name string, body []byte) (domain.FolderInfo, bool) {
	var f graph.MailFolder
	if json.Unmarshal(body, &f) != nil || f.ID == "" {
		return domain.FolderInfo{}, false
	}
	return domain.FolderInfo{ID: f.ID, ParentID: f.ParentFolderID, DisplayName: f.DisplayName, FolderClass: "IPF.Note", DistinguishedID: name}, true
}

// folderProbe is the cheapest read of a well-known folder.
func folderProbe(user, name string) graph.BatchRequest {
	switch name {
	case domain.FolderCalendar:
		return graph.BatchRequest{Method: "GET", URL: graph.ItemPath("users", user, "events") + "?" + encodeQuery("$top", "1", "$select", "id")}
	case domain.FolderContacts:
		// contactFolders delta, one entry a page: the cheap contacts read
		// every Graph (the simulator included) serves.
		return graph.BatchRequest{Method: "GET", URL: graph.ItemPath("users", user, "contactFolders", "delta"),
			Headers: map[string]string{"Prefer": "odata.maxpagesize=1"}}
	}
	return graph.BatchRequest{Method: "GET", URL: graph.ItemPath("users", user, "mailFolders", name) + "?" + encodeQuery("$select", "id,displayName,parentFolderId")}
}

// encodeQuery encodes name/value pairs as Graph reads them: '$' kept,
// spaces as %20.
func encodeQuery(kv ...string) string {
	esc := func(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }
	var sb strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			sb.WriteByte('&')
		}
		name := kv[i]
		if n, ok := strings.CutPrefix(name, "$"); ok {
			sb.WriteString("$" + esc(n))
		} else {
			sb.WriteString(esc(name))
		}
		sb.WriteString("=" + esc(kv[i+1]))
	}
	return sb.String()
}

// NewEWSIDAccess is NewAccess for a tenant whose feed carries EWS ids
// (domain.IDFormatEWS): every id it reports is translated (ewsids.go).
func NewEWSIDAccess(cl *graph.Client, o Options, folders []string) *Access {
	a := NewAccess(cl, o, folders)
	a.ewsIDs = true
	return a
}

// NewAccess returns a MailboxAccess over a ready client, for tools and
// tests that build their own (a static token, a test server); folders is
// the tenant's folder selection. Connector.Connect is the usual way.
func NewAccess(cl *graph.Client, o Options, folders []string) *Access {
	o.defaults()
	return &Access{cl: cl, opts: o, folders: folders, pages: map[string]map[string]map[string]domain.Item{}, folderIDs: map[string]*folderIDs{},
		throttled: map[string]throttledUntil{}}
}
