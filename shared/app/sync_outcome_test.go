package app

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// TestDecideOutcome is the table of what follows a sync: every access
// error kind, the time budget, other errors, a checkpoint that could not
// be saved, and success with and without unreadable folders.
func TestDecideOutcome(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	okBox := domain.Mailbox{TenantID: "acme", Address: "ann@acme.com", Status: domain.MailboxOK,
		EffectiveMode: domain.AccessImpersonation, LastSync: now.Add(-time.Minute)}
	failing := okBox // a mailbox whose last sync recorded a problem
	failing.Status, failing.Hint, failing.LastError = domain.MailboxAuthFailed, "rotate", "ErrorUnauthorized"
	base := syncFacts{mailbox: okBox, tenantID: "acme", mode: domain.AccessImpersonation, anyReadable: true,
		appended: 3, now: now, refresh: time.Hour}
	access := func(k domain.AccessErrorKind, code string) error {
		return fmt.Errorf("sync: %w", &domain.AccessError{Kind: k, Code: code})
	}
	throttled := func(after time.Duration) error {
		return &domain.AccessError{Kind: domain.AccessThrottled, Code: "ErrorServerBusy", RetryAfter: after}
	}
	budget := &RetryLater{Reason: "time budget used; continuing in a new job"}
	boom := errors.New("store unavailable")
	transient := access(domain.AccessTransient, "ErrorMailboxStoreUnavailable")
	conflict := fmt.Errorf("sync: saving checkpoint: %w", domain.ErrConflict)
	// Hint text is owned by Hint (hints_test.go checks its wording); here
	// each case names the part that shows the right hint was chosen.
	verifyHint := "check again with POST /tenants/acme/verify?mailbox=ann@acme.com"
	scopeHint := "Add ann@acme.com to the management scope (or the scope group) that the ApplicationImpersonation role assignment"

	type want struct {
		action     SyncOutcome
		after      time.Duration
		err        error // nil, or the error SyncMailbox returns (compared with errors.Is, or by delay for RetryLater)
		unfinished bool
		status     domain.MailboxStatus
		hint       string // a part of the hint ("": no hint at all)
		notHint    string // a part the hint must not have
		lastError  string
		write      bool
		mode       domain.AccessMode // the mode the record keeps when written
		audit      string
	}
	cases := []struct {
		name string
		f    func(f *syncFacts)
		want want
	}{
		{"synced, nothing new, record unchanged and fresh: no write", func(f *syncFacts) { f.appended = 0 },
			want{action: OutcomeOK, status: domain.MailboxOK, audit: "ok: 0 changes appended"}},
		{"synced with changes, record fresh: written to move LastSync", func(f *syncFacts) {},
			want{action: OutcomeOK, status: domain.MailboxOK, write: true, mode: domain.AccessImpersonation, audit: "ok: 3 changes appended"}},
		{"synced, LastSync stale: written to move it", func(f *syncFacts) { f.mailbox.LastSync = now.Add(-2 * time.Hour) },
			want{action: OutcomeOK, status: domain.MailboxOK, write: true, mode: domain.AccessImpersonation, audit: "ok: 3 changes appended"}},
		{"synced after a problem: status cleared", func(f *syncFacts) { f.mailbox = failing },
			want{action: OutcomeOK, status: domain.MailboxOK, write: true, mode: domain.AccessImpersonation, audit: "ok: 3 changes appended"}},
		{"synced, some folders unreadable", func(f *syncFacts) { f.unreadable = []string{"Projects", "calendar"} },
			want{action: OutcomeOK, status: domain.MailboxOK, write: true, mode: domain.AccessImpersonation, audit: "ok: 3 changes appended",
				hint: "Folder calendar is not shared with the service account"}},
		{"synced, no folder readable", func(f *syncFacts) { f.unreadable, f.anyReadable, f.appended = []string{"inbox"}, false, 0 },
			want{action: OutcomeOK, status: domain.MailboxAccessDenied, lastError: "ErrorAccessDenied", write: true, mode: domain.AccessImpersonation,
				hint: "has no permission on ann@acme.com: grant it FullAccess", audit: "access_denied: 0 changes appended"}},
		{"synced after the fallback to delegate access", func(f *syncFacts) { f.mode, f.fellBack = domain.AccessDelegate, true },
			want{action: OutcomeOK, status: domain.MailboxOK, write: true, mode: domain.AccessDelegate, audit: "ok: 3 changes appended",
				hint: "Impersonation is refused for this mailbox, so it is read with delegate access"}},

		{"throttled: the server's delay", func(f *syncFacts) { f.runErr = throttled(4200 * time.Millisecond) },
			want{action: OutcomeRequeued, after: 4200 * time.Millisecond, err: &RetryLater{}, unfinished: true, status: domain.MailboxThrottled, lastError: "ErrorServerBusy", write: true, mode: domain.AccessImpersonation, hint: "Exchange is throttling",
				audit: "retry later: throttled by Exchange (ErrorServerBusy)"}},
		{"throttled without a delay: the default", func(f *syncFacts) { f.runErr = throttled(0) },
			want{action: OutcomeRequeued, after: DefaultThrottleDelay, err: &RetryLater{}, unfinished: true, status: domain.MailboxThrottled, lastError: "ErrorServerBusy", write: true, mode: domain.AccessImpersonation, hint: "Exchange is throttling",
				audit: "retry later: throttled by Exchange (ErrorServerBusy)"}},
		{"throttled for hours: capped", func(f *syncFacts) { f.runErr = throttled(3 * time.Hour) },
			want{action: OutcomeRequeued, after: MaxThrottleDelay, err: &RetryLater{}, unfinished: true, status: domain.MailboxThrottled, lastError: "ErrorServerBusy", write: true, mode: domain.AccessImpersonation, hint: "Exchange is throttling",
				audit: "retry later: throttled by Exchange (ErrorServerBusy)"}},
		{"throttled for milliseconds: a whole second", func(f *syncFacts) { f.runErr = throttled(20 * time.Millisecond) },
			want{action: OutcomeRequeued, after: time.Second, err: &RetryLater{}, unfinished: true, status: domain.MailboxThrottled, lastError: "ErrorServerBusy", write: true, mode: domain.AccessImpersonation, hint: "Exchange is throttling",
				audit: "retry later: throttled by Exchange (ErrorServerBusy)"}},
		{"throttled keeps a recorded problem as it was", func(f *syncFacts) { f.mailbox, f.runErr = failing, throttled(time.Second) },
			want{action: OutcomeRequeued, after: time.Second, err: &RetryLater{}, unfinished: true, status: domain.MailboxAuthFailed, hint: "rotate",
				lastError: "ErrorUnauthorized", audit: "retry later: throttled by Exchange (ErrorServerBusy)"}},
		{"time budget used: continued at once", func(f *syncFacts) { f.runErr = budget },
			want{action: OutcomeRequeued, after: 0, err: budget, unfinished: true, status: domain.MailboxOK,
				audit: "retry later: time budget used; continuing in a new job"}},

		{"auth failed", func(f *syncFacts) { f.runErr = access(domain.AccessAuth, "ErrorUnauthorized") },
			want{action: OutcomeOK, status: domain.MailboxAuthFailed, lastError: "ErrorUnauthorized", write: true, mode: domain.AccessImpersonation,
				hint: "store the corrected credentials with PUT /tenants/acme/credentials", audit: "auth_failed: ErrorUnauthorized"}},
		{"out of scope, no fallback allowed", func(f *syncFacts) { f.runErr = access(domain.AccessOutOfScope, "ErrorImpersonateUserDenied") },
			want{action: OutcomeOK, status: domain.MailboxOutOfScope, lastError: "ErrorImpersonateUserDenied", write: true, mode: domain.AccessImpersonation,
				hint: "Or allow fallback to delegate access and grant the service account permission on the mailbox", audit: "out_of_scope: ErrorImpersonateUserDenied"}},
		{"out of scope, fallback allowed", func(f *syncFacts) {
			f.runErr, f.allowFallback = access(domain.AccessOutOfScope, "ErrorImpersonateUserDenied"), true
		}, want{action: OutcomeOK, status: domain.MailboxOutOfScope, lastError: "ErrorImpersonateUserDenied", write: true, mode: domain.AccessImpersonation,
			hint: scopeHint, notHint: "Or allow fallback", audit: "out_of_scope: ErrorImpersonateUserDenied"}},
		{"access denied", func(f *syncFacts) { f.runErr = access(domain.AccessDenied, "ErrorAccessDenied") },
			want{action: OutcomeOK, status: domain.MailboxAccessDenied, lastError: "ErrorAccessDenied", write: true, mode: domain.AccessImpersonation,
				hint: "has no permission on ann@acme.com: grant it FullAccess", audit: "access_denied: ErrorAccessDenied"}},
		{"access denied after the fallback keeps the delegate mode", func(f *syncFacts) {
			f.runErr, f.mode, f.fellBack = access(domain.AccessDenied, "ErrorAccessDenied"), domain.AccessDelegate, true
		}, want{action: OutcomeOK, status: domain.MailboxAccessDenied, lastError: "ErrorAccessDenied", write: true, mode: domain.AccessDelegate,
			hint: "has no permission on ann@acme.com: grant it FullAccess", audit: "access_denied: ErrorAccessDenied"}},
		{"mailbox not found", func(f *syncFacts) { f.runErr = access(domain.AccessMailboxNotFound, "ErrorNonExistentMailbox") },
			want{action: OutcomeOK, status: domain.MailboxNotFound, lastError: "ErrorNonExistentMailbox", write: true, mode: domain.AccessImpersonation,
				hint: "remove it with DELETE /tenants/acme/mailboxes/ann@acme.com", audit: "not_found: ErrorNonExistentMailbox"}},
		{"sync state invalid (not recovered)", func(f *syncFacts) { f.runErr = access(domain.AccessSyncStateInvalid, "ErrorInvalidSyncStateData") },
			want{action: OutcomeOK, status: domain.MailboxError, lastError: "ErrorInvalidSyncStateData", write: true, mode: domain.AccessImpersonation,
				hint: verifyHint, audit: "error: ErrorInvalidSyncStateData"}},
		{"permanent", func(f *syncFacts) { f.runErr = access(domain.AccessPermanent, "ErrorSchemaValidation") },
			want{action: OutcomeOK, status: domain.MailboxError, lastError: "ErrorSchemaValidation", write: true, mode: domain.AccessImpersonation,
				hint: "Exchange refused the request (ErrorSchemaValidation)", audit: "error: ErrorSchemaValidation"}},
		{"transient: redelivered", func(f *syncFacts) { f.runErr = transient },
			want{action: OutcomeFailed, err: transient, unfinished: true, status: domain.MailboxError, lastError: "ErrorMailboxStoreUnavailable", write: true,
				mode: domain.AccessImpersonation, hint: "answered with a temporary error", audit: "error: retried"}},
		{"an error of ours: redelivered", func(f *syncFacts) { f.runErr = boom },
			want{action: OutcomeFailed, err: boom, unfinished: true, status: domain.MailboxOK, audit: "error: retried"}},

		{"checkpoint conflict after a sync: requeued on a fresh read", func(f *syncFacts) { f.checkpointErr = conflict },
			want{action: OutcomeRequeued, after: ConflictRetryDelay, err: &RetryLater{}, status: domain.MailboxOK,
				audit: "ok: 3 changes appended (checkpoint not saved: retried)"}},
		{"checkpoint conflict outranks throttling's delay", func(f *syncFacts) { f.runErr, f.checkpointErr = throttled(time.Minute), conflict },
			want{action: OutcomeRequeued, after: ConflictRetryDelay, err: &RetryLater{}, unfinished: true, status: domain.MailboxThrottled, lastError: "ErrorServerBusy", write: true, mode: domain.AccessImpersonation, hint: "Exchange is throttling",
				audit: "retry later: throttled by Exchange (ErrorServerBusy) (checkpoint not saved: retried)"}},
		{"checkpoint not saved: redelivered", func(f *syncFacts) { f.checkpointErr = boom },
			want{action: OutcomeFailed, err: boom, status: domain.MailboxOK, audit: "ok: 3 changes appended (checkpoint not saved: retried)"}},
		{"checkpoint not saved after an access problem: redelivered, problem recorded", func(f *syncFacts) {
			f.runErr, f.checkpointErr = access(domain.AccessAuth, "ErrorUnauthorized"), boom
		}, want{action: OutcomeFailed, err: boom, status: domain.MailboxAuthFailed, lastError: "ErrorUnauthorized", write: true, mode: domain.AccessImpersonation,
			hint: "PUT /tenants/acme/credentials", audit: "auth_failed: ErrorUnauthorized (checkpoint not saved: retried)"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := base
			c.f(&f)
			w := c.want
			o := decideOutcome(f)
			if o.action != w.action || o.after != w.after || o.unfinished != w.unfinished {
				t.Errorf("action, after, unfinished = %v, %v, %v; want %v, %v, %v", o.action, o.after, o.unfinished, w.action, w.after, w.unfinished)
			}
			switch want := w.err.(type) {
			case nil:
				if o.err != nil {
					t.Errorf("err = %v, want nil", o.err)
				}
			case *RetryLater:
				var rl *RetryLater
				if !errors.As(o.err, &rl) || rl.After != w.after || rl.Reason != o.reason {
					t.Errorf("err = %v, want RetryLater after %v (reason %q)", o.err, w.after, o.reason)
				}
				if want == budget && rl != budget {
					t.Errorf("err = %p, want the run's own RetryLater %p", rl, budget)
				}
			default:
				if !errors.Is(o.err, want) {
					t.Errorf("err = %v, want %v", o.err, want)
				}
			}
			if o.status != w.status || !hintMatches(o.hint, w.hint) || (w.notHint != "" && strings.Contains(o.hint, w.notHint)) || o.lastError != w.lastError {
				t.Errorf("status, hint, lastError = %q, %q, %q;\nwant %q, %q, %q", o.status, o.hint, o.lastError, w.status, w.hint, w.lastError)
			}
			if o.audit != w.audit {
				t.Errorf("audit = %q, want %q", o.audit, w.audit)
			}
			if o.writeMailbox != w.write {
				t.Errorf("writeMailbox = %v, want %v", o.writeMailbox, w.write)
			}
			if o.unfinished && o.writeMailbox && o.status != domain.MailboxThrottled && o.status != domain.MailboxError {
				t.Error("an unfinished sync writes the mailbox record only to say Exchange throttled or failed")
			}
			if w.write {
				m := o.mailbox
				if m.Status != w.status || !hintMatches(m.Hint, w.hint) || m.LastError != w.lastError || m.EffectiveMode != w.mode || !m.UpdatedAt.Equal(now) {
					t.Errorf("record = %+v; want status %q, hint %q, lastError %q, mode %q, updated now", m, w.status, w.hint, w.lastError, w.mode)
				}
				synced := f.runErr == nil && w.status == domain.MailboxOK
				if got := m.LastSync.Equal(now); got != synced {
					t.Errorf("LastSync moved to now = %v, want %v", got, synced)
				}
			}
		})
	}
}

// TestDecideOutcomeCoversEveryAccessErrorKind: a kind added to the domain
// must get its row above (this list is the domain's, in its order).
func TestDecideOutcomeCoversEveryAccessErrorKind(t *testing.T) {
	kinds := map[domain.AccessErrorKind]SyncOutcome{
		domain.AccessThrottled:        OutcomeRequeued,
		domain.AccessAuth:             OutcomeOK,
		domain.AccessOutOfScope:       OutcomeOK,
		domain.AccessDenied:           OutcomeOK,
		domain.AccessMailboxNotFound:  OutcomeOK,
		domain.AccessSyncStateInvalid: OutcomeOK,
		domain.AccessTransient:        OutcomeFailed,
		domain.AccessPermanent:        OutcomeOK,
	}
	for k, want := range kinds {
		t.Run(string(k), func(t *testing.T) {
			o := decideOutcome(syncFacts{runErr: &domain.AccessError{Kind: k}, refresh: time.Hour})
			if o.action != want {
				t.Errorf("action = %v, want %v", o.action, want)
			}
			// Every kind is recorded on the mailbox; throttled and transient
			// ones also come back (the job is not finished).
			comesBack := k == domain.AccessThrottled || k == domain.AccessTransient
			if !o.writeMailbox || o.unfinished != comesBack {
				t.Errorf("writeMailbox, unfinished = %v, %v; want recorded, and unfinished %v", o.writeMailbox, o.unfinished, comesBack)
			}
		})
	}
}

// TestOutcomeOf: the batch worker reads a sync's outcome back from the
// error SyncMailbox returned.
func TestOutcomeOf(t *testing.T) {
	boom := errors.New("boom")
	cases := []struct {
		name   string
		err    error
		want   SyncOutcome
		after  time.Duration
		reason string
	}{
		{"done", nil, OutcomeOK, 0, ""},
		{"retry later", fmt.Errorf("wrapped: %w", &RetryLater{After: 3 * time.Second, Reason: "throttled"}), OutcomeRequeued, 3 * time.Second, "throttled"},
		{"retry at once", &RetryLater{Reason: "time budget used"}, OutcomeRequeued, 0, "time budget used"},
		{"rejected", &domain.Error{Code: domain.CodeForbidden, Message: "not the tenant's"}, OutcomeRejected, 0, ""},
		{"not found", domain.NotFound("tenant %q does not exist", "x"), OutcomeRejected, 0, ""},
		{"failed", boom, OutcomeFailed, 0, "failed: boom"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o, after, reason := outcomeOf(c.err)
			if o != c.want || after != c.after || reason != c.reason {
				t.Errorf("outcomeOf(%v) = %v, %v, %q; want %v, %v, %q", c.err, o, after, reason, c.want, c.after, c.reason)
			}
		})
	}
}

// hintMatches: want "" means no hint; otherwise the hint contains want.
func hintMatches(got, want string) bool {
	if want == "" {
		return got == ""
	}
	return strings.Contains(got, want)
}
