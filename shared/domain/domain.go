// Package domain holds Mailbridge's types and the ports (interfaces) that the
// use cases in shared/app depend on. It imports nothing from AWS, Lambda, HTTP
// or EWS: adapters live in their own packages and are wired in main.
package domain

import (
	"strings"
	"time"
)

// AuthKind is how Mailbridge authenticates to a tenant's Exchange.
type AuthKind string

const (
	AuthBasic       AuthKind = "basic"
	AuthNTLM        AuthKind = "ntlm"
	AuthOAuthSecret AuthKind = "oauth_secret" // Entra app, client secret
	AuthOAuthCert   AuthKind = "oauth_cert"   // Entra app, certificate
)

// Valid reports whether k is a known auth kind.
func (k AuthKind) Valid() bool {
	switch k {
	case AuthBasic, AuthNTLM, AuthOAuthSecret, AuthOAuthCert:
		return true
	}
	return false
}

// AccessMode is how the service account reaches a mailbox.
type AccessMode string

const (
	// AccessImpersonation sends ExchangeImpersonation; throttling budget is
	// charged to the target mailbox, so tenants scale out.
	AccessImpersonation AccessMode = "impersonation"
	// AccessDelegate uses mailbox-level delegate (FullAccess); every call is
	// charged to the service account (EWSMaxConcurrency 27).
	AccessDelegate AccessMode = "delegate"
	// AccessFolderDelegate is delegate access granted folder by folder; new
	// folders may be unreadable until shared.
	AccessFolderDelegate AccessMode = "folder-delegate"
)

// AccessApplication is Microsoft Graph app-only access: the Entra app reads
// the mailboxes its RBAC for Applications scope allows. Graph charges each
// request to the app and the target mailbox (4 concurrent, 10,000 per 10
// minutes), so, like impersonation, tenants scale out one job per mailbox.
const AccessApplication AccessMode = "application"

// Valid reports whether m is a known access mode.
func (m AccessMode) Valid() bool {
	switch m {
	case AccessImpersonation, AccessDelegate, AccessFolderDelegate, AccessApplication:
		return true
	}
	return false
}

// Delegated reports whether calls are charged to the service account.
func (m AccessMode) Delegated() bool { return m == AccessDelegate || m == AccessFolderDelegate }

// Protocol is how Mailbridge talks to a tenant's Exchange: EWS (Exchange
// Server on-premises, and Exchange Online until it turns EWS off) or
// Microsoft Graph (Exchange Online).
type Protocol string

const (
	ProtocolEWS   Protocol = "ews"
	ProtocolGraph Protocol = "graph"
)

// Valid reports whether p is a known protocol.
func (p Protocol) Valid() bool { return p == ProtocolEWS || p == ProtocolGraph }

// IDFormat is the form of the item and folder ids a tenant's change feed
// carries. It is fixed when the tenant is onboarded, from its protocol,
// and never changes: a consumer keys its copy on these ids, so a tenant
// moved from EWS to Graph keeps reporting EWS ids (the Graph adapter
// translates them).
type IDFormat string

const (
	// IDFormatEWS: EWS ItemIds and FolderIds (an item's id changes when it
	// moves, as EWS reports it).
	IDFormatEWS IDFormat = "ews"
	// IDFormatGraph: Graph immutable ids (an item keeps its id when it
	// moves).
	IDFormatGraph IDFormat = "graph"
)

// Valid reports whether f is a known id format.
func (f IDFormat) Valid() bool { return f == IDFormatEWS || f == IDFormatGraph }

// DefaultGraphURL is the Graph v1.0 endpoint of the global cloud.
const DefaultGraphURL = "https://graph.microsoft.com/v1.0"

// EWSCutoff is when Exchange Online turns EWS off for good: a tenant still
// on EWS against Exchange Online is warned before it and fails after it.
var EWSCutoff = time.Date(2027, 4, 1, 0, 0, 0, 0, time.UTC)

// TenantStatus is the lifecycle of a tenant.
type TenantStatus string

const (
	TenantActive     TenantStatus = "active"
	TenantOffboarded TenantStatus = "offboarded"
	// TenantDamaged is never stored: ListTenants gives it to a tenant
	// whose stored record does not decode (DamagedTenant), which nothing
	// schedules or verifies, so the other tenants go on.
	TenantDamaged TenantStatus = "damaged"
)

// DamagedTenant is how ListTenants lists a tenant whose stored record does
// not decode: its id (from the record's key) and status damaged.
func DamagedTenant(id string) Tenant { return Tenant{ID: id, Status: TenantDamaged} }

// Folder selectors for Tenant.Folders. FolderAll means every folder found by
// SyncFolderHierarchy.
const (
	FolderInbox     = "inbox"
	FolderSentItems = "sentitems"
	FolderCalendar  = "calendar"
	FolderContacts  = "contacts"
	FolderAll       = "all"
)

// DefaultFolders are synced when a tenant names none.
var DefaultFolders = []string{FolderInbox, FolderSentItems, FolderCalendar, FolderContacts}

// Defaults for tenant settings.
const (
	DefaultSyncInterval        = 5 * time.Minute
	DefaultMaxConcurrentJobs   = 10
	DefaultExchangeVersion     = "Exchange2016"
	MaxDelegateConcurrentJobs  = 27 // EWSMaxConcurrency on Exchange 2013+ and Exchange Online
	MaxMailboxesPerBulkRequest = 1000
)

// Tenant is one customer organisation with its Exchange endpoint and
// service account (or app registration). It never holds the credential
// itself: that lives in the SecretStore, referenced by tenant id.
type Tenant struct {
	ID              string `json:"id"`
	DisplayName     string `json:"displayName"`
	EWSURL          string `json:"ewsUrl"`
	ExchangeVersion string `json:"exchangeVersion"`
	// Protocol is EWS or Graph; empty in records stored before Graph
	// existed, which are EWS tenants (ProtocolOf).
	Protocol Protocol `json:"protocol,omitempty"`
	// GraphURL overrides the Graph endpoint (national clouds); empty:
	// DefaultGraphURL.
	GraphURL string `json:"graphUrl,omitempty"`
	// IDFormat is set at onboarding from the protocol and never changed
	// (IDFormatOf); empty in records stored before it existed, which were
	// all onboarded on EWS.
	IDFormat          IDFormat      `json:"idFormat,omitempty"`
	AuthKind          AuthKind      `json:"authKind"`
	AccessMode        AccessMode    `json:"accessMode"`
	AllowFallback     bool          `json:"allowFallback"` // the fallback from impersonation to delegate access
	Folders           []string      `json:"folders"`
	SyncInterval      time.Duration `json:"syncInterval"`
	MaxConcurrentJobs int           `json:"maxConcurrentJobs"`
	// CalendarWindow is the span of calendar a Graph tenant syncs (Graph's
	// calendar delta covers a window, not the whole calendar); zero fields
	// take the defaults. EWS tenants sync the whole calendar.
	CalendarWindow CalendarWindow `json:"calendarWindow,omitzero"`
	// RoomPolicy lets Mailbridge act on any meeting in the room mailboxes
	// it covers (roommeetings.go); zero: off.
	RoomPolicy RoomPolicy `json:"roomPolicy,omitzero"`
	// BodyFormat is the form of a message's body in the feed:
	// BodyFormatText or BodyFormatHTML; empty (records stored before it
	// existed) is text (BodyFormatOf).
	BodyFormat string `json:"bodyFormat,omitempty"`
	// Archive is the archive export setting (archive.go); zero: off.
	Archive ArchiveSettings `json:"archive,omitzero"`
	Status  TenantStatus    `json:"status"`
	// CredentialFingerprint identifies the stored credential without
	// revealing it (a truncated SHA-256 of its canonical form).
	CredentialFingerprint string `json:"credentialFingerprint,omitempty"`
	// CreateToken identifies the create request that made the tenant (a
	// hash of the caller, its Idempotency-Key and the request), so a retry
	// of that request after a crash or timeout finishes the onboarding
	// instead of meeting "exists". Without an Idempotency-Key it is random:
	// it still tells this onboarding's record from a later one of the same
	// id (see app.Tenants.Onboard).
	CreateToken string `json:"createToken,omitempty"`
	// SecretWriteUntil, while in the future, says a credential write (an
	// onboarding's or a rotation's) may still land on the tenant's secret.
	// The writer sets it with a conditional write on the active record
	// before it writes the secret, writes nothing after it, and clears it
	// when done. An offboarding does not purge a record with a live lease:
	// a purge would free the id, and the late write could then replace the
	// secret of a tenant created again under it (see app.Tenants.Offboard).
	SecretWriteUntil time.Time `json:"secretWriteUntil,omitzero"`
	CreatedAt        time.Time `json:"createdAt"`
	UpdatedAt        time.Time `json:"updatedAt"`
	Version          int64     `json:"version"` // optimistic concurrency
}

// CalendarWindow is a rolling span of days around today: events that end
// after today minus PastDays and start before today plus FutureDays.
type CalendarWindow struct {
	PastDays   int `json:"pastDays,omitempty"`
	FutureDays int `json:"futureDays,omitempty"`
}

// Calendar window defaults and bounds (days).
const (
	DefaultCalendarPastDays   = 30
	DefaultCalendarFutureDays = 365
	MaxCalendarPastDays       = 3650
	MaxCalendarFutureDays     = 1825
)

// Days returns the window with defaults for zero fields.
func (w CalendarWindow) Days() (past, future int) {
	past, future = w.PastDays, w.FutureDays
	if past <= 0 {
		past = DefaultCalendarPastDays
	}
	if future <= 0 {
		future = DefaultCalendarFutureDays
	}
	return past, future
}

// ProtocolOf is the protocol the tenant uses (EWS for records that name none).
func (t Tenant) ProtocolOf() Protocol {
	if t.Protocol == "" {
		return ProtocolEWS
	}
	return t.Protocol
}

// IDFormatOf is the tenant's id format (EWS for records that name none).
func (t Tenant) IDFormatOf() IDFormat {
	if t.IDFormat == "" {
		return IDFormatEWS
	}
	return t.IDFormat
}

// GraphEndpoint is the Graph base URL the tenant uses.
func (t Tenant) GraphEndpoint() string {
	if t.GraphURL == "" {
		return DefaultGraphURL
	}
	return t.GraphURL
}

// MailboxStatus is what the last access check or sync found.
type MailboxStatus string

const (
	MailboxPending      MailboxStatus = "pending"
	MailboxOK           MailboxStatus = "ok"
	MailboxOutOfScope   MailboxStatus = "out_of_scope"
	MailboxAccessDenied MailboxStatus = "access_denied"
	MailboxNotFound     MailboxStatus = "not_found"
	MailboxAuthFailed   MailboxStatus = "auth_failed"
	MailboxThrottled    MailboxStatus = "throttled"
	MailboxError        MailboxStatus = "error"
	// MailboxDamaged: Mailbridge's own stored record of the mailbox, or
	// its checkpoint, does not decode. It is not synced until it is
	// removed and added again (DamagedMailboxHint).
	MailboxDamaged       MailboxStatus = "damaged"
	MailboxStatusUnknown MailboxStatus = ""
)

// NeedsAdmin reports whether the status will not fix itself: such mailboxes
// are retried on a slower cadence rather than every interval.
func (s MailboxStatus) NeedsAdmin() bool {
	switch s {
	case MailboxOutOfScope, MailboxAccessDenied, MailboxNotFound, MailboxAuthFailed:
		return true
	}
	return false
}

// DamagedMailboxHint is what the operator does about a damaged record.
const DamagedMailboxHint = "Mailbridge's stored record of this mailbox is damaged, so it is not synced: " +
	"remove the mailbox (DELETE /tenants/{id}/mailboxes/{address}) and add it again (POST /tenants/{id}/mailboxes) " +
	"with its accessMode and ewsUrl overrides, if it had any. Its feed is kept, and the next sync rebuilds the " +
	"checkpoint from Exchange without repeating the changes already in the feed."

// DamagedMailbox is how a mailbox whose stored record does not decode is
// listed: its address (from the record's key), status damaged, what is
// wrong and what to do. Stores list it in place of the record, so a
// listing still answers with the tenant's other mailboxes.
func DamagedMailbox(tenantID, address, what string) Mailbox {
	return Mailbox{TenantID: tenantID, Address: address, Status: MailboxDamaged,
		LastError: "the stored " + what + " of this mailbox is damaged and cannot be read", Hint: DamagedMailboxHint}
}

// Mailbox is one mailbox registered to a tenant.
type Mailbox struct {
	TenantID          string        `json:"tenantId"`
	Address           string        `json:"address"`                       // lower-cased primary SMTP address
	AccessMode        AccessMode    `json:"accessMode,omitempty"`          // override; empty = tenant's
	EWSURL            string        `json:"ewsUrl,omitempty"`              // override (a customer with several Exchange servers)
	EffectiveMode     AccessMode    `json:"effectiveAccessMode,omitempty"` // what worked last (after fallback)
	Status            MailboxStatus `json:"status"`
	UnreadableFolders []string      `json:"unreadableFolders,omitempty"`
	LastSync          time.Time     `json:"lastSync,omitzero"`
	NextSync          time.Time     `json:"nextSync,omitzero"`
	LastError         string        `json:"lastError,omitempty"`
	Hint              string        `json:"hint,omitempty"`
	UpdatedAt         time.Time     `json:"updatedAt"`
}

// ItemKind is the kind of Exchange item Mailbridge normalizes.
type ItemKind string

const (
	KindMessage  ItemKind = "message"
	KindCalendar ItemKind = "calendar"
	KindContact  ItemKind = "contact"
)

// ChangeKind is what happened to an item.
type ChangeKind string

const (
	ChangeCreate ChangeKind = "create"
	ChangeUpdate ChangeKind = "update"
	ChangeDelete ChangeKind = "delete"
	// ChangeMailboxSynced is no item change: it is appended to the tenant
	// feed (never to a mailbox feed) once, when a mailbox added to the
	// tenant has finished its initial sync. The items of that sync went
	// to the mailbox's feed only; a tenant-feed consumer lists the mailbox
	// to take them up (docs/architecture.md, "Bootstrap and resync").
	// Its ItemID, ItemKind and Item are empty.
	ChangeMailboxSynced ChangeKind = "mailboxSynced"
)

// Address is a named e-mail address.
type Address struct {
	Name  string `json:"name,omitempty"`
	Email string `json:"email"`
	// Type (required, optional or resource) and Response (ResponseNone
	// ...) are set on an event's attendees only.
	Type     string `json:"type,omitempty"`
	Response string `json:"response,omitempty"`
}

// Postal address kinds, in the order an Item lists them.
const (
	AddressBusiness = "business"
	AddressHome     = "home"
	AddressOther    = "other"
)

// PostalAddress is one of a contact's postal addresses.
type PostalAddress struct {
	Kind            string `json:"kind"` // business, home or other
	Street          string `json:"street,omitempty"`
	City            string `json:"city,omitempty"`
	State           string `json:"state,omitempty"`
	PostalCode      string `json:"postalCode,omitempty"`
	CountryOrRegion string `json:"countryOrRegion,omitempty"`
}

// Empty reports whether the address has no part.
func (a PostalAddress) Empty() bool {
	return a.Street == "" && a.City == "" && a.State == "" && a.PostalCode == "" && a.CountryOrRegion == ""
}

// Item is the normalized form of an Exchange item, what the change feed
// carries. Only the fields of its Kind are set.
type Item struct {
	ID        string   `json:"id"`
	ChangeKey string   `json:"changeKey"`
	Kind      ItemKind `json:"itemKind"`
	FolderID  string   `json:"folderId,omitempty"`
	Subject   string   `json:"subject,omitempty"`

	// messages
	From     *Address  `json:"from,omitempty"`
	To       []Address `json:"to,omitempty"`
	Cc       []Address `json:"cc,omitempty"`
	Received time.Time `json:"received,omitzero"`
	Sent     time.Time `json:"sent,omitzero"`
	Preview  string    `json:"preview,omitempty"`
	IsRead   *bool     `json:"isRead,omitempty"`
	// InternetMessageID is the RFC 5322 Message-ID, as Exchange gives it.
	InternetMessageID string `json:"internetMessageId,omitempty"`
	// ConversationID is Exchange's conversation (thread) id; EWS and Graph
	// give the same value.
	ConversationID string `json:"conversationId,omitempty"`
	// Importance is "low", "normal" or "high"; another value is dropped.
	Importance string `json:"importance,omitempty"`
	// FlagStatus is the follow-up flag: "notFlagged", "flagged" or
	// "complete"; another value is dropped. Absent from EWS tenants
	// before Exchange 2013, which have no item:Flag.
	FlagStatus     string    `json:"flagStatus,omitempty"`
	IsDraft        bool      `json:"isDraft,omitempty"`
	HasAttachments bool      `json:"hasAttachments,omitempty"`
	ReplyTo        []Address `json:"replyTo,omitempty"`
	// Bcc is set on what the mailbox sent (sent items, drafts): received
	// mail carries no Bcc.
	Bcc []Address `json:"bcc,omitempty"`
	// ConversationTopic is the thread's topic (the subject without
	// RE:/FW: prefixes, as Exchange keeps it).
	ConversationTopic string `json:"conversationTopic,omitempty"`
	// InReplyTo and References are the message's In-Reply-To and
	// References headers: message ids, angle brackets included.
	InReplyTo  string   `json:"inReplyTo,omitempty"`
	References []string `json:"references,omitempty"`
	// Sensitivity is "normal", "personal", "private" or "confidential";
	// another value is dropped.
	Sensitivity string `json:"sensitivity,omitempty"`
	// Body is the start of the message's body, in BodyType ("text", or
	// "html" for a tenant set to bodyFormat html), cut to MaxItemBody
	// bytes; BodyTruncated says it was cut (read the whole body on
	// demand).
	Body          string `json:"body,omitempty"`
	BodyType      string `json:"bodyType,omitempty"`
	BodyTruncated bool   `json:"bodyTruncated,omitempty"`

	// Attachments lists a message's attachments, metadata only (the
	// content is read on demand), at most MaxItemAttachments.
	Attachments []Attachment `json:"attachments,omitempty"`

	// ArchiveKey is the key of the message's MIME in the archive
	// (ArchiveKey) when the tenant archives it; ArchiveSkipped says why a
	// message the tenant would archive was not (ArchiveSkippedTooLarge,
	// ArchiveSkippedGone).
	ArchiveKey     string `json:"archiveKey,omitempty"`
	ArchiveSkipped string `json:"archiveSkipped,omitempty"`

	// calendar items
	Start time.Time `json:"start,omitzero"`
	End   time.Time `json:"end,omitzero"`
	// TimeZone is the event's zone, IANA; WindowsTimeZone the same zone's
	// Windows id (what Exchange keeps). Adapters set TimeZone to the
	// Windows id Exchange gave; NameTimeZone names it both ways.
	TimeZone        string    `json:"timeZone,omitempty"`
	WindowsTimeZone string    `json:"windowsTimeZone,omitempty"`
	Location        string    `json:"location,omitempty"`
	Organizer       *Address  `json:"organizer,omitempty"`
	Attendees       []Address `json:"attendees,omitempty"`
	IsRecurring     bool      `json:"isRecurring,omitempty"`
	// CalendarItemType is single, seriesMaster, occurrence or exception.
	CalendarItemType string `json:"calendarItemType,omitempty"`
	// Recurrence is a series master's pattern and range (with its RRULE).
	Recurrence *Recurrence `json:"recurrence,omitempty"`
	// ModifiedOccurrences and DeletedOccurrences are a series master's
	// exceptions.
	ModifiedOccurrences []Occurrence        `json:"modifiedOccurrences,omitempty"`
	DeletedOccurrences  []DeletedOccurrence `json:"deletedOccurrences,omitempty"`
	// OriginalStart is an occurrence's or exception's start in its series'
	// pattern; SeriesMasterID the id of its series master.
	OriginalStart  time.Time `json:"originalStart,omitzero"`
	SeriesMasterID string    `json:"seriesMasterId,omitempty"`
	IsAllDay       bool      `json:"isAllDay,omitempty"`
	// EndTimeZone/WindowsEndTimeZone name the end's zone when it differs
	// from the start's.
	EndTimeZone        string `json:"endTimeZone,omitempty"`
	WindowsEndTimeZone string `json:"windowsEndTimeZone,omitempty"`
	// ShowAs is the free/busy status (ShowAsFree ...).
	ShowAs      string `json:"showAs,omitempty"`
	IsCancelled bool   `json:"isCancelled,omitempty"`
	// ResponseRequested is the organizer's "responses requested" flag;
	// MyResponse the mailbox owner's own response (ResponseNone ...).
	ResponseRequested *bool  `json:"responseRequested,omitempty"`
	MyResponse        string `json:"myResponse,omitempty"`
	OnlineMeetingURL  string `json:"onlineMeetingUrl,omitempty"`
	// ReminderMinutes is minutes before the start; nil when no reminder
	// is set.
	ReminderMinutes *int `json:"reminderMinutesBeforeStart,omitempty"`
	// ClientEventID is the client's event id of an event Mailbridge wrote
	// (its marker property), so a client tells its own writes from the
	// user's events; empty for every other item.
	ClientEventID string `json:"clientEventId,omitempty"`

	// Categories are the item's Outlook categories (messages, contacts).
	Categories []string `json:"categories,omitempty"`

	// contacts
	DisplayName    string   `json:"displayName,omitempty"`
	GivenName      string   `json:"givenName,omitempty"`
	Surname        string   `json:"surname,omitempty"`
	Emails         []string `json:"emails,omitempty"`
	Phones         []string `json:"phones,omitempty"`
	CompanyName    string   `json:"companyName,omitempty"`
	JobTitle       string   `json:"jobTitle,omitempty"`
	Department     string   `json:"department,omitempty"`
	OfficeLocation string   `json:"officeLocation,omitempty"`
	// Addresses are the contact's postal addresses, business, home and
	// other in that order, each at most once; empty ones are left out.
	Addresses []PostalAddress `json:"addresses,omitempty"`
	// Birthday is the contact's birthday as a date (YYYY-MM-DD).
	Birthday string `json:"birthday,omitempty"`
	// Notes are the contact's notes as text, cut to MaxItemNotes.
	Notes string `json:"notes,omitempty"`

	// Truncated says a text or list was cut to the bounds below, so one
	// huge item (a meeting with thousands of attendees) cannot exceed the
	// store's item size and block its mailbox's sync for ever.
	Truncated bool `json:"truncated,omitempty"`
}

// Bounds of a normalized Item. Exchange's own preview is at most 255
// characters; the others are generous for real mail.
const (
	MaxItemText       = 2048 // bytes of subject, location, preview, names
	MaxItemRecipients = 250  // addresses in each of to, cc, attendees
	MaxItemValues     = 25   // contact e-mail addresses, phone numbers, categories
	// MaxItemID bounds an internet message id or conversation id: longer
	// is no id Exchange made (RFC 5322 lines are at most 998 bytes); it is
	// cut and the item marked Truncated.
	MaxItemID = 998
	// MaxItemNotes bounds a contact's notes (bytes of text); longer notes
	// are cut on a rune boundary and the item marked Truncated.
	MaxItemNotes = 4096
	// MaxItemAddressBytes bounds the names and addresses of all of an
	// item's address lists together (to, cc, bcc, reply-to, attendees),
	// counted as JSON encodes them.
	MaxItemAddressBytes = 64 << 10
	// MaxItemValueText bounds each contact e-mail address, phone number,
	// category and postal address part (an e-mail address is at most 254
	// bytes, an Outlook category name 255 characters).
	MaxItemValueText = 256
	// MaxItemBody bounds the body a feed item carries (bytes, cut on a
	// character boundary and marked BodyTruncated, not Truncated: a long
	// body is ordinary mail, read whole on demand). Each stored KB costs
	// write units in the item and both feed copies.
	MaxItemBody = 1024
	// MaxItemReferences bounds a message's References: the first (the
	// thread's root) and the last ones (the nearest ancestors) are kept,
	// as RFC 5322 suggests when trimming.
	MaxItemReferences = 25
)

// Bound cuts the item's texts and lists to the bounds above and marks it
// Truncated when anything was cut. Both protocols' adapters call it, so an
// item is bounded the same whichever protocol read it.
func (it *Item) Bound() {
	cut := false
	text := func(s *string) {
		if len(*s) > MaxItemText {
			*s = strings.ToValidUTF8((*s)[:MaxItemText], "")
			cut = true
		}
	}
	text(&it.Subject)
	text(&it.Location)
	text(&it.Preview)
	text(&it.DisplayName)
	text(&it.GivenName)
	text(&it.Surname)
	text(&it.CompanyName)
	text(&it.JobTitle)
	text(&it.Department)
	text(&it.OfficeLocation)
	text(&it.OnlineMeetingURL)
	if len(it.Notes) > MaxItemNotes {
		it.Notes = strings.ToValidUTF8(it.Notes[:MaxItemNotes], "")
		cut = true
	}
	text(&it.ConversationTopic)
	for _, s := range []*string{&it.InternetMessageID, &it.ConversationID, &it.InReplyTo} {
		if len(*s) > MaxItemID {
			*s = strings.ToValidUTF8((*s)[:MaxItemID], "")
			cut = true
		}
	}
	for _, list := range []*[]Address{&it.To, &it.Cc, &it.Bcc, &it.ReplyTo, &it.Attendees} {
		if len(*list) > MaxItemRecipients {
			*list = (*list)[:MaxItemRecipients]
			cut = true
		}
		for i := range *list {
			text(&(*list)[i].Name)
			text(&(*list)[i].Email)
		}
	}
	for _, a := range []*Address{it.From, it.Organizer} {
		if a != nil {
			text(&a.Name)
			text(&a.Email)
		}
	}
	value := func(s *string) {
		if len(*s) > MaxItemValueText {
			*s = strings.ToValidUTF8((*s)[:MaxItemValueText], "")
			cut = true
		}
	}
	for _, list := range []*[]string{&it.Emails, &it.Phones, &it.Categories} {
		if len(*list) > MaxItemValues {
			*list = (*list)[:MaxItemValues]
			cut = true
		}
		for i := range *list {
			value(&(*list)[i])
		}
	}
	for i := range it.Addresses {
		a := &it.Addresses[i]
		for _, s := range []*string{&a.Street, &a.City, &a.State, &a.PostalCode, &a.CountryOrRegion} {
			value(s)
		}
	}
	// All address lists together share one budget, so a message with
	// thousands of long recipients in every list stays small: lists are
	// kept in this order until the budget is spent.
	budget := MaxItemAddressBytes
	for _, list := range []*[]Address{&it.To, &it.Cc, &it.Bcc, &it.ReplyTo, &it.Attendees} {
		for i, a := range *list {
			budget -= jsonCost(a.Name) + jsonCost(a.Email)
			if budget < 0 {
				*list = (*list)[:i]
				cut = true
				break
			}
		}
		if budget < 0 && len(*list) == 0 {
			*list = nil
		}
	}
	if it.boundAttachments() {
		cut = true
	}
	if it.boundMessage() {
		cut = true
	}
	it.nameTimeZone()
	if it.boundRecurrence() {
		cut = true
	}
	it.Truncated = cut
}

// nameTimeZone turns the zone an adapter set (a Windows id, or an IANA
// name Graph may give) into both names. A zone neither table nor database
// knows (a custom Exchange zone) stays as Exchange named it, as the
// Windows id, with no IANA name. Bound calls it: both adapters call Bound
// on every item they normalize.
func (it *Item) nameTimeZone() {
	if it.TimeZone == "" || it.WindowsTimeZone != "" {
		return
	}
	z, ok := ResolveTimeZone(it.TimeZone)
	if !ok {
		it.WindowsTimeZone, it.TimeZone = it.TimeZone, ""
		return
	}
	it.TimeZone, it.WindowsTimeZone = z.IANA, z.Windows
}

// Importance values of an Item.
const (
	ImportanceLow    = "low"
	ImportanceNormal = "normal"
	ImportanceHigh   = "high"
)

// NormalImportance maps an importance as either protocol spells it (EWS
// Low/Normal/High, Graph low/normal/high) to the Item's form; "" for any
// other value, so a malformed one is dropped rather than passed on.
func NormalImportance(s string) string {
	for _, v := range []string{ImportanceLow, ImportanceNormal, ImportanceHigh} {
		if strings.EqualFold(s, v) {
			return v
		}
	}
	return ""
}

// Follow-up flag statuses of an Item.
const (
	FlagNotFlagged = "notFlagged"
	FlagFlagged    = "flagged"
	FlagComplete   = "complete"
)

// NormalFlagStatus maps a follow-up flag status as either protocol spells
// it (EWS NotFlagged/Flagged/Complete, Graph notFlagged/flagged/complete)
// to the Item's form; "" for any other value.
func NormalFlagStatus(s string) string {
	for _, v := range []string{FlagNotFlagged, FlagFlagged, FlagComplete} {
		if strings.EqualFold(s, v) {
			return v
		}
	}
	return ""
}

// Change is one entry of the change feed.
type Change struct {
	Seq      string     `json:"cursor"` // opaque, ordered within a feed
	TenantID string     `json:"tenantId"`
	Mailbox  string     `json:"mailbox"`
	Kind     ChangeKind `json:"changeType"`
	ItemID   string     `json:"itemId,omitempty"` // empty only for mailboxSynced
	// ItemKind is the kind of the item the change is about, deletes
	// included (what went away); empty only for a delete of an item
	// stored before kinds were kept with deleted items' state.
	ItemKind ItemKind  `json:"itemKind,omitempty"`
	Item     *Item     `json:"item,omitempty"` // nil for deletes
	At       time.Time `json:"at"`
}

// AuditEntry records one access made on a tenant's behalf (the audit trail).
type AuditEntry struct {
	TenantID   string     `json:"tenantId"`
	Mailbox    string     `json:"mailbox"`
	Operation  string     `json:"operation"`
	AccessMode AccessMode `json:"accessMode"`
	Result     string     `json:"result"`
	At         time.Time  `json:"at"`
	RequestID  string     `json:"requestId,omitempty"`
}

// SyncJob is one message on the sync queue: sync one or more mailboxes of
// one tenant. Several mailboxes travel in one message because a message is
// what SQS and Lambda bill: ten mailboxes a message divide the queue's
// requests by ten and let one invocation wait on a hundred mailboxes at
// once (docs/architecture.md, "What one sync costs").
type SyncJob struct {
	TenantID string `json:"tenantId"`
	// Mailbox is a job of one mailbox; Mailboxes a job of several. A job
	// names one or the other (Targets).
	Mailbox   string   `json:"mailbox,omitempty"`
	Mailboxes []string `json:"mailboxes,omitempty"`
	// Serial: the mailboxes share one throttling budget (delegate access,
	// the service account's) and are synced one after the other, so the
	// job makes one EWS call at a time; otherwise side by side.
	Serial bool `json:"serial,omitempty"`
	// ID identifies the job across redeliveries (the scheduler's
	// deduplication id): a job that comes back skips the mailboxes it
	// already synced (JobProgressStore). Empty: nothing is skipped.
	ID      string    `json:"id,omitempty"`
	Tick    time.Time `json:"tick"` // the scheduler tick that made it; part of the dedup id
	Attempt int       `json:"attempt,omitempty"`
}

// Targets are the job's mailboxes in order.
func (j SyncJob) Targets() []string {
	if len(j.Mailboxes) > 0 {
		return j.Mailboxes
	}
	if j.Mailbox != "" {
		return []string{j.Mailbox}
	}
	return nil
}

// MaxJobMailboxes is the most mailboxes one SyncJob may name.
const MaxJobMailboxes = 50

// Clock is injected wherever time matters, so tests control it.
type Clock interface {
	Now() time.Time
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns the current time.
func (SystemClock) Now() time.Time { return time.Now() }

// AppendAddress appends a with its parts trimmed, unless it is empty.
func AppendAddress(list []PostalAddress, a PostalAddress) []PostalAddress {
	for _, s := range []*string{&a.Street, &a.City, &a.State, &a.PostalCode, &a.CountryOrRegion} {
		*s = strings.TrimSpace(*s)
	}
	if a.Empty() {
		return list
	}
	return append(list, a)
}

// BirthdayOf is a birthday instant as the Item's date (its UTC day, as
// Exchange stores birthdays at a time of that day in UTC); "" for the
// zero time.
func BirthdayOf(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02")
}

// jsonCost is an upper bound of the bytes s takes in JSON as the stores
// encode it (encoding/json escapes <, > and & as \u003c, control
// characters as \u00XX).
func jsonCost(s string) int {
	n := len(s)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '<' || c == '>' || c == '&' || c < 0x20:
			n += 5
		case c == '"' || c == '\\':
			n++
		}
	}
	return n
}
