package mailboxtest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
)

// runRoomCalendar: the room calendar port acting as a room — a meeting
// read by id (an id of another mailbox is not found), the meetings of a
// window, an end moved earlier in the room's copy only, and releases: a
// decline that removes the meeting and tells its organizer, a quiet one
// that tells nobody, a cancel when the room organizes the meeting (its
// attendees are told), and a meeting already gone counting as released.
func runRoomCalendar(t *testing.T, newEnv func(t testing.TB) Env) {
	env := newEnv(t)
	if env.RoomCalendar == nil {
		t.Fatal("the Env has no room calendar connector")
	}
	ctx := context.Background()
	const room = "orion@contoso.com"
	if err := env.Sim.AddRoom(ewssim.Room{Address: room, DisplayName: "Orion"}); err != nil {
		t.Fatal(err)
	}
	if err := env.Sim.SetImpersonationScope(env.Account, append(slices.Clone(env.Mailboxes), room), false); err != nil {
		t.Fatal(err)
	}
	org, guest := env.Mailboxes[0], OutOfScopeMailbox
	now := time.Now().UTC().Truncate(time.Minute)
	book := func(subject string, organizer string, start, end time.Duration) (string, string) {
		t.Helper()
		ref, err := env.Sim.AddItem(room, "calendar", ewssim.Item{Kind: ewssim.KindCalendar, Subject: subject, Start: now.Add(start), End: now.Add(end),
			Organizer: ewssim.Address{Name: "Org", Email: organizer}, Attendees: []ewssim.Address{{Email: room}, {Email: guest}}})
		if err != nil {
			t.Fatal(err)
		}
		id, err := env.ItemID(ref.ID)
		if err != nil {
			t.Fatal(err)
		}
		return ref.ID, id
	}
	cal, err := env.RoomCalendar.ConnectRoomCalendar(ctx, env.Tenant, env.Credential)
	if err != nil {
		t.Fatal(err)
	}
	simEnd, endID := book("End me", org, -30*time.Minute, 30*time.Minute)
	_, declineID := book("Decline me", org, -20*time.Minute, 40*time.Minute)
	_, quietID := book("Quietly", org, -20*time.Minute, 40*time.Minute)
	_, cancelID := book("Own booking", room, -20*time.Minute, 40*time.Minute)
	book("Tomorrow", org, 24*time.Hour, 25*time.Hour)
	userRef, err := env.Sim.AddItem(org, "calendar", event("Not the room's", now.Add(-10*time.Minute)))
	if err != nil {
		t.Fatal(err)
	}
	userID, _ := env.ItemID(userRef.ID)

	m, err := cal.Meeting(ctx, room, endID)
	if err != nil || m.Subject != "End me" || !m.Start.Equal(now.Add(-30*time.Minute)) || !m.End.Equal(now.Add(30*time.Minute)) ||
		!strings.EqualFold(m.Organizer.Email, org) || m.RoomOrganizes {
		t.Fatalf("Meeting = %+v, %v", m, err)
	}
	if own, err := cal.Meeting(ctx, room, cancelID); err != nil || !own.RoomOrganizes {
		t.Errorf("the room's own booking: %+v, %v; want RoomOrganizes", own, err)
	}
	if _, err := cal.Meeting(ctx, room, userID); !errors.Is(err, domain.ErrMeetingNotFound) {
		t.Errorf("a user's meeting through the room = %v, want ErrMeetingNotFound", err)
	}
	ms, err := cal.Meetings(ctx, room, now, now.Add(time.Minute))
	if err != nil || len(ms) != 4 {
		t.Fatalf("Meetings now = %d (%v), want the 4 in progress", len(ms), err)
	}
	ended, err := cal.EndMeeting(ctx, room, m, now)
	if err != nil || !ended.End.Equal(now) {
		t.Fatalf("EndMeeting = %+v, %v", ended, err)
	}
	if it, _, err := env.Sim.GetItem(simEnd); err != nil || !it.End.Equal(now) || !it.Start.Equal(now.Add(-30*time.Minute)) {
		t.Errorf("the ended meeting runs %s-%s (%v)", it.Start, it.End, err)
	}
	release := func(id, comment string, notify bool) {
		t.Helper()
		m, err := cal.Meeting(ctx, room, id)
		if err != nil {
			t.Fatal(err)
		}
		if err := cal.ReleaseMeeting(ctx, room, m, comment, notify); err != nil {
			t.Fatalf("ReleaseMeeting(%s) = %v", m.Subject, err)
		}
		// Again (a redelivered sweep): already gone is released.
		if err := cal.ReleaseMeeting(ctx, room, m, comment, notify); err != nil {
			t.Errorf("ReleaseMeeting again = %v, want nil", err)
		}
	}
	release(declineID, "nobody came", true)
	release(quietID, "", false)
	release(cancelID, "room freed", true)
	left, err := env.Sim.Items(room, "calendar")
	if err != nil {
		t.Fatal(err)
	}
	var subjects []string
	for _, v := range left {
		subjects = append(subjects, v.Subject)
	}
	if got := strings.Join(subjects, ","); got != "End me,Tomorrow" {
		t.Errorf("the room's calendar holds %s, want End me,Tomorrow", got)
	}
	var got []string
	for _, r := range env.Sim.Responses() {
		got = append(got, r.Kind+" "+r.Subject+" to "+strings.Join(r.To, ",")+": "+r.Body)
	}
	want := []string{"DeclineItem Declined: Decline me to " + org + ": nobody came", "CancelCalendarItem Canceled: Own booking to " + guest + ": room freed"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("responses sent:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	inbox, _ := env.Sim.Items(org, "inbox")
	n := 0
	for _, v := range inbox {
		if v.Subject == "Declined: Decline me" && strings.EqualFold(v.From.Email, room) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("the organizer's inbox holds %d declines from the room, want 1", n)
	}
}
