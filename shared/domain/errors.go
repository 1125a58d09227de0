package domain

import (
	"errors"
	"fmt"
)

// ErrorCode is a machine-readable error class. The API maps codes to HTTP
// status in one place (shared/api); nothing else decides status codes.
type ErrorCode string

const (
	CodeInvalid     ErrorCode = "invalid"     // 400: bad input; Field names it
	CodeNotFound    ErrorCode = "not_found"   // 404
	CodeConflict    ErrorCode = "conflict"    // 409: exists already, or version mismatch
	CodeTooLarge    ErrorCode = "too_large"   // 413
	CodeUnsupported ErrorCode = "unsupported" // 415
	CodeForbidden   ErrorCode = "forbidden"   // 403
	CodeUpstream    ErrorCode = "upstream"    // 502: Exchange said no in a way the caller must fix
	CodeGone        ErrorCode = "gone"        // 410: existed, no longer kept (an expired feed cursor)
	CodeUnavailable ErrorCode = "unavailable" // 503: try later
	CodeInternal    ErrorCode = "internal"    // 500: details only in logs
	// CodeNotImplemented (501): the operation exists but this deployment
	// does not serve it for the tenant's protocol.
	CodeNotImplemented ErrorCode = "not_implemented"
)

// CodeRateLimited is 429: too many requests; Retry-After says when to
// retry.
const CodeRateLimited ErrorCode = "rate_limited"

// Error is the one error type use cases return to their callers.
type Error struct {
	Code    ErrorCode
	Message string
	Field   string
	Err     error // cause; never shown to API clients
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s (%s)", e.Code, e.Message, e.Field)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Invalid is a bad-input error naming the field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: CodeInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// NotFound says what was not found.
func NotFound(format string, args ...any) *Error {
	return &Error{Code: CodeNotFound, Message: fmt.Sprintf(format, args...)}
}

// Conflict says what conflicted.
func Conflict(format string, args ...any) *Error {
	return &Error{Code: CodeConflict, Message: fmt.Sprintf(format, args...)}
}

// ErrorCodeOf returns the code of err, CodeInternal for foreign errors.
func ErrorCodeOf(err error) ErrorCode {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// Sentinel errors that stores return (wrapped or bare).
var (
	ErrNotFound = &Error{Code: CodeNotFound, Message: "not found"}
	ErrConflict = &Error{Code: CodeConflict, Message: "conflict"}
)

// IsNotFound reports whether err is a not-found error.
func IsNotFound(err error) bool { return ErrorCodeOf(err) == CodeNotFound }

// IsConflict reports whether err is a conflict error.
func IsConflict(err error) bool { return ErrorCodeOf(err) == CodeConflict }

// ErrCorruptRecord matches (errors.Is) every *CorruptRecordError.
var ErrCorruptRecord = errors.New("stored record is damaged")

// CorruptRecordError is what a store returns for one stored record that
// does not decode (a damaged disk page, a hand-edited item). It names the
// record by its key, never by its content, and is confined to that record:
// the stores list such a mailbox as DamagedMailbox, and the use cases skip
// it, so one bad record never stops the others.
type CorruptRecordError struct {
	Record   string // what it is: "mailbox", "sync state", "calendar retry"
	TenantID string // empty for records outside a tenant
	Key      string // the mailbox address, the request id, ...
	Err      error  // the decode error
}

func (e *CorruptRecordError) Error() string {
	if e.TenantID == "" {
		return fmt.Sprintf("the stored %s record %s is damaged: %v", e.Record, e.Key, e.Err)
	}
	return fmt.Sprintf("the stored %s record %s of tenant %q is damaged: %v", e.Record, e.Key, e.TenantID, e.Err)
}

func (e *CorruptRecordError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrCorruptRecord) true.
func (e *CorruptRecordError) Is(target error) bool { return target == ErrCorruptRecord }

// IsCorrupt reports whether err is (or wraps) a CorruptRecordError.
func IsCorrupt(err error) bool { return errors.Is(err, ErrCorruptRecord) }
