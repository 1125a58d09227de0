package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/mailbridge/mailbridge/shared/platform/retryafter"
)

// Layer says where in the exchange with Graph an error arose.
type Layer string

const (
	// LayerTransport: no usable answer (network, TLS, token acquisition,
	// an HTTP status without a Graph error body, HTML, empty, truncated or
	// oversized bodies).
	LayerTransport Layer = "transport"
	// LayerProtocol: Graph answered an error object, or its answer broke
	// the protocol (a foreign link, a body of the wrong shape).
	LayerProtocol Layer = "protocol"
	// LayerItem: one part of a successful answer failed: a schedule in a
	// getSchedule answer, a sub-response of a $batch.
	LayerItem Layer = "item"
)

// Sentinel causes carried in Error.Err; test with errors.Is.
var (
	// ErrResponseTooLarge: the body exceeded Config.MaxResponseBytes.
	ErrResponseTooLarge = errors.New("response larger than the configured limit")
	// ErrNotJSON: the body is not JSON at all (an HTML login page, a proxy
	// error) or is cut off; a gateway's answer, worth retrying.
	ErrNotJSON = errors.New("response is not JSON")
	// ErrHTMLPage: an HTML page came instead of JSON (a login page, a
	// proxy's or gateway's page); it is an ErrNotJSON too.
	ErrHTMLPage = fmt.Errorf("%w: an HTML page", ErrNotJSON)
	// ErrEmptyBody: a success status with no body where one was due.
	ErrEmptyBody = errors.New("empty response body")
	// ErrTruncated: the body stopped early (the connection was cut).
	ErrTruncated = errTruncated
	// ErrMalformedResponse: valid JSON of the wrong shape.
	ErrMalformedResponse = errors.New("malformed response")
	// ErrForeignLink: a nextLink or deltaLink (or a caller's link) that
	// does not point at the configured base URL's scheme and host.
	ErrForeignLink = errors.New("link points outside the configured Graph endpoint")
	// ErrAuthFailed: the token endpoint refused the credentials.
	ErrAuthFailed = errors.New("authentication failed")
	// ErrInvalidArgument: the caller asked for something Graph would
	// refuse; nothing was sent.
	ErrInvalidArgument = errors.New("invalid argument")
)

// maxMessageLen bounds Error.Message: Graph messages are short, but a
// gateway's text is not.
const maxMessageLen = 300

// MaxRetryAfter caps a server's requested delay; a larger or absurd value
// must not park a job for days.
const MaxRetryAfter = 24 * time.Hour

// Error is every failure the client reports about a call it made. Its
// text never contains credentials.
type Error struct {
	Layer      Layer
	Op         string // operation, e.g. "MessagesDelta"
	HTTPStatus int    // 0 when no response arrived
	// Code is Graph's error.code, e.g. "ErrorItemNotFound",
	// "TooManyRequests"; for a schedule, its freeBusyError.responseCode.
	Code string
	// InnerCode is the innermost innerError.code Graph gave, if any.
	InnerCode string
	Message   string // error.message or a summary; bounded and scrubbed
	// RequestID is Graph's request-id (support asks for it);
	// ClientRequestID is the id this client sent.
	RequestID       string
	ClientRequestID string
	// RetryAfter is the delay the server asked for (Retry-After, seconds
	// or an HTTP date), capped at MaxRetryAfter; 0 when not given.
	RetryAfter time.Duration
	// Body describes an answer that was not Graph's JSON (its content
	// type, an HTML page's title or the text's start): what answered
	// instead of Graph. Empty otherwise.
	Body string
	Err  error // underlying cause, if any
}

func (e *Error) Error() string {
	var sb strings.Builder
	sb.WriteString("graph")
	if e.Op != "" {
		sb.WriteString(" " + e.Op)
	}
	sb.WriteString(": ")
	if e.HTTPStatus != 0 {
		fmt.Fprintf(&sb, "HTTP %d", e.HTTPStatus)
	} else {
		sb.WriteString(string(e.Layer) + " error")
	}
	if e.Code != "" {
		sb.WriteString(" " + e.Code)
		if e.InnerCode != "" && e.InnerCode != e.Code {
			sb.WriteString("/" + e.InnerCode)
		}
	}
	if e.Message != "" {
		sb.WriteString(": " + e.Message)
	}
	if e.Err != nil {
		sb.WriteString(": " + e.Err.Error())
	}
	if e.Body != "" {
		sb.WriteString(" [" + e.Body + "]")
	}
	if e.RetryAfter > 0 {
		sb.WriteString(" (retry after " + e.RetryAfter.String() + ")")
	}
	if e.RequestID != "" {
		sb.WriteString(" [request-id " + e.RequestID + "]")
	} else if e.ClientRequestID != "" {
		sb.WriteString(" [client-request-id " + e.ClientRequestID + "]")
	}
	return sb.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Class is what a caller should do about an error.
type Class string

const (
	ClassNone Class = "" // no error
	// ClassThrottled: wait RetryAfter(err) (0 = no hint; pick a default)
	// and try again. HTTP 429, 503 with Retry-After, TooManyRequests,
	// ApplicationThrottled, MailboxConcurrency.
	ClassThrottled Class = "throttled"
	// ClassAuth: the credentials or the token were refused (token endpoint
	// said no, HTTP 401, InvalidAuthenticationToken). Needs an admin.
	ClassAuth Class = "auth"
	// ClassAccessDenied: the app may not read this mailbox or item (HTTP
	// 403, ErrorAccessDenied: RBAC for Applications or an application
	// access policy leaves it out, or a permission is missing).
	ClassAccessDenied Class = "access_denied"
	// ClassNotFound: the item or folder is gone (ErrorItemNotFound, 404).
	ClassNotFound Class = "not_found"
	// ClassMailboxNotFound: no such user, or no Exchange Online mailbox
	// behind it (ErrorInvalidUser, MailboxNotEnabledForRESTAPI,
	// Request_ResourceNotFound).
	ClassMailboxNotFound Class = "mailbox_not_found"
	// ClassSyncStateInvalid: the delta link is stale (HTTP 410,
	// syncStateNotFound, resyncRequired); sync that collection again from
	// scratch.
	ClassSyncStateInvalid Class = "sync_state_invalid"
	// ClassConflict: the item changed meanwhile (HTTP 409, 412).
	ClassConflict Class = "conflict"
	// ClassInvalid: Graph refused the request as malformed (HTTP 400), or
	// the caller's arguments were refused before sending.
	ClassInvalid Class = "invalid"
	// ClassTransient: try again later (HTTP 5xx, network errors, timeouts,
	// token endpoint unreachable, non-JSON answers, truncated or empty
	// bodies).
	ClassTransient Class = "transient"
	// ClassPermanent: retrying will not help (oversized or ill-shaped
	// answers, foreign links, anything unrecognised).
	ClassPermanent Class = "permanent"
)

// classByCode is keyed by the lower-cased code: Graph spells the same code
// differently across services (syncStateNotFound, SyncStateNotFound).
var classByCode = map[string]Class{
	"toomanyrequests":                   ClassThrottled,
	"applicationthrottled":              ClassThrottled,
	"mailboxconcurrency":                ClassThrottled,
	"activitylimitreached":              ClassThrottled,
	"throttledrequest":                  ClassThrottled,
	"errorserverbusy":                   ClassThrottled,
	"errorexceededconnectioncount":      ClassThrottled,
	"invalidauthenticationtoken":        ClassAuth,
	"unauthenticated":                   ClassAuth,
	"authenticationerror":               ClassAuth,
	"erroraccessdenied":                 ClassAccessDenied,
	"accessdenied":                      ClassAccessDenied,
	"authorization_requestdenied":       ClassAccessDenied,
	"errorinsufficientpermission":       ClassAccessDenied,
	"erroritemnotfound":                 ClassNotFound,
	"itemnotfound":                      ClassNotFound,
	"errorfoldernotfound":               ClassNotFound,
	"resourcenotfound":                  ClassNotFound,
	"mailboxnotenabledforrestapi":       ClassMailboxNotFound,
	"mailboxnotsupportedforrestapi":     ClassMailboxNotFound,
	"errorinvaliduser":                  ClassMailboxNotFound,
	"errornonexistentmailbox":           ClassMailboxNotFound,
	"errormailrecipientnotfound":        ClassMailboxNotFound,
	"request_resourcenotfound":          ClassMailboxNotFound,
	"syncstatenotfound":                 ClassSyncStateInvalid,
	"syncstateinvalid":                  ClassSyncStateInvalid,
	"resyncrequired":                    ClassSyncStateInvalid,
	"errorinvalidsyncstatedata":         ClassSyncStateInvalid,
	"errorirresolvableconflict":         ClassConflict,
	"resourcemodified":                  ClassConflict,
	"errormailboxmoveinprogress":        ClassTransient,
	"errormailboxstoreunavailable":      ClassTransient,
	"errorinternalservertransienterror": ClassTransient,
	"errortimeoutexpired":               ClassTransient,
	"servicenotavailable":               ClassTransient,
	"generalexception":                  ClassTransient,
	"unknownerror":                      ClassTransient,
}

// Classify maps any error the client returns to what the caller should do.
// It is the one place that knows Graph's error codes.
func Classify(err error) Class {
	var e *Error
	isGraph := errors.As(err, &e)
	if err == nil || (isGraph && e == nil) {
		// A nil *Error in an error interface (e.g. BatchResponse.Err) is no
		// error either.
		return ClassNone
	}
	if errors.Is(err, ErrAuthFailed) {
		return ClassAuth
	}
	if errors.Is(err, ErrInvalidArgument) {
		return ClassInvalid
	}
	if errors.Is(err, ErrResponseTooLarge) || errors.Is(err, ErrForeignLink) || errors.Is(err, ErrMalformedResponse) {
		return ClassPermanent
	}
	if !isGraph {
		return classifyCause(err)
	}
	if e.HTTPStatus == 503 && e.RetryAfter > 0 {
		// Graph throttles with 503 and Retry-After too, whatever the code
		// (serviceNotAvailable): wait as asked rather than retry at once.
		return ClassThrottled
	}
	for _, code := range []string{e.Code, e.InnerCode} {
		if c, ok := classByCode[strings.ToLower(code)]; ok {
			return c
		}
	}
	switch s := e.HTTPStatus; {
	case s == 429:
		return ClassThrottled
	case s == 503 && e.RetryAfter > 0:
		return ClassThrottled
	case s == 401:
		return ClassAuth
	case s == 403:
		return ClassAccessDenied
	case s == 404:
		return ClassNotFound
	case s == 410:
		return ClassSyncStateInvalid
	case s == 409 || s == 412:
		return ClassConflict
	case s == 408 || s >= 500:
		return ClassTransient
	case s == 400 || s == 422:
		return ClassInvalid
	case s >= 400:
		return ClassPermanent
	}
	if e.Err != nil {
		return classifyCause(e.Err)
	}
	return ClassPermanent
}

func classifyCause(err error) Class {
	if errors.Is(err, ErrNotJSON) || errors.Is(err, ErrEmptyBody) || errors.Is(err, errTruncated) || errors.Is(err, errNoSubResponse) {
		return ClassTransient
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
		return e.RetryAfter
	}
	return 0
}

// errTruncated marks a body cut off mid-way (connection reset).
var errTruncated = errors.New("response body truncated")

// invalidArg builds an ErrInvalidArgument error.
func invalidArg(op, format string, args ...any) error {
	return &Error{Layer: LayerTransport, Op: op, Err: fmt.Errorf("%w: %s", ErrInvalidArgument, fmt.Sprintf(format, args...))}
}

// parseRetryAfter reads delta-seconds or an HTTP date, at most
// MaxRetryAfter; anything else is 0.
func parseRetryAfter(v string, now time.Time) time.Duration {
	return retryafter.Parse(v, now, MaxRetryAfter)
}

// graphError is the OData error body: {"error": {...}}. Graph spells the
// nested object innerError in examples and innererror in its schema, so
// both are read.
type graphError struct {
	Error *odataError `json:"error"`
}

type odataError struct {
	Code       string      `json:"code"`
	Message    string      `json:"message"`
	InnerError *innerError `json:"innerError"`
	InnerLower *innerError `json:"innererror"`
}

type innerError struct {
	Code       string      `json:"code"`
	RequestID  string      `json:"request-id"`
	Date       string      `json:"date"`
	InnerError *innerError `json:"innerError"`
	InnerLower *innerError `json:"innererror"`
}

func (o *odataError) inner() *innerError {
	if o.InnerError != nil {
		return o.InnerError
	}
	return o.InnerLower
}

func (i *innerError) inner() *innerError {
	if i.InnerError != nil {
		return i.InnerError
	}
	return i.InnerLower
}

// parseGraphError reads an OData error body; ok is false when data is not
// one.
func parseGraphError(data []byte) (code, inner, msg, reqID string, ok bool) {
	var ge graphError
	if json.Unmarshal(data, &ge) != nil || ge.Error == nil || (ge.Error.Code == "" && ge.Error.Message == "") {
		return "", "", "", "", false
	}
	code, msg = ge.Error.Code, ge.Error.Message
	// Depth-bounded: a hostile body could nest deeply (encoding/json bounds
	// it too, this keeps the loop obviously finite).
	for i, in := 0, ge.Error.inner(); in != nil && i < 16; i, in = i+1, in.inner() {
		if in.Code != "" {
			inner = in.Code
		}
		if reqID == "" {
			reqID = in.RequestID
		}
	}
	return code, inner, msg, reqID, true
}
