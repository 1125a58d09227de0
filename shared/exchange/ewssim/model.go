package ewssim

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"sync"
	"time"
)

// ItemKind is the kind of an item in the simulator.
type ItemKind uint8

// Item kinds, each with its Exchange item class.
const (
	KindMessage  ItemKind = iota + 1 // IPM.Note
	KindCalendar                     // IPM.Appointment
	KindContact                      // IPM.Contact
)

// Class is the Exchange item class of k.
func (k ItemKind) Class() string {
	switch k {
	case KindCalendar:
		return "IPM.Appointment"
	case KindContact:
		return "IPM.Contact"
	}
	return "IPM.Note"
}

// Address is a named e-mail address.
type Address struct {
	Name  string
	Email string
}

// PostalAddress is one of a contact's postal addresses; Kind is
// Business, Home or Other.
type PostalAddress struct {
	Kind, Street, City, State, PostalCode, Country string
}

// ExtendedProperty is a MAPI named or tagged property on an item. An item
// matches a requested property when SetID (case-insensitive) or
// DistinguishedSet, Name and Tag are equal.
type ExtendedProperty struct {
	DistinguishedSet string // e.g. PublicStrings
	SetID            string // property set GUID
	Name             string
	Tag              string // e.g. 0x1234, for tagged properties
	Type             string // MAPI type, e.g. String
	Value            string
}

func (p ExtendedProperty) sameKey(q ExtendedProperty) bool {
	return p.DistinguishedSet == q.DistinguishedSet && strings.EqualFold(p.SetID, q.SetID) &&
		p.Name == q.Name && strings.EqualFold(p.Tag, q.Tag)
}

// Item is the content of a message, calendar item or contact. Only the
// fields of its Kind are used.
type Item struct {
	Kind ItemKind
	// The flags of all kinds sit together after Kind so they share one
	// word (each alone would take a word of padding, in every item the
	// simulator holds). HasAttachments is stored as given; AddAttachment
	// and CreateAttachment set it for a non-inline attachment, as
	// Exchange.
	IsRead, IsDraft, HasAttachments bool // messages
	IsRecurring, IsAllDay           bool // calendar items

	Subject string
	Body    string

	// messages
	From     Address
	To       []Address
	Received time.Time
	Bcc      []Address // on what the mailbox sent
	ReplyTo  []Address
	// InternetMessageID and ConversationID are made when the message is
	// added without them (see messageIDs); a move keeps them, as in
	// Exchange.
	InternetMessageID string
	ConversationID    string
	Importance        string // Low, Normal (the default) or High
	Categories        []string
	FlagStatus        string // NotFlagged (the default), Flagged or Complete
	// Sensitivity is Normal (the default), Personal, Private or
	// Confidential.
	Sensitivity string
	// InReplyTo and References are the In-Reply-To and References
	// headers (message ids, References separated by spaces). The
	// conversation topic is not stored: it is Topic(Subject), as Exchange
	// derives it.
	InReplyTo  string
	References string

	// calendar items
	Start     time.Time
	End       time.Time
	TimeZone  string // Windows time zone name, e.g. "Pacific Standard Time"
	Location  string
	Organizer Address
	Attendees []Address
	// FreeBusy is the LegacyFreeBusyStatus: Free, Tentative, Busy (the
	// default, also for ""), OOF, WorkingElsewhere or NoData. Graph's
	// showAs is the same property. A series' occurrences and exceptions
	// show their master's.
	FreeBusy string
	// Recurrence makes the item a series' RecurringMaster (recurrence.go);
	// Exceptions are its modified occurrences and DeletedOccurrences the
	// instance indexes of its deleted ones.
	Recurrence         *Recurrence
	Exceptions         []Exception
	DeletedOccurrences []int

	// contacts
	DisplayName string
	GivenName   string
	Surname     string
	Company     string
	Emails      []string // up to three
	Phones      []string // business, mobile, home
	JobTitle    string
	Department  string
	Office      string
	Addresses   []PostalAddress // at most one of each kind
	Birthday    time.Time
	// A contact's notes are its Body.

	Extended []ExtendedProperty

	// Attachments are a message's attachments, content kept (see
	// attachments.go). MIME is the message's MIME as a client gave it
	// (CreateItem with MimeContent); empty: made from the fields.
	Attachments []Attachment
	MIME        []byte
}

// clone returns a copy of it that shares none of its slices.
func (it Item) clone() Item {
	it.To = slices.Clone(it.To)
	it.Bcc = slices.Clone(it.Bcc)
	it.ReplyTo = slices.Clone(it.ReplyTo)
	it.Categories = slices.Clone(it.Categories)
	it.Attendees = slices.Clone(it.Attendees)
	it.Emails = slices.Clone(it.Emails)
	it.Phones = slices.Clone(it.Phones)
	it.Addresses = slices.Clone(it.Addresses)
	it.Extended = slices.Clone(it.Extended)
	it.Attachments = slices.Clone(it.Attachments)
	it.Exceptions = slices.Clone(it.Exceptions)
	it.DeletedOccurrences = slices.Clone(it.DeletedOccurrences)
	if it.Recurrence != nil {
		r := *it.Recurrence
		r.DaysOfWeek = slices.Clone(r.DaysOfWeek)
		it.Recurrence = &r
	}
	return it
}

// ItemRef identifies one version of an item.
type ItemRef struct {
	ID        string
	ChangeKey string
}

// logEntry is one change in a folder (or in the hierarchy): an item (or
// folder) index and the mailbox sequence number of the change. Sync states
// are positions in these logs. Only an item's latest entry counts; earlier
// ones are superseded (see syncPage).
type logEntry struct {
	seq uint32
	idx uint32
}

// Every mailbox has 21 folders, most of them empty, so a folder is kept
// small (96 bytes): its fields packed, and a distinguished folder's name,
// class and id shared with every mailbox's (distMeta).
type folder struct {
	idx       uint32
	parent    uint32
	version   uint32
	created   uint32
	last      uint32 // seq of the latest hierarchy change
	epoch     uint32 // bumped to invalidate the folder's sync states
	deleted   bool
	hasParent bool
	*folderMeta
	members []uint32
	log     []logEntry
}

// folderMeta is what names a folder. It is never changed in place (a
// distinguished folder's is shared): a rename gives the folder a new one.
type folderMeta struct {
	name  string
	class string // IPF.Note, IPF.Appointment, ...
	dist  string // distinguished id, "" for user folders
}

// mailbox holds one mailbox's folders and items. Its mutex guards all of
// them; the Sim's mutex only guards the mailbox table.
type mailbox struct {
	idx     uint32
	addr    string // lower-cased
	name    string
	mu      sync.RWMutex
	seq     uint32
	epoch   uint32 // hierarchy sync state epoch
	folders []*folder
	items   []*item
	hier    []logEntry
	// moved maps an origin to the item's current index, for moved items.
	moved map[uint32]uint32
	hours *WorkingHours // nil: DefaultWorkingHours (working_hours.go)
}

// distinguished folders every mailbox has: id, parent, class, display name.
var distinguished = []struct{ id, parent, class, name string }{
	{"root", "", "", "Top of Information Store"},
	{"msgfolderroot", "root", "IPF.Note", "Top of Information Store"},
	{"inbox", "msgfolderroot", "IPF.Note", "Inbox"},
	{"drafts", "msgfolderroot", "IPF.Note", "Drafts"},
	{"sentitems", "msgfolderroot", "IPF.Note", "Sent Items"},
	{"deleteditems", "msgfolderroot", "IPF.Note", "Deleted Items"},
	{"outbox", "msgfolderroot", "IPF.Note", "Outbox"},
	{"junkemail", "msgfolderroot", "IPF.Note", "Junk Email"},
	{"calendar", "msgfolderroot", "IPF.Appointment", "Calendar"},
	{"contacts", "msgfolderroot", "IPF.Contact", "Contacts"},
	{"tasks", "msgfolderroot", "IPF.Task", "Tasks"},
	{"notes", "msgfolderroot", "IPF.StickyNote", "Notes"},
	{"journal", "msgfolderroot", "IPF.Journal", "Journal"},
	// Outside the IPM subtree: not in SyncFolderHierarchy, as in Exchange.
	{"searchfolders", "root", "", "Finder"},
	{"voicemail", "searchfolders", "IPF.Note.Microsoft.Voicemail", "Voice Mail"},
	{"todosearch", "searchfolders", "IPF.Task", "To-Do Search"},
	{"recoverableitemsroot", "root", "", "Recoverable Items"},
	{"recoverableitemsdeletions", "recoverableitemsroot", "", "Deletions"},
	{"recoverableitemsversions", "recoverableitemsroot", "", "Versions"},
	{"recoverableitemspurges", "recoverableitemsroot", "", "Purges"},
	{"recoverableitemsdiscoveryholds", "recoverableitemsroot", "", "DiscoveryHolds"},
}

// The other well-known names of DistinguishedFolderIdNameType (archive*,
// publicfoldersroot, conversationhistory, syncissues and its subfolders,
// quickcontacts, adminauditlogs, the Exchange Online-only folders, ...)
// name folders a new on-premises mailbox does not have: they answer
// ErrorFolderNotFound, as Exchange does for a well-known folder missing
// from a mailbox (a mailbox without an archive, a client that never
// created its Sync Issues folder). See wellknown_test.go.

// distIndex maps a distinguished folder id to its folder index, the same
// in every mailbox (newMailbox creates them in table order), so mailboxes
// need no map of their own.
var distIndex = func() map[string]uint32 {
	m := make(map[string]uint32, len(distinguished))
	for i, d := range distinguished {
		m[d.id] = uint32(i)
	}
	return m
}()

// distMeta are the distinguished folders' names, classes and ids, in the
// order of distinguished.
var distMeta = func() []folderMeta {
	m := make([]folderMeta, len(distinguished))
	for i, d := range distinguished {
		m[i] = folderMeta{name: d.name, class: d.class, dist: d.id}
	}
	return m
}()

func newMailbox(idx uint32, addr, name string) *mailbox {
	mb := &mailbox{idx: idx, addr: addr, name: name, folders: make([]*folder, 0, len(distinguished))}
	for _, d := range distinguished {
		parent, hasParent := distIndex[d.parent]
		mb.addFolderLocked(parent, d.name, d.class, d.id, hasParent)
	}
	return mb
}

// distFolder returns a distinguished folder of mb.
func (mb *mailbox) distFolder(id string) *folder { return mb.folders[distIndex[id]] }

func (mb *mailbox) next() uint32 {
	mb.seq++
	return mb.seq
}

func (mb *mailbox) addFolderLocked(parent uint32, name, class, dist string, hasParent bool) *folder {
	s := mb.next()
	meta := &folderMeta{name: name, class: class, dist: dist}
	if i, ok := distIndex[dist]; ok && distMeta[i] == *meta {
		meta = &distMeta[i]
	}
	f := &folder{idx: uint32(len(mb.folders)), parent: parent, hasParent: hasParent, folderMeta: meta, version: 1, created: s, last: s}
	mb.folders = append(mb.folders, f)
	mb.hier = append(mb.hier, logEntry{seq: s, idx: f.idx})
	return f
}

// touchFolderLocked records a hierarchy change (rename or delete).
func (mb *mailbox) touchFolderLocked(f *folder) {
	f.version++
	f.last = mb.next()
	mb.hier = append(mb.hier, logEntry{seq: f.last, idx: f.idx})
}

func (mb *mailbox) folderByName(name string) (*folder, bool) {
	if i, ok := distIndex[name]; ok {
		return mb.folders[i], true
	}
	return nil, false
}

func (mb *mailbox) addItemLocked(f *folder, it Item, now time.Time) *item {
	s := mb.next()
	idx := uint32(len(mb.items))
	if it.Kind == KindMessage {
		mb.messageIDs(&it, idx)
	}
	in := &item{folder: f.idx, version: 1, created: s, last: s, lastContent: s, modified: now, createdAt: now, origin: idx}
	in.setContent(it)
	mb.items = append(mb.items, in)
	f.members = append(f.members, idx)
	f.log = append(f.log, logEntry{seq: s, idx: idx})
	return in
}

// touchLocked records a change of an item; readOnly means only its read
// flag changed (reported by sync as a ReadFlagChange).
func (mb *mailbox) touchLocked(idx uint32, readOnly bool, now time.Time) {
	in := mb.items[idx]
	in.version++
	in.modified = now
	in.last = mb.next()
	if !readOnly {
		in.lastContent = in.last
	}
	f := mb.folders[in.folder]
	f.log = append(f.log, logEntry{seq: in.last, idx: idx})
}

func (mb *mailbox) deleteItemLocked(idx uint32) {
	in := mb.items[idx]
	in.deleted = true
	f := mb.folders[in.folder]
	if i := slices.Index(f.members, idx); i >= 0 {
		f.members = slices.Delete(f.members, i, i+1)
	}
	in.last = mb.next()
	f.log = append(f.log, logEntry{seq: in.last, idx: idx})
	// Tombstones keep only what sync needs; drop the content.
	in.setContent(Item{Kind: in.Kind})
}

func (mb *mailbox) item(idx uint32) (*item, bool) {
	if int(idx) >= len(mb.items) || mb.items[idx].deleted {
		return nil, false
	}
	return mb.items[idx], true
}

func (mb *mailbox) folder(idx uint32) (*folder, bool) {
	if int(idx) >= len(mb.folders) || mb.folders[idx].deleted {
		return nil, false
	}
	return mb.folders[idx], true
}

// ErrNotFound is returned by the mutation API for an unknown mailbox,
// folder or item.
var ErrNotFound = fmt.Errorf("ewssim: not found")

// messageIDs gives a message added without them an internet message id
// (unique per item) and a conversation id shared by the messages of one
// topic (the subject without reply and forward prefixes), as Exchange
// threads them. The conversation id has the form of Exchange's, base64
// beginning "AAQk", the same in both protocols' views.
func (mb *mailbox) messageIDs(it *Item, idx uint32) {
	if it.InternetMessageID == "" {
		it.InternetMessageID = fmt.Sprintf("<%d.%d.%s>", mb.idx, idx, strings.ReplaceAll(strings.ToLower(mb.addr), "@", ".sim@"))
	}
	if it.ConversationID == "" {
		h := fnv.New64a()
		h.Write([]byte(mb.addr))
		h.Write([]byte{0})
		h.Write([]byte(strings.ToLower(Topic(it.Subject))))
		it.ConversationID = base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint64([]byte{0x00, 0x04, 0x24, 0x00}, h.Sum64()))
	}
}

// Topic is a subject without its reply and forward prefixes (RE:, FW:,
// FWD:), what Exchange reports as the conversation topic.
func Topic(subject string) string {
	s := strings.TrimSpace(subject)
	for {
		p, rest, ok := strings.Cut(s, ":")
		if !ok {
			return s
		}
		switch strings.ToUpper(strings.TrimSpace(p)) {
		case "RE", "FW", "FWD":
			s = strings.TrimSpace(rest)
		default:
			return s
		}
	}
}
