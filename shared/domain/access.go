package domain

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// The mailbox-access port: what the sync use case needs from Exchange,
// independent of the protocol. shared/exchange/ewsmailbox implements it over
// EWS and shared/exchange/graphmailbox over Microsoft Graph; app.Protocols
// picks one per tenant.

// MailboxRef names one mailbox and how to reach it.
type MailboxRef struct {
	Address string     // primary SMTP address
	Mode    AccessMode // impersonation, delegate or folder-delegate
	EWSURL  string     // per-mailbox endpoint override; empty = the tenant's
}

// FolderInfo describes one folder found by a hierarchy sync.
type FolderInfo struct {
	ID              string
	ParentID        string
	DisplayName     string
	FolderClass     string // IPF.Note, IPF.Appointment, IPF.Contact, ...
	DistinguishedID string // inbox, sentitems, calendar, ...; empty for user folders
}

// HierarchyPage is one answer of a hierarchy sync.
type HierarchyPage struct {
	State   string // opaque; pass it to the next call
	Done    bool   // no more changes after this page
	Created []FolderInfo
	Updated []FolderInfo
	Deleted []string // folder ids
}

// ItemChangeRef is one change reported by a folder sync, before the item's
// properties are fetched. A read-flag change is reported as an update.
type ItemChangeRef struct {
	Kind      ChangeKind `json:"kind"`
	ItemID    string     `json:"itemId"`
	ChangeKey string     `json:"changeKey,omitempty"`
	// ImmutableID is the item's Graph immutable id, set only by an adapter
	// that reports translated ids (a tenant with IDFormatEWS over Graph):
	// the store keeps an index from it to the id the feed carries, since
	// removals and moves cannot be translated (see ItemChange). A removal
	// then carries only it, ItemID empty.
	ImmutableID string `json:"immutableId,omitempty"`
}

// ItemsPage is one answer of a folder sync.
type ItemsPage struct {
	State   string // opaque; pass it to the next call
	Done    bool   // no more changes after this page
	Changes []ItemChangeRef
}

// MailboxAccess reads one tenant's mailboxes. Every method is one round trip
// to the server (over Graph, SyncHierarchy's mail-folder and contact-folder
// requests go side by side), so callers can count and budget them. Implementations classify
// failures as *AccessError and never retry.
type MailboxAccess interface {
	// SyncHierarchy returns the folder changes since state ("" = all folders).
	// An error may come with a page whose State is set: the part of the
	// call that succeeded (Graph reads two hierarchies side by side); the
	// caller keeps it as it keeps a page before a failing one.
	SyncHierarchy(ctx context.Context, m MailboxRef, state string) (HierarchyPage, error)
	// SyncItems returns up to max item changes of a folder since state ("" =
	// from scratch: every item as a create).
	SyncItems(ctx context.Context, m MailboxRef, folderID, state string, max int) (ItemsPage, error)
	// GetItems fetches and normalizes at most MaxGetItems items. kind is the folder's kind, so
	// the request asks only for properties that apply to it (Exchange
	// rejects some on the wrong item type); each item is normalized by its
	// own type. Items deleted meanwhile are skipped (their delete arrives
	// with a later SyncItems).
	GetItems(ctx context.Context, m MailboxRef, kind ItemKind, ids []string) ([]Item, error)
	// DistinguishedFolders resolves well-known folder names (inbox,
	// calendar, ...) to folders: a hierarchy sync does not say which
	// folder is the inbox. Names the caller may not read come back in
	// unreadable (folder-level delegate access), names the mailbox lacks
	// in neither. A throttling error may come with the folders found
	// before it (the caller keeps them and asks only for the rest).
	DistinguishedFolders(ctx context.Context, m MailboxRef, names []string) (found []FolderInfo, unreadable []string, err error)
}

// ParallelReader is a MailboxAccess whose reads of one mailbox may run
// side by side: ReadsAtOnce says how many at most (Graph: Outlook's 4
// concurrent requests per app and mailbox, which the Graph client
// enforces). The sync use case then reads that many folders' pages at
// once. Without it, it reads one folder at a time (EWS: a mailbox's calls
// share the service account's budget).
type ParallelReader interface {
	ReadsAtOnce() int
}

// KindOfFolderClass is the item kind a folder of class c holds.
func KindOfFolderClass(c string) ItemKind {
	switch {
	case c == "IPF.Appointment" || strings.HasPrefix(c, "IPF.Appointment."):
		return KindCalendar
	case c == "IPF.Contact" || strings.HasPrefix(c, "IPF.Contact."):
		return KindContact
	}
	return KindMessage
}

// MaxGetItems bounds one GetItems call (EWS GetItem batches of full items
// beyond this hit Exchange's budgets and response-size limits).
const MaxGetItems = 100

// Connector opens a MailboxAccess for a tenant with its credential.
// Implementations cache one client per tenant and endpoint.
type Connector interface {
	Connect(ctx context.Context, t Tenant, c Credential) (MailboxAccess, error)
}

// AccessErrorKind classifies a failed mailbox access; each kind has one
// owner of the retry (see the sync use case).
type AccessErrorKind string

const (
	AccessThrottled        AccessErrorKind = "throttled"          // back off RetryAfter, then retry
	AccessAuth             AccessErrorKind = "auth_failed"        // credentials rejected
	AccessOutOfScope       AccessErrorKind = "out_of_scope"       // impersonation refused for this mailbox
	AccessDenied           AccessErrorKind = "access_denied"      // no permission (on Folder, when set)
	AccessMailboxNotFound  AccessErrorKind = "mailbox_not_found"  // no such mailbox
	AccessSyncStateInvalid AccessErrorKind = "sync_state_invalid" // resync from scratch
	AccessTransient        AccessErrorKind = "transient"          // retry later
	AccessPermanent        AccessErrorKind = "permanent"          // retrying will not help
)

// Codes a failure carries (AccessError.Code, AccessReport.Code) when the
// server gave none of its own (a response code such as ErrorServerBusy, or
// "HTTP 401"): what went wrong on the way to the server, so a fix hint can
// name the fix.
const (
	AccessCodeClientConfig        = "ClientConfig"          // no client can be built from the tenant's URL, version and credential
	AccessCodeNoStoredCredentials = "NoStoredCredentials"   // the tenant has no credential stored
	AccessCodeTokenRefused        = "TokenRefused"          // the identity platform refused the app's credentials
	AccessCodeAddressRefused      = "AddressRefused"        // the URL guard refused the endpoint's address
	AccessCodeTLSUnknownAuthority = "TLSUnknownAuthority"   // the server's certificate has an unknown issuer
	AccessCodeTLSHostname         = "TLSHostname"           // the server's certificate is for another host
	AccessCodeTLSInvalid          = "TLSCertificateInvalid" // the server's certificate is expired or not yet valid
	AccessCodeNotSOAP             = "NotSOAP"               // the answer is not a SOAP response (EWS) but no HTML page either
	AccessCodeNotJSON             = "NotJSON"               // the answer is not Graph's JSON and no HTML page either
	AccessCodeHTMLPage            = "HTMLPage"              // an HTML page came instead of SOAP or JSON (a login page, a proxy's page)
	AccessCodeEmptyBody           = "EmptyBody"             // a success status with no body
	AccessCodeTruncated           = "TruncatedBody"         // the answer stopped mid-way (connection cut, document unfinished)
	AccessCodeBadEncoding         = "BadContentEncoding"    // the answer's compression could not be undone
	AccessCodeTimeout             = "Timeout"               // no (complete) answer within the client's time limit
	AccessCodeConnection          = "ConnectionFailed"      // no connection, or it broke before an answer (DNS, refused, reset)
)

// TransportFailure reports whether code names a failure below the
// protocol: no usable answer came (an HTML page, an empty or cut-off body,
// a timeout, a failed connection), or an HTTP status without the
// protocol's own error ("HTTP 502"). Such codes are Mailbridge's words, not
// the server's, so what they mean is said with them (app.Problem).
func TransportFailure(code string) bool {
	switch code {
	case AccessCodeHTMLPage, AccessCodeNotSOAP, AccessCodeNotJSON, AccessCodeEmptyBody, AccessCodeTruncated,
		AccessCodeBadEncoding, AccessCodeTimeout, AccessCodeConnection:
		return true
	}
	return strings.HasPrefix(code, "HTTP ")
}

// AccessError is a classified mailbox-access failure. Its message holds the
// server's response code, never a credential.
type AccessError struct {
	Kind       AccessErrorKind
	RetryAfter time.Duration // the server's requested back-off (throttling)
	Code       string        // the server's code, e.g. ErrorServerBusy
	Folder     string        // the folder concerned, if any
	// Detail describes an answer that was not the protocol's (its content
	// type, an HTML page's title): who answered instead of Exchange.
	// Bounded and scrubbed; empty for the protocol's own answers.
	Detail string
	Err    error
}

func (e *AccessError) Error() string {
	msg := "mailbox access: " + string(e.Kind)
	if e.Code != "" {
		msg += " (" + e.Code + ")"
	}
	if e.Folder != "" {
		msg += " on folder " + e.Folder
	}
	if e.RetryAfter > 0 {
		msg += fmt.Sprintf(", retry after %s", e.RetryAfter)
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *AccessError) Unwrap() error { return e.Err }

// AccessErrorOf returns err's *AccessError, or one of kind AccessTransient
// wrapping err when err is not classified (network errors, timeouts).
func AccessErrorOf(err error) *AccessError {
	var ae *AccessError
	if errors.As(err, &ae) {
		return ae
	}
	return &AccessError{Kind: AccessTransient, Err: err}
}
