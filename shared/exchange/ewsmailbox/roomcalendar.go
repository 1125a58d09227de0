package ewsmailbox

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ews"
)

// This file implements domain.RoomCalendar over EWS, acting as the room
// (impersonation, or delegate access to it): GetItem and FindItem with a
// CalendarView to read meetings, UpdateItem of End to end one (the room's
// copy only, SendToNone), and CreateItem with a DeclineItem (or a
// CancelCalendarItem when the room organizes it) to release one, which
// removes it from the room's calendar and tells the organizer. Only items
// in the room's Calendar folder are acted on: an id from another mailbox
// or folder is not found.

// RoomCalendarConnector builds each tenant's RoomCalendar.
type RoomCalendarConnector struct {
	clients *ClientCache
}

// NewRoomCalendarConnector returns a RoomCalendarConnector building clients with opts.
func NewRoomCalendarConnector(opts Options) *RoomCalendarConnector {
	return &RoomCalendarConnector{clients: NewClientCache(opts, maxCachedClients)}
}

var _ domain.RoomCalendarConnector = (*RoomCalendarConnector)(nil)

// ConnectRoomCalendar returns the tenant's RoomCalendar. It does no network I/O.
func (c *RoomCalendarConnector) ConnectRoomCalendar(_ context.Context, t domain.Tenant, cred domain.Credential) (domain.RoomCalendar, error) {
	rc := &roomCalendar{clients: c.clients.For(t, cred), mode: t.AccessMode}
	if _, err := rc.clients.Client(t.EWSURL); err != nil {
		return nil, clientConfigError(err)
	}
	return rc, nil
}

var errNoCalendar = errors.New("the room's mailbox answered no Calendar folder")

type roomCalendar struct {
	clients TenantClients
	mode    domain.AccessMode
}

var roomMeetingFields = []string{"item:ParentFolderId", "item:Subject", "calendar:Start", "calendar:End", "calendar:IsAllDayEvent", "calendar:Organizer"}

func (r *roomCalendar) target(room string) (*ews.Client, ews.Target, error) {
	return r.clients.Target(domain.MailboxRef{Address: room, Mode: r.mode})
}

func roomMeeting(room string, it *ews.Item) domain.RoomMeeting {
	m := domain.RoomMeeting{ItemID: it.ItemID, Subject: it.Subject, Start: it.Start, End: it.End, IsAllDay: it.IsAllDay}
	if it.Organizer != nil {
		m.Organizer = domain.Address{Name: it.Organizer.Name, Email: strings.ToLower(it.Organizer.EmailAddress)}
	}
	m.RoomOrganizes = strings.EqualFold(m.Organizer.Email, room)
	return m
}

// calendarID is the id of the room's Calendar folder.
func (r *roomCalendar) calendarID(ctx context.Context, cl *ews.Client, t ews.Target) (string, error) {
	res, err := cl.GetFolder(ctx, t, []ews.FolderRef{calendarFolder})
	if err != nil {
		return "", classify(useWrite, err, "")
	}
	if len(res) != 1 || res[0].Err != nil || res[0].Folder == nil {
		if len(res) == 1 && res[0].Err != nil {
			return "", classify(useWrite, res[0].Err, "")
		}
		return "", &domain.AccessError{Kind: domain.AccessPermanent, Code: "NoCalendar", Err: errNoCalendar}
	}
	return res[0].Folder.ID, nil
}

// Meeting implements domain.RoomCalendar: one GetFolder and one GetItem.
func (r *roomCalendar) Meeting(ctx context.Context, room, itemID string) (domain.RoomMeeting, error) {
	cl, t, err := r.target(room)
	if err != nil {
		return domain.RoomMeeting{}, err
	}
	cal, err := r.calendarID(ctx, cl, t)
	if err != nil {
		return domain.RoomMeeting{}, err
	}
	res, err := cl.GetItem(ctx, t, []string{itemID}, ews.Shape{Base: "IdOnly", Fields: roomMeetingFields})
	if err != nil {
		return domain.RoomMeeting{}, classify(useWrite, err, "")
	}
	if len(res) != 1 {
		return domain.RoomMeeting{}, domain.ErrMeetingNotFound
	}
	if e := res[0].Err; e != nil {
		// The room's calendar was read just before, so a denied item is
		// another mailbox's: not the room's meeting.
		switch e.ResponseCode {
		case "ErrorAccessDenied", "ErrorItemNotFound", "ErrorInvalidIdMalformed", "ErrorInvalidIdNotAnItemAttachmentId", "ErrorInvalidIdEmpty":
			return domain.RoomMeeting{}, domain.ErrMeetingNotFound
		}
		return domain.RoomMeeting{}, classify(useWrite, e, "")
	}
	it := res[0].Item
	if it == nil || it.Type != "CalendarItem" || it.ParentFolderID != cal {
		return domain.RoomMeeting{}, domain.ErrMeetingNotFound
	}
	return roomMeeting(room, it), nil
}

// Meetings implements domain.RoomCalendar: one FindItem with a
// CalendarView (occurrences expanded) per page.
func (r *roomCalendar) Meetings(ctx context.Context, room string, from, to time.Time) ([]domain.RoomMeeting, error) {
	cl, t, err := r.target(room)
	if err != nil {
		return nil, err
	}
	res, err := cl.FindItem(ctx, t, calendarFolder, ews.FindItemOptions{
		Shape:    ews.Shape{Base: "IdOnly", Fields: roomMeetingFields[1:]},
		Calendar: &ews.CalendarView{Start: from, End: to, MaxEntries: 200},
	})
	if err != nil {
		return nil, classify(useRead, err, "")
	}
	out := make([]domain.RoomMeeting, 0, len(res.Items))
	for i := range res.Items {
		out = append(out, roomMeeting(room, &res.Items[i]))
	}
	return out, nil
}

// EndMeeting implements domain.RoomCalendar: one UpdateItem of End.
func (r *roomCalendar) EndMeeting(ctx context.Context, room string, m domain.RoomMeeting, end time.Time) (domain.RoomMeeting, error) {
	cl, t, err := r.target(room)
	if err != nil {
		return m, err
	}
	ref, err := cl.UpdateItem(ctx, t, ews.ItemRef{ID: m.ItemID}, ews.CalendarUpdate{End: &end}, ews.SendToNone, ews.AutoResolve)
	if itemGone(err) {
		return m, domain.ErrMeetingNotFound
	}
	if err != nil {
		return m, classify(useWrite, err, "")
	}
	m.ItemID, m.End = ref.ID, end
	return m, nil
}

// ReleaseMeeting implements domain.RoomCalendar: one CreateItem with a
// DeclineItem (CancelCalendarItem when the room organizes the meeting),
// sent (SendAndSaveCopy) when notify, else saved only.
func (r *roomCalendar) ReleaseMeeting(ctx context.Context, room string, m domain.RoomMeeting, comment string, notify bool) error {
	cl, t, err := r.target(room)
	if err != nil {
		return err
	}
	kind := ews.Decline
	if m.RoomOrganizes {
		kind = ews.CancelMeeting
	}
	disposition := ews.SaveOnly
	if notify {
		disposition = ews.SendAndSaveCopy
	}
	if m.RoomOrganizes && !notify {
		// A quiet cancel is a delete without cancellations.
		err = cl.DeleteItem(ctx, t, ews.ItemRef{ID: m.ItemID}, ews.MoveToDeletedItems, ews.SendToNone)
	} else {
		err = cl.RespondToMeeting(ctx, t, ews.ItemRef{ID: m.ItemID}, kind, comment, disposition)
	}
	if err == nil || itemGone(err) {
		return nil
	}
	return classify(useWrite, err, "")
}
