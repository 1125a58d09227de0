package graphmailbox

import (
	"errors"
	"fmt"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/graph"
	"github.com/mailbridge/mailbridge/shared/platform/netfail"
)

// use is what a failed request was for: the same Graph answer means
// different things to a mailbox-wide read, a folder's read, a calendar
// write and an access check.
type use int

const (
	useMailbox use = iota // a mailbox-wide read: the hierarchy
	useFolder             // one folder's items (or one well-known folder)
	useWrite              // a calendar write and the look-up before it
	useCheck              // an access check's probe
)

// kinds is the one mapping of graph classes to domain error kinds, with
// its per-use differences side by side.
var kinds = map[graph.Class][4]domain.AccessErrorKind{
	//                       useMailbox                   useFolder                    useWrite                  useCheck
	graph.ClassThrottled: {domain.AccessThrottled, domain.AccessThrottled, domain.AccessThrottled, domain.AccessThrottled},
	graph.ClassAuth:      {domain.AccessAuth, domain.AccessAuth, domain.AccessAuth, domain.AccessAuth},
	// 403 on the whole mailbox: RBAC for Applications leaves it out of the
	// app's scope. On one folder: the app lacks that folder's permission
	// (Calendars.Read, Contacts.Read), and the other folders still sync,
	// as an unshared folder does for a folder delegate over EWS.
	graph.ClassAccessDenied:    {domain.AccessOutOfScope, domain.AccessDenied, domain.AccessDenied, domain.AccessOutOfScope},
	graph.ClassMailboxNotFound: {domain.AccessMailboxNotFound, domain.AccessMailboxNotFound, domain.AccessMailboxNotFound, domain.AccessMailboxNotFound},
	// A folder gone between the hierarchy and its sync: the next
	// hierarchy sync reports it deleted. A write's item gone (or changed)
	// since the look-up: the next attempt looks it up again.
	graph.ClassNotFound: {domain.AccessPermanent, domain.AccessPermanent, domain.AccessTransient, domain.AccessPermanent},
	graph.ClassConflict: {domain.AccessPermanent, domain.AccessPermanent, domain.AccessTransient, domain.AccessPermanent},
	// A stale delta link: resync that collection. Nothing else has one.
	graph.ClassSyncStateInvalid: {domain.AccessSyncStateInvalid, domain.AccessSyncStateInvalid, domain.AccessTransient, domain.AccessTransient},
	graph.ClassInvalid:          {domain.AccessPermanent, domain.AccessPermanent, domain.AccessPermanent, domain.AccessPermanent},
	graph.ClassTransient:        {domain.AccessTransient, domain.AccessTransient, domain.AccessTransient, domain.AccessTransient},
	graph.ClassPermanent:        {domain.AccessPermanent, domain.AccessPermanent, domain.AccessPermanent, domain.AccessPermanent},
}

// classify turns a graph client error into a *domain.AccessError for u.
// Its Code is Graph's error code (or the HTTP status); the client's
// errors are scrubbed of secrets and tokens already.
func classify(err error, u use, folder string) *domain.AccessError {
	if err == nil {
		return nil
	}
	if ae, ok := errors.AsType[*domain.AccessError](err); ok {
		return ae
	}
	kind := domain.AccessPermanent
	if k, ok := kinds[graph.Classify(err)]; ok {
		kind = k[u]
	}
	ae := &domain.AccessError{Kind: kind, RetryAfter: graph.RetryAfter(err), Code: codeOf(err), Folder: folder, Err: err}
	var e *graph.Error
	if errors.As(err, &e) && e != nil {
		ae.Detail = e.Body // scrubbed and bounded by the client
	}
	return ae
}

// codeOf is the short form of what Graph said: its error code, else the
// HTTP status of an error answer, else what went wrong on the way (the
// token endpoint refused the app's credentials, an HTML page, an empty or
// cut-off body, a timeout, a failed connection), else nothing.
func codeOf(err error) string {
	if errors.Is(err, graph.ErrAuthFailed) {
		return domain.AccessCodeTokenRefused
	}
	var e *graph.Error
	isGraph := errors.As(err, &e) && e != nil
	switch {
	case isGraph && e.Code != "":
		return e.Code
	case isGraph && e.HTTPStatus >= 300:
		return fmt.Sprintf("HTTP %d", e.HTTPStatus)
	case errors.Is(err, graph.ErrEmptyBody):
		return domain.AccessCodeEmptyBody
	case errors.Is(err, graph.ErrHTMLPage):
		return domain.AccessCodeHTMLPage
	case netfail.Timeout(err):
		return domain.AccessCodeTimeout
	case netfail.BadEncoding(err):
		return domain.AccessCodeBadEncoding
	case errors.Is(err, graph.ErrTruncated):
		return domain.AccessCodeTruncated
	case errors.Is(err, graph.ErrNotJSON):
		return domain.AccessCodeNotJSON
	case netfail.Network(err):
		return domain.AccessCodeConnection
	case isGraph && e.HTTPStatus != 0:
		return fmt.Sprintf("HTTP %d", e.HTTPStatus)
	}
	return ""
}

// batchErr makes a sub-response's error an error value without the typed
// nil trap (a nil *graph.Error in an error interface is not nil).
func batchErr(r graph.BatchResponse) error {
	if r.Err == nil {
		return nil
	}
	return r.Err
}
