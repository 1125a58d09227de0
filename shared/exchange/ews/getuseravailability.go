package ews

import (
	"context"
	"encoding/xml"
	"fmt"
	"strings"
	"time"
)

// Limits Exchange puts on one GetUserAvailability request.
const (
	MaxAvailabilityMailboxes = 100
	MaxAvailabilitySpan      = 42 * 24 * time.Hour
)

// AvailabilityRequest asks for the free/busy of several mailboxes.
type AvailabilityRequest struct {
	Mailboxes       []string // 1..100 SMTP addresses
	Start, End      time.Time
	IntervalMinutes int  // MergedFreeBusy slot length, 5..1440; 0 = 30
	Detailed        bool // DetailedMerged view (subjects, locations where permitted) instead of FreeBusy
}

// Availability is the answer for one mailbox.
type Availability struct {
	Mailbox        string
	Err            *Error
	View           string // FreeBusyViewType as returned
	MergedFreeBusy string // one digit per interval: 0 free, 1 tentative, 2 busy, 3 OOF, 4 no data
	Events         []BusyEvent
}

// BusyEvent is one calendar event in a free/busy view (times in UTC).
type BusyEvent struct {
	Start, End  time.Time
	BusyType    string // Free, Tentative, Busy, OOF, WorkingElsewhere, NoData
	Subject     string // only with details
	Location    string
	IsMeeting   bool
	IsRecurring bool
	IsPrivate   bool
}

type xSerializableTime struct {
	Bias      int    `xml:"t:Bias"`
	Time      string `xml:"t:Time"`
	DayOrder  int    `xml:"t:DayOrder"`
	Month     int    `xml:"t:Month"`
	DayOfWeek string `xml:"t:DayOfWeek"`
}

type xSerializableTimeZone struct {
	Bias         int               `xml:"t:Bias"`
	StandardTime xSerializableTime `xml:"t:StandardTime"`
	DaylightTime xSerializableTime `xml:"t:DaylightTime"`
}

type xMailboxData struct {
	Address          string `xml:"t:Email>t:Address"`
	AttendeeType     string `xml:"t:AttendeeType"`
	ExcludeConflicts bool   `xml:"t:ExcludeConflicts"`
}

type xGetUserAvailability struct {
	XMLName          xml.Name              `xml:"m:GetUserAvailabilityRequest"`
	TimeZone         xSerializableTimeZone `xml:"t:TimeZone"`
	MailboxDataArray []xMailboxData        `xml:"m:MailboxDataArray>t:MailboxData"`
	FreeBusyOptions  struct {
		StartTime     string `xml:"t:TimeWindow>t:StartTime"`
		EndTime       string `xml:"t:TimeWindow>t:EndTime"`
		Interval      int    `xml:"t:MergedFreeBusyIntervalInMinutes"`
		RequestedView string `xml:"t:RequestedView"`
	} `xml:"t:FreeBusyViewOptions"`
}

// utcZone is UTC in the legacy time zone form GetUserAvailability needs:
// no bias and no daylight saving transitions.
var utcZone = xSerializableTimeZone{
	StandardTime: xSerializableTime{Time: "00:00:00", DayOfWeek: "Sunday"},
	DaylightTime: xSerializableTime{Time: "00:00:00", DayOfWeek: "Sunday"},
}

// availabilityTime is a wall-clock time in the request's (UTC) zone.
func availabilityTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05") }

// GetUserAvailability returns free/busy for each mailbox, in order;
// per-mailbox errors (e.g. ErrorMailRecipientNotFound) are in the results.
func (c *Client) GetUserAvailability(ctx context.Context, t Target, req AvailabilityRequest) ([]Availability, error) {
	const op = "GetUserAvailability"
	if err := t.validate(op); err != nil {
		return nil, err
	}
	if n := len(req.Mailboxes); n == 0 || n > MaxAvailabilityMailboxes {
		return nil, invalidArg(op, "need 1 to %d mailboxes, got %d", MaxAvailabilityMailboxes, n)
	}
	if !req.End.After(req.Start) {
		return nil, invalidArg(op, "end must be after start")
	}
	if req.End.Sub(req.Start) > MaxAvailabilitySpan {
		return nil, invalidArg(op, "window spans %s; Exchange allows at most 42 days", req.End.Sub(req.Start).Round(time.Hour))
	}
	if req.IntervalMinutes == 0 {
		req.IntervalMinutes = 30
	}
	if req.IntervalMinutes < 5 || req.IntervalMinutes > 1440 {
		return nil, invalidArg(op, "interval must be 5..1440 minutes, got %d", req.IntervalMinutes)
	}
	x := xGetUserAvailability{TimeZone: utcZone}
	for _, m := range req.Mailboxes {
		if !strings.Contains(m, "@") {
			return nil, invalidArg(op, "mailbox %q is not an e-mail address", m)
		}
		x.MailboxDataArray = append(x.MailboxDataArray, xMailboxData{Address: m, AttendeeType: "Required"})
	}
	x.FreeBusyOptions.StartTime = availabilityTime(req.Start)
	x.FreeBusyOptions.EndTime = availabilityTime(req.End)
	x.FreeBusyOptions.Interval = req.IntervalMinutes
	x.FreeBusyOptions.RequestedView = "FreeBusy"
	if req.Detailed {
		x.FreeBusyOptions.RequestedView = "DetailedMerged"
	}
	resp, err := c.call(ctx, op, t, x)
	if err != nil {
		return nil, err
	}
	out, err := decodeGetUserAvailability(resp)
	if err != nil {
		return nil, wrapDecode(op, err)
	}
	if len(out) != len(req.Mailboxes) {
		return nil, wrapDecode(op, fmt.Errorf("%w: %d free/busy answers for %d mailboxes", ErrMalformedResponse, len(out), len(req.Mailboxes)))
	}
	for i := range out {
		out[i].Mailbox = req.Mailboxes[i]
	}
	return out, nil
}

func decodeGetUserAvailability(resp elem) ([]Availability, error) {
	const op = "GetUserAvailability"
	if resp.name() != op+"Response" {
		return nil, fmt.Errorf("%w: expected <%sResponse>, got <%s>", ErrMalformedResponse, op, resp.name())
	}
	arr := resp.child("FreeBusyResponseArray")
	out := make([]Availability, 0, arr.countChildren())
	for fb := range arr.children() {
		m := decodeRespMsg(fb.child("ResponseMessage"))
		a := Availability{Err: m.err(op)}
		if a.Err == nil {
			v := fb.child("FreeBusyView")
			a.View = v.child("FreeBusyViewType").text()
			a.MergedFreeBusy = v.child("MergedFreeBusy").text()
			for ev := range v.child("CalendarEventArray").children() {
				d := ev.child("CalendarEventDetails")
				a.Events = append(a.Events, BusyEvent{
					Start:       parseTime(ev.child("StartTime").text()).UTC(),
					End:         parseTime(ev.child("EndTime").text()).UTC(),
					BusyType:    ev.child("BusyType").text(),
					Subject:     d.child("Subject").text(),
					Location:    d.child("Location").text(),
					IsMeeting:   parseBool(d.child("IsMeeting").text()),
					IsRecurring: parseBool(d.child("IsRecurring").text()),
					IsPrivate:   parseBool(d.child("IsPrivate").text()),
				})
			}
		}
		out = append(out, a)
	}
	if len(out) == 0 {
		// Request-level errors (ErrorMailboxDataArrayTooBig, ...) arrive as
		// SOAP faults; an empty array is not an answer.
		return nil, fmt.Errorf("%w: GetUserAvailability response has no answers", ErrMalformedResponse)
	}
	return out, nil
}
