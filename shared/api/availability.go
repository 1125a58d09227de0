package api

import (
	"net/http"
	"time"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
)

// Scheduling (room booking and travel products): free/busy across people
// and rooms with the free slots a booking page offers. The routes are
// served when Deps.Availability is set (functions/api and the local run).

const availabilityPath = "/tenants/{id}/availability"

// availabilityRoutes are the scheduling operations, served with a.
func availabilityRoutes(a *app.Availability) []route {
	return []route{
		{"POST", availabilityPath, with(scoped, 200, 409, 413, 415, 502), func(_ *server, w http.ResponseWriter, r *http.Request) error {
			return checkAvailability(a, w, r)
		}},
	}
}

// availabilityRequest is the body of POST /tenants/{id}/availability.
// Times are strings so a malformed one gets an answer naming the field.
type availabilityRequest struct {
	Mailboxes      []string             `json:"mailboxes"`
	Start          string               `json:"start"`
	End            string               `json:"end"`
	MeetingMinutes int                  `json:"meetingMinutes"`
	SlotMinutes    int                  `json:"slotMinutes"`
	WorkingHours   *workingHoursRequest `json:"workingHours"`
	TimeZone       string               `json:"timeZone"`
	Groups         []slotGroupRequest   `json:"groups"`
}

type workingHoursRequest struct {
	Start string   `json:"start"`
	End   string   `json:"end"`
	Days  []string `json:"days"`
}

type slotGroupRequest struct {
	Kind      string   `json:"kind"`
	Count     int      `json:"count"`
	Mailboxes []string `json:"mailboxes"`
}

// availabilityResponse is the answer: times in the request's time zone.
type availabilityResponse struct {
	TenantID       string                `json:"tenantId"`
	Protocol       domain.Protocol       `json:"protocol"`
	Start          time.Time             `json:"start"`
	End            time.Time             `json:"end"`
	TimeZone       string                `json:"timeZone"`        // IANA
	WindowsZone    string                `json:"windowsTimeZone"` // the same zone's Windows id
	Batches        int                   `json:"batches"`
	Mailboxes      []mailboxAvailability `json:"mailboxes"`
	Slots          []freeSlotView        `json:"slots"`
	SlotsTruncated bool                  `json:"slotsTruncated"`
}

type mailboxAvailability struct {
	Mailbox       string                `json:"mailbox"`
	Status        string                `json:"status"` // "ok" or "error"
	Busy          []domain.BusyInterval `json:"busy"`
	BusyTruncated bool                  `json:"busyTruncated,omitempty"`
	Error         *mailboxFailure       `json:"error,omitempty"`
}

type mailboxFailure struct {
	Kind    domain.AccessErrorKind `json:"kind"`
	Code    string                 `json:"code,omitempty"`
	Message string                 `json:"message"`
}

type freeSlotView struct {
	Start  time.Time       `json:"start"`
	End    time.Time       `json:"end"`
	Groups []slotGroupFree `json:"groups"`
}

// slotGroupFree is one request group's members free for the slot.
type slotGroupFree struct {
	Free []string `json:"free"`
}

func checkAvailability(a *app.Availability, w http.ResponseWriter, r *http.Request) error {
	if _, err := query(r); err != nil {
		return err
	}
	var body availabilityRequest
	if err := decodeJSON(w, r, &body, MaxBodyBytes); err != nil {
		return err
	}
	start, err := parseWindowTime("start", body.Start)
	if err != nil {
		return err
	}
	end, err := parseWindowTime("end", body.End)
	if err != nil {
		return err
	}
	in := app.AvailabilityInput{Mailboxes: body.Mailboxes, Start: start, End: end, MeetingMinutes: body.MeetingMinutes,
		SlotMinutes: body.SlotMinutes, TimeZone: body.TimeZone}
	if h := body.WorkingHours; h != nil {
		in.WorkingHours = &app.WorkingHoursInput{Start: h.Start, End: h.End, Days: h.Days}
	}
	for _, g := range body.Groups {
		in.Groups = append(in.Groups, app.GroupInput{Kind: g.Kind, Count: g.Count, Mailboxes: g.Mailboxes})
	}
	res, err := a.Check(r.Context(), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, availabilityView(res))
	return nil
}

// parseWindowTime reads an RFC 3339 time with its offset ("Z" included).
func parseWindowTime(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil // the use case says it is required
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, domain.Invalid(field, "%s must be an RFC 3339 time with an offset, like 2026-12-01T09:00:00+01:00", field)
	}
	if t.IsZero() {
		// The use case reads the zero time as "not given".
		return time.Time{}, domain.Invalid(field, "%s must lie between the years %d and %d", field, app.MinAvailabilityYear, app.MaxAvailabilityYear)
	}
	return t, nil
}

func availabilityView(res app.AvailabilityResult) availabilityResponse {
	out := availabilityResponse{TenantID: res.TenantID, Protocol: res.Protocol, Start: res.Start, End: res.End,
		TimeZone: res.TimeZone.IANA, WindowsZone: res.TimeZone.Windows, Batches: res.Batches, SlotsTruncated: res.SlotsTruncated,
		Mailboxes: make([]mailboxAvailability, 0, len(res.Mailboxes)), Slots: make([]freeSlotView, 0, len(res.Slots))}
	for _, m := range res.Mailboxes {
		v := mailboxAvailability{Mailbox: m.Mailbox, Status: "ok", Busy: m.Busy, BusyTruncated: m.BusyTruncated}
		if m.Failure != nil {
			v.Status, v.Busy = "error", []domain.BusyInterval{}
			v.Error = &mailboxFailure{Kind: m.Failure.Kind, Code: m.Failure.Code, Message: m.Failure.Message}
		}
		if v.Busy == nil {
			v.Busy = []domain.BusyInterval{}
		}
		out.Mailboxes = append(out.Mailboxes, v)
	}
	for _, s := range res.Slots {
		v := freeSlotView{Start: s.Start, End: s.End, Groups: make([]slotGroupFree, len(s.Free))}
		for i, f := range s.Free {
			v.Groups[i].Free = f
		}
		out.Slots = append(out.Slots, v)
	}
	return out
}
