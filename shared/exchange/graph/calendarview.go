package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// calendarview.go reads GET /users/{user}/calendarView?startDateTime=
// &endDateTime=: the default calendar's events in a window with series
// expanded by Exchange into occurrences and exceptions, paged through
// @odata.nextLink ($top entries a page), times in UTC (Graph's default without Prefer:
// outlook.timezone).

// ViewEvent is an event of a calendar view: an Event with the start its
// series' pattern gives it (occurrences and exceptions).
type ViewEvent struct {
	Event
	OriginalStart time.Time `json:"originalStart,omitzero"`
}

// maxViewPages bounds one view's pages (at most max events).
const maxViewPages = 1000

// CalendarInstances lists user's events overlapping [start, end), at most max
// (1 to 1000); more says the window held more.
func (c *Client) CalendarInstances(ctx context.Context, user string, start, end time.Time, max int) (events []ViewEvent, more bool, err error) {
	const op = "CalendarInstances"
	if !end.After(start) || max < 1 || max > 1000 {
		return nil, false, invalidArg(op, "a calendar view needs End after Start and 1 to 1000 entries")
	}
	u := withQuery(c.path("users", user, "calendarView"), query{
		{"startDateTime", start.UTC().Format(time.RFC3339)},
		{"endDateTime", end.UTC().Format(time.RFC3339)},
		{"$top", strconv.Itoa(min(max, 100))},
	})
	for range maxViewPages {
		resp, err := c.do(ctx, request{op: op, method: "GET", url: u, mailbox: user})
		if err != nil {
			return nil, false, err
		}
		var page struct {
			Value    []json.RawMessage `json:"value"`
			NextLink string            `json:"@odata.nextLink"`
		}
		if err := decode(op, resp, &page); err != nil {
			return nil, false, err
		}
		for _, raw := range page.Value {
			var e ViewEvent
			if err := json.Unmarshal(raw, &e); err != nil {
				return nil, false, &Error{Layer: LayerProtocol, Op: op, HTTPStatus: resp.status, RequestID: resp.requestID,
					ClientRequestID: resp.clientRequestID, Err: fmt.Errorf("%w: %v", ErrMalformedResponse, err)}
			}
			if len(events) == max {
				return events, true, nil
			}
			events = append(events, e)
		}
		if page.NextLink == "" {
			return events, false, nil
		}
		if u, err = c.checkLink(op, page.NextLink); err != nil {
			return nil, false, err
		}
	}
	return nil, false, &Error{Layer: LayerProtocol, Op: op, Err: fmt.Errorf("%w: more than %d pages", ErrMalformedResponse, maxViewPages)}
}
