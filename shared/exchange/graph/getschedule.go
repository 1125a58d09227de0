package graph

import (
	"context"
	"fmt"

	"github.com/mailbridge/mailbridge/shared/platform/redact"
)

// MaxSchedules is how many addresses one getSchedule call takes.
const MaxSchedules = 20

// Free/busy statuses (freeBusyStatus).
const (
	StatusFree             = "free"
	StatusTentative        = "tentative"
	StatusBusy             = "busy"
	StatusOOF              = "oof"
	StatusWorkingElsewhere = "workingElsewhere"
	StatusUnknown          = "unknown"
)

// ScheduleRequest is the body of calendar/getSchedule.
type ScheduleRequest struct {
	Schedules []string         `json:"schedules"` // SMTP addresses, at most 20
	StartTime DateTimeTimeZone `json:"startTime"`
	EndTime   DateTimeTimeZone `json:"endTime"`
	// AvailabilityViewInterval is the slot length in minutes of
	// AvailabilityView, 5 to 1440; 0 = Graph's default (30).
	AvailabilityViewInterval int `json:"availabilityViewInterval,omitempty"`
}

// ScheduleItem is Graph's scheduleItem. Subject, Location and IsPrivate
// come only when the caller may see details.
type ScheduleItem struct {
	Status    string           `json:"status"`
	Start     DateTimeTimeZone `json:"start"`
	End       DateTimeTimeZone `json:"end"`
	IsPrivate bool             `json:"isPrivate,omitempty"`
	Subject   string           `json:"subject,omitempty"`
	Location  string           `json:"location,omitempty"`
}

// WorkingHours is Graph's workingHours (times are hh:mm:ss.fffffff).
type WorkingHours struct {
	DaysOfWeek []string `json:"daysOfWeek,omitempty"`
	StartTime  string   `json:"startTime,omitempty"`
	EndTime    string   `json:"endTime,omitempty"`
	TimeZone   *struct {
		Name string `json:"name,omitempty"`
	} `json:"timeZone,omitempty"`
}

// FreeBusyError is Graph's freeBusyError: this one schedule failed.
type FreeBusyError struct {
	Message      string `json:"message,omitempty"`
	ResponseCode string `json:"responseCode,omitempty"`
}

// ScheduleInformation is Graph's scheduleInformation for one address.
type ScheduleInformation struct {
	ScheduleID string `json:"scheduleId"`
	// AvailabilityView has one digit a slot: 0 free, 1 tentative, 2 busy,
	// 3 oof, 4 working elsewhere.
	AvailabilityView string         `json:"availabilityView,omitempty"`
	ScheduleItems    []ScheduleItem `json:"scheduleItems,omitempty"`
	WorkingHours     *WorkingHours  `json:"workingHours,omitempty"`
	Error            *FreeBusyError `json:"error,omitempty"`
}

// GetSchedule asks free/busy for up to 20 addresses:
// POST /users/{user}/calendar/getSchedule. The call succeeds as a whole
// when Graph answers; a schedule that failed carries its Error (see
// ScheduleErr).
func (c *Client) GetSchedule(ctx context.Context, user string, req ScheduleRequest) ([]ScheduleInformation, error) {
	const op = "GetSchedule"
	switch {
	case user == "":
		return nil, invalidArg(op, "user is empty")
	case len(req.Schedules) == 0:
		return nil, invalidArg(op, "no schedules")
	case len(req.Schedules) > MaxSchedules:
		return nil, invalidArg(op, "%d schedules; Graph takes at most %d a call", len(req.Schedules), MaxSchedules)
	case req.AvailabilityViewInterval != 0 && (req.AvailabilityViewInterval < 5 || req.AvailabilityViewInterval > 1440):
		return nil, invalidArg(op, "availabilityViewInterval %d outside 5..1440", req.AvailabilityViewInterval)
	}
	resp, err := c.do(ctx, request{op: op, method: "POST", mailbox: user, url: c.path("users", user, "calendar", "getSchedule"), body: req})
	if err != nil {
		return nil, err
	}
	var out struct {
		Value *[]ScheduleInformation `json:"value"`
	}
	if err := decode(op, resp, &out); err != nil {
		return nil, err
	}
	if out.Value == nil {
		return nil, &Error{Layer: LayerProtocol, Op: op, HTTPStatus: resp.status, RequestID: resp.requestID,
			ClientRequestID: resp.clientRequestID, Err: fmt.Errorf("%w: no value array", ErrMalformedResponse)}
	}
	return *out.Value, nil
}

// ScheduleErr is s's per-schedule failure as an item-layer *Error, or nil.
func ScheduleErr(s ScheduleInformation) error {
	if s.Error == nil {
		return nil
	}
	return &Error{Layer: LayerItem, Op: "GetSchedule", Code: redact.Text(s.Error.ResponseCode, redact.MaxCode),
		Message: redact.Text(s.ScheduleID+": "+s.Error.Message, maxMessageLen)}
}
