package graphmailbox

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/graph"
)

// want is the expected kind per use: mailbox-wide read, folder read,
// write, access check.
type want [4]domain.AccessErrorKind

var (
	throttled   = want{domain.AccessThrottled, domain.AccessThrottled, domain.AccessThrottled, domain.AccessThrottled}
	auth        = want{domain.AccessAuth, domain.AccessAuth, domain.AccessAuth, domain.AccessAuth}
	denied      = want{domain.AccessOutOfScope, domain.AccessDenied, domain.AccessDenied, domain.AccessOutOfScope}
	noMailbox   = want{domain.AccessMailboxNotFound, domain.AccessMailboxNotFound, domain.AccessMailboxNotFound, domain.AccessMailboxNotFound}
	gone        = want{domain.AccessPermanent, domain.AccessPermanent, domain.AccessTransient, domain.AccessPermanent}
	stale       = want{domain.AccessSyncStateInvalid, domain.AccessSyncStateInvalid, domain.AccessTransient, domain.AccessTransient}
	transient   = want{domain.AccessTransient, domain.AccessTransient, domain.AccessTransient, domain.AccessTransient}
	permanent   = want{domain.AccessPermanent, domain.AccessPermanent, domain.AccessPermanent, domain.AccessPermanent}
	wantOfClass = map[graph.Class]want{
		graph.ClassThrottled: throttled, graph.ClassAuth: auth, graph.ClassAccessDenied: denied,
		graph.ClassMailboxNotFound: noMailbox, graph.ClassNotFound: gone, graph.ClassConflict: gone,
		graph.ClassSyncStateInvalid: stale, graph.ClassInvalid: permanent, graph.ClassTransient: transient,
		graph.ClassPermanent: permanent,
	}
)

func TestClassifyCoversEveryClass(t *testing.T) {
	for class, w := range wantOfClass {
		if got, ok := kinds[class]; !ok || got != [4]domain.AccessErrorKind(w) {
			t.Errorf("kinds[%s] = %v, want %v", class, got, w)
		}
	}
	if len(kinds) != len(wantOfClass) {
		t.Errorf("kinds has %d classes, the test knows %d", len(kinds), len(wantOfClass))
	}
}

func TestClassify(t *testing.T) {
	protocol := func(status int, code string) error {
		return &graph.Error{Layer: graph.LayerProtocol, Op: "Test", HTTPStatus: status, Code: code, Message: "m"}
	}
	cases := []struct {
		name     string
		err      error
		want     want
		code     string
		retryFor time.Duration
	}{
		{"429 with Retry-After", &graph.Error{Layer: graph.LayerProtocol, HTTPStatus: 429, Code: "TooManyRequests", RetryAfter: 7 * time.Second}, throttled, "TooManyRequests", 7 * time.Second},
		{"503 with Retry-After", &graph.Error{Layer: graph.LayerTransport, HTTPStatus: 503, RetryAfter: time.Second}, throttled, "HTTP 503", time.Second},
		{"503 without", &graph.Error{Layer: graph.LayerTransport, HTTPStatus: 503}, transient, "HTTP 503", 0},
		{"401", protocol(401, "InvalidAuthenticationToken"), auth, "InvalidAuthenticationToken", 0},
		{"token refused", fmt.Errorf("token: %w", graph.ErrAuthFailed), auth, domain.AccessCodeTokenRefused, 0},
		{"403", protocol(403, "ErrorAccessDenied"), denied, "ErrorAccessDenied", 0},
		{"403 without code", protocol(403, ""), denied, "HTTP 403", 0},
		{"404 user", protocol(404, "ErrorInvalidUser"), noMailbox, "ErrorInvalidUser", 0},
		{"404 item", protocol(404, "ErrorItemNotFound"), gone, "ErrorItemNotFound", 0},
		{"409", protocol(409, "ErrorIrresolvableConflict"), gone, "ErrorIrresolvableConflict", 0},
		{"410", protocol(410, "syncStateNotFound"), stale, "syncStateNotFound", 0},
		{"410 without code", protocol(410, ""), stale, "HTTP 410", 0},
		{"400", protocol(400, "BadRequest"), permanent, "BadRequest", 0},
		{"500", protocol(500, "generalException"), transient, "generalException", 0},
		{"network", &graph.Error{Layer: graph.LayerTransport, Err: &net.OpError{Op: "dial", Err: errors.New("refused")}}, transient, domain.AccessCodeConnection, 0},
		{"deadline", context.DeadlineExceeded, transient, domain.AccessCodeTimeout, 0},
		{"oversized", &graph.Error{Layer: graph.LayerTransport, HTTPStatus: 200, Err: graph.ErrResponseTooLarge}, permanent, "HTTP 200", 0},
		{"foreign link", &graph.Error{Layer: graph.LayerProtocol, Err: graph.ErrForeignLink}, permanent, "", 0},
		{"not JSON", &graph.Error{Layer: graph.LayerTransport, HTTPStatus: 502, Err: graph.ErrNotJSON}, transient, "HTTP 502", 0},
	}
	// Every code the client classifies, by its class.
	for code, class := range map[string]graph.Class{
		"TooManyRequests": graph.ClassThrottled, "ApplicationThrottled": graph.ClassThrottled, "MailboxConcurrency": graph.ClassThrottled,
		"ActivityLimitReached": graph.ClassThrottled, "ThrottledRequest": graph.ClassThrottled, "ErrorServerBusy": graph.ClassThrottled,
		"ErrorExceededConnectionCount": graph.ClassThrottled, "InvalidAuthenticationToken": graph.ClassAuth, "Unauthenticated": graph.ClassAuth,
		"AuthenticationError": graph.ClassAuth, "ErrorAccessDenied": graph.ClassAccessDenied, "AccessDenied": graph.ClassAccessDenied,
		"Authorization_RequestDenied": graph.ClassAccessDenied, "ErrorInsufficientPermission": graph.ClassAccessDenied,
		"ErrorItemNotFound": graph.ClassNotFound, "itemNotFound": graph.ClassNotFound, "ErrorFolderNotFound": graph.ClassNotFound,
		"ResourceNotFound": graph.ClassNotFound, "MailboxNotEnabledForRESTAPI": graph.ClassMailboxNotFound,
		"MailboxNotSupportedForRESTAPI": graph.ClassMailboxNotFound, "ErrorInvalidUser": graph.ClassMailboxNotFound,
		"ErrorNonExistentMailbox": graph.ClassMailboxNotFound, "ErrorMailRecipientNotFound": graph.ClassMailboxNotFound,
		"Request_ResourceNotFound": graph.ClassMailboxNotFound, "syncStateNotFound": graph.ClassSyncStateInvalid,
		"SyncStateInvalid": graph.ClassSyncStateInvalid, "resyncRequired": graph.ClassSyncStateInvalid,
		"ErrorInvalidSyncStateData": graph.ClassSyncStateInvalid, "ErrorIrresolvableConflict": graph.ClassConflict,
		"ResourceModified": graph.ClassConflict, "ErrorMailboxMoveInProgress": graph.ClassTransient,
		"ErrorMailboxStoreUnavailable": graph.ClassTransient, "ErrorInternalServerTransientError": graph.ClassTransient,
		"ErrorTimeoutExpired": graph.ClassTransient, "serviceNotAvailable": graph.ClassTransient, "generalException": graph.ClassTransient,
		"UnknownError": graph.ClassTransient,
	} {
		// A status that alone would classify otherwise: the code decides.
		cases = append(cases, struct {
			name     string
			err      error
			want     want
			code     string
			retryFor time.Duration
		}{"code " + code, protocol(400, code), wantOfClass[class], code, 0})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for u, kind := range c.want {
				ae := classify(c.err, use(u), "f1")
				if ae.Kind != kind || ae.Code != c.code || ae.RetryAfter != c.retryFor || ae.Folder != "f1" || !errors.Is(ae, c.err) {
					t.Errorf("use %d: %+v, want kind %s code %q retry %s", u, ae, kind, c.code, c.retryFor)
				}
			}
		})
	}
	t.Run("an AccessError passes through", func(t *testing.T) {
		in := &domain.AccessError{Kind: domain.AccessSyncStateInvalid, Code: "X"}
		if got := classify(fmt.Errorf("wrapped: %w", in), useWrite, ""); got != in {
			t.Errorf("classify = %+v", got)
		}
	})
}
