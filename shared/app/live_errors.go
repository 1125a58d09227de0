package app

import (
	"context"
	"log/slog"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/platform/redact"
)

// requestLogger is l (the default logger when nil) with the request id of
// ctx, so every line of one API request can be found together.
func requestLogger(ctx context.Context, l *slog.Logger) *slog.Logger {
	if l == nil {
		l = slog.Default()
	}
	if id := RequestID(ctx); id != "" {
		l = l.With("requestId", id)
	}
	return l
}

// liveFailure words the answer when a call the API makes to Exchange while
// the caller waits (rooms, people, calendar view, content, room meetings)
// was refused or failed. One rule for all of them: the tenant's retired
// EWS endpoint is a 409 naming the fix, throttling a 503 (ask later),
// refused credentials a 502 naming the credentials route, refused access a
// 502 with what the customer's admin grants, anything else a 502; each
// says the failure's kind and code. Exchange's own words go to the log
// only, redacted.
type liveFailure struct {
	subject string // the log line's: "people lookup"
	denied  string // refused access: "Exchange refused the lookup"
	grant   string // after the kind and code: "; on Graph the app needs ..."
	failed  string // anything else: "Exchange could not look people up"
}

func (f liveFailure) answer(ctx context.Context, log *slog.Logger, tenantID string, cred domain.Credential, err error) error {
	ae := domain.AccessErrorOf(err)
	requestLogger(ctx, log).Warn(f.subject+": Exchange call failed", "tenantId", tenantID, "error", redact.ForCredential(cred).Clean(err.Error(), redact.MaxDetail))
	what := string(ae.Kind)
	if ae.Code != "" {
		what += ", " + ae.Code
	}
	switch {
	case ae.Code == CodeEWSRetired:
		return &domain.Error{Code: domain.CodeConflict, Message: ae.Err.Error(), Err: err}
	case ae.Kind == domain.AccessThrottled:
		return &domain.Error{Code: domain.CodeUnavailable, Message: "Exchange is throttling the tenant's account (" + what + "); ask again later", Err: err}
	case ae.Kind == domain.AccessAuth:
		return &domain.Error{Code: domain.CodeUpstream, Message: "Exchange refused the tenant's credentials (" + what + "); PUT /tenants/" + tenantID + "/credentials", Err: err}
	case ae.Kind == domain.AccessDenied || ae.Kind == domain.AccessOutOfScope:
		return &domain.Error{Code: domain.CodeUpstream, Message: f.denied + " (" + what + ")" + f.grant, Err: err}
	}
	return &domain.Error{Code: domain.CodeUpstream, Message: f.failed + " (" + what + ")", Err: err}
}
