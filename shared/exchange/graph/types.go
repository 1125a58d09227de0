package graph

import (
	"strconv"
	"strings"
	"time"
)

// The resource types below carry the properties Mailbridge reads, named
// and typed as in the v1.0 metadata (entity types message, event, contact,
// mailFolder, contactFolder). Edm.DateTimeOffset is time.Time; enums are
// strings with Graph's spelling.

// EmailAddress is Graph's emailAddress.
type EmailAddress struct {
	Name    string `json:"name,omitempty"`
	Address string `json:"address,omitempty"`
}

// Recipient is Graph's recipient.
type Recipient struct {
	EmailAddress EmailAddress `json:"emailAddress"`
}

// ItemBody is Graph's itemBody; ContentType is "text" or "html".
type ItemBody struct {
	ContentType string `json:"contentType,omitempty"`
	Content     string `json:"content"`
}

// DateTimeTimeZone is Graph's dateTimeTimeZone: a local date-time (no
// offset, e.g. "2017-04-15T11:00:00.0000000") and a Windows or IANA zone.
type DateTimeTimeZone struct {
	DateTime string `json:"dateTime"`
	TimeZone string `json:"timeZone"`
}

// SingleValueExtendedProperty is Graph's singleValueLegacyExtendedProperty:
// ID is the property's name, e.g. "String {GUID} Name MailbridgeEventId".
type SingleValueExtendedProperty struct {
	ID    string `json:"id"`
	Value string `json:"value"`
}

// PhysicalAddress is Graph's physicalAddress.
type PhysicalAddress struct {
	Street          string `json:"street,omitempty"`
	City            string `json:"city,omitempty"`
	State           string `json:"state,omitempty"`
	CountryOrRegion string `json:"countryOrRegion,omitempty"`
	PostalCode      string `json:"postalCode,omitempty"`
}

// Location is Graph's location.
type Location struct {
	DisplayName  string           `json:"displayName,omitempty"`
	LocationType string           `json:"locationType,omitempty"`
	UniqueID     string           `json:"uniqueId,omitempty"`
	UniqueIDType string           `json:"uniqueIdType,omitempty"`
	Address      *PhysicalAddress `json:"address,omitempty"`
}

// ResponseStatus is Graph's responseStatus.
type ResponseStatus struct {
	Response string    `json:"response,omitempty"`
	Time     time.Time `json:"time,omitzero"`
}

// Attendee is Graph's attendee; Type is required, optional or resource.
type Attendee struct {
	Type         string          `json:"type,omitempty"`
	Status       *ResponseStatus `json:"status,omitempty"`
	EmailAddress EmailAddress    `json:"emailAddress"`
}

// RecurrencePattern is Graph's recurrencePattern.
type RecurrencePattern struct {
	Type           string   `json:"type,omitempty"`
	Interval       int      `json:"interval,omitempty"`
	Month          int      `json:"month,omitempty"`
	DayOfMonth     int      `json:"dayOfMonth,omitempty"`
	DaysOfWeek     []string `json:"daysOfWeek,omitempty"`
	FirstDayOfWeek string   `json:"firstDayOfWeek,omitempty"`
	Index          string   `json:"index,omitempty"`
}

// RecurrenceRange is Graph's recurrenceRange (dates are yyyy-mm-dd).
type RecurrenceRange struct {
	Type                string `json:"type,omitempty"`
	StartDate           string `json:"startDate,omitempty"`
	EndDate             string `json:"endDate,omitempty"`
	RecurrenceTimeZone  string `json:"recurrenceTimeZone,omitempty"`
	NumberOfOccurrences int    `json:"numberOfOccurrences,omitempty"`
}

// PatternedRecurrence is Graph's patternedRecurrence.
type PatternedRecurrence struct {
	Pattern RecurrencePattern `json:"pattern"`
	Range   RecurrenceRange   `json:"range"`
}

// MailFolder is Graph's mailFolder.
type MailFolder struct {
	ID               string `json:"id"`
	DisplayName      string `json:"displayName,omitempty"`
	ParentFolderID   string `json:"parentFolderId,omitempty"`
	ChildFolderCount int    `json:"childFolderCount,omitempty"`
	UnreadItemCount  int    `json:"unreadItemCount,omitempty"`
	TotalItemCount   int    `json:"totalItemCount,omitempty"`
	IsHidden         bool   `json:"isHidden,omitempty"`
}

// ContactFolder is Graph's contactFolder.
type ContactFolder struct {
	ID             string `json:"id"`
	DisplayName    string `json:"displayName,omitempty"`
	ParentFolderID string `json:"parentFolderId,omitempty"`
}

// Message is Graph's message (outlookItem properties included).
type Message struct {
	ID                            string                        `json:"id"`
	ETag                          string                        `json:"@odata.etag,omitempty"`
	ChangeKey                     string                        `json:"changeKey,omitempty"`
	CreatedDateTime               time.Time                     `json:"createdDateTime,omitzero"`
	LastModifiedDateTime          time.Time                     `json:"lastModifiedDateTime,omitzero"`
	Categories                    []string                      `json:"categories,omitempty"`
	ParentFolderID                string                        `json:"parentFolderId,omitempty"`
	ConversationID                string                        `json:"conversationId,omitempty"`
	InternetMessageID             string                        `json:"internetMessageId,omitempty"`
	Subject                       string                        `json:"subject,omitempty"`
	BodyPreview                   string                        `json:"bodyPreview,omitempty"`
	Body                          *ItemBody                     `json:"body,omitempty"`
	Importance                    string                        `json:"importance,omitempty"`
	From                          *Recipient                    `json:"from,omitempty"`
	Sender                        *Recipient                    `json:"sender,omitempty"`
	ToRecipients                  []Recipient                   `json:"toRecipients,omitempty"`
	CcRecipients                  []Recipient                   `json:"ccRecipients,omitempty"`
	BccRecipients                 []Recipient                   `json:"bccRecipients,omitempty"`
	ReplyTo                       []Recipient                   `json:"replyTo,omitempty"`
	ReceivedDateTime              time.Time                     `json:"receivedDateTime,omitzero"`
	SentDateTime                  time.Time                     `json:"sentDateTime,omitzero"`
	HasAttachments                bool                          `json:"hasAttachments,omitempty"`
	IsRead                        bool                          `json:"isRead,omitempty"`
	IsDraft                       bool                          `json:"isDraft,omitempty"`
	Flag                          *FollowupFlag                 `json:"flag,omitempty"`
	WebLink                       string                        `json:"webLink,omitempty"`
	SingleValueExtendedProperties []SingleValueExtendedProperty `json:"singleValueExtendedProperties,omitempty"`
}

// FollowupFlag is a message's follow-up flag (only its status is read).
type FollowupFlag struct {
	FlagStatus string `json:"flagStatus,omitempty"`
}

// Event is Graph's event. It is also the body of CreateEvent: unset
// fields are left out. IsReminderOn and ResponseRequested are pointers
// because Graph defaults them to true.
type Event struct {
	ID                         string               `json:"id,omitempty"`
	ETag                       string               `json:"@odata.etag,omitempty"`
	ChangeKey                  string               `json:"changeKey,omitempty"`
	CreatedDateTime            time.Time            `json:"createdDateTime,omitzero"`
	LastModifiedDateTime       time.Time            `json:"lastModifiedDateTime,omitzero"`
	Categories                 []string             `json:"categories,omitempty"`
	TransactionID              string               `json:"transactionId,omitempty"`
	ICalUID                    string               `json:"iCalUId,omitempty"`
	Subject                    string               `json:"subject,omitempty"`
	BodyPreview                string               `json:"bodyPreview,omitempty"`
	Body                       *ItemBody            `json:"body,omitempty"`
	Start                      *DateTimeTimeZone    `json:"start,omitempty"`
	End                        *DateTimeTimeZone    `json:"end,omitempty"`
	OriginalStartTimeZone      string               `json:"originalStartTimeZone,omitempty"`
	OriginalEndTimeZone        string               `json:"originalEndTimeZone,omitempty"`
	IsAllDay                   bool                 `json:"isAllDay,omitempty"`
	IsCancelled                bool                 `json:"isCancelled,omitempty"`
	IsOrganizer                bool                 `json:"isOrganizer,omitempty"`
	IsReminderOn               *bool                `json:"isReminderOn,omitempty"`
	ReminderMinutesBeforeStart int                  `json:"reminderMinutesBeforeStart,omitempty"`
	ResponseRequested          *bool                `json:"responseRequested,omitempty"`
	ResponseStatus             *ResponseStatus      `json:"responseStatus,omitempty"`
	ShowAs                     string               `json:"showAs,omitempty"`
	Sensitivity                string               `json:"sensitivity,omitempty"`
	Importance                 string               `json:"importance,omitempty"`
	Type                       string               `json:"type,omitempty"` // singleInstance, occurrence, exception, seriesMaster
	SeriesMasterID             string               `json:"seriesMasterId,omitempty"`
	Location                   *Location            `json:"location,omitempty"`
	Locations                  []Location           `json:"locations,omitempty"`
	Attendees                  []Attendee           `json:"attendees,omitempty"`
	Organizer                  *Recipient           `json:"organizer,omitempty"`
	Recurrence                 *PatternedRecurrence `json:"recurrence,omitempty"`
	OriginalStart              time.Time            `json:"originalStart,omitzero"`
	OnlineMeeting              *OnlineMeetingInfo   `json:"onlineMeeting,omitempty"`
	OnlineMeetingURL           string               `json:"onlineMeetingUrl,omitempty"`
	// CancelledOccurrences (a series master's, on $select) are the
	// occurrence ids of its cancelled occurrences, "OID.{masterId}.{date}";
	// ExceptionOccurrences (on $expand) its modified occurrences.
	CancelledOccurrences          []string                      `json:"cancelledOccurrences,omitempty"`
	ExceptionOccurrences          []Event                       `json:"exceptionOccurrences,omitempty"`
	WebLink                       string                        `json:"webLink,omitempty"`
	SingleValueExtendedProperties []SingleValueExtendedProperty `json:"singleValueExtendedProperties,omitempty"`
}

// OnlineMeetingInfo is Graph's onlineMeetingInfo (only the join URL is
// read).
type OnlineMeetingInfo struct {
	JoinURL string `json:"joinUrl,omitempty"`
}

// Contact is Graph's contact.
type Contact struct {
	ID                            string                        `json:"id"`
	ETag                          string                        `json:"@odata.etag,omitempty"`
	ChangeKey                     string                        `json:"changeKey,omitempty"`
	CreatedDateTime               time.Time                     `json:"createdDateTime,omitzero"`
	LastModifiedDateTime          time.Time                     `json:"lastModifiedDateTime,omitzero"`
	Categories                    []string                      `json:"categories,omitempty"`
	ParentFolderID                string                        `json:"parentFolderId,omitempty"`
	DisplayName                   string                        `json:"displayName,omitempty"`
	FileAs                        string                        `json:"fileAs,omitempty"`
	GivenName                     string                        `json:"givenName,omitempty"`
	MiddleName                    string                        `json:"middleName,omitempty"`
	Surname                       string                        `json:"surname,omitempty"`
	Initials                      string                        `json:"initials,omitempty"`
	NickName                      string                        `json:"nickName,omitempty"`
	Title                         string                        `json:"title,omitempty"`
	CompanyName                   string                        `json:"companyName,omitempty"`
	Department                    string                        `json:"department,omitempty"`
	JobTitle                      string                        `json:"jobTitle,omitempty"`
	EmailAddresses                []EmailAddress                `json:"emailAddresses,omitempty"`
	BusinessPhones                []string                      `json:"businessPhones,omitempty"`
	HomePhones                    []string                      `json:"homePhones,omitempty"`
	MobilePhone                   string                        `json:"mobilePhone,omitempty"`
	BusinessAddress               *PhysicalAddress              `json:"businessAddress,omitempty"`
	HomeAddress                   *PhysicalAddress              `json:"homeAddress,omitempty"`
	OtherAddress                  *PhysicalAddress              `json:"otherAddress,omitempty"`
	OfficeLocation                string                        `json:"officeLocation,omitempty"`
	Birthday                      time.Time                     `json:"birthday,omitzero"`
	PersonalNotes                 string                        `json:"personalNotes,omitempty"`
	SingleValueExtendedProperties []SingleValueExtendedProperty `json:"singleValueExtendedProperties,omitempty"`
}

// extendedValue is the value of the extended property id, and whether the
// item carries it.
func extendedValue(props []SingleValueExtendedProperty, id string) (string, bool) {
	for _, p := range props {
		if p.ID == id {
			return p.Value, true
		}
	}
	// Graph may echo the id in another form: the GUID or type in another
	// case, a tag without its leading zeros.
	for _, p := range props {
		if SameExtendedID(p.ID, id) {
			return p.Value, true
		}
	}
	return "", false
}

// SameExtendedID reports whether two extended property ids name the same
// property: equal but for case, or both "Type 0xTAG" with the same type
// and tag value ("String 0x0070" and "String 0x70").
func SameExtendedID(a, b string) bool {
	if strings.EqualFold(a, b) {
		return true
	}
	ta, ha, oka := strings.Cut(strings.TrimSpace(a), " ")
	tb, hb, okb := strings.Cut(strings.TrimSpace(b), " ")
	if !oka || !okb || !strings.EqualFold(ta, tb) {
		return false
	}
	va, erra := parseTag(ha)
	vb, errb := parseTag(hb)
	return erra == nil && errb == nil && va == vb
}

func parseTag(s string) (uint64, error) {
	h, ok := strings.CutPrefix(strings.ToLower(strings.TrimSpace(s)), "0x")
	if !ok || h == "" || len(h) > 4 {
		return 0, strconv.ErrSyntax
	}
	return strconv.ParseUint(h, 16, 16)
}

// ExtendedProperty returns the value of the extended property id.
func (e *Event) ExtendedProperty(id string) (string, bool) {
	return extendedValue(e.SingleValueExtendedProperties, id)
}

// ExtendedProperty returns the value of the extended property id.
func (m *Message) ExtendedProperty(id string) (string, bool) {
	return extendedValue(m.SingleValueExtendedProperties, id)
}

// ExtendedProperty returns the value of the extended property id.
func (c *Contact) ExtendedProperty(id string) (string, bool) {
	return extendedValue(c.SingleValueExtendedProperties, id)
}
