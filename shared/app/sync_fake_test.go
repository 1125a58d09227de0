package app_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// fakeExchange is a small, domain-level model of Exchange behind the
// domain.MailboxAccess port: folders with change logs, sync states as log
// positions, folder permissions, impersonation scope and fault injection.
// The integration tests in sync_sim_test.go use the real EWS client and
// simulator; this fake keeps the use-case tests fast and exact.
type fakeExchange struct {
	mu        sync.Mutex
	mailboxes map[string]*fakeMailbox
	// scope: mailboxes impersonation may reach; delegates: mailbox →
	// folder ids (nil map = full access) granted to the service account.
	scope     map[string]bool
	delegates map[string]map[string]bool
	calls     map[string]int // per operation
	throttled int
	password  string // the service account's password; default "right"
	// fault, when set, is asked before every call; a non-nil error is
	// returned instead of the answer.
	fault func(op, mailbox string) error
}

type fakeMailbox struct {
	seq     int
	epoch   int // bumped to invalidate sync states
	folders []*fakeFolder
	items   map[string]*fakeItem
	hier    []fakeLog // folder creations/deletions
}

type fakeFolder struct {
	id, parent, name, class, dist string
	deleted                       bool
	log                           []fakeLog
	created                       int
}

type fakeLog struct {
	seq  int
	id   string
	kind domain.ChangeKind
}

type fakeItem struct {
	id, folder string
	created    int // seq of the creation
	version    int
	subject    string
	deleted    bool
}

func newFakeExchange() *fakeExchange {
	return &fakeExchange{mailboxes: map[string]*fakeMailbox{}, scope: map[string]bool{}, delegates: map[string]map[string]bool{}, calls: map[string]int{}}
}

func (x *fakeExchange) addMailbox(addr string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	mb := &fakeMailbox{items: map[string]*fakeItem{}}
	x.mailboxes[addr] = mb
	x.scope[addr] = true
	for _, d := range []struct{ dist, class string }{
		{"inbox", "IPF.Note"}, {"sentitems", "IPF.Note"}, {"calendar", "IPF.Appointment"},
		{"contacts", "IPF.Contact"}, {"tasks", "IPF.Task"}, {"deleteditems", "IPF.Note"},
	} {
		mb.addFolder(addr, "", strings.ToUpper(d.dist[:1])+d.dist[1:], d.class, d.dist)
	}
}

func (mb *fakeMailbox) next() int { mb.seq++; return mb.seq }

func (mb *fakeMailbox) addFolder(addr, parent, name, class, dist string) string {
	s := mb.next()
	id := fmt.Sprintf("F-%s-%d", addr, len(mb.folders))
	mb.folders = append(mb.folders, &fakeFolder{id: id, parent: parent, name: name, class: class, dist: dist, created: s})
	mb.hier = append(mb.hier, fakeLog{seq: s, id: id, kind: domain.ChangeCreate})
	return id
}

func (mb *fakeMailbox) folder(idOrDist string) *fakeFolder {
	for _, f := range mb.folders {
		if !f.deleted && (f.id == idOrDist || f.dist == idOrDist) {
			return f
		}
	}
	return nil
}

func (x *fakeExchange) addFolder(addr, parent, name, class string) string {
	x.mu.Lock()
	defer x.mu.Unlock()
	mb := x.mailboxes[addr]
	return mb.addFolder(addr, mb.folder(parent).id, name, class, "")
}

func (x *fakeExchange) addItems(addr, folder string, n int) []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	mb := x.mailboxes[addr]
	f := mb.folder(folder)
	ids := make([]string, 0, n)
	for range n {
		id := fmt.Sprintf("I-%s-%d", addr, len(mb.items))
		s := mb.next()
		mb.items[id] = &fakeItem{id: id, folder: f.id, created: s, version: 1, subject: "subject " + id}
		f.log = append(f.log, fakeLog{seq: s, id: id, kind: domain.ChangeCreate})
		ids = append(ids, id)
	}
	return ids
}

func (x *fakeExchange) updateItem(addr, id string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	mb := x.mailboxes[addr]
	it := mb.items[id]
	it.version++
	it.subject = fmt.Sprintf("subject %s v%d", id, it.version)
	f := mb.folder(it.folder)
	f.log = append(f.log, fakeLog{seq: mb.next(), id: id, kind: domain.ChangeUpdate})
}

func (x *fakeExchange) deleteItem(addr, id string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	mb := x.mailboxes[addr]
	it := mb.items[id]
	it.deleted = true
	f := mb.folder(it.folder)
	f.log = append(f.log, fakeLog{seq: mb.next(), id: id, kind: domain.ChangeDelete})
}

func (x *fakeExchange) invalidate(addr string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.mailboxes[addr].epoch++
}

// grantFolders gives delegate access to the named folders only; nil = full.
func (x *fakeExchange) grantFolders(addr string, folders ...string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if folders == nil {
		x.delegates[addr] = nil
		return
	}
	g := map[string]bool{}
	for _, f := range folders {
		g[x.mailboxes[addr].folder(f).id] = true
	}
	x.delegates[addr] = g
}

func (x *fakeExchange) callCount() int {
	x.mu.Lock()
	defer x.mu.Unlock()
	n := 0
	for _, c := range x.calls {
		n += c
	}
	return n
}

// begin counts a call and applies faults and the mailbox-level checks.
func (x *fakeExchange) begin(op string, m domain.MailboxRef) (*fakeMailbox, error) {
	x.calls[op]++
	if x.fault != nil {
		if err := x.fault(op, m.Address); err != nil {
			if ae, ok := err.(*domain.AccessError); ok && ae.Kind == domain.AccessThrottled {
				x.throttled++
			}
			return nil, err
		}
	}
	mb, ok := x.mailboxes[m.Address]
	if !ok {
		return nil, &domain.AccessError{Kind: domain.AccessMailboxNotFound, Code: "ErrorNonExistentMailbox"}
	}
	if m.Mode == domain.AccessImpersonation && !x.scope[m.Address] {
		return nil, &domain.AccessError{Kind: domain.AccessOutOfScope, Code: "ErrorImpersonateUserDenied"}
	}
	return mb, nil
}

func (x *fakeExchange) canRead(m domain.MailboxRef, folderID string) bool {
	if m.Mode == domain.AccessImpersonation {
		return true
	}
	g, ok := x.delegates[m.Address]
	if !ok {
		return false
	}
	return g == nil || g[folderID]
}

func (x *fakeExchange) anyGrant(m domain.MailboxRef) bool {
	if m.Mode == domain.AccessImpersonation {
		return true
	}
	_, ok := x.delegates[m.Address]
	return ok
}

func encodeState(epoch, seq int) string { return fmt.Sprintf("%d:%d", epoch, seq) }

func decodeState(s string, epoch int) (int, bool) {
	if s == "" {
		return 0, true
	}
	e, q, ok := strings.Cut(s, ":")
	ev, err1 := strconv.Atoi(e)
	qv, err2 := strconv.Atoi(q)
	if !ok || err1 != nil || err2 != nil || ev != epoch {
		return 0, false
	}
	return qv, true
}

var errInvalidState = &domain.AccessError{Kind: domain.AccessSyncStateInvalid, Code: "ErrorInvalidSyncStateData"}

func (x *fakeExchange) SyncHierarchy(_ context.Context, m domain.MailboxRef, state string) (domain.HierarchyPage, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	mb, err := x.begin("SyncFolderHierarchy", m)
	if err != nil {
		return domain.HierarchyPage{}, err
	}
	if !x.anyGrant(m) {
		return domain.HierarchyPage{}, &domain.AccessError{Kind: domain.AccessDenied, Code: "ErrorAccessDenied"}
	}
	from, ok := decodeState(state, mb.epoch)
	if !ok {
		return domain.HierarchyPage{}, errInvalidState
	}
	page := domain.HierarchyPage{State: encodeState(mb.epoch, mb.seq), Done: true}
	for _, f := range mb.folders {
		switch {
		case f.deleted && f.created <= from:
			page.Deleted = append(page.Deleted, f.id)
		case !f.deleted && f.created > from:
			// Like EWS: a hierarchy sync does not say which folder is
			// the inbox.
			page.Created = append(page.Created, domain.FolderInfo{ID: f.id, ParentID: f.parent, DisplayName: f.name, FolderClass: f.class})
		}
	}
	return page, nil
}

func (x *fakeExchange) DistinguishedFolders(_ context.Context, m domain.MailboxRef, names []string) ([]domain.FolderInfo, []string, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	mb, err := x.begin("GetFolder", m)
	if err != nil {
		return nil, nil, err
	}
	var found []domain.FolderInfo
	var unreadable []string
	for _, n := range names {
		f := mb.folder(n)
		switch {
		case f == nil:
		case !x.canRead(m, f.id):
			unreadable = append(unreadable, n)
		default:
			found = append(found, domain.FolderInfo{ID: f.id, ParentID: f.parent, DisplayName: f.name, FolderClass: f.class, DistinguishedID: f.dist})
		}
	}
	return found, unreadable, nil
}

func (x *fakeExchange) SyncItems(_ context.Context, m domain.MailboxRef, folderID, state string, max int) (domain.ItemsPage, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	mb, err := x.begin("SyncFolderItems", m)
	if err != nil {
		return domain.ItemsPage{}, err
	}
	f := mb.folder(folderID)
	if f == nil {
		return domain.ItemsPage{}, &domain.AccessError{Kind: domain.AccessPermanent, Code: "ErrorFolderNotFound"}
	}
	if !x.canRead(m, f.id) {
		return domain.ItemsPage{}, &domain.AccessError{Kind: domain.AccessDenied, Code: "ErrorAccessDenied", Folder: f.name}
	}
	from, ok := decodeState(state, mb.epoch)
	if !ok {
		return domain.ItemsPage{}, errInvalidState
	}
	// Coalesce like Exchange: one change per item, creates of items that
	// are gone are dropped, changes to items created in range are creates.
	page := domain.ItemsPage{Done: true}
	seen := map[string]bool{}
	last := from
	for _, e := range f.log {
		if e.seq <= from || seen[e.id] {
			continue
		}
		if len(page.Changes) == max {
			page.Done = false
			break
		}
		seen[e.id] = true
		last = e.seq
		it := mb.items[e.id]
		createdBefore := it.created <= from
		switch {
		case it.deleted && createdBefore:
			page.Changes = append(page.Changes, domain.ItemChangeRef{Kind: domain.ChangeDelete, ItemID: e.id})
		case it.deleted:
		case createdBefore:
			page.Changes = append(page.Changes, domain.ItemChangeRef{Kind: domain.ChangeUpdate, ItemID: e.id, ChangeKey: ck(it)})
		default:
			page.Changes = append(page.Changes, domain.ItemChangeRef{Kind: domain.ChangeCreate, ItemID: e.id, ChangeKey: ck(it)})
		}
	}
	if page.Done {
		last = mb.seq
	}
	page.State = encodeState(mb.epoch, last)
	return page, nil
}

func ck(it *fakeItem) string { return "CK" + strconv.Itoa(it.version) }

func (x *fakeExchange) GetItems(_ context.Context, m domain.MailboxRef, kind domain.ItemKind, ids []string) ([]domain.Item, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	mb, err := x.begin("GetItem", m)
	if err != nil {
		return nil, err
	}
	var out []domain.Item
	for _, id := range ids {
		it, ok := mb.items[id]
		if !ok || it.deleted {
			continue
		}
		if !x.canRead(m, it.folder) {
			return nil, &domain.AccessError{Kind: domain.AccessDenied, Code: "ErrorAccessDenied"}
		}
		out = append(out, domain.Item{ID: id, ChangeKey: ck(it), Kind: kind, Subject: it.subject})
	}
	return out, nil
}

// Connect implements domain.Connector.
func (x *fakeExchange) Connect(_ context.Context, _ domain.Tenant, c domain.Credential) (domain.MailboxAccess, error) {
	want := x.password
	if want == "" {
		want = "right"
	}
	if c.Password != want {
		return x.denyAll(), nil
	}
	return x, nil
}

// denyAll answers every call with an auth failure, as Exchange answers a
// wrong password (HTTP 401).
func (x *fakeExchange) denyAll() domain.MailboxAccess {
	return authFailer{x}
}

type authFailer struct{ x *fakeExchange }

var errAuth = &domain.AccessError{Kind: domain.AccessAuth, Code: "HTTP 401"}

func (a authFailer) SyncHierarchy(context.Context, domain.MailboxRef, string) (domain.HierarchyPage, error) {
	a.x.count("SyncFolderHierarchy")
	return domain.HierarchyPage{}, errAuth
}
func (a authFailer) SyncItems(context.Context, domain.MailboxRef, string, string, int) (domain.ItemsPage, error) {
	a.x.count("SyncFolderItems")
	return domain.ItemsPage{}, errAuth
}
func (a authFailer) GetItems(context.Context, domain.MailboxRef, domain.ItemKind, []string) ([]domain.Item, error) {
	a.x.count("GetItem")
	return nil, errAuth
}
func (a authFailer) DistinguishedFolders(context.Context, domain.MailboxRef, []string) ([]domain.FolderInfo, []string, error) {
	a.x.count("GetFolder")
	return nil, nil, errAuth
}

func (x *fakeExchange) count(op string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.calls[op]++
}

// throttleRandomly answers a fraction of calls ErrorServerBusy, from a
// seeded source so the storm is the same on every run.
func throttleRandomly(rate float64, seed uint64) func(op, mailbox string) error {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	return func(op, mailbox string) error {
		if r.Float64() < rate {
			return &domain.AccessError{Kind: domain.AccessThrottled, Code: "ErrorServerBusy", RetryAfter: 2 * time.Second}
		}
		return nil
	}
}

// liveItems lists a mailbox's items by folder, for expectations.
func (x *fakeExchange) liveItems(addr string, folders ...string) []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	mb := x.mailboxes[addr]
	var ids []string
	for id, it := range mb.items {
		if it.deleted {
			continue
		}
		for _, f := range folders {
			if mb.folder(f).id == it.folder {
				ids = append(ids, id)
			}
		}
	}
	slices.Sort(ids)
	return ids
}
