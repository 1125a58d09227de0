package ews

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// Mode is how a call reaches the target mailbox.
type Mode string

const (
	// ModeImpersonation sends the ExchangeImpersonation header; Exchange
	// charges the throttling budget to the target mailbox.
	ModeImpersonation Mode = "impersonation"
	// ModeDelegate names the mailbox in DistinguishedFolderId; Exchange
	// charges the service account.
	ModeDelegate Mode = "delegate"
	// ModeSelf acts on the service account's own mailbox.
	ModeSelf Mode = "self"
)

// Target is the mailbox a call acts on and how it is reached.
type Target struct {
	Mailbox string // primary SMTP address; empty for ModeSelf
	Mode    Mode
}

func (t Target) validate(op string) error {
	switch t.Mode {
	case ModeImpersonation, ModeDelegate:
		if strings.TrimSpace(t.Mailbox) == "" {
			return invalidArg(op, "mode %s needs a mailbox address", t.Mode)
		}
	case ModeSelf:
		if t.Mailbox != "" {
			return invalidArg(op, "mode self takes no mailbox (got one)")
		}
	default:
		return invalidArg(op, "unknown mode %q (impersonation, delegate or self)", t.Mode)
	}
	return nil
}

// FolderRef names a folder: by ID (with optional ChangeKey) or by its
// distinguished name ("inbox", "calendar", "msgfolderroot", ...).
type FolderRef struct {
	ID            string
	ChangeKey     string
	Distinguished string
}

// ItemRef names an item; ChangeKey is required for updates under
// ConflictResolution NeverOverwrite/AutoResolve.
type ItemRef struct {
	ID        string
	ChangeKey string
}

// Folder is a decoded folder.
type Folder struct {
	ID               string
	ChangeKey        string
	ParentID         string
	DisplayName      string
	FolderClass      string // "IPF.Note", "IPF.Appointment", "IPF.Contact", ...
	Type             string // element name: Folder, CalendarFolder, ContactsFolder, SearchFolder, TasksFolder
	TotalCount       int
	ChildFolderCount int
	UnreadCount      int
}

// Mailbox is an e-mail address as EWS returns it.
type Mailbox struct {
	Name         string
	EmailAddress string
	RoutingType  string // "SMTP", "EX"
	MailboxType  string
}

// Attendee is a meeting attendee.
type Attendee struct {
	Mailbox
	ResponseType string // Unknown, Organizer, Tentative, Accept, Decline, NoResponseReceived
}

// ExtendedField identifies a MAPI extended property. Use either
// PropertyTag, or a property set (DistinguishedPropertySetID or
// PropertySetID) with PropertyName or PropertyID (0 = unset).
type ExtendedField struct {
	DistinguishedPropertySetID string // e.g. "PublicStrings"
	PropertySetID              string // a GUID
	PropertyTag                string // e.g. "0x0037"
	PropertyName               string
	PropertyID                 int
	PropertyType               string // e.g. "String", "Integer", "SystemTime"
}

func (f ExtendedField) xml() xExtendedFieldURI {
	x := xExtendedFieldURI{
		DistinguishedPropertySetID: f.DistinguishedPropertySetID,
		PropertySetID:              f.PropertySetID,
		PropertyTag:                f.PropertyTag,
		PropertyName:               f.PropertyName,
		PropertyType:               f.PropertyType,
	}
	if f.PropertyID != 0 {
		x.PropertyID = strconv.Itoa(f.PropertyID)
	}
	return x
}

func (f ExtendedField) valid() bool {
	if f.PropertyType == "" {
		return false
	}
	if f.PropertyTag != "" {
		return f.DistinguishedPropertySetID == "" && f.PropertySetID == "" && f.PropertyName == "" && f.PropertyID == 0
	}
	set := (f.DistinguishedPropertySetID != "") != (f.PropertySetID != "")
	id := (f.PropertyName != "") != (f.PropertyID != 0)
	return set && id
}

// ExtendedProperty is an extended property with its value.
type ExtendedProperty struct {
	Field ExtendedField
	Value string
}

// Item is a decoded item of any kind; only the fields of its Type are set.
// It carries what Exchange sent, without normalisation.
type Item struct {
	Type           string // element name: Message, CalendarItem, Contact, MeetingRequest, ...
	ItemID         string
	ChangeKey      string
	ParentFolderID string
	ItemClass      string
	Subject        string

	DateTimeCreated  time.Time
	LastModifiedTime time.Time
	Preview          string
	Body             string
	BodyType         string // HTML or Text
	BodyTruncated    bool

	// messages
	From              *Mailbox
	To, Cc            []Mailbox
	DateTimeReceived  time.Time
	DateTimeSent      time.Time
	IsRead            *bool
	Bcc, ReplyTo      []Mailbox
	InternetMessageID string
	ConversationID    string
	Importance        string // Low, Normal, High
	Categories        []string
	IsDraft           bool
	HasAttachments    bool
	FlagStatus        string // NotFlagged, Flagged, Complete (item:Flag, Exchange2013 and later)
	Sensitivity       string // Normal, Personal, Private, Confidential
	ConversationTopic string
	InReplyTo         string // the In-Reply-To header's message id
	References        string // the References header: message ids separated by white space

	// calendar items
	Start, End        time.Time
	StartTimeZone     string // Windows time zone id, e.g. "Pacific Standard Time"
	IsAllDay          bool
	Location          string
	Organizer         *Mailbox
	RequiredAttendees []Attendee
	OptionalAttendees []Attendee
	IsRecurring       bool
	CalendarItemType  string // Single, Occurrence, Exception, RecurringMaster
	UID               string
	// Series and meeting properties (calendar.go).
	Recurrence                 *Recurrence
	ModifiedOccurrences        []Occurrence
	DeletedOccurrences         []time.Time // each deleted occurrence's original start
	OriginalStart              time.Time
	EndTimeZone                string // Windows id of EndTimeZone (Exchange 2010+)
	LegacyFreeBusyStatus       string // Free, Tentative, Busy, OOF, WorkingElsewhere, NoData
	IsCancelled                bool
	MyResponseType             string // Unknown, Organizer, Tentative, Accept, Decline, NoResponseReceived
	IsResponseRequested        *bool
	Resources                  []Attendee
	ReminderIsSet              bool
	ReminderMinutesBeforeStart *int
	JoinOnlineMeetingURL       string

	// contacts
	DisplayName       string
	GivenName         string
	Surname           string
	EmailAddresses    []KeyedValue // Key: EmailAddress1..3
	PhoneNumbers      []KeyedValue // Key: BusinessPhone, MobilePhone, ...
	CompanyName       string
	JobTitle          string
	Department        string
	OfficeLocation    string
	PhysicalAddresses []PhysicalAddress
	Birthday          time.Time

	ExtendedProperties []ExtendedProperty

	// Attachments is item:Attachments; MimeContent the base64 text of
	// MimeContent, MimeCharset its CharacterSet (see MIME).
	Attachments              []Attachment
	MimeContent, MimeCharset string
}

// PhysicalAddress is one entry of a contact's PhysicalAddresses.
type PhysicalAddress struct {
	Key                                              string // Business, Home or Other
	Street, City, State, CountryOrRegion, PostalCode string
}

// KeyedValue is one entry of an indexed property such as a contact's
// e-mail addresses.
type KeyedValue struct {
	Key   string
	Value string
}

// Shape says which properties GetItem/FindItem return.
type Shape struct {
	Base        string // IdOnly, Default or AllProperties
	Fields      []string
	Extended    []ExtendedField
	BodyType    string // Best, HTML or Text; empty = server default
	MaxBodySize int    // MaximumBodySize, passed to Exchange as is; 0 = no limit
	// IncludeMIME asks for MimeContent (IncludeMimeContent): no base
	// shape includes it, AllProperties neither.
	IncludeMIME bool
}

// Ready-made shapes. Each asks only for properties that apply to its kind,
// since Exchange rejects some properties on the wrong item type.
var (
	ShapeIDOnly = Shape{Base: "IdOnly", Fields: []string{"item:ItemClass"}}

	ShapeMessage = Shape{Base: "IdOnly", Fields: []string{
		"item:ItemClass", "item:Subject", "item:ParentFolderId", "item:DateTimeReceived",
		"item:DateTimeSent", "item:DateTimeCreated", "item:LastModifiedTime", "item:Preview",
		"message:From", "message:ToRecipients", "message:CcRecipients", "message:IsRead",
		"item:Categories", "item:Importance", "item:IsDraft", "item:HasAttachments",
		"item:ConversationId", "message:BccRecipients", "message:ReplyTo", "message:InternetMessageId",
		"item:Attachments",
		"item:Sensitivity", "message:ConversationTopic", "item:InReplyTo", "message:References", "item:Body",
	}, BodyType: "Text"}

	// ShapeMessageFlag adds the follow-up flag (item:Flag), which only
	// Exchange 2013 and later know (see AtLeast).
	ShapeMessageFlag = Shape{Base: "IdOnly", Fields: append(slices.Clone(ShapeMessage.Fields), "item:Flag"), BodyType: ShapeMessage.BodyType}

	ShapeCalendar = Shape{Base: "IdOnly", Fields: []string{
		"item:ItemClass", "item:Subject", "item:ParentFolderId", "item:DateTimeCreated",
		"item:LastModifiedTime", "item:Preview", "calendar:Start", "calendar:End",
		"calendar:IsAllDayEvent", "calendar:Location", "calendar:Organizer",
		"calendar:RequiredAttendees", "calendar:OptionalAttendees", "calendar:IsRecurring",
		"calendar:CalendarItemType", "calendar:UID", "calendar:StartTimeZoneId", "item:Body",
	}, BodyType: "Text"}

	ShapeContact = Shape{Base: "IdOnly", Fields: []string{
		"item:ItemClass", "item:Subject", "item:ParentFolderId", "item:LastModifiedTime",
		"contacts:DisplayName", "contacts:GivenName", "contacts:Surname",
		"contacts:EmailAddresses", "contacts:PhoneNumbers", "item:Categories", "item:Body",
		"contacts:CompanyName", "contacts:JobTitle", "contacts:Department", "contacts:OfficeLocation",
		"contacts:PhysicalAddresses", "contacts:Birthday",
	}, BodyType: "Text"}
)

func (s Shape) xml() xItemShape {
	base := s.Base
	if base == "" {
		base = "IdOnly"
	}
	x := xItemShape{BaseShape: base, IncludeMimeContent: s.IncludeMIME, BodyType: s.BodyType, AdditionalProperties: paths(s.Fields, s.Extended)}
	if s.MaxBodySize > 0 {
		x.MaximumBodySize = s.MaxBodySize
	}
	return x
}

func (s Shape) validate(op string) error {
	switch s.Base {
	case "", "IdOnly", "Default", "AllProperties":
	default:
		return invalidArg(op, "shape base %q is not IdOnly, Default or AllProperties", s.Base)
	}
	switch s.BodyType {
	case "", "Best", "HTML", "Text":
	default:
		return invalidArg(op, "body type %q is not Best, HTML or Text", s.BodyType)
	}
	for _, f := range s.Extended {
		if !f.valid() {
			return invalidArg(op, "extended field %+v needs PropertyType and either PropertyTag or a property set with a name or id", f)
		}
	}
	return nil
}

// --- decoding ---------------------------------------------------------------

func decodeMailbox(e elem) Mailbox {
	return Mailbox{
		Name:         e.child("Name").text(),
		EmailAddress: e.child("EmailAddress").text(),
		RoutingType:  e.child("RoutingType").text(),
		MailboxType:  e.child("MailboxType").text(),
	}
}

func decodeRecipients(e elem) []Mailbox {
	if !e.ok() {
		return nil
	}
	out := make([]Mailbox, 0, e.countChildren())
	for m := range e.children() {
		out = append(out, decodeMailbox(m))
	}
	return out
}

func decodeAttendees(e elem) []Attendee {
	if !e.ok() {
		return nil
	}
	out := make([]Attendee, 0, e.countChildren())
	for a := range e.children() {
		out = append(out, Attendee{Mailbox: decodeMailbox(a.child("Mailbox")), ResponseType: a.child("ResponseType").text()})
	}
	return out
}

func decodeSingleRecipient(e elem) *Mailbox {
	if !e.ok() {
		return nil
	}
	m := decodeMailbox(e.child("Mailbox"))
	return &m
}

func decodeExtendedProperty(e elem) ExtendedProperty {
	f := e.child("ExtendedFieldURI")
	id, _ := strconv.Atoi(f.attr("PropertyId"))
	p := ExtendedProperty{Field: ExtendedField{
		DistinguishedPropertySetID: f.attr("DistinguishedPropertySetId"),
		PropertySetID:              f.attr("PropertySetId"),
		PropertyTag:                f.attr("PropertyTag"),
		PropertyName:               f.attr("PropertyName"),
		PropertyID:                 id,
		PropertyType:               f.attr("PropertyType"),
	}}
	if v := e.child("Value"); v.ok() {
		p.Value = v.text()
	} else {
		// Multi-valued: join with newlines; Mailbridge writes single values.
		var vals []string
		for v := range e.child("Values").children() {
			vals = append(vals, v.text())
		}
		p.Value = strings.Join(vals, "\n")
	}
	return p
}

// decodeItem reads any item element (Message, CalendarItem, Contact, ...).
// It is one switch over the children so a large page is walked once.
func decodeItem(e elem) Item {
	it := Item{Type: e.name()}
	for c := range e.children() {
		switch c.name() {
		case "ItemId":
			it.ItemID, it.ChangeKey = c.attr("Id"), c.attr("ChangeKey")
		case "ParentFolderId":
			it.ParentFolderID = c.attr("Id")
		case "ItemClass":
			it.ItemClass = c.text()
		case "Subject":
			it.Subject = c.text()
		case "Body":
			it.Body, it.BodyType, it.BodyTruncated = c.text(), c.attr("BodyType"), c.attr("IsTruncated") == "true"
		case "DateTimeReceived":
			it.DateTimeReceived = parseTime(c.text())
		case "DateTimeSent":
			it.DateTimeSent = parseTime(c.text())
		case "DateTimeCreated":
			it.DateTimeCreated = parseTime(c.text())
		case "LastModifiedTime":
			it.LastModifiedTime = parseTime(c.text())
		case "Preview":
			it.Preview = c.text()
		case "ExtendedProperty":
			it.ExtendedProperties = append(it.ExtendedProperties, decodeExtendedProperty(c))
		case "From":
			it.From = decodeSingleRecipient(c)
		case "ToRecipients":
			it.To = decodeRecipients(c)
		case "CcRecipients":
			it.Cc = decodeRecipients(c)
		case "IsRead":
			b := parseBool(c.text())
			it.IsRead = &b
		case "BccRecipients":
			it.Bcc = decodeRecipients(c)
		case "ReplyTo":
			it.ReplyTo = decodeRecipients(c)
		case "InternetMessageId":
			it.InternetMessageID = c.text()
		case "ConversationId":
			it.ConversationID = c.attr("Id")
		case "Importance":
			it.Importance = c.text()
		case "Categories":
			for s := range c.children() {
				it.Categories = append(it.Categories, s.text())
			}
		case "IsDraft":
			it.IsDraft = parseBool(c.text())
		case "HasAttachments":
			it.HasAttachments = parseBool(c.text())
		case "Attachments":
			it.Attachments = decodeAttachments(c)
		case "MimeContent":
			it.MimeContent, it.MimeCharset = c.text(), c.attr("CharacterSet")
		case "Flag":
			it.FlagStatus = c.child("FlagStatus").text()
		case "Sensitivity":
			it.Sensitivity = c.text()
		case "ConversationTopic":
			it.ConversationTopic = c.text()
		case "InReplyTo":
			it.InReplyTo = c.text()
		case "References":
			it.References = c.text()
		case "Start":
			it.Start = parseTime(c.text())
		case "End":
			it.End = parseTime(c.text())
		case "IsAllDayEvent":
			it.IsAllDay = parseBool(c.text())
		case "Location":
			it.Location = c.text()
		case "Organizer":
			it.Organizer = decodeSingleRecipient(c)
		case "RequiredAttendees":
			it.RequiredAttendees = decodeAttendees(c)
		case "OptionalAttendees":
			it.OptionalAttendees = decodeAttendees(c)
		case "IsRecurring":
			it.IsRecurring = parseBool(c.text())
		case "CalendarItemType":
			it.CalendarItemType = c.text()
		case "UID":
			it.UID = c.text()
		case "StartTimeZoneId":
			it.StartTimeZone = c.text()
		case "StartTimeZone":
			if it.StartTimeZone == "" {
				it.StartTimeZone = c.attr("Id")
			}
		case "DisplayName":
			it.DisplayName = c.text()
		case "GivenName":
			it.GivenName = c.text()
		case "Surname":
			it.Surname = c.text()
		case "EmailAddresses":
			it.EmailAddresses = decodeKeyed(c)
		case "PhoneNumbers":
			it.PhoneNumbers = decodeKeyed(c)
		case "CompanyName":
			it.CompanyName = c.text()
		case "JobTitle":
			it.JobTitle = c.text()
		case "Department":
			it.Department = c.text()
		case "OfficeLocation":
			it.OfficeLocation = c.text()
		case "Birthday":
			it.Birthday = parseTime(c.text())
		case "PhysicalAddresses":
			for e := range c.children() {
				it.PhysicalAddresses = append(it.PhysicalAddresses, PhysicalAddress{Key: e.attr("Key"),
					Street: e.child("Street").text(), City: e.child("City").text(), State: e.child("State").text(),
					CountryOrRegion: e.child("CountryOrRegion").text(), PostalCode: e.child("PostalCode").text()})
				if a := &it.PhysicalAddresses[len(it.PhysicalAddresses)-1]; a.CountryOrRegion == "" {
					// Exchange 2007's documentation names the element Country.
					a.CountryOrRegion = e.child("Country").text()
				}
			}
		default:
			decodeCalendarProp(c, &it)
		}
	}
	return it
}

func decodeKeyed(e elem) []KeyedValue {
	out := make([]KeyedValue, 0, e.countChildren())
	for c := range e.children() {
		out = append(out, KeyedValue{Key: c.attr("Key"), Value: c.text()})
	}
	return out
}

func decodeFolder(e elem) Folder {
	f := Folder{Type: e.name()}
	for c := range e.children() {
		switch c.name() {
		case "FolderId":
			f.ID, f.ChangeKey = c.attr("Id"), c.attr("ChangeKey")
		case "ParentFolderId":
			f.ParentID = c.attr("Id")
		case "DisplayName":
			f.DisplayName = c.text()
		case "FolderClass":
			f.FolderClass = c.text()
		case "TotalCount":
			f.TotalCount = parseInt(c.text())
		case "ChildFolderCount":
			f.ChildFolderCount = parseInt(c.text())
		case "UnreadCount":
			f.UnreadCount = parseInt(c.text())
		}
	}
	return f
}

// folderShape is what folder operations ask for: enough to decide which
// folders to sync and to show them to an admin.
var folderShape = xFolderShape{BaseShape: "IdOnly", AdditionalProperties: paths([]string{
	"folder:ParentFolderId", "folder:DisplayName", "folder:FolderClass",
	"folder:TotalCount", "folder:ChildFolderCount", "folder:UnreadCount",
}, nil)}
