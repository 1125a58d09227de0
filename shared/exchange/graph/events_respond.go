package graph

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Room-display calls: the events of a calendar in a window, and the
// responses that take a meeting out of a calendar (decline as an
// attendee, cancel as the organizer).

// maxCalendarView bounds one CalendarView read (a room's meetings in a
// few minutes are a handful).
const maxCalendarView = 200

// CalendarView lists the events of the user's default calendar that
// overlap [start, end), occurrences of series one by one:
// GET /users/{user}/calendarView?startDateTime=&endDateTime=, following
// @odata.nextLink up to maxCalendarView events.
func (c *Client) CalendarView(ctx context.Context, user string, start, end time.Time, sel []string) ([]Event, error) {
	const op = "CalendarView"
	if user == "" || !end.After(start) {
		return nil, invalidArg(op, "a user and a window whose end is after its start are required")
	}
	q := query{
		{"startDateTime", start.UTC().Format(time.RFC3339)},
		{"endDateTime", end.UTC().Format(time.RFC3339)},
		{"$top", "50"},
	}
	if len(sel) > 0 {
		q = append(q, [2]string{"$select", strings.Join(sel, ",")})
	}
	u := withQuery(c.path("users", user, "calendarView"), q)
	var out []Event
	for u != "" && len(out) < maxCalendarView {
		resp, err := c.do(ctx, request{op: op, method: "GET", mailbox: user, url: u})
		if err != nil {
			return nil, err
		}
		var page struct {
			Value    *[]Event `json:"value"`
			NextLink string   `json:"@odata.nextLink"`
		}
		if err := decode(op, resp, &page); err != nil {
			return nil, err
		}
		if page.Value == nil {
			return nil, &Error{Layer: LayerProtocol, Op: op, HTTPStatus: resp.status, RequestID: resp.requestID,
				ClientRequestID: resp.clientRequestID, Err: fmt.Errorf("%w: no value array", ErrMalformedResponse)}
		}
		out = append(out, *page.Value...)
		u = ""
		if page.NextLink != "" {
			if u, err = c.checkLink(op, page.NextLink); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// DeclineEvent declines a meeting as the user, an attendee:
// POST /users/{user}/events/{id}/decline. The meeting leaves the user's
// calendar; sendResponse tells the organizer, with comment.
func (c *Client) DeclineEvent(ctx context.Context, user, id, comment string, sendResponse bool) error {
	const op = "DeclineEvent"
	if user == "" || id == "" {
		return invalidArg(op, "user and id are required")
	}
	body := map[string]any{"comment": comment, "sendResponse": sendResponse}
	_, err := c.do(ctx, request{op: op, method: "POST", mailbox: user, url: c.path("users", user, "events", id, "decline"), body: body})
	return err
}

// CancelEvent cancels a meeting as the user, its organizer:
// POST /users/{user}/events/{id}/cancel. The attendees get the
// cancellation with comment.
func (c *Client) CancelEvent(ctx context.Context, user, id, comment string) error {
	const op = "CancelEvent"
	if user == "" || id == "" {
		return invalidArg(op, "user and id are required")
	}
	_, err := c.do(ctx, request{op: op, method: "POST", mailbox: user, url: c.path("users", user, "events", id, "cancel"), body: map[string]any{"comment": comment}})
	return err
}
