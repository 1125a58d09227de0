package graphmailbox

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/graph"
)

// This file implements domain.RoomCalendar over Graph, as the room (the
// app's application access to the room's mailbox): GET events/{id} and
// calendarView to read meetings, PATCH of end to end one (the room's copy
// only), and decline (cancel when the room organizes the meeting) to
// release one, which removes it from the room's calendar and tells the
// organizer. A tenant whose feed carries EWS ids names meetings by EWS
// id: it is translated to Graph's immutable id first, and back in the
// answers.

// ConnectRoomCalendar implements domain.RoomCalendarConnector. It does no
// network I/O.
func (c *Connector) ConnectRoomCalendar(_ context.Context, t domain.Tenant, cred domain.Credential) (domain.RoomCalendar, error) {
	cl, err := c.client(t, cred)
	if err != nil {
		return nil, err
	}
	return &roomCalendar{cl: cl, ewsIDs: t.IDFormatOf() == domain.IDFormatEWS}, nil
}

var _ domain.RoomCalendarConnector = (*Connector)(nil)

type roomCalendar struct {
	cl     *graph.Client
	ewsIDs bool
}

var roomEventFields = []string{"id", "subject", "start", "end", "isAllDay", "organizer", "isOrganizer"}

func (r *roomCalendar) meeting(room string, e graph.Event) domain.RoomMeeting {
	m := domain.RoomMeeting{ItemID: e.ID, Subject: e.Subject, Start: eventTime(e.Start), End: eventTime(e.End), IsAllDay: e.IsAllDay, RoomOrganizes: e.IsOrganizer}
	if e.Organizer != nil {
		m.Organizer = domain.Address{Name: e.Organizer.EmailAddress.Name, Email: strings.ToLower(e.Organizer.EmailAddress.Address)}
	}
	if !m.RoomOrganizes && strings.EqualFold(m.Organizer.Email, room) {
		m.RoomOrganizes = true
	}
	return m
}

// graphID is the Graph id of an item id as the API caller gives it.
func (r *roomCalendar) graphID(ctx context.Context, room, id string) (string, error) {
	if !r.ewsIDs {
		return id, nil
	}
	return r.translate(ctx, room, id, "ewsId", "restImmutableEntryId")
}

// callerID is the id the API caller knows an item by.
func (r *roomCalendar) callerID(ctx context.Context, room, id string) (string, error) {
	if !r.ewsIDs {
		return id, nil
	}
	return r.translate(ctx, room, id, "restImmutableEntryId", "ewsId")
}

func (r *roomCalendar) translate(ctx context.Context, room, id, from, to string) (string, error) {
	res, err := r.cl.TranslateExchangeIDs(ctx, room, graph.TranslateRequest{InputIDs: []string{id}, SourceIDType: from, TargetIDType: to})
	if err != nil {
		return "", classify(err, useWrite, "")
	}
	if len(res) != 1 || res[0].TargetID == "" {
		return "", domain.ErrMeetingNotFound
	}
	return res[0].TargetID, nil
}

func notFound(err error) bool {
	c := graph.Classify(err)
	return c == graph.ClassNotFound
}

// Meeting implements domain.RoomCalendar: GET /users/{room}/events/{id}.
func (r *roomCalendar) Meeting(ctx context.Context, room, itemID string) (domain.RoomMeeting, error) {
	id, err := r.graphID(ctx, room, itemID)
	if err != nil {
		return domain.RoomMeeting{}, err
	}
	e, err := r.cl.GetEvent(ctx, room, id, graph.GetOptions{Select: roomEventFields})
	if err != nil {
		if notFound(err) || isBadID(err) {
			return domain.RoomMeeting{}, domain.ErrMeetingNotFound
		}
		return domain.RoomMeeting{}, classify(err, useWrite, "")
	}
	m := r.meeting(room, *e)
	m.ItemID = itemID
	return m, nil
}

// isBadID: Graph answers 400 for an id that is no id of the mailbox.
func isBadID(err error) bool {
	var ge *graph.Error
	if !errors.As(err, &ge) {
		return false
	}
	switch ge.Code {
	case "ErrorInvalidIdMalformed", "ErrorInvalidMailboxItemId", "ErrorInvalidId":
		return true
	}
	return false
}

// Meetings implements domain.RoomCalendar: GET /users/{room}/calendarView.
func (r *roomCalendar) Meetings(ctx context.Context, room string, from, to time.Time) ([]domain.RoomMeeting, error) {
	es, err := r.cl.CalendarView(ctx, room, from, to, roomEventFields)
	if err != nil {
		return nil, classify(err, useFolder, "")
	}
	out := make([]domain.RoomMeeting, 0, len(es))
	for _, e := range es {
		m := r.meeting(room, e)
		if m.ItemID, err = r.callerID(ctx, room, e.ID); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// EndMeeting implements domain.RoomCalendar: PATCH /users/{room}/events/{id}
// of end, in UTC.
func (r *roomCalendar) EndMeeting(ctx context.Context, room string, m domain.RoomMeeting, end time.Time) (domain.RoomMeeting, error) {
	id, err := r.graphID(ctx, room, m.ItemID)
	if err != nil {
		return m, err
	}
	patch := map[string]any{"end": graph.DateTimeTimeZone{DateTime: end.UTC().Format("2006-01-02T15:04:05.0000000"), TimeZone: "UTC"}}
	if _, err := r.cl.UpdateEvent(ctx, room, id, patch, ""); err != nil {
		if notFound(err) {
			return m, domain.ErrMeetingNotFound
		}
		return m, classify(err, useWrite, "")
	}
	m.End = end
	return m, nil
}

// ReleaseMeeting implements domain.RoomCalendar: POST .../decline (the
// room attends), or .../cancel (the room organizes; DELETE when quiet).
func (r *roomCalendar) ReleaseMeeting(ctx context.Context, room string, m domain.RoomMeeting, comment string, notify bool) error {
	id, err := r.graphID(ctx, room, m.ItemID)
	if errors.Is(err, domain.ErrMeetingNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	switch {
	case m.RoomOrganizes && notify:
		err = r.cl.CancelEvent(ctx, room, id, comment)
	case m.RoomOrganizes:
		err = r.cl.DeleteEvent(ctx, room, id)
	default:
		err = r.cl.DeclineEvent(ctx, room, id, comment, notify)
	}
	if err == nil || notFound(err) {
		return nil
	}
	return classify(err, useWrite, "")
}
