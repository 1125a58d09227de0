package app_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
	"github.com/mailbridge/mailbridge/shared/local/boltstore"
	"github.com/mailbridge/mailbridge/shared/testsupport/mailboxtest"
	"github.com/mailbridge/mailbridge/shared/testsupport/storetest"
)

// The room policy's must-shows, on both protocols against their
// simulators (one suite): ending early, check-in and release act only
// where the policy allows (off: 403 and nothing changes; a user mailbox:
// the author-only rule; a room under the policy: acted on), each action
// is audited with who asked, and a release removes exactly the meetings
// not checked in past the window, telling their organizer, while a
// checked-in meeting stays.

var roomNow = time.Date(2026, 12, 2, 10, 0, 30, 0, time.UTC)

const (
	room1 = "room1@acme.example"
	room2 = "room2@acme.example"
	room3 = "room3@acme.example" // a room outside a listed policy
)

type roomEnv struct {
	env   mailboxtest.Env
	store *boltstore.Store
	clock *storetest.Clock
	uc    *app.RoomMeetings
	org   string // a user mailbox: the meetings' organizer
}

type memSecrets struct{ c domain.Credential }

func (m memSecrets) PutCredential(context.Context, string, domain.Credential) error { return nil }
func (m memSecrets) GetCredential(context.Context, string) (domain.Credential, error) {
	return m.c, nil
}
func (m memSecrets) DeleteCredential(context.Context, string) error { return nil }

func newRoomEnv(t *testing.T, mk func(testing.TB, mailboxtest.Options) mailboxtest.Env, policy domain.RoomPolicy) *roomEnv {
	t.Helper()
	env := mk(t, mailboxtest.Options{ItemsPerMailbox: 4, Now: roomNow})
	for _, r := range []string{room1, room2, room3} {
		if err := env.Sim.AddRoom(ewssim.Room{Address: r, DisplayName: strings.Split(r, "@")[0]}); err != nil {
			t.Fatal(err)
		}
	}
	if err := env.Sim.AddRoomList("rooms@acme.example", "Rooms", room1, room2); err != nil {
		t.Fatal(err)
	}
	if err := env.Sim.SetImpersonationScope(env.Account, slices.Concat(env.Mailboxes, []string{room1, room2, room3}), false); err != nil {
		t.Fatal(err)
	}
	clock := storetest.NewClock(roomNow)
	bs, err := boltstore.Open(filepath.Join(t.TempDir(), "mb.db"), boltstore.Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bs.Close() })
	tn := env.Tenant
	tn.Status, tn.RoomPolicy = domain.TenantActive, policy
	ctx := context.Background()
	if err := bs.CreateTenant(ctx, tn); err != nil {
		t.Fatal(err)
	}
	if err := bs.AddMailbox(ctx, domain.Mailbox{TenantID: tn.ID, Address: env.Mailboxes[0], Status: domain.MailboxOK}); err != nil {
		t.Fatal(err)
	}
	uc := &app.RoomMeetings{Store: bs, Marks: bs, Secrets: memSecrets{env.Credential}, Calendars: env.RoomCalendar, Rooms: env.Rooms, Clock: clock}
	return &roomEnv{env: env, store: bs, clock: clock, uc: uc, org: env.Mailboxes[0]}
}

// meeting books subject in mailbox from start to end (minutes from now),
// organized by the env's user with the mailbox as attendee, and returns
// its simulator id and the id the protocol names it by.
func (e *roomEnv) meeting(t *testing.T, mailbox, subject string, start, end int) (simID, id string) {
	t.Helper()
	now := roomNow.Truncate(time.Minute)
	ref, err := e.env.Sim.AddItem(mailbox, "calendar", ewssim.Item{Kind: ewssim.KindCalendar, Subject: subject,
		Start: now.Add(time.Duration(start) * time.Minute), End: now.Add(time.Duration(end) * time.Minute),
		Organizer: ewssim.Address{Name: "Organizer", Email: e.org}, Attendees: []ewssim.Address{{Email: mailbox}}})
	if err != nil {
		t.Fatal(err)
	}
	id, err = e.env.ItemID(ref.ID)
	if err != nil {
		t.Fatal(err)
	}
	return ref.ID, id
}

func (e *roomEnv) inCalendar(t *testing.T, mailbox string) []string {
	t.Helper()
	vs, err := e.env.Sim.Items(mailbox, "calendar")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, v := range vs {
		out = append(out, v.Subject+"@"+v.End.Format("15:04"))
	}
	slices.Sort(out)
	return out
}

func (e *roomEnv) audit(t *testing.T, prefix string) []domain.AuditEntry {
	t.Helper()
	es, _, err := e.store.ListAudit(context.Background(), e.env.Tenant.ID, domain.AuditQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var out []domain.AuditEntry
	for _, a := range es {
		if strings.HasPrefix(a.Operation, prefix) {
			out = append(out, a)
		}
	}
	return out
}

func (e *roomEnv) inbox(t *testing.T, mailbox, prefix string) []ewssim.ItemView {
	t.Helper()
	vs, err := e.env.Sim.Items(mailbox, "inbox")
	if err != nil {
		t.Fatal(err)
	}
	var out []ewssim.ItemView
	for _, v := range vs {
		if strings.HasPrefix(v.Subject, prefix) {
			out = append(out, v)
		}
	}
	return out
}

func forbidden(t *testing.T, what string, err error, field string) {
	t.Helper()
	var de *domain.Error
	if domain.ErrorCodeOf(err) != domain.CodeForbidden || !asError(err, &de) || de.Field != field {
		t.Fatalf("%s: %v, want 403 naming %s", what, err, field)
	}
}

func asError(err error, de **domain.Error) bool {
	e, ok := err.(*domain.Error)
	*de = e
	return ok
}

var roomProtocols = []struct {
	name string
	mk   func(testing.TB, mailboxtest.Options) mailboxtest.Env
}{{"EWS", mailboxtest.EWS}, {"Graph", mailboxtest.Graph}}

var onRooms = domain.RoomPolicy{Enabled: true, Rooms: []string{room1, room2}, CheckInMinutes: 10}

func TestRoomPolicyOffRefusesAndChangesNothing(t *testing.T) {
	for _, p := range roomProtocols {
		t.Run(p.name, func(t *testing.T) {
			e := newRoomEnv(t, p.mk, domain.RoomPolicy{Rooms: []string{room1}, CheckInMinutes: 10}) // set up, but off
			ctx := context.Background()
			_, id := e.meeting(t, room1, "Review", -20, 40)
			before := e.inCalendar(t, room1)
			if _, err := e.uc.End(ctx, "acme", room1, id, "display-7"); err != nil {
				forbidden(t, "end", err, "roomPolicy.enabled")
			} else {
				t.Fatal("end with the policy off succeeded")
			}
			_, _, err := e.uc.CheckIn(ctx, "acme", room1, id, "display-7")
			forbidden(t, "check-in", err, "roomPolicy.enabled")
			if !strings.Contains(err.Error(), "PATCH /tenants/acme") {
				t.Errorf("the refusal does not say how to turn the policy on: %v", err)
			}
			sum, err := e.uc.ReleaseNoShows(ctx, roomNow)
			if err != nil || sum.Released != 0 || sum.Tenants != 0 {
				t.Fatalf("release with the policy off: %+v %v", sum, err)
			}
			if got := e.inCalendar(t, room1); !slices.Equal(got, before) {
				t.Errorf("the room's calendar changed: %v, was %v", got, before)
			}
			if _, found, _ := e.store.GetRoomMark(ctx, "acme", room1, id); found {
				t.Error("a refused check-in was stored")
			}
			if a := e.audit(t, "room."); len(a) != 0 {
				t.Errorf("refused actions were audited as done: %+v", a)
			}
			if len(e.env.Sim.Responses()) != 0 {
				t.Errorf("responses were sent: %+v", e.env.Sim.Responses())
			}
		})
	}
}

func TestRoomPolicyUserMailboxKeepsTheAuthorOnlyRule(t *testing.T) {
	for _, p := range roomProtocols {
		for _, policy := range []domain.RoomPolicy{onRooms, {Enabled: true, AllRooms: true, CheckInMinutes: 10}} {
			field := "roomPolicy.rooms"
			if policy.AllRooms {
				field = "roomPolicy.allRooms"
			}
			t.Run(p.name+"/"+field, func(t *testing.T) {
				e := newRoomEnv(t, p.mk, policy)
				ctx := context.Background()
				user := e.env.Mailboxes[0]
				_, id := e.meeting(t, user, "1:1", -20, 40)
				_, roomID := e.meeting(t, room3, "Outside", -20, 40)
				before, before3 := e.inCalendar(t, user), e.inCalendar(t, room3)
				_, err := e.uc.End(ctx, "acme", user, id, "display-7")
				forbidden(t, "end in a user mailbox", err, field)
				if !strings.Contains(err.Error(), "author-only") {
					t.Errorf("the refusal does not name the author-only rule: %v", err)
				}
				_, _, err = e.uc.CheckIn(ctx, "acme", user, id, "display-7")
				forbidden(t, "check-in in a user mailbox", err, field)
				if !policy.AllRooms {
					_, err = e.uc.End(ctx, "acme", room3, roomID, "display-7")
					forbidden(t, "end in a room the policy does not list", err, field)
				}
				// A room's address with a user's meeting id: not found.
				if _, err := e.uc.End(ctx, "acme", room1, id, "display-7"); domain.ErrorCodeOf(err) != domain.CodeNotFound {
					t.Errorf("a user's meeting through a room's address: %v, want 404", err)
				}
				if !slices.Equal(e.inCalendar(t, user), before) || !slices.Equal(e.inCalendar(t, room3), before3) {
					t.Error("a refused action changed a calendar")
				}
				if a := e.audit(t, "room."); len(a) != 0 {
					t.Errorf("refused actions were audited as done: %+v", a)
				}
			})
		}
	}
}

func TestRoomPolicyEndsAndChecksInRoomMeetings(t *testing.T) {
	for _, p := range roomProtocols {
		t.Run(p.name, func(t *testing.T) {
			e := newRoomEnv(t, p.mk, onRooms)
			ctx := context.Background()
			_, id := e.meeting(t, room1, "Planning", -20, 40)
			_, later := e.meeting(t, room2, "Later", 60, 120)
			m, err := e.uc.End(ctx, "acme", room1, id, "display-7")
			now := roomNow.Truncate(time.Minute)
			if err != nil || !m.End.Equal(now) || m.ItemID != id {
				t.Fatalf("end: %+v %v, want ended at %s", m, err, now)
			}
			if got := e.inCalendar(t, room1); !slices.Equal(got, []string{"Planning@" + now.Format("15:04")}) {
				t.Errorf("room1's calendar: %v", got)
			}
			if a := e.audit(t, "room.end"); len(a) != 1 || !strings.Contains(a[0].Operation, "by display-7") || a[0].Mailbox != room1 ||
				!strings.HasPrefix(a[0].Result, "ended at") {
				t.Errorf("end audit: %+v", a)
			}
			if _, err := e.uc.End(ctx, "acme", room2, later, "display-7"); domain.ErrorCodeOf(err) != domain.CodeConflict {
				t.Errorf("ending a meeting not started: %v, want 409", err)
			}
			_, checkin := e.meeting(t, room2, "Standup", -5, 25)
			for i := range 2 {
				mark, _, err := e.uc.CheckIn(ctx, "acme", room2, checkin, "display-9")
				if err != nil || mark.State != domain.RoomCheckedIn || mark.By != "display-9" || !mark.At.Equal(roomNow) {
					t.Fatalf("check-in %d: %+v %v", i+1, mark, err)
				}
				e.clock.Advance(time.Minute)
			}
			if a := e.audit(t, "room.checkin"); len(a) != 1 || !strings.Contains(a[0].Operation, "by display-9") {
				t.Errorf("check-in audit (once, however often asked): %+v", a)
			}
			// The listing names meetings by the ids check-in keys them by.
			vs, err := e.uc.List(ctx, "acme", room2, roomNow.Add(-time.Hour), roomNow.Add(3*time.Hour))
			var got []string
			for _, v := range vs {
				state := "-"
				if v.Mark != nil {
					state = string(v.Mark.State)
				}
				got = append(got, v.Subject+":"+state)
			}
			if err != nil || strings.Join(got, ",") != "Standup:checkedIn,Later:-" {
				t.Errorf("room2's meetings: %v (%v)", got, err)
			}
			if _, _, err := e.uc.CheckIn(ctx, "acme", room2, later, "display-9"); domain.ErrorCodeOf(err) != domain.CodeConflict {
				t.Errorf("checking in an hour early: %v, want 409", err)
			}
		})
	}
}

func TestRoomNoShowRelease(t *testing.T) {
	for _, p := range roomProtocols {
		t.Run(p.name, func(t *testing.T) {
			e := newRoomEnv(t, p.mk, onRooms)
			ctx := context.Background()
			e.meeting(t, room1, "No-show", -20, 40)               // released: 20 min past start, window 10
			_, kept := e.meeting(t, room1, "Checked in", -20, 40) // checked in: stays
			e.meeting(t, room2, "Just started", -5, 25)           // inside the window: stays
			e.meeting(t, room2, "Over", -60, -5)                  // over: stays
			e.meeting(t, room2, "Tomorrow", 24*60, 25*60)         // not started: stays
			e.meeting(t, room3, "Unlisted room", -20, 40)         // not under the policy: stays
			if _, _, err := e.uc.CheckIn(ctx, "acme", room1, kept, "display-7"); err != nil {
				t.Fatal(err)
			}
			before2, before3 := e.inCalendar(t, room2), e.inCalendar(t, room3)
			sum, err := e.uc.ReleaseNoShows(ctx, roomNow)
			if err != nil || sum.Released != 1 || sum.Failed != 0 || sum.Tenants != 1 || sum.Rooms != 2 {
				t.Fatalf("sweep: %+v %v, want one released", sum, err)
			}
			if got := e.inCalendar(t, room1); !slices.Equal(got, []string{"Checked in@10:40"}) {
				t.Errorf("room1 after the sweep: %v, want only the checked-in meeting", got)
			}
			if !slices.Equal(e.inCalendar(t, room2), before2) || !slices.Equal(e.inCalendar(t, room3), before3) {
				t.Error("the sweep changed room2 or room3")
			}
			told := e.inbox(t, e.org, "Declined: ")
			if len(told) != 1 || told[0].Subject != "Declined: No-show" || !strings.Contains(told[0].Body, "within 10 minutes") ||
				!strings.EqualFold(told[0].From.Email, room1) {
				t.Fatalf("the organizer's inbox holds %+v, want one decline of No-show from room1", told)
			}
			a := e.audit(t, "room.release")
			if len(a) != 1 || !strings.Contains(a[0].Operation, "by "+app.ReleaseBy) || a[0].Mailbox != room1 ||
				!strings.Contains(a[0].Result, "not checked in within 10 minutes") || !strings.Contains(a[0].Result, "organizer "+e.org+" told") {
				t.Errorf("release audit: %+v", a)
			}
			// Redelivered (the same tick again, or the next one): nothing more.
			e.clock.Advance(time.Minute)
			sum, err = e.uc.ReleaseNoShows(ctx, roomNow.Add(time.Minute))
			if err != nil || sum.Released != 0 || len(e.inbox(t, e.org, "Declined: ")) != 1 || len(e.env.Sim.Responses()) != 1 {
				t.Errorf("a second sweep: %+v %v, %d responses", sum, err, len(e.env.Sim.Responses()))
			}
			// The policy turned off: a new no-show is left alone.
			e.meeting(t, room2, "Second no-show", -30, 30)
			tn, _ := e.store.GetTenant(ctx, "acme")
			tn.RoomPolicy.Enabled = false
			if err := e.store.UpdateTenant(ctx, tn); err != nil {
				t.Fatal(err)
			}
			if sum, err := e.uc.ReleaseNoShows(ctx, roomNow.Add(time.Minute)); err != nil || sum.Released != 0 {
				t.Errorf("sweep with the policy off: %+v %v", sum, err)
			}
			if !slices.Contains(e.inCalendar(t, room2), "Second no-show@10:30") {
				t.Error("a meeting was released with the policy off")
			}
		})
	}
}

// A release already marked, then a check-in: the check-in is refused (the
// first mark stands); a check-in first makes the release skip.
func TestRoomCheckInAndReleaseRace(t *testing.T) {
	e := newRoomEnv(t, mailboxtest.EWS, onRooms)
	ctx := context.Background()
	_, id := e.meeting(t, room1, "Race", -20, 40)
	if _, _, err := e.store.PutRoomMark(ctx, domain.RoomMark{TenantID: "acme", Room: room1, ItemID: id, State: domain.RoomReleased,
		By: app.ReleaseBy, At: roomNow, Expires: roomNow.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.uc.CheckIn(ctx, "acme", room1, id, "display-7"); domain.ErrorCodeOf(err) != domain.CodeConflict || !strings.Contains(err.Error(), "released") {
		t.Errorf("check-in after the release mark: %v, want 409 released", err)
	}
	// The sweep that wrote the mark stopped before Exchange answered: the
	// next one finishes the release.
	if sum, err := e.uc.ReleaseNoShows(ctx, roomNow); err != nil || sum.Released != 1 {
		t.Errorf("finishing an interrupted release: %+v %v", sum, err)
	}
	if got := e.inCalendar(t, room1); len(got) != 0 {
		t.Errorf("room1 still holds %v", got)
	}
}
