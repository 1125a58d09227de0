package app

import (
	"context"
	"slices"
	"strings"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// ListTenants pages through tenants in id order for operators (GET
// /tenants). only == nil lists every tenant; otherwise only the tenants
// with those ids (a caller restricted to them): it never reads past them,
// so a restricted caller learns nothing of the others, not even how many
// there are. The cursor is bound to that scope (domain.EncodeTenantsCursor).
func (s *Tenants) ListTenants(ctx context.Context, cursor string, limit int, only []string) ([]domain.Tenant, string, error) {
	if err := ValidateCursor(cursor); err != nil {
		return nil, "", err
	}
	limit, verr := ValidateLimit(limit)
	if verr != nil {
		return nil, "", verr
	}
	ids := slices.Clone(only)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	scope := "*"
	if only != nil {
		scope = "ids\x00" + strings.Join(ids, "\x00")
	}
	var storeCursor, after string
	if cursor != "" {
		var err error
		if storeCursor, after, err = domain.DecodeTenantsCursor(cursor, scope); err != nil {
			return nil, "", err
		}
	}
	if only == nil {
		if after != "" {
			return nil, "", domain.Invalid("cursor", "cursor is not one this tenant listing returned; list again without a cursor")
		}
		ts, next, err := s.Store.ListTenants(ctx, storeCursor, limit)
		if err != nil {
			return nil, "", pageErr(err, "listing tenants")
		}
		if next != "" {
			next = domain.EncodeTenantsCursor(scope, next, "")
		}
		return ts, next, nil
	}
	if storeCursor != "" {
		return nil, "", domain.Invalid("cursor", "cursor is not one this tenant listing returned; list again without a cursor")
	}
	// The granted ids, read one by one; ids granted but not (or no longer)
	// onboarded are skipped. One more than the page is read so the last
	// page has no next cursor.
	var out []domain.Tenant
	for _, id := range ids {
		if id <= after {
			continue
		}
		t, err := s.Store.GetTenant(ctx, id)
		if domain.IsNotFound(err) {
			continue
		}
		if domain.IsCorrupt(err) {
			// Listed as the full listing lists it, so the others still are.
			t, err = domain.DamagedTenant(id), nil
		}
		if err != nil {
			return nil, "", internal(err, "reading a tenant")
		}
		if len(out) == limit {
			return out, domain.EncodeTenantsCursor(scope, "", out[len(out)-1].ID), nil
		}
		out = append(out, t)
	}
	return out, "", nil
}
