package ewsmailbox

import (
	"crypto/x509"
	"fmt"
	"net/url"
	"testing"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ews"
	"github.com/mailbridge/mailbridge/shared/platform/urlguard"
)

// TestClassifyEveryUse pins, for every Exchange error worth typing, what
// each use makes of it: the kind a sync read and a calendar write get, and
// the status an access check reports. The rows where the uses differ are
// the ones declared in kindByUse.
func TestClassifyEveryUse(t *testing.T) {
	const (
		throttled   = domain.AccessThrottled
		auth        = domain.AccessAuth
		outOfScope  = domain.AccessOutOfScope
		denied      = domain.AccessDenied
		noMailbox   = domain.AccessMailboxNotFound
		stateGone   = domain.AccessSyncStateInvalid
		transient   = domain.AccessTransient
		permanent   = domain.AccessPermanent
		stThrottled = domain.MailboxThrottled
		stError     = domain.MailboxError
	)
	response := func(code string) error {
		return &ews.Error{Layer: ews.LayerResponse, Op: "GetFolder", ResponseCode: code, Message: "from Exchange"}
	}
	httpStatus := func(status int) error {
		return &ews.Error{Layer: ews.LayerTransport, Op: "GetFolder", HTTPStatus: status}
	}
	tests := []struct {
		code        string
		err         error
		read, write domain.AccessErrorKind
		check       domain.MailboxStatus
	}{
		{"ErrorServerBusy", response("ErrorServerBusy"), throttled, throttled, stThrottled},
		{"ErrorImpersonateUserDenied", response("ErrorImpersonateUserDenied"), outOfScope, outOfScope, domain.MailboxOutOfScope},
		{"ErrorImpersonationDenied", response("ErrorImpersonationDenied"), outOfScope, outOfScope, domain.MailboxOutOfScope},
		{"ErrorAccessDenied", response("ErrorAccessDenied"), denied, denied, domain.MailboxAccessDenied},
		{"ErrorNonExistentMailbox", response("ErrorNonExistentMailbox"), noMailbox, noMailbox, domain.MailboxNotFound},
		{"ErrorMailboxMoveInProgress", response("ErrorMailboxMoveInProgress"), transient, transient, stError},
		{"ErrorMailboxStoreUnavailable", response("ErrorMailboxStoreUnavailable"), transient, transient, stError},
		{"ErrorExceededConnectionCount", response("ErrorExceededConnectionCount"), throttled, throttled, stThrottled},
		{"ErrorTooManyObjectsOpened", response("ErrorTooManyObjectsOpened"), transient, transient, stError},
		{"ErrorInvalidSyncStateData", response("ErrorInvalidSyncStateData"), stateGone, stateGone, stError},
		// A read's folder is gone for good; a write's item vanished between
		// FindItem and the write, and the next attempt finds afresh.
		{"ErrorItemNotFound", response("ErrorItemNotFound"), permanent, transient, stError},
		{"ErrorIrresolvableConflict", response("ErrorIrresolvableConflict"), transient, transient, stError},
		{"ErrorSchemaValidation", response("ErrorSchemaValidation"), permanent, permanent, stError},
		{"HTTP 401", httpStatus(401), auth, auth, domain.MailboxAuthFailed},
		{"HTTP 403", httpStatus(403), auth, auth, domain.MailboxAuthFailed},
		{"HTTP 429", httpStatus(429), throttled, throttled, stThrottled},
		{"HTTP 503", httpStatus(503), throttled, throttled, stThrottled},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			for _, u := range []struct {
				use  use
				want domain.AccessErrorKind
			}{{useRead, tt.read}, {useWrite, tt.write}} {
				ae := classify(u.use, tt.err, "inbox")
				if ae.Kind != u.want || ae.Code != tt.code || ae.Folder != "inbox" || ae.Err != tt.err {
					t.Errorf("%s: kind %s code %q folder %q, want %s %q inbox", u.use, ae.Kind, ae.Code, ae.Folder, u.want, tt.code)
				}
			}
			rep := failed(domain.AccessReport{Mode: domain.AccessImpersonation}, classify(useCheck, tt.err, ""))
			if rep.Status != tt.check || rep.Code != tt.code {
				t.Errorf("check: status %s code %q, want %s %q", rep.Status, rep.Code, tt.check, tt.code)
			}
			if rep.Throttled != (tt.check == stThrottled) {
				t.Errorf("check: throttled %v for status %s", rep.Throttled, rep.Status)
			}
		})
	}
}

// TestEveryClassHasAKind: a class ews adds later must get a kind here, not
// fall to permanent by accident.
func TestEveryClassHasAKind(t *testing.T) {
	for _, c := range []ews.Class{ews.ClassThrottled, ews.ClassAuth, ews.ClassOutOfScope, ews.ClassAccessDenied, ews.ClassMailboxNotFound,
		ews.ClassSyncStateInvalid, ews.ClassItemNotFound, ews.ClassConflict, ews.ClassTransient, ews.ClassPermanent} {
		if _, ok := kindOfClass[c]; !ok {
			t.Errorf("class %s has no domain kind", c)
		}
	}
	for u, table := range kindByUse {
		for c := range table {
			if _, ok := kindOfClass[c]; !ok {
				t.Errorf("%s overrides class %s, which has no base kind", u, c)
			}
		}
	}
}

// TestFailuresWithoutAServerCode: failures that never reached a usable EWS
// answer get the code a fix hint is chosen by, and the access check
// reports them with the status and detail an admin reads (the answers the
// simulator does not give: Exchange Online refusing Basic, a refused
// token, TLS trust, the URL guard).
func TestFailuresWithoutAServerCode(t *testing.T) {
	const onprem = "https://mail.contoso.com/EWS/Exchange.asmx"
	transport := func(cause error) error {
		return &ews.Error{Layer: ews.LayerTransport, Op: "GetFolder", Message: "request failed", Err: &url.Error{Op: "Post", URL: onprem, Err: cause}}
	}
	tests := []struct {
		name   string
		err    error
		kind   domain.AccessErrorKind
		code   string
		status domain.MailboxStatus
		detail string
	}{
		{"basic refused", &ews.Error{Layer: ews.LayerTransport, HTTPStatus: 401}, domain.AccessAuth, "HTTP 401", domain.MailboxAuthFailed,
			"HTTP 401: Exchange rejected the credentials"},
		{"token refused by Exchange", &ews.Error{Layer: ews.LayerTransport, HTTPStatus: 403}, domain.AccessAuth, "HTTP 403", domain.MailboxAuthFailed,
			"HTTP 403: Exchange rejected the credentials"},
		{"token endpoint refused", fmt.Errorf("ews GetFolder: %w: AADSTS700016: app not found", ews.ErrAuthFailed), domain.AccessAuth,
			domain.AccessCodeTokenRefused, domain.MailboxAuthFailed, "the token endpoint refused the app's credentials (AADSTS700016)"},
		// A TLS failure arrives as a network error, which ews.Classify
		// calls transient; its code still names the fix.
		{"untrusted certificate", transport(x509.UnknownAuthorityError{}), domain.AccessTransient, domain.AccessCodeTLSUnknownAuthority,
			domain.MailboxError, "TLS: the server's certificate is signed by an unknown authority"},
		{"certificate for another host", transport(x509.HostnameError{Certificate: &x509.Certificate{}, Host: "mail.contoso.com"}), domain.AccessTransient,
			domain.AccessCodeTLSHostname, domain.MailboxError, "TLS: the server's certificate is not valid for mail.contoso.com"},
		// Without a server's code the detail is what answered instead of
		// EWS; the application says what the code means (app.Problem).
		{"not an EWS answer", &ews.Error{Layer: ews.LayerTransport, HTTPStatus: 200, Body: `application/json, starting "{}"`, Err: ews.ErrMalformedResponse},
			domain.AccessPermanent, domain.AccessCodeNotSOAP, domain.MailboxError, `application/json, starting "{}"`},
		{"a login page", &ews.Error{Layer: ews.LayerTransport, HTTPStatus: 200, Body: `text/html, an HTML page titled "Sign in"`, Err: ews.ErrHTMLPage},
			domain.AccessPermanent, domain.AccessCodeHTMLPage, domain.MailboxError, `text/html, an HTML page titled "Sign in"`},
		{"no EWS endpoint", &ews.Error{Layer: ews.LayerTransport, HTTPStatus: 404, Body: `text/html, an HTML page titled "404 - File or directory not found."`},
			domain.AccessPermanent, "HTTP 404", domain.MailboxError, `text/html, an HTML page titled "404 - File or directory not found."`},
		{"an empty body", &ews.Error{Layer: ews.LayerTransport, HTTPStatus: 200, Err: ews.ErrEmptyBody}, domain.AccessTransient,
			domain.AccessCodeEmptyBody, domain.MailboxError, ""},
		{"address refused", transport(&urlguard.Error{Reason: "URL resolves to 127.0.0.1, a loopback address"}), domain.AccessPermanent,
			domain.AccessCodeAddressRefused, domain.MailboxError, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ae := classify(useCheck, tt.err, "")
			if ae.Kind != tt.kind || ae.Code != tt.code {
				t.Errorf("kind %s code %q, want %s %q", ae.Kind, ae.Code, tt.kind, tt.code)
			}
			rep := failed(domain.AccessReport{Mode: domain.AccessImpersonation}, ae)
			if rep.Status != tt.status || rep.ErrorKind != tt.kind || rep.Code != tt.code {
				t.Errorf("report %+v, want status %s", rep, tt.status)
			}
			if tt.detail != "" && rep.Detail != tt.detail {
				t.Errorf("detail %q, want %q", rep.Detail, tt.detail)
			}
			if rep.Hint != "" {
				t.Errorf("the checker wrote a hint: %q", rep.Hint)
			}
		})
	}
}
