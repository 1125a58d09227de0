package ewsmailbox

// classify.go owns the one mapping of EWS failures (ews.Classify's
// classes, response codes, HTTP status, transport causes) to the domain's
// error kinds and codes, and to the mailbox status an access check reports.
// Where a use reads a failure differently, the difference is declared here
// as data, next to the mapping, not re-derived elsewhere.

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ews"
	"github.com/mailbridge/mailbridge/shared/platform/netfail"
	"github.com/mailbridge/mailbridge/shared/platform/urlguard"
)

// use is what an EWS call was made for.
type use string

const (
	useRead  use = "read"  // a sync read (Connector, Access)
	useWrite use = "write" // a calendar write (CalendarConnector, Writer)
	useCheck use = "check" // an access check (Checker)
)

// kindOfClass is the mapping every use starts from.
var kindOfClass = map[ews.Class]domain.AccessErrorKind{
	ews.ClassThrottled:        domain.AccessThrottled,
	ews.ClassAuth:             domain.AccessAuth,
	ews.ClassOutOfScope:       domain.AccessOutOfScope,
	ews.ClassAccessDenied:     domain.AccessDenied,
	ews.ClassMailboxNotFound:  domain.AccessMailboxNotFound,
	ews.ClassSyncStateInvalid: domain.AccessSyncStateInvalid,
	ews.ClassTransient:        domain.AccessTransient,
	// ErrorIrresolvableConflict: the item changed since its ChangeKey was
	// read. The sync reads called it permanent and the calendar writes
	// transient; it is transient for every use, because reading the item
	// afresh resolves it (and only writes send a ChangeKey at all).
	ews.ClassConflict: domain.AccessTransient,
	// ErrorItemNotFound on a whole call: a folder id the sync holds is
	// gone; the next hierarchy sync reports its delete, so running the
	// same job again would only fail again.
	ews.ClassItemNotFound: domain.AccessPermanent,
	ews.ClassPermanent:    domain.AccessPermanent,
}

// kindByUse lists where a use reads a class differently from kindOfClass.
var kindByUse = map[use]map[ews.Class]domain.AccessErrorKind{
	useWrite: {
		// The event's item vanished between FindItem and the write: the
		// next attempt finds afresh and creates it again (or reports the
		// event not found), so the write is retried.
		ews.ClassItemNotFound: domain.AccessTransient,
	},
}

// statusOfKind is the mailbox status an access check reports for a
// failure of the whole mailbox; any other kind reports MailboxError.
var statusOfKind = map[domain.AccessErrorKind]domain.MailboxStatus{
	domain.AccessThrottled:       domain.MailboxThrottled,
	domain.AccessAuth:            domain.MailboxAuthFailed,
	domain.AccessOutOfScope:      domain.MailboxOutOfScope,
	domain.AccessDenied:          domain.MailboxAccessDenied,
	domain.AccessMailboxNotFound: domain.MailboxNotFound,
}

// mailboxWide are the kinds an access check reads, when one folder's
// answer has them, as the answer for the whole mailbox (delegate access to
// an unknown mailbox answers ErrorNonExistentMailbox for each folder). An
// access-denied folder is that folder's problem only (folder-level
// delegate access).
var mailboxWide = map[domain.AccessErrorKind]bool{
	domain.AccessAuth:            true,
	domain.AccessOutOfScope:      true,
	domain.AccessMailboxNotFound: true,
}

// classify turns a client error (non-nil) into the *domain.AccessError of
// use u; folder names the folder concerned, if any. The client's errors
// carry no credentials (it scrubs them).
func classify(u use, err error, folder string) *domain.AccessError {
	ae := &domain.AccessError{Kind: kindOf(u, err), RetryAfter: ews.RetryAfter(err), Code: failureCode(err), Folder: folder, Err: err}
	var e *ews.Error
	if errors.As(err, &e) && e != nil {
		// Sealed by the client: scrubbed and bounded.
		ae.Detail = e.Body
		if e.Layer == ews.LayerSOAPFault && e.ResponseCode == "" && e.FaultString != "" {
			// A fault without an EWS code: its text is all Exchange said.
			ae.Detail = strings.TrimSpace("SOAP fault " + e.FaultCode + ": " + e.FaultString)
		}
	}
	return ae
}

func kindOf(u use, err error) domain.AccessErrorKind {
	class := ews.Classify(err)
	if k, ok := kindByUse[u][class]; ok {
		return k
	}
	if k, ok := kindOfClass[class]; ok {
		return k
	}
	return domain.AccessPermanent
}

// checkStatus is the mailbox status an access check reports for kind.
func checkStatus(kind domain.AccessErrorKind) domain.MailboxStatus {
	if s, ok := statusOfKind[kind]; ok {
		return s
	}
	return domain.MailboxError
}

// itemGone reports whether err says the item no longer exists: a delete
// of an item already gone has done its job.
func itemGone(err error) bool { return ews.Classify(err) == ews.ClassItemNotFound }

// failureCode is what went wrong, as a code: the server's response code,
// else the HTTP status, else the transport problem's code (the domain's
// AccessCode values: a TLS problem, an HTML page, an empty or cut-off
// body, a timeout, a failed connection), else "".
func failureCode(err error) string {
	var e *ews.Error
	isEWS := errors.As(err, &e) && e != nil
	switch {
	case isEWS && e.ResponseCode != "":
		return e.ResponseCode
	case isEWS && e.HTTPStatus != 0 && e.HTTPStatus != http.StatusOK:
		return fmt.Sprintf("HTTP %d", e.HTTPStatus)
	}
	var (
		refused   *urlguard.Error
		unknownCA x509.UnknownAuthorityError
		hostErr   x509.HostnameError
		invalid   x509.CertificateInvalidError
	)
	switch {
	case errors.Is(err, ews.ErrAuthFailed):
		return domain.AccessCodeTokenRefused
	case errors.As(err, &refused):
		return domain.AccessCodeAddressRefused
	case errors.As(err, &unknownCA):
		return domain.AccessCodeTLSUnknownAuthority
	case errors.As(err, &hostErr):
		return domain.AccessCodeTLSHostname
	case errors.As(err, &invalid):
		return domain.AccessCodeTLSInvalid
	// What stood between Mailbridge and a SOAP answer, most telling first:
	// a body read that timed out is a timeout, not a truncation.
	case errors.Is(err, ews.ErrEmptyBody):
		return domain.AccessCodeEmptyBody
	case errors.Is(err, ews.ErrHTMLPage):
		return domain.AccessCodeHTMLPage
	case netfail.Timeout(err):
		return domain.AccessCodeTimeout
	case netfail.BadEncoding(err):
		return domain.AccessCodeBadEncoding
	case errors.Is(err, ews.ErrTruncated):
		return domain.AccessCodeTruncated
	case errors.Is(err, ews.ErrMalformedResponse):
		return domain.AccessCodeNotSOAP
	case netfail.Network(err):
		return domain.AccessCodeConnection
	}
	return ""
}

// clientConfigError is the failure to build a client from the tenant's
// URL, Exchange version and credential: permanent until they change.
func clientConfigError(err error) *domain.AccessError {
	return &domain.AccessError{Kind: domain.AccessPermanent, Code: domain.AccessCodeClientConfig, Err: err}
}
