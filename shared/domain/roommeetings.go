package domain

import (
	"context"
	"errors"
	"time"
)

// Meetings in rooms: with the tenant's room policy on, Mailbridge may act
// on any meeting in a room mailbox the policy covers (as room-display
// products do, impersonating the room): end it early, check it in, and
// release it when nobody checked in within the policy's minutes after its
// start (the organizer is told). User mailboxes keep the author-only rule.

// RoomPolicy is a tenant's room policy. The zero value is off.
type RoomPolicy struct {
	Enabled bool `json:"enabled,omitempty"`
	// Rooms are the room mailboxes the policy covers (lower-cased); with
	// AllRooms, every room of the organisation's room lists instead.
	Rooms    []string `json:"rooms,omitempty"`
	AllRooms bool     `json:"allRooms,omitempty"`
	// CheckInMinutes: a meeting not checked in this many minutes after its
	// start is released; 0: no release.
	CheckInMinutes int `json:"checkInMinutes,omitempty"`
	// QuietRelease: a release declines the meeting without a response to
	// its organizer (the zero value tells the organizer; the API's
	// notifyOrganizer is its negation).
	QuietRelease bool `json:"quietRelease,omitempty"`
}

// Room policy bounds.
const (
	MaxPolicyRooms        = 500
	MaxCheckInMinutes     = 240
	RoomMarkRetention     = 7 * 24 * time.Hour // a mark outlives its meeting's end by this
	MaxReleaseMeetingSpan = 24 * time.Hour     // meetings longer than this are never released (all-day bookings)
)

// RoomMeeting is a meeting in a room's calendar, as the room holds it.
type RoomMeeting struct {
	ItemID    string    `json:"itemId"`
	Subject   string    `json:"subject"`
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
	Organizer Address   `json:"organizer"`
	// RoomOrganizes: the meeting was booked in the room's own calendar
	// (the room is its organizer), so releasing it cancels it rather than
	// declining it.
	RoomOrganizes bool `json:"-"`
	IsAllDay      bool `json:"-"`
}

// ErrMeetingNotFound: the room's calendar holds no meeting with the id.
var ErrMeetingNotFound = errors.New("no such meeting in the room's calendar")

// RoomCalendar acts on meetings in room calendars as the room. Failures
// are *AccessError or ErrMeetingNotFound.
type RoomCalendar interface {
	// Meeting reads one meeting of room's calendar.
	Meeting(ctx context.Context, room, itemID string) (RoomMeeting, error)
	// Meetings lists the meetings of room's calendar that overlap
	// [from, to), occurrences of a series one by one.
	Meetings(ctx context.Context, room string, from, to time.Time) ([]RoomMeeting, error)
	// EndMeeting moves the meeting's end to end in the room's calendar
	// (the room's copy only: nobody is sent an update).
	EndMeeting(ctx context.Context, room string, m RoomMeeting, end time.Time) (RoomMeeting, error)
	// ReleaseMeeting removes the meeting from the room's calendar: the
	// room declines it (cancels it when the room organizes it), with a
	// response carrying comment to the organizer when notify is set. A
	// meeting already gone counts as released.
	ReleaseMeeting(ctx context.Context, room string, m RoomMeeting, comment string, notify bool) error
}

// RoomCalendarConnector opens a tenant's RoomCalendar.
type RoomCalendarConnector interface {
	ConnectRoomCalendar(ctx context.Context, t Tenant, c Credential) (RoomCalendar, error)
}

// RoomMarkState is what happened to a room meeting first: a check-in or
// a release. Whichever is stored first stands; the other is refused.
type RoomMarkState string

const (
	RoomCheckedIn RoomMarkState = "checkedIn"
	RoomReleased  RoomMarkState = "released"
)

// RoomMark records a check-in or a release of one room meeting.
type RoomMark struct {
	TenantID string        `json:"tenantId"`
	Room     string        `json:"room"`
	ItemID   string        `json:"itemId"`
	State    RoomMarkState `json:"state"`
	By       string        `json:"by"` // who asked: the API caller, or the scheduler
	At       time.Time     `json:"at"`
	// Expires: the store forgets the mark after it (the meeting's end
	// plus RoomMarkRetention).
	Expires time.Time `json:"expires"`
}

// RoomMarkStore keeps room marks, scoped to the tenant (PurgeTenant
// deletes them) and expiring.
type RoomMarkStore interface {
	// PutRoomMark stores m unless a live mark of the same meeting exists,
	// and returns the mark that stands (the earlier one when existed).
	PutRoomMark(ctx context.Context, m RoomMark) (stored RoomMark, existed bool, err error)
	// GetRoomMark returns the live mark of a meeting; found false when
	// none is stored or it expired.
	GetRoomMark(ctx context.Context, tenantID, room, itemID string) (m RoomMark, found bool, err error)
}
