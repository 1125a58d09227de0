package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/platform/redact"
)

// This file is the room meetings use case: ending any meeting of a room
// early, checking it in (POST /tenants/{id}/rooms/{address}/meetings/
// {itemId}/end and .../checkin), and releasing the meetings nobody
// checked in (ReleaseNoShows, run by the scheduler). Each acts only where
// the tenant's room policy allows: the policy is on and covers the room.
// Every action is audited with who asked and why.

// ReleaseBy is who releases no-shows, as the audit trail names it.
const ReleaseBy = "scheduler: no-show release"

// CheckInEarly is how long before its start a meeting may be checked in.
const CheckInEarly = 15 * time.Minute

// validateRoomPolicy checks a room policy and normalises its rooms.
func validateRoomPolicy(p *domain.RoomPolicy) *domain.Error {
	if len(p.Rooms) > domain.MaxPolicyRooms {
		return domain.Invalid("roomPolicy.rooms", "at most %d rooms; set allRooms for every room of the organisation", domain.MaxPolicyRooms)
	}
	if p.AllRooms && len(p.Rooms) > 0 {
		return domain.Invalid("roomPolicy.rooms", "name rooms or set allRooms, not both")
	}
	if p.Enabled && !p.AllRooms && len(p.Rooms) == 0 {
		return domain.Invalid("roomPolicy.rooms", "an enabled room policy names its rooms (rooms) or covers every room (allRooms: true)")
	}
	if p.CheckInMinutes < 0 || p.CheckInMinutes > domain.MaxCheckInMinutes {
		return domain.Invalid("roomPolicy.checkInMinutes", "must be 0 (no release) to %d minutes", domain.MaxCheckInMinutes)
	}
	rooms := make([]string, 0, len(p.Rooms))
	for _, r := range p.Rooms {
		a, verr := NormalizeAddress("roomPolicy.rooms", r)
		if verr != nil {
			return verr
		}
		if slices.Contains(rooms, a) {
			return domain.Invalid("roomPolicy.rooms", "room %q is listed twice", a)
		}
		rooms = append(rooms, a)
	}
	slices.Sort(rooms)
	if len(rooms) == 0 {
		rooms = nil
	}
	p.Rooms = rooms
	return nil
}

// RoomMeetings acts on meetings in room calendars under the room policy.
type RoomMeetings struct {
	Store     domain.Store
	Marks     domain.RoomMarkStore
	Secrets   domain.SecretStore
	Calendars domain.RoomCalendarConnector
	// Rooms lists the organisation's rooms for a policy with allRooms.
	Rooms domain.RoomConnector
	Clock domain.Clock
	Log   *slog.Logger
}

// roomCall is one room action's context: the tenant, its credential and
// the room's calendar.
type roomCall struct {
	t    domain.Tenant
	cred domain.Credential
	cal  domain.RoomCalendar
	room string
}

// open checks the request and the policy and opens the room's calendar.
// listing: no item id is named (List).
func (r *RoomMeetings) open(ctx context.Context, tenantID, room, itemID string, listOnly ...bool) (*roomCall, error) {
	listing := len(listOnly) > 0 && listOnly[0]
	if verr := ValidateTenantID(tenantID); verr != nil {
		return nil, verr
	}
	addr, verr := NormalizeAddress("address", room)
	if verr != nil {
		return nil, verr
	}
	if itemID != "" || !listing {
		if verr := domain.ValidateItemID("itemId", itemID); verr != nil {
			return nil, verr
		}
	}
	t, err := (&Tenants{Store: r.Store}).active(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	if !t.RoomPolicy.Enabled {
		return nil, &domain.Error{Code: domain.CodeForbidden, Field: "roomPolicy.enabled", Message: fmt.Sprintf(
			"tenant %q's room policy is off (roomPolicy.enabled): Mailbridge acts only on events it wrote (POST /tenants/%s/mailboxes/{address}/events/{clientEventId}/end); PATCH /tenants/%s with a roomPolicy to act on room meetings",
			tenantID, tenantID, tenantID)}
	}
	cred, err := r.Secrets.GetCredential(ctx, tenantID)
	if err != nil {
		if domain.IsNotFound(err) {
			return nil, domain.Conflict("tenant %q has no stored credentials; PUT /tenants/%s/credentials first", tenantID, tenantID)
		}
		return nil, internal(err, "reading the credentials")
	}
	covered, err := r.covers(ctx, t, cred, addr)
	if err != nil {
		return nil, r.exchangeError(ctx, tenantID, cred, err)
	}
	if !covered {
		field, how := "roomPolicy.rooms", "is not in roomPolicy.rooms"
		if t.RoomPolicy.AllRooms {
			field, how = "roomPolicy.allRooms", "is no room of the organisation's room lists (roomPolicy.allRooms covers only those)"
		}
		return nil, &domain.Error{Code: domain.CodeForbidden, Field: field, Message: fmt.Sprintf(
			"%s %s: tenant %q's room policy does not cover it, and a user mailbox keeps the author-only rule (only events Mailbridge wrote)", addr, how, tenantID)}
	}
	cal, err := r.Calendars.ConnectRoomCalendar(ctx, t, cred)
	if err != nil {
		return nil, r.exchangeError(ctx, tenantID, cred, err)
	}
	return &roomCall{t: t, cred: cred, cal: cal, room: addr}, nil
}

// covers tells whether the tenant's policy covers room.
func (r *RoomMeetings) covers(ctx context.Context, t domain.Tenant, cred domain.Credential, room string) (bool, error) {
	rooms, err := r.policyRooms(ctx, t, cred)
	if err != nil {
		return false, err
	}
	return slices.Contains(rooms, room), nil
}

// policyRooms are the rooms the tenant's policy covers.
func (r *RoomMeetings) policyRooms(ctx context.Context, t domain.Tenant, cred domain.Credential) ([]string, error) {
	if !t.RoomPolicy.AllRooms {
		return t.RoomPolicy.Rooms, nil
	}
	if r.Rooms == nil {
		return nil, &domain.AccessError{Kind: domain.AccessPermanent, Code: "ProtocolNotConfigured", Err: errors.New("no room directory for allRooms")}
	}
	actAs, err := firstMailbox(ctx, r.Store, t.ID)
	if err != nil {
		return nil, err
	}
	dir, err := r.Rooms.ConnectRooms(ctx, t, cred, actAs)
	if err != nil {
		return nil, err
	}
	rooms, err := dir.Rooms(ctx, "")
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(rooms))
	for _, rm := range rooms {
		out = append(out, rm.Address)
	}
	return out, nil
}

// meeting reads the meeting or answers 404.
func (r *RoomMeetings) meeting(ctx context.Context, c *roomCall, itemID string) (domain.RoomMeeting, error) {
	m, err := c.cal.Meeting(ctx, c.room, itemID)
	if errors.Is(err, domain.ErrMeetingNotFound) {
		return m, domain.NotFound("room %s holds no meeting with this itemId", c.room)
	}
	if err != nil {
		return m, r.exchangeError(ctx, c.t.ID, c.cred, err)
	}
	return m, nil
}

// MaxRoomMeetingsWindow bounds a listing of a room's meetings.
const MaxRoomMeetingsWindow = 7 * 24 * time.Hour

// RoomMeetingView is a listed meeting with its check-in or release, if any.
type RoomMeetingView struct {
	domain.RoomMeeting
	Mark *domain.RoomMark
}

// List lists the meetings of a room under the policy that overlap
// [from, to), with the ids the check-in and the release use (a series'
// occurrences one by one) and each meeting's mark.
func (r *RoomMeetings) List(ctx context.Context, tenantID, room string, from, to time.Time) ([]RoomMeetingView, error) {
	switch {
	case !to.After(from):
		return nil, domain.Invalid("end", "end must be after start")
	case to.Sub(from) > MaxRoomMeetingsWindow:
		return nil, domain.Invalid("end", "the window may span at most %d days", int(MaxRoomMeetingsWindow/(24*time.Hour)))
	}
	c, err := r.open(ctx, tenantID, room, "", true)
	if err != nil {
		return nil, err
	}
	ms, err := c.cal.Meetings(ctx, c.room, from, to)
	r.audit(ctx, c, "room.meetings.read", "", Caller(ctx), fmt.Sprintf("found %d", len(ms)), err)
	if err != nil {
		return nil, r.exchangeError(ctx, tenantID, c.cred, err)
	}
	out := make([]RoomMeetingView, 0, len(ms))
	for _, m := range ms {
		v := RoomMeetingView{RoomMeeting: m}
		mark, found, err := r.Marks.GetRoomMark(ctx, tenantID, c.room, m.ItemID)
		if err != nil {
			return nil, &domain.Error{Code: domain.CodeUnavailable, Message: "the check-ins could not be read; try again", Err: err}
		}
		if found {
			v.Mark = &mark
		}
		out = append(out, v)
	}
	return out, nil
}

// End ends a meeting of a room now: its end moves to the current minute in
// the room's calendar, which frees the room from then on. caller is who
// asked, for the audit trail.
func (r *RoomMeetings) End(ctx context.Context, tenantID, room, itemID, caller string) (domain.RoomMeeting, error) {
	c, err := r.open(ctx, tenantID, room, itemID)
	if err != nil {
		return domain.RoomMeeting{}, err
	}
	m, err := r.meeting(ctx, c, itemID)
	if err != nil {
		return m, err
	}
	end := endMinute(r.Clock.Now())
	switch cerr := domain.CheckEndable(m.Start, m.End, end); cerr {
	case nil:
	case domain.ErrEventNotStarted:
		return m, &domain.Error{Code: domain.CodeConflict, Field: "itemId", Message: fmt.Sprintf(
			"the meeting has not started yet (it starts at %s); it can be ended from one minute after its start", m.Start.UTC().Format(time.RFC3339))}
	case domain.ErrEventAlreadyEnded:
		return m, &domain.Error{Code: domain.CodeConflict, Field: "itemId", Message: fmt.Sprintf("the meeting has already ended (at %s)", m.End.UTC().Format(time.RFC3339))}
	default:
		return m, r.exchangeError(ctx, tenantID, c.cred, cerr)
	}
	ended, err := c.cal.EndMeeting(ctx, c.room, m, end)
	r.audit(ctx, c, "room.end", itemID, caller, "ended at "+end.Format(time.RFC3339), err)
	if errors.Is(err, domain.ErrMeetingNotFound) {
		return m, domain.NotFound("room %s holds no meeting with this itemId", c.room)
	}
	if err != nil {
		return m, r.exchangeError(ctx, tenantID, c.cred, err)
	}
	return ended, nil
}

// CheckIn records that a room meeting's people showed up, so it is not
// released. It is idempotent: a second check-in answers the first. A
// meeting already released is refused (409).
func (r *RoomMeetings) CheckIn(ctx context.Context, tenantID, room, itemID, caller string) (domain.RoomMark, domain.RoomMeeting, error) {
	c, err := r.open(ctx, tenantID, room, itemID)
	if err != nil {
		return domain.RoomMark{}, domain.RoomMeeting{}, err
	}
	m, err := r.meeting(ctx, c, itemID)
	if err != nil {
		return domain.RoomMark{}, m, err
	}
	now := r.Clock.Now().UTC()
	switch {
	case now.Before(m.Start.Add(-CheckInEarly)):
		return domain.RoomMark{}, m, &domain.Error{Code: domain.CodeConflict, Field: "itemId", Message: fmt.Sprintf(
			"the meeting starts at %s; it can be checked in from %d minutes before its start", m.Start.UTC().Format(time.RFC3339), int(CheckInEarly/time.Minute))}
	case !now.Before(m.End):
		return domain.RoomMark{}, m, &domain.Error{Code: domain.CodeConflict, Field: "itemId", Message: fmt.Sprintf("the meeting has already ended (at %s)", m.End.UTC().Format(time.RFC3339))}
	}
	mark, existed, err := r.Marks.PutRoomMark(ctx, domain.RoomMark{
		TenantID: tenantID, Room: c.room, ItemID: itemID, State: domain.RoomCheckedIn, By: callerName(caller), At: now,
		Expires: m.End.Add(domain.RoomMarkRetention),
	})
	if err != nil {
		return mark, m, &domain.Error{Code: domain.CodeUnavailable, Message: "the check-in could not be recorded; try again", Err: err}
	}
	if existed && mark.State == domain.RoomReleased {
		return mark, m, domain.Conflict("the meeting was released as a no-show at %s (%s); it can no longer be checked in", mark.At.UTC().Format(time.RFC3339), mark.By)
	}
	if !existed {
		r.audit(ctx, c, "room.checkin", itemID, caller, "checked in", nil)
	}
	return mark, m, nil
}

// ReleaseSummary is what one no-show sweep did.
type ReleaseSummary struct {
	Tenants  int `json:"tenants"`  // tenants with a release window
	Rooms    int `json:"rooms"`    // rooms looked at
	Released int `json:"released"` // meetings released
	Failed   int `json:"failed"`   // rooms or meetings that failed (retried at the next sweep)
}

// ReleaseNoShows releases, in every tenant whose room policy is on with
// checkInMinutes set, the room meetings that started at least
// checkInMinutes before now, have not ended, and were not checked in. It
// is idempotent: a meeting checked in is never released, one already
// released is not released again (a release interrupted before Exchange
// answered is finished), and the policy is read afresh each sweep.
func (r *RoomMeetings) ReleaseNoShows(ctx context.Context, now time.Time) (ReleaseSummary, error) {
	var sum ReleaseSummary
	cursor := ""
	for {
		page, next, err := r.Store.ListTenants(ctx, cursor, 100)
		if err != nil {
			return sum, fmt.Errorf("room release: listing tenants: %w", err)
		}
		for _, t := range page {
			p := t.RoomPolicy
			if t.Status != domain.TenantActive || !p.Enabled || p.CheckInMinutes <= 0 {
				continue
			}
			sum.Tenants++
			r.releaseTenant(ctx, t, now.UTC(), &sum)
		}
		if next == "" {
			return sum, nil
		}
		cursor = next
	}
}

func (r *RoomMeetings) releaseTenant(ctx context.Context, t domain.Tenant, now time.Time, sum *ReleaseSummary) {
	log := r.logger(ctx).With("tenantId", t.ID)
	cred, err := r.Secrets.GetCredential(ctx, t.ID)
	if err != nil {
		sum.Failed++
		log.Warn("room release: no credential", "error", err.Error())
		return
	}
	rooms, err := r.policyRooms(ctx, t, cred)
	if err != nil {
		sum.Failed++
		log.Warn("room release: listing the policy's rooms failed", "error", redact.ForCredential(cred).Clean(err.Error(), redact.MaxDetail))
		return
	}
	cal, err := r.Calendars.ConnectRoomCalendar(ctx, t, cred)
	if err != nil {
		sum.Failed++
		log.Warn("room release: connecting failed", "error", redact.ForCredential(cred).Clean(err.Error(), redact.MaxDetail))
		return
	}
	window := time.Duration(t.RoomPolicy.CheckInMinutes) * time.Minute
	// Rooms are swept one after the other, each sweep starting one room
	// further on: a sweep cut short by its deadline leaves different
	// rooms for the next, never the same ones.
	if n := len(rooms); n > 1 {
		k := int(now.Unix()/60) % n
		rooms = append(slices.Clone(rooms[k:]), rooms[:k]...)
	}
	for _, room := range rooms {
		if ctx.Err() != nil {
			return
		}
		sum.Rooms++
		c := &roomCall{t: t, cred: cred, cal: cal, room: room}
		// The meetings in progress now: a CalendarView of one minute.
		ms, err := cal.Meetings(ctx, room, now, now.Add(time.Minute))
		if err != nil {
			sum.Failed++
			log.Warn("room release: listing meetings failed", "room", room, "error", redact.ForCredential(cred).Clean(err.Error(), redact.MaxDetail))
			continue
		}
		for _, m := range ms {
			if !releasable(m, now, window) {
				continue
			}
			switch ok, err := r.release(ctx, c, m, now); {
			case err != nil:
				sum.Failed++
				log.Warn("room release: release failed", "room", room, "error", redact.ForCredential(cred).Clean(err.Error(), redact.MaxDetail))
			case ok:
				sum.Released++
			}
		}
	}
}

// releasable: started at least window ago, not over, not all-day and not
// longer than MaxReleaseMeetingSpan (a whole-day booking is not a
// meeting someone forgot).
func releasable(m domain.RoomMeeting, now time.Time, window time.Duration) bool {
	return !m.IsAllDay && m.End.Sub(m.Start) <= domain.MaxReleaseMeetingSpan &&
		!now.Before(m.Start.Add(window)) && now.Before(m.End)
}

// release marks the meeting released, unless it was checked in, then
// removes it from the room's calendar. The mark comes first: a check-in
// arriving later is refused, and one that came earlier wins here. A mark
// already saying released (an earlier sweep stopped before Exchange
// answered) finishes that release.
func (r *RoomMeetings) release(ctx context.Context, c *roomCall, m domain.RoomMeeting, now time.Time) (bool, error) {
	mark, existed, err := r.Marks.PutRoomMark(ctx, domain.RoomMark{
		TenantID: c.t.ID, Room: c.room, ItemID: m.ItemID, State: domain.RoomReleased, By: ReleaseBy, At: now,
		Expires: m.End.Add(domain.RoomMarkRetention),
	})
	if err != nil {
		return false, err
	}
	if existed && mark.State == domain.RoomCheckedIn {
		return false, nil
	}
	comment := fmt.Sprintf("Released: nobody checked in within %d minutes of the start, so the room is free again.", c.t.RoomPolicy.CheckInMinutes)
	err = c.cal.ReleaseMeeting(ctx, c.room, m, comment, !c.t.RoomPolicy.QuietRelease)
	why := fmt.Sprintf("released: not checked in within %d minutes of its start at %s", c.t.RoomPolicy.CheckInMinutes, m.Start.UTC().Format(time.RFC3339))
	if !c.t.RoomPolicy.QuietRelease {
		why += "; organizer " + m.Organizer.Email + " told"
	}
	r.audit(ctx, c, "room.release", m.ItemID, ReleaseBy, why, err)
	return err == nil, err
}

// audit records one room action. The item id is shortened (EWS ids run
// to 150 characters); the audit trail is for people.
func (r *RoomMeetings) audit(ctx context.Context, c *roomCall, op, itemID, caller, result string, err error) {
	if err != nil {
		result = "failed: " + string(domain.AccessErrorOf(err).Kind)
		if errors.Is(err, domain.ErrMeetingNotFound) {
			result = "failed: not found"
		}
	}
	by := caller
	if caller != ReleaseBy {
		by = callerName(caller)
	}
	e := domain.AuditEntry{TenantID: c.t.ID, Mailbox: c.room, AccessMode: c.t.AccessMode,
		Operation: strings.Join(strings.Fields(fmt.Sprintf("%s %s by %s", op, shortID(itemID), by)), " "),
		Result:    result, At: r.Clock.Now().UTC(), RequestID: RequestID(ctx)}
	if aerr := r.Store.AppendAudit(ctx, e); aerr != nil {
		r.logger(ctx).Error("room meetings: audit append failed", "tenantId", c.t.ID, "error", aerr.Error())
	}
}

// shortID is an item id as the audit trail shows it: its last 16
// characters (where EWS and Graph ids differ from one item to the next).
func shortID(id string) string {
	if len(id) <= 20 {
		return id
	}
	return "…" + id[len(id)-16:]
}

func (r *RoomMeetings) logger(ctx context.Context) *slog.Logger { return requestLogger(ctx, r.Log) }

// roomMeetingFailure words a failed room meeting action (liveFailure).
var roomMeetingFailure = liveFailure{subject: "room meetings", denied: "Exchange refused access to the room's calendar",
	grant:  "; on EWS the account needs impersonation of the room, on Graph the app Calendars.ReadWrite for it",
	failed: "Exchange could not act on the room's meeting"}

// exchangeError: a domain error (the policy's, the marks') is the answer
// as it is; the rest as liveFailure says.
func (r *RoomMeetings) exchangeError(ctx context.Context, tenantID string, cred domain.Credential, err error) error {
	var de *domain.Error
	if errors.As(err, &de) {
		return de
	}
	return roomMeetingFailure.answer(ctx, r.Log, tenantID, cred, err)
}
