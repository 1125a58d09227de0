package ews

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/mailbridge/mailbridge/shared/platform/urlguard"
)

// Layer says where in the exchange with the server an error arose.
type Layer string

const (
	// LayerTransport: no usable SOAP answer (network, TLS, HTTP status,
	// oversized or malformed body, token acquisition).
	LayerTransport Layer = "transport"
	// LayerSOAPFault: the server answered a SOAP fault (usually HTTP 500).
	LayerSOAPFault Layer = "soap_fault"
	// LayerResponse: a ResponseMessage with ResponseClass="Error".
	LayerResponse Layer = "response"
)

// Sentinel causes carried in Error.Err; test with errors.Is.
var (
	// ErrResponseTooLarge: the body exceeded Config.MaxResponseBytes.
	ErrResponseTooLarge = errors.New("response larger than the configured limit")
	// ErrMalformedResponse: the body is not a SOAP envelope we can read.
	ErrMalformedResponse = errors.New("malformed response")
	// ErrAuthFailed: credentials were rejected (token endpoint or server).
	ErrAuthFailed = errors.New("authentication failed")
	// ErrInvalidArgument: the caller asked for something EWS would refuse;
	// nothing was sent.
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrHTMLPage: an HTML page came instead of SOAP (a login page, a
	// proxy's or gateway's page); it is an ErrMalformedResponse too.
	ErrHTMLPage = fmt.Errorf("%w: an HTML page, not SOAP", ErrMalformedResponse)
	// ErrEmptyBody: a success status with no body at all.
	ErrEmptyBody = errors.New("empty response body")
	// ErrTruncated: the body stopped early (the connection was cut, or the
	// document ends inside an element).
	ErrTruncated = errTruncated
)

// Error is every failure the client reports about a call it made. Its
// text never contains credentials.
type Error struct {
	Layer        Layer
	Op           string // EWS operation, e.g. "SyncFolderItems"
	HTTPStatus   int    // 0 when no response arrived
	ResponseCode string // EWS ResponseCode, e.g. "ErrorServerBusy"
	Message      string // MessageText, fault detail Message, or a summary
	// BackOff is how long the server asked us to wait: BackOffMilliseconds
	// from MessageXml, or Retry-After on HTTP 429/503. Zero when not given.
	BackOff     time.Duration
	FaultCode   string
	FaultString string
	// Body describes an answer that was not EWS SOAP (its content type,
	// an HTML page's title or the text's start): what answered instead of
	// Exchange. Empty for SOAP answers and bodiless ones.
	Body string
	Err  error // underlying cause, if any
}

func (e *Error) Error() string {
	var sb strings.Builder
	sb.WriteString("ews")
	if e.Op != "" {
		sb.WriteString(" " + e.Op)
	}
	sb.WriteString(": ")
	switch {
	case e.ResponseCode != "":
		sb.WriteString(e.ResponseCode)
		if e.Message != "" {
			sb.WriteString(": " + e.Message)
		}
	case e.FaultString != "":
		sb.WriteString("SOAP fault " + e.FaultCode + ": " + e.FaultString)
	case e.HTTPStatus != 0:
		fmt.Fprintf(&sb, "HTTP %d", e.HTTPStatus)
		if e.Message != "" {
			sb.WriteString(": " + e.Message)
		}
	default:
		sb.WriteString(string(e.Layer) + " error")
		if e.Message != "" {
			sb.WriteString(": " + e.Message)
		}
	}
	if e.Err != nil {
		sb.WriteString(": " + e.Err.Error())
	}
	if e.Body != "" {
		sb.WriteString(" [" + e.Body + "]")
	}
	if e.BackOff > 0 {
		sb.WriteString(" (back off " + e.BackOff.String() + ")")
	}
	return sb.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Class is what a caller should do about an error.
type Class string

const (
	ClassNone Class = "" // no error
	// ClassThrottled: wait RetryAfter(err) (0 = no hint; pick a default)
	// and try again. ErrorServerBusy, ErrorExceededConnectionCount (the
	// EWSMaxConcurrency budget), HTTP 429 and 503.
	ClassThrottled Class = "throttled"
	// ClassAuth: credentials rejected (HTTP 401/403, token endpoint said
	// no). Needs an admin.
	ClassAuth Class = "auth"
	// ClassOutOfScope: the account may not impersonate this mailbox
	// (ErrorImpersonateUserDenied, ErrorImpersonationDenied).
	ClassOutOfScope Class = "out_of_scope"
	// ClassAccessDenied: the mailbox or folder is not shared with the
	// account. Includes ErrorFolderNotFound, which Exchange answers for a
	// delegate who lacks permission on a distinguished folder (a folder
	// that was really deleted also shows up as a delete in
	// SyncFolderHierarchy).
	ClassAccessDenied Class = "access_denied"
	// ClassMailboxNotFound: ErrorNonExistentMailbox, ErrorMailRecipientNotFound.
	ClassMailboxNotFound Class = "mailbox_not_found"
	// ClassSyncStateInvalid: ErrorInvalidSyncStateData; resync the folder
	// from an empty sync state.
	ClassSyncStateInvalid Class = "sync_state_invalid"
	// ClassItemNotFound: ErrorItemNotFound; the item is gone.
	ClassItemNotFound Class = "item_not_found"
	// ClassConflict: ErrorIrresolvableConflict; the item changed since its
	// ChangeKey was read.
	ClassConflict Class = "conflict"
	// ClassTransient: try again later (mailbox moving or unavailable, store
	// limits, HTTP 5xx, network errors, timeouts, truncated bodies).
	ClassTransient Class = "transient"
	// ClassPermanent: retrying will not help (ErrorSchemaValidation, bad
	// arguments, oversized responses, an address the URL guard refuses,
	// anything unrecognised).
	ClassPermanent Class = "permanent"
)

var classByCode = map[string]Class{
	"ErrorServerBusy":                   ClassThrottled,
	"ErrorExceededConnectionCount":      ClassThrottled,
	"ErrorImpersonateUserDenied":        ClassOutOfScope,
	"ErrorImpersonationDenied":          ClassOutOfScope,
	"ErrorAccessDenied":                 ClassAccessDenied,
	"ErrorFolderNotFound":               ClassAccessDenied,
	"ErrorNonExistentMailbox":           ClassMailboxNotFound,
	"ErrorMailRecipientNotFound":        ClassMailboxNotFound,
	"ErrorInvalidSyncStateData":         ClassSyncStateInvalid,
	"ErrorItemNotFound":                 ClassItemNotFound,
	"ErrorIrresolvableConflict":         ClassConflict,
	"ErrorMailboxMoveInProgress":        ClassTransient,
	"ErrorMailboxStoreUnavailable":      ClassTransient,
	"ErrorTooManyObjectsOpened":         ClassTransient,
	"ErrorInternalServerTransientError": ClassTransient,
	"ErrorTimeoutExpired":               ClassTransient,
	"ErrorConnectionFailed":             ClassTransient,
	"ErrorSchemaValidation":             ClassPermanent,
}

// Classify maps any error the client returns to what the caller should do.
// It is the one place that knows Exchange's error codes.
func Classify(err error) Class {
	var e *Error
	isEWS := errors.As(err, &e)
	if err == nil || (isEWS && e == nil) {
		// A nil *Error in an error interface (e.g. GetItemResult.Err passed
		// straight in) is no error either.
		return ClassNone
	}
	if errors.Is(err, ErrAuthFailed) {
		return ClassAuth
	}
	if errors.Is(err, ErrInvalidArgument) || errors.Is(err, ErrResponseTooLarge) {
		return ClassPermanent
	}
	// The URL guard refused the address: the endpoint must change, so
	// retrying will not help (it arrives wrapped in a dial *net.OpError,
	// which would otherwise read as a network error).
	var ge *urlguard.Error
	if errors.As(err, &ge) {
		return ClassPermanent
	}
	if !isEWS {
		return classifyCause(err)
	}
	if e.ResponseCode != "" {
		if c, ok := classByCode[e.ResponseCode]; ok {
			return c
		}
		return ClassPermanent
	}
	switch s := e.HTTPStatus; {
	case s == 401 || s == 403:
		return ClassAuth
	case s == 429 || s == 503:
		return ClassThrottled
	case s == 408 || s >= 500:
		return ClassTransient
	case s >= 400:
		return ClassPermanent
	}
	if e.Err != nil {
		return classifyCause(e.Err)
	}
	return ClassPermanent
}

func classifyCause(err error) Class {
	if errors.Is(err, errTruncated) || errors.Is(err, ErrEmptyBody) {
		return ClassTransient // a body cut off mid-way, or none at all
	}
	if errors.Is(err, ErrMalformedResponse) {
		return ClassPermanent
	}
	var tu *tokenUnavailableError
	if errors.As(err, &tu) {
		return ClassTransient
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return ClassTransient
	}
	// Dial, read and timeout failures (including *net.OpError).
	var ne net.Error
	if errors.As(err, &ne) {
		return ClassTransient
	}
	return ClassPermanent
}

// RetryAfter is the delay the server asked for, or 0 when it gave none.
func RetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) && e != nil {
		return e.BackOff
	}
	return 0
}

// invalidArg builds an ErrInvalidArgument error.
func invalidArg(op, format string, args ...any) error {
	return fmt.Errorf("ews %s: %w: %s", op, ErrInvalidArgument, fmt.Sprintf(format, args...))
}
