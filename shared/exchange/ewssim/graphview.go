package ewssim

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// This file is the view of the mailbox store that the Microsoft Graph
// simulator (shared/exchange/graphsim) serves, the way Exchange Online
// serves EWS and Graph over one store: the same mailboxes, folders, items
// and change logs, plus Graph's immutable ids and token audiences.
//
// Ids. A Graph "restId" is the EWS id in the URL-safe base64 alphabet. A
// Graph "restImmutableEntryId" (what graphsim always serves) names an
// item's first incarnation: EWS moves give an item a new EWS id (as
// Exchange does without immutable ids), the immutable id stays. Folders
// never move, so a folder's immutable id is its restId.

// Token audiences.
const (
	// GraphScope is the scope app-only Graph tokens are requested for.
	GraphScope = "https://graph.microsoft.com/.default"
	// GraphAudience is the audience of tokens issued for GraphScope.
	GraphAudience = "https://graph.microsoft.com"
	// EWSAudience is the audience of tokens issued for DefaultScope (or no
	// scope at all).
	EWSAudience = "https://outlook.office365.com"
)

// graphAppID is Microsoft Graph's well-known application id, which MSAL
// accepts as a resource in place of its URL.
const graphAppID = "00000003-0000-0000-c000-000000000000"

// audienceOf is the audience a token for these scopes is issued for.
func audienceOf(scopes []string) string {
	for _, sc := range scopes {
		res, ok := strings.CutSuffix(sc, "/.default")
		if !ok {
			continue
		}
		if strings.EqualFold(res, GraphAudience) || strings.EqualFold(res, graphAppID) {
			return GraphAudience
		}
		return strings.TrimSuffix(res, "/")
	}
	return EWSAudience
}

// AppToken is what the simulator knows about an issued access token.
type AppToken struct {
	ClientID string
	Tenant   string
	Audience string
	Expires  time.Time
}

// LookupToken returns the app and audience of a live access token issued
// by the simulator's token endpoint.
func (s *Sim) LookupToken(token string) (AppToken, bool) {
	ti, ok := s.tokens.lookup(token, s.clock.Now())
	if !ok {
		return AppToken{}, false
	}
	return AppToken{ClientID: ti.acct.ClientID, Tenant: ti.acct.Tenant, Audience: ti.audience, Expires: ti.expires}, true
}

// AppScoped reports whether the app (client id or username) may act on
// the mailbox as an application: its impersonation scope, which stands in
// for an RBAC for Applications management scope.
func (s *Sim) AppScoped(app, mailbox string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a, err := s.accountLocked(app)
	if err != nil {
		return false
	}
	return a.ImpersonateAll || a.scope[normAddr(mailbox)]
}

// AuthFailed counts an authentication failure in Stats (for front ends
// that authenticate with LookupToken).
func (s *Sim) AuthFailed() { s.stats.authFailure() }

// MailboxInfo describes a mailbox as a directory user.
type MailboxInfo struct {
	Address     string
	DisplayName string
	// UserID is a stable GUID-shaped object id, derived from the
	// mailbox's position.
	UserID string
}

func userID(idx uint32) string {
	return fmt.Sprintf("6d616962-%04x-4000-8000-%012x", (idx>>16)&0xffff, uint64(idx)+0x5a1700000000)
}

func parseUserID(id string) (uint32, bool) {
	var hi uint32
	var lo uint64
	if len(id) != 36 {
		return 0, false
	}
	if _, err := fmt.Sscanf(strings.ToLower(id), "6d616962-%04x-4000-8000-%012x", &hi, &lo); err != nil || lo < 0x5a1700000000 {
		return 0, false
	}
	idx := lo - 0x5a1700000000
	if idx > 0xffffffff || uint32(idx>>16)&0xffff != hi {
		return 0, false
	}
	return uint32(idx), true
}

// Mailbox finds a mailbox by SMTP address or UserID.
func (s *Sim) Mailbox(idOrAddress string) (MailboxInfo, bool) {
	mb, ok := s.mailbox(idOrAddress)
	if !ok {
		idx, isID := parseUserID(idOrAddress)
		if !isID {
			return MailboxInfo{}, false
		}
		if mb, ok = s.mailboxByIdx(idx); !ok {
			return MailboxInfo{}, false
		}
	}
	return MailboxInfo{Address: mb.addr, DisplayName: mb.name, UserID: userID(mb.idx)}, true
}

// --- ids ---

var (
	urlSafe = strings.NewReplacer("+", "-", "/", "_")
	stdB64  = strings.NewReplacer("-", "+", "_", "/")
)

// RestID is an EWS id in the URL-safe alphabet Graph uses.
func RestID(ewsID string) string { return urlSafe.Replace(ewsID) }

// EWSFromRestID is the EWS id of a Graph restId.
func EWSFromRestID(restID string) string { return stdB64.Replace(restID) }

const tagImmutable = 'M'

func immutableID(mbx, origin uint32) string { return RestID(encodeID(tagImmutable, mbx, origin)) }

// currentLocked is the index of the live incarnation of origin.
func (mb *mailbox) currentLocked(origin uint32) (uint32, bool) {
	idx := origin
	if m, ok := mb.moved[origin]; ok {
		idx = m
	}
	if _, ok := mb.item(idx); !ok {
		return 0, false
	}
	return idx, true
}

// ImmutableID returns the Graph immutable id of an item given by its EWS
// id (or restId).
func (s *Sim) ImmutableID(ewsID string) (string, error) {
	m, idx, ok := decodeID(tagItem, EWSFromRestID(ewsID))
	if !ok {
		return "", fmt.Errorf("%w: malformed item id", ErrNotFound)
	}
	mb, ok := s.mailboxByIdx(m)
	if !ok {
		return "", fmt.Errorf("%w: item %s", ErrNotFound, ewsID)
	}
	mb.mu.RLock()
	defer mb.mu.RUnlock()
	if int(idx) >= len(mb.items) {
		return "", fmt.Errorf("%w: item %s", ErrNotFound, ewsID)
	}
	return immutableID(m, mb.items[idx].origin), nil
}

// EWSIDOf returns the current EWS id of the item with a Graph immutable id.
func (s *Sim) EWSIDOf(immutable string) (string, error) {
	mb, idx, err := s.resolveImmutable(immutable)
	if err != nil {
		return "", err
	}
	mb.mu.RUnlock()
	return itemID(mb.idx, idx), nil
}

// resolveImmutable finds the live item of an immutable id and returns
// with the mailbox read-locked.
func (s *Sim) resolveImmutable(immutable string) (*mailbox, uint32, error) {
	m, origin, ok := decodeID(tagImmutable, EWSFromRestID(immutable))
	if !ok {
		return nil, 0, fmt.Errorf("%w: malformed immutable id", ErrNotFound)
	}
	mb, ok := s.mailboxByIdx(m)
	if !ok {
		return nil, 0, fmt.Errorf("%w: item %s", ErrNotFound, immutable)
	}
	mb.mu.RLock()
	idx, ok := mb.currentLocked(origin)
	if !ok {
		mb.mu.RUnlock()
		return nil, 0, fmt.Errorf("%w: item %s", ErrNotFound, immutable)
	}
	return mb, idx, nil
}

// --- items ---

// ItemView is an item as the Graph view shows it.
type ItemView struct {
	Item
	// ID and ChangeKey are the EWS id and change key.
	ID        string
	ChangeKey string
	// ImmutableID is the Graph id, stable across moves.
	ImmutableID string
	// FolderID is the EWS id of the item's folder.
	FolderID string
	Mailbox  string
	Created  time.Time
	Modified time.Time
}

func (mb *mailbox) viewLocked(idx uint32) ItemView {
	in := mb.items[idx]
	return ItemView{
		Item:        in.content().clone(),
		ID:          itemID(mb.idx, idx),
		ChangeKey:   changeKey(idx, in.version),
		ImmutableID: immutableID(mb.idx, in.origin),
		FolderID:    folderID(mb.idx, in.folder),
		Mailbox:     mb.addr,
		Created:     in.createdAt,
		Modified:    in.modified,
	}
}

// ItemByImmutableID returns the live item with a Graph immutable id.
func (s *Sim) ItemByImmutableID(immutable string) (ItemView, error) {
	mb, idx, err := s.resolveImmutable(immutable)
	if err != nil {
		return ItemView{}, err
	}
	defer mb.mu.RUnlock()
	return mb.viewLocked(idx), nil
}

// Items returns the items of a folder (distinguished name or EWS id),
// oldest first.
func (s *Sim) Items(address, where string) ([]ItemView, error) {
	var out []ItemView
	err := s.inFolder(address, where, false, func(mb *mailbox, f *folder) error {
		out = make([]ItemView, 0, len(f.members))
		for _, idx := range f.members {
			out = append(out, mb.viewLocked(idx))
		}
		return nil
	})
	return out, err
}

// MoveItem moves an item to another folder of its mailbox. Like Exchange,
// the item gets a new EWS id (returned); its immutable id stays. Sync
// reports a delete in the old folder and a create in the new one.
func (s *Sim) MoveItem(id, where string) (ItemRef, error) {
	mb, idx, err := s.lockItem(id)
	if err != nil {
		return ItemRef{}, err
	}
	defer mb.mu.Unlock()
	f, err := mb.resolveFolderLocked(where)
	if err != nil {
		return ItemRef{}, err
	}
	if f.idx == mb.items[idx].folder {
		return ItemRef{ID: id, ChangeKey: changeKey(idx, mb.items[idx].version)}, nil
	}
	in := mb.moveLocked(idx, f, s.clock.Now())
	n := uint32(len(mb.items) - 1)
	return ItemRef{ID: itemID(mb.idx, n), ChangeKey: changeKey(n, in.version)}, nil
}

// moveLocked deletes item idx and recreates its content in f, keeping
// its origin and creation time.
func (mb *mailbox) moveLocked(idx uint32, f *folder, now time.Time) *item {
	old := mb.items[idx]
	content, origin, createdAt := old.content(), old.origin, old.createdAt
	mb.deleteItemLocked(idx)
	in := mb.addItemLocked(f, content, now)
	in.origin, in.createdAt = origin, createdAt
	if mb.moved == nil {
		mb.moved = make(map[uint32]uint32)
	}
	mb.moved[origin] = uint32(len(mb.items) - 1)
	return in
}

// --- folders ---

// FolderView is a folder as the Graph view shows it.
type FolderView struct {
	// ID and ParentID are EWS ids (ParentID "" for the root).
	ID, ParentID string
	Name         string
	Class        string // IPF.Note, IPF.Appointment, IPF.Contact, ...
	// Distinguished is the well-known name ("inbox"), "" for user folders.
	Distinguished string
	Total, Unread int
	Children      int
}

func (mb *mailbox) folderViewLocked(f *folder) FolderView {
	v := FolderView{ID: folderID(mb.idx, f.idx), Name: f.name, Class: f.class, Distinguished: f.dist, Total: len(f.members)}
	if f.hasParent {
		v.ParentID = folderID(mb.idx, f.parent)
	}
	for _, idx := range f.members {
		if in := mb.items[idx]; in.Kind == KindMessage && !in.IsRead {
			v.Unread++
		}
	}
	for _, c := range mb.folders {
		if !c.deleted && c.hasParent && c.parent == f.idx {
			v.Children++
		}
	}
	return v
}

// Folder describes a live folder (distinguished name or EWS id).
func (s *Sim) Folder(address, where string) (FolderView, error) {
	var v FolderView
	err := s.inFolder(address, where, false, func(mb *mailbox, f *folder) error {
		v = mb.folderViewLocked(f)
		return nil
	})
	return v, err
}

// Folders lists the live folders of a mailbox in creation order.
func (s *Sim) Folders(mailbox string) ([]FolderView, error) {
	mb, ok := s.mailbox(mailbox)
	if !ok {
		return nil, fmt.Errorf("%w: mailbox %s", ErrNotFound, mailbox)
	}
	mb.mu.RLock()
	defer mb.mu.RUnlock()
	var out []FolderView
	for _, f := range mb.folders {
		if !f.deleted {
			out = append(out, mb.folderViewLocked(f))
		}
	}
	return out, nil
}

// --- change logs ---

// ErrSyncStateInvalid is returned for a cursor that was invalidated
// (InvalidateSyncStates) or does not belong to the folder.
var ErrSyncStateInvalid = errors.New("ewssim: sync state is invalid")

// Cursor is a position in a folder's (or the hierarchy's) change log, the
// same position an EWS SyncState holds: Seq is how far the log was read,
// Base where the client last had the whole folder, Epoch the folder's
// invalidation epoch. The zero Cursor starts a full sync.
type Cursor struct {
	Folder  string // EWS folder id; "" for the hierarchy
	Seq     uint32
	Base    uint32
	Epoch   uint32
	Started bool
}

// MarshalBinary encodes the position (24 bytes) for opaque tokens.
func (c Cursor) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, 32)
	m, f, _ := decodeID(tagFolder, c.Folder)
	b = binary.BigEndian.AppendUint32(b, m)
	b = binary.BigEndian.AppendUint32(b, f)
	b = binary.BigEndian.AppendUint32(b, c.Seq)
	b = binary.BigEndian.AppendUint32(b, c.Base)
	b = binary.BigEndian.AppendUint32(b, c.Epoch)
	flags := uint32(0)
	if c.Started {
		flags |= 1
	}
	if c.Folder != "" {
		flags |= 2
	}
	return binary.BigEndian.AppendUint32(b, flags), nil
}

// UnmarshalBinary decodes MarshalBinary's encoding.
func (c *Cursor) UnmarshalBinary(b []byte) error {
	if len(b) != 24 {
		return errors.New("ewssim: cursor must be 24 bytes")
	}
	u := func(i int) uint32 { return binary.BigEndian.Uint32(b[4*i:]) }
	*c = Cursor{Seq: u(2), Base: u(3), Epoch: u(4), Started: u(5)&1 != 0}
	if u(5)&2 != 0 {
		c.Folder = folderID(u(0), u(1))
	}
	return nil
}

// ItemChange is one entry of an item delta: the item's current state, or
// for a removed item only its ids (ImmutableID and the EWS ID it had).
type ItemChange struct {
	Removed bool
	ItemView
}

// ItemDelta is one page of item changes.
type ItemDelta struct {
	Changes []ItemChange
	Next    Cursor
	// Done means the log was read to its end: Next is a checkpoint.
	Done bool
}

// ItemChanges reads up to max changes of a folder after cur, with the
// semantics of SyncFolderItems: each item once with its latest state, an
// item created and removed since the cursor not at all, a removal (delete
// or move out) only for items the client may hold.
func (s *Sim) ItemChanges(address, where string, cur Cursor, max int) (ItemDelta, error) {
	var d ItemDelta
	err := s.inFolder(address, where, false, func(mb *mailbox, f *folder) error {
		fid := folderID(mb.idx, f.idx)
		from, base := uint32(0), uint32(0)
		if cur.Started {
			if cur.Folder != fid || cur.Epoch != f.epoch || cur.Seq > mb.seq || cur.Base > cur.Seq {
				return ErrSyncStateInvalid
			}
			from, base = cur.Seq, cur.Base
		}
		page, next, last := syncPage(f.log, from, max, func(idx uint32) uint32 { return mb.items[idx].last })
		d.Next = Cursor{Folder: fid, Seq: next, Base: base, Epoch: f.epoch, Started: true}
		if last {
			d.Next.Base = next
		}
		d.Done = last
		for _, idx := range page {
			in := mb.items[idx]
			if in.deleted || in.folder != f.idx {
				if in.created <= from {
					d.Changes = append(d.Changes, ItemChange{Removed: true, ItemView: ItemView{
						ID: itemID(mb.idx, idx), ImmutableID: immutableID(mb.idx, in.origin), FolderID: fid, Mailbox: mb.addr,
					}})
				}
				continue
			}
			d.Changes = append(d.Changes, ItemChange{ItemView: mb.viewLocked(idx)})
		}
		return nil
	})
	return d, err
}

// FolderChange is one entry of a hierarchy delta.
type FolderChange struct {
	Removed bool
	FolderView
}

// FolderDelta is one page of hierarchy changes.
type FolderDelta struct {
	Changes []FolderChange
	Next    Cursor
	Done    bool
}

// HierarchyChanges reads up to max changes of the mailbox's folder tree
// (every folder under the message folder root) after cur.
func (s *Sim) HierarchyChanges(mailbox string, cur Cursor, max int) (FolderDelta, error) {
	mb, ok := s.mailbox(mailbox)
	if !ok {
		return FolderDelta{}, fmt.Errorf("%w: mailbox %s", ErrNotFound, mailbox)
	}
	mb.mu.RLock()
	defer mb.mu.RUnlock()
	from, base := uint32(0), uint32(0)
	if cur.Started {
		if cur.Folder != "" || cur.Epoch != mb.epoch || cur.Seq > mb.seq || cur.Base > cur.Seq {
			return FolderDelta{}, ErrSyncStateInvalid
		}
		from, base = cur.Seq, cur.Base
	}
	top := distIndex["msgfolderroot"]
	// Folders outside the IPM subtree (Recoverable Items, Finder) take no
	// place on a page: Graph never reports them.
	page, next, last := syncPage(mb.hier, from, max, func(idx uint32) uint32 {
		if f := mb.folders[idx]; mb.under(f, top) {
			return f.last
		}
		return 0
	})
	d := FolderDelta{Next: Cursor{Seq: next, Base: base, Epoch: mb.epoch, Started: true}, Done: last}
	if last {
		d.Next.Base = next
	}
	for _, idx := range page {
		f := mb.folders[idx]
		if !mb.under(f, top) {
			continue
		}
		if f.deleted {
			if f.created <= from {
				d.Changes = append(d.Changes, FolderChange{Removed: true, FolderView: FolderView{ID: folderID(mb.idx, f.idx), Class: f.class}})
			}
			continue
		}
		d.Changes = append(d.Changes, FolderChange{FolderView: mb.folderViewLocked(f)})
	}
	return d, nil
}

// StartWith serves h on a free loopback port like Start (TLS, NTLM
// connection tracking), for front ends that add routes to Handler, such
// as graphsim's /v1.0/.
func (s *Sim) StartWith(useTLS bool, h http.Handler) (*Server, error) {
	return s.serve("127.0.0.1:0", useTLS, h)
}

// ServeWith is StartWith on addr, for a front end that must keep its
// address (a demo whose tenants' saved links and authority name it).
func (s *Sim) ServeWith(addr string, useTLS bool, h http.Handler) (*Server, error) {
	return s.serve(addr, useTLS, h)
}
