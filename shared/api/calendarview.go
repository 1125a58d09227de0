package api

import (
	"net/http"
	"time"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
)

// Calendar view: a registered mailbox's events in a window with recurring
// series expanded, read from Exchange on each call. Served when
// Deps.CalendarView is set.

const calendarViewPath = "/tenants/{id}/mailboxes/{address}/calendar"

func calendarViewRoutes(cv *app.CalendarView) []route {
	return []route{
		{"GET", calendarViewPath, with(scoped, 200, 409, 501, 502, 503), func(_ *server, w http.ResponseWriter, r *http.Request) error {
			q, err := query(r, "start", "end")
			if err != nil {
				return err
			}
			from, to, page, err := cv.View(r.Context(), r.PathValue("id"), r.PathValue("address"), q["start"], q["end"], callerOf(r.Context()))
			if err != nil {
				return err
			}
			writeJSON(w, http.StatusOK, calendarViewResponse{Start: from, End: to, Items: page.Items, Truncated: page.Truncated})
			return nil
		}},
	}
}

type calendarViewResponse struct {
	Start     time.Time     `json:"start"`
	End       time.Time     `json:"end"`
	Items     []domain.Item `json:"items"`
	Truncated bool          `json:"truncated"`
}
