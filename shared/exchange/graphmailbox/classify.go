package graphmailbox

import (
	"errors"
	"fmt"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/graph"
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
	var ae *domain.AccessError
	if errors.As(err, &ae) {
		return ae
	}
	kind := domain.AccessPermanent
	if k, ok := kinds[graph.Classify(err)]; ok {
		kind = k[u]
	}
	return &domain.AccessError{Kind: kind, RetryAfter: graph.RetryAfter(err), Code: codeOf(err), Folder: folder, Err: err}
}

// codeOf is the short form of what Graph said: its error code, else the
// HTTP status, else what went wrong on the way (the token endpoint
// refused the app's credentials), else nothing.
func codeOf(err error) string {
	if errors.Is(err, graph.ErrAuthFailed) {
		return domain.AccessCodeTokenRefused
	}
	var e *graph.Error
	if !errors.As(err, &e) || e == nil {
		return ""
	}
	switch {
	case e.Code != "":
		return e.Code
	case e.HTTPStatus != 0:
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
