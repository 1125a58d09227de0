// sync_mode.go owns the access mode a sync uses: the mailbox's override or
// the tenant's mode, the fallback from impersonation to delegate access
// (a mailbox outside the impersonation scope may have granted the service
// account explicit permission), and the mode the mailbox record keeps so
// that later syncs start in the mode that worked.

package app

import (
	"github.com/mailbridge/mailbridge/shared/domain"
)

// configuredMode is the mailbox's override or the tenant's mode.
func (r *syncRun) configuredMode() domain.AccessMode {
	if r.mbox.AccessMode.Valid() {
		return r.mbox.AccessMode
	}
	if r.tenant.AccessMode.Valid() {
		return r.tenant.AccessMode
	}
	return domain.AccessImpersonation
}

// startMode is the configured mode, or delegate when an earlier sync or
// the verifier fell back to it and the tenant still allows that.
func (r *syncRun) startMode() domain.AccessMode {
	mode := r.configuredMode()
	if mode == domain.AccessImpersonation && r.tenant.AllowFallback && r.mbox.EffectiveMode.Delegated() {
		return r.mbox.EffectiveMode
	}
	return mode
}

// mayFallBack reports whether a sync that started in mode and ended with
// err falls back from impersonation to delegate access: the mailbox is
// outside the impersonation scope and the tenant allows the fallback.
func (r *syncRun) mayFallBack(mode domain.AccessMode, err error) bool {
	ae := asAccess(err)
	return ae != nil && ae.Kind == domain.AccessOutOfScope &&
		mode == domain.AccessImpersonation && r.tenant.AllowFallback
}

// fallBack switches the job to delegate access.
func (r *syncRun) fallBack() {
	r.ref.Mode = domain.AccessDelegate
	r.res.Mode, r.res.FellBack = domain.AccessDelegate, true
}

// recordedMode is the mode the mailbox record keeps after a sync that
// used mode: the mode it fell back to, or the mode of a sync that ended
// well; otherwise what the record had.
func recordedMode(had, mode domain.AccessMode, fellBack bool, status domain.MailboxStatus) domain.AccessMode {
	if fellBack || (status == domain.MailboxOK && had != mode) {
		return mode
	}
	return had
}
