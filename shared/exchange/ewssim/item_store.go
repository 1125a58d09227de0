package ewssim

import (
	"reflect"
	"time"
)

// item is an item as a mailbox keeps it: its content split by kind, and
// its place in the mailbox's logs.
//
// An Item has the fields of every kind (792 bytes) and a generated
// dataset is nearly all items (80,000 in make bench's (b)), so the content
// is kept in groups, and a group whose fields are all zero is not
// allocated: it points at a shared zero value (zeroMessage, ...), so
// reading any field of any item works as on an Item. A message then takes
// about 450 bytes instead of 896. Content changes only through setContent
// (never by assigning a group's field: a zero group is shared), and
// content gives the Item back as it was set.
type item struct {
	itemHead
	*itemMessage
	*itemCalendar
	*itemContact
	*itemExtra

	folder      uint32
	version     uint32
	created     uint32 // seq of the creation
	last        uint32 // seq of the latest change (its live log entry)
	lastContent uint32 // seq of the latest change other than the read flag
	// origin is the index of the item's first incarnation: a move makes a
	// new item (a new EWS id, as Exchange does) that keeps its origin, so
	// Graph's immutable id survives moves (see graphview.go).
	origin    uint32
	deleted   bool
	modified  time.Time
	createdAt time.Time
}

// itemHead are the fields every item uses.
type itemHead struct {
	Kind                            ItemKind
	IsRead, IsDraft, HasAttachments bool
	IsRecurring, IsAllDay           bool
	Subject, Body                   string
}

type itemMessage struct {
	From                                Address
	To, Bcc, ReplyTo                    []Address
	Received                            time.Time
	InternetMessageID, ConversationID   string
	Importance, FlagStatus, Sensitivity string
	InReplyTo, References               string
}

type itemCalendar struct {
	Start, End         time.Time
	TimeZone, Location string
	Organizer          Address
	Attendees          []Address
	FreeBusy           string
	Recurrence         *Recurrence
	Exceptions         []Exception
	DeletedOccurrences []int
}

type itemContact struct {
	DisplayName, GivenName, Surname, Company string
	Emails, Phones                           []string
	JobTitle, Department, Office             string
	Addresses                                []PostalAddress
	Birthday                                 time.Time
}

// itemExtra are the fields few items of any kind have.
type itemExtra struct {
	Categories  []string
	Extended    []ExtendedProperty
	Attachments []Attachment
	MIME        []byte
}

// The shared zero groups: never written (TestMain checks they stay zero).
var (
	zeroMessage  itemMessage
	zeroCalendar itemCalendar
	zeroContact  itemContact
	zeroExtra    itemExtra
)

// newItem is an item holding it (for the recurrence code's views of an
// Item that is not in a mailbox).
func newItem(it Item) *item {
	in := &item{}
	in.setContent(it)
	return in
}

// group is g, or zero when g has no field set.
func group[T any](g T, zero *T) *T {
	if reflect.ValueOf(&g).Elem().IsZero() {
		return zero
	}
	return &g
}

// setContent makes it the item's content. The groups are new, so views
// made from the previous content are not changed.
func (in *item) setContent(it Item) {
	in.itemHead = itemHead{Kind: it.Kind, IsRead: it.IsRead, IsDraft: it.IsDraft, HasAttachments: it.HasAttachments,
		IsRecurring: it.IsRecurring, IsAllDay: it.IsAllDay, Subject: it.Subject, Body: it.Body}
	in.itemMessage = group(itemMessage{From: it.From, To: it.To, Bcc: it.Bcc, ReplyTo: it.ReplyTo, Received: it.Received,
		InternetMessageID: it.InternetMessageID, ConversationID: it.ConversationID, Importance: it.Importance,
		FlagStatus: it.FlagStatus, Sensitivity: it.Sensitivity, InReplyTo: it.InReplyTo, References: it.References}, &zeroMessage)
	in.itemCalendar = group(itemCalendar{Start: it.Start, End: it.End, TimeZone: it.TimeZone, Location: it.Location,
		Organizer: it.Organizer, Attendees: it.Attendees, FreeBusy: it.FreeBusy, Recurrence: it.Recurrence,
		Exceptions: it.Exceptions, DeletedOccurrences: it.DeletedOccurrences}, &zeroCalendar)
	in.itemContact = group(itemContact{DisplayName: it.DisplayName, GivenName: it.GivenName, Surname: it.Surname,
		Company: it.Company, Emails: it.Emails, Phones: it.Phones, JobTitle: it.JobTitle, Department: it.Department,
		Office: it.Office, Addresses: it.Addresses, Birthday: it.Birthday}, &zeroContact)
	in.itemExtra = group(itemExtra{Categories: it.Categories, Extended: it.Extended, Attachments: it.Attachments, MIME: it.MIME}, &zeroExtra)
}

// content is the item's content as an Item; it shares the item's slices
// (clone it before changing them).
func (in *item) content() Item {
	h, m, c, p, x := &in.itemHead, in.itemMessage, in.itemCalendar, in.itemContact, in.itemExtra
	return Item{
		Kind: h.Kind, IsRead: h.IsRead, IsDraft: h.IsDraft, HasAttachments: h.HasAttachments,
		IsRecurring: h.IsRecurring, IsAllDay: h.IsAllDay, Subject: h.Subject, Body: h.Body,

		From: m.From, To: m.To, Bcc: m.Bcc, ReplyTo: m.ReplyTo, Received: m.Received,
		InternetMessageID: m.InternetMessageID, ConversationID: m.ConversationID, Importance: m.Importance,
		FlagStatus: m.FlagStatus, Sensitivity: m.Sensitivity, InReplyTo: m.InReplyTo, References: m.References,

		Start: c.Start, End: c.End, TimeZone: c.TimeZone, Location: c.Location, Organizer: c.Organizer,
		Attendees: c.Attendees, FreeBusy: c.FreeBusy, Recurrence: c.Recurrence, Exceptions: c.Exceptions,
		DeletedOccurrences: c.DeletedOccurrences,

		DisplayName: p.DisplayName, GivenName: p.GivenName, Surname: p.Surname, Company: p.Company,
		Emails: p.Emails, Phones: p.Phones, JobTitle: p.JobTitle, Department: p.Department, Office: p.Office,
		Addresses: p.Addresses, Birthday: p.Birthday,

		Categories: x.Categories, Extended: x.Extended, Attachments: x.Attachments, MIME: x.MIME,
	}
}

// freeBusy is the item's LegacyFreeBusyStatus (Busy by default).
func (in *item) freeBusy() string {
	if in.FreeBusy == "" {
		return "Busy"
	}
	return in.FreeBusy
}
