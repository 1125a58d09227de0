package api

import (
	"net/http"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
)

// People lookup for picking invitees (EWS ResolveNames; Graph users),
// read from Exchange as a registered mailbox on each call. Served when
// Deps.People is set.

const peoplePath = "/tenants/{id}/mailboxes/{address}/people"

func peopleRoutes(pp *app.People) []route {
	return []route{
		{"GET", peoplePath, with(scoped, 200, 409, 502, 503), func(_ *server, w http.ResponseWriter, r *http.Request) error {
			q, err := query(r, "q")
			if err != nil {
				return err
			}
			found, err := pp.Find(r.Context(), r.PathValue("id"), r.PathValue("address"), q["q"], callerOf(r.Context()))
			if err != nil {
				return err
			}
			writeJSON(w, http.StatusOK, peopleResponse{People: found})
			return nil
		}},
	}
}

type peopleResponse struct {
	People []domain.Person `json:"people"`
}
