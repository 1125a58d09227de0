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
	roomMeetingsPath = "/tenants/{id}/rooms/{address}/meetings"
	roomMeetingPath  = roomMeetingsPath + "/{itemId}"
)

func roomMeetingRoutes(rm *app.RoomMeetings) []route {
	return []route{
		{"GET", roomMeetingsPath, with(scoped, 200, 409, 502, 503), func(s *server, w http.ResponseWriter, r *http.Request) error {
			return listRoomMeetings(rm, s.clock, w, r)
		}},
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

// roomMeetingsView is the answer of GET .../rooms/{address}/meetings.
type roomMeetingsView struct {
	Meetings []listedMeeting `json:"meetings"`
}

type listedMeeting struct {
	roomMeetingView
	// State: checkedIn or released once one of them happened.
	State   domain.RoomMarkState `json:"state,omitempty"`
	StateAt *time.Time           `json:"stateAt,omitempty"`
	StateBy string               `json:"stateBy,omitempty"`
}

func listRoomMeetings(rm *app.RoomMeetings, clock domain.Clock, w http.ResponseWriter, r *http.Request) error {
	q, err := query(r, "start", "end")
	if err != nil {
		return err
	}
	start, end := clock.Now().UTC().Truncate(time.Minute), time.Time{}
	if v, ok := q["start"]; ok {
		if start, err = parseEventTime("start", v); err != nil || start.IsZero() {
			return domain.Invalid("start", "start must be an RFC 3339 time with a zone, like 2026-12-01T09:00:00+01:00")
		}
	}
	end = start.Add(24 * time.Hour)
	if v, ok := q["end"]; ok {
		if end, err = parseEventTime("end", v); err != nil || end.IsZero() {
			return domain.Invalid("end", "end must be an RFC 3339 time with a zone, like 2026-12-01T18:00:00+01:00")
		}
	}
	ms, err := rm.List(r.Context(), r.PathValue("id"), r.PathValue("address"), start, end)
	if err != nil {
		return err
	}
	out := roomMeetingsView{Meetings: make([]listedMeeting, 0, len(ms))}
	for _, m := range ms {
		l := listedMeeting{roomMeetingView: viewRoomMeeting(r, m.RoomMeeting)}
		if m.Mark != nil {
			at := m.Mark.At.UTC()
			l.State, l.StateAt, l.StateBy = m.Mark.State, &at, m.Mark.By
		}
		out.Meetings = append(out.Meetings, l)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
