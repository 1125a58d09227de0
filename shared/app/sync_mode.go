// sync_mode.go owns the access mode a job uses.

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
