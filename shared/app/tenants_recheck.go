package app

import (
	"context"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// Rotation is what a successful credential rotation did.
type Rotation struct {
	Tenant domain.Tenant
	// Check is the new credential's access check on the probe mailbox.
	Check domain.AccessReport
	// Recheck is how many mailboxes whose login had failed (auth_failed)
	// were set back to pending, so their next sync (due at the tenant's
	// interval, not the slower admin retry) tries the new credential.
	Recheck int
}

// Rotate is RotateCredential, and then makes the mailboxes' status follow
// the new credential: the probe mailbox gets the check's outcome, and
// every other auth_failed mailbox becomes pending with a hint saying the
// next sync re-checks it. Checking them all here could outlast the API's
// time limit on a large tenant; their next sync is at most one interval
// away and checks the same thing. Mailboxes failing for another reason
// (scope, permissions) are left as they are: a new password does not
// change those.
func (s *Tenants) Rotate(ctx context.Context, id string, c domain.Credential, probe string) (Rotation, error) {
	t, rep, err := s.RotateCredential(ctx, id, c, probe)
	if err != nil {
		return Rotation{Tenant: t, Check: rep}, err
	}
	// The credential is rotated; what follows only updates status, and
	// must not be cut short by a client that hangs up.
	rctx := context.WithoutCancel(ctx)
	s.record(rctx, id, []domain.AccessReport{rep})
	n, err := s.resetAuthFailed(rctx, id, rep.Mailbox)
	if err != nil {
		// The rotation stands; the mailboxes recover at their admin
		// retry. Logged, not failed: the caller must not rotate again.
		s.logger(ctx).Error("rotate: resetting auth_failed mailboxes", "tenantId", id, "error", err.Error())
	}
	return Rotation{Tenant: t, Check: rep, Recheck: n}, nil
}

// resetAuthFailed sets the tenant's auth_failed mailboxes other than skip
// to pending with RotatedRecheckHint, and counts them.
func (s *Tenants) resetAuthFailed(ctx context.Context, tenantID, skip string) (int, error) {
	// Collected first: changing a mailbox's status while paging by status
	// would move it out from under the cursor.
	var addrs []string
	cursor := ""
	for {
		ms, next, err := s.Store.ListMailboxes(ctx, tenantID, domain.MailboxQuery{Status: domain.MailboxAuthFailed, Cursor: cursor, Limit: MaxPageLimit})
		if err != nil {
			return 0, err
		}
		for _, m := range ms {
			if m.TenantID == tenantID && m.Address != skip {
				addrs = append(addrs, m.Address)
			}
		}
		if next == "" || next == cursor || len(ms) == 0 {
			break
		}
		cursor = next
	}
	n := 0
	now := s.now()
	for _, a := range addrs {
		// Re-read so a sync that finished meanwhile is not undone.
		m, err := s.Store.GetMailbox(ctx, tenantID, a)
		if domain.IsNotFound(err) || domain.IsCorrupt(err) {
			continue
		}
		if err != nil {
			return n, err
		}
		if m.Status != domain.MailboxAuthFailed {
			continue
		}
		m.Status, m.Hint, m.LastError, m.UpdatedAt = domain.MailboxPending, RotatedRecheckHint(tenantID, a), "", now
		if err := s.Store.PutMailbox(ctx, m); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
