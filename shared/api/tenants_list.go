package api

import (
	"net/http"
	"slices"

	"github.com/mailbridge/mailbridge/shared/domain"
)

type tenantPage struct {
	Tenants    []tenantView `json:"tenants"`
	NextCursor string       `json:"nextCursor,omitempty"`
}

// listTenants is GET /tenants, for operators: every tenant, or with
// CallerTenants only those the caller is granted ("*" grants all).
func (s *server) listTenants(w http.ResponseWriter, r *http.Request) error {
	q, err := query(r, "cursor", "limit")
	if err != nil {
		return err
	}
	limit, err := queryLimit(q, "limit")
	if err != nil {
		return err
	}
	var only []string
	if s.callerTenants != nil {
		grants := callerGrants(s.callerTenants, callerOf(r.Context()))
		if len(grants) == 0 {
			return &domain.Error{Code: domain.CodeForbidden, Message: "this caller may not list tenants"}
		}
		if !slices.Contains(grants, "*") {
			only = grants
		}
	}
	ts, next, err := s.tenants.ListTenants(r.Context(), q["cursor"], limit, only)
	if err != nil {
		return err
	}
	page := tenantPage{Tenants: make([]tenantView, len(ts)), NextCursor: next}
	for i, t := range ts {
		v := s.viewTenant(t)
		if v.Folders == nil {
			v.Folders = []string{} // a damaged record: its folders are unknown
		}
		page.Tenants[i] = v
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}
