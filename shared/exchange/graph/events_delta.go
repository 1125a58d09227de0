package graph

import (
	"context"
	"time"
)

// EventsDeltaOptions add the calendar view's window, which v1.0 needs on
// the first call of a round (the links encode it afterwards).
type EventsDeltaOptions struct {
	DeltaOptions
	Start, End time.Time // required without a Link; End after Start
}

// EventsDelta reads one page of
// GET /users/{user}/calendarView/delta?startDateTime=&endDateTime=: the
// events, occurrences and exceptions of the default calendar inside the
// window. $select is not supported there. An @removed entry may also be an
// event that changed outside the window.
func (c *Client) EventsDelta(ctx context.Context, user string, o EventsDeltaOptions) (*DeltaPage[Event], error) {
	const op = "EventsDelta"
	u := ""
	if o.Link == "" {
		if o.Start.IsZero() || o.End.IsZero() || !o.End.After(o.Start) {
			return nil, invalidArg(op, "a first calendarView delta call needs a window with End after Start")
		}
		u = withQuery(c.path("users", user, "calendarView", "delta"), query{
			{"startDateTime", o.Start.UTC().Format(time.RFC3339)},
			{"endDateTime", o.End.UTC().Format(time.RFC3339)},
		})
	}
	return deltaCall[Event](c, ctx, op, user, u, o.DeltaOptions)
}
