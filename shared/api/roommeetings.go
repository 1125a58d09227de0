package api

import (
	"net/http"
	"time"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
)

// Meetings in rooms under the tenant's room policy, named by their
// Exchange item id (percent-encoded in the path: EWS ids hold '/' and
// '+'): end one now, check one in. They act at once (Exchange answers
// within the request) and answer 200; without the policy, or for a
// mailbox the policy does not cover, 403 naming the setting. Events
// Mailbridge wrote keep their own route, keyed by the client's event id
// (POST .../mailboxes/{address}/events/{clientEventId}/end, queued).
// Served when Deps.RoomCalendar is set.

const (
	roomMeetingPath = "/tenants/{id}/rooms/{address}/meetings/{itemId}"
)

func roomMeetingRoutes(rm *app.RoomMeetings) []route {
	return []route{
		{"POST", roomMeetingPath + "/end", with(scoped, 200, 409, 502, 503), func(_ *server, w http.ResponseWriter, r *http.Request) error {
			if _, err := query(r); err != nil {
				return err
			}
			m, err := rm.End(r.Context(), r.PathValue("id"), r.PathValue("address"), r.PathValue("itemId"), callerOf(r.Context()))
			if err != nil {
				return err
			}
			writeJSON(w, http.StatusOK, viewRoomMeeting(r, m))
			return nil
		}},
		{"POST", roomMeetingPath + "/checkin", with(scoped, 200, 409, 502, 503), func(_ *server, w http.ResponseWriter, r *http.Request) error {
			if _, err := query(r); err != nil {
				return err
			}
			mark, m, err := rm.CheckIn(r.Context(), r.PathValue("id"), r.PathValue("address"), r.PathValue("itemId"), callerOf(r.Context()))
			if err != nil {
				return err
			}
			writeJSON(w, http.StatusOK, checkInView{Meeting: viewRoomMeeting(r, m), CheckedInAt: mark.At, CheckedInBy: mark.By})
			return nil
		}},
	}
}

// roomMeetingView is a room meeting as the room holds it.
type roomMeetingView struct {
	TenantID  string         `json:"tenantId"`
	Room      string         `json:"room"`
	ItemID    string         `json:"itemId"`
	Subject   string         `json:"subject"`
	Start     time.Time      `json:"start"`
	End       time.Time      `json:"end"`
	Organizer domain.Address `json:"organizer"`
}

func viewRoomMeeting(r *http.Request, m domain.RoomMeeting) roomMeetingView {
	room, _ := app.NormalizeAddress("address", r.PathValue("address"))
	return roomMeetingView{TenantID: r.PathValue("id"), Room: room, ItemID: m.ItemID, Subject: m.Subject,
		Start: m.Start.UTC(), End: m.End.UTC(), Organizer: m.Organizer}
}

type checkInView struct {
	Meeting     roomMeetingView `json:"meeting"`
	CheckedInAt time.Time       `json:"checkedInAt"`
	CheckedInBy string          `json:"checkedInBy"`
}
