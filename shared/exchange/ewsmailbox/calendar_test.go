package ewsmailbox_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ewsmailbox"
	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
)

const (
	ann     = "ann@contoso.com"
	bob     = "bob@contoso.com"
	calUser = "svc@contoso.com"
	calPass = "s3cret-pass"
)

var start = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

type calEnv struct {
	sim    *ewssim.Sim
	writer domain.CalendarWriter
	tenant domain.Tenant
	cred   domain.Credential
}

// newCalEnv serves a simulator with two mailboxes; the service account may
// impersonate ann and is a delegate of bob.
func newCalEnv(t *testing.T) *calEnv {
	t.Helper()
	sim := ewssim.New(ewssim.Options{BackOff: 3 * time.Second})
	for _, m := range []string{ann, bob} {
		if err := sim.AddMailbox(m, m); err != nil {
			t.Fatal(err)
		}
	}
	if err := sim.AddAccount(ewssim.Account{Username: calUser, Password: calPass, ImpersonationScope: []string{ann}}); err != nil {
		t.Fatal(err)
	}
	if err := sim.GrantDelegate(calUser, bob, ""); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(sim.Handler())
	srv.Config.ConnContext = ewssim.ConnContext
	srv.Start()
	t.Cleanup(srv.Close)
	tenant := domain.Tenant{ID: "acme", EWSURL: srv.URL + ewssim.EWSPath, ExchangeVersion: "Exchange2016", AccessMode: domain.AccessImpersonation}
	cred := domain.Credential{Kind: domain.AuthBasic, Username: calUser, Password: calPass}
	w, err := ewsmailbox.NewCalendarConnector(simOptions).ConnectCalendar(context.Background(), tenant, cred)
	if err != nil {
		t.Fatal(err)
	}
	return &calEnv{sim: sim, writer: w, tenant: tenant, cred: cred}
}

func imp(addr string) domain.MailboxRef {
	return domain.MailboxRef{Address: addr, Mode: domain.AccessImpersonation}
}

func trip(subject string) domain.EventSpec {
	return domain.EventSpec{
		Subject: subject, Start: start, End: start.Add(2 * time.Hour), Location: "OSL gate 12", Body: "Booking ABC123",
		Attendees: []domain.Address{{Name: "Lee", Email: "lee@contoso.com"}},
	}
}

// calendar returns the items in a mailbox's calendar by id.
func (e *calEnv) calendar(t *testing.T, mailbox string) map[string]ewssim.Item {
	t.Helper()
	refs, err := e.sim.ListItems(mailbox, "calendar")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]ewssim.Item{}
	for _, r := range refs {
		it, _, err := e.sim.GetItem(r.ID)
		if err != nil {
			t.Fatal(err)
		}
		out[r.ID] = it
	}
	return out
}

func markerOf(it ewssim.Item) string {
	for _, p := range it.Extended {
		if p.SetID == ewsmailbox.PropertySetID && p.Name == ewsmailbox.MarkerField.PropertyName {
			return p.Value
		}
	}
	return ""
}

// userItem adds an item the user made by hand: same subject and time as
// Mailbridge's event, but no marker.
func (e *calEnv) userItem(t *testing.T, mailbox, subject string) (string, string) {
	t.Helper()
	ref, err := e.sim.AddItem(mailbox, "calendar", ewssim.Item{Kind: ewssim.KindCalendar, Subject: subject, Start: start, End: start.Add(2 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return ref.ID, ref.ChangeKey
}

func TestPutCreatesThenUpdatesTheMarkedItem(t *testing.T) {
	for _, mb := range []domain.MailboxRef{imp(ann), {Address: bob, Mode: domain.AccessDelegate}} {
		t.Run(string(mb.Mode), func(t *testing.T) {
			e := newCalEnv(t)
			ctx := context.Background()
			t0 := start.Add(-72 * time.Hour)
			created, err := e.writer.PutEvent(ctx, mb, "trip-1", trip("Flight to Oslo"), true, t0)
			if err != nil {
				t.Fatal(err)
			}
			if created.Result != domain.EventCreated || created.ItemID == "" {
				t.Fatalf("first put: %+v", created)
			}
			ev := trip("Flight to Oslo (rebooked)")
			ev.Start, ev.End = start.Add(time.Hour), start.Add(3*time.Hour)
			ev.Location = ""
			updated, err := e.writer.PutEvent(ctx, mb, "trip-1", ev, false, t0.Add(time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			if updated.Result != domain.EventUpdated || updated.ItemID != created.ItemID {
				t.Fatalf("second put: %+v, want an update of %s", updated, created.ItemID)
			}
			cal := e.calendar(t, mb.Address)
			if len(cal) != 1 {
				t.Fatalf("calendar holds %d items, want 1", len(cal))
			}
			it := cal[created.ItemID]
			if it.Subject != ev.Subject || !it.Start.Equal(ev.Start) || it.Location != "" || markerOf(it) != "trip-1" {
				t.Errorf("item after update: subject %q start %v location %q marker %q", it.Subject, it.Start, it.Location, markerOf(it))
			}
			if len(it.Attendees) != 1 || it.Attendees[0].Email != "lee@contoso.com" {
				t.Errorf("attendees %+v", it.Attendees)
			}
		})
	}
}

// TestOnlyItemsMailbridgeCreated is the writer's author-only access: a user's own item with the
// same subject and time is never changed or deleted, and a delete naming an
// event Mailbridge never wrote fails clearly.
func TestOnlyItemsMailbridgeCreated(t *testing.T) {
	e := newCalEnv(t)
	ctx := context.Background()
	userID, userCK := e.userItem(t, ann, "Flight to Oslo")
	t0 := start.Add(-72 * time.Hour)

	put, err := e.writer.PutEvent(ctx, imp(ann), "trip-1", trip("Flight to Oslo"), false, t0)
	if err != nil {
		t.Fatal(err)
	}
	if put.Result != domain.EventCreated || put.ItemID == userID {
		t.Fatalf("put %+v: must create its own item, not take the user's %s", put, userID)
	}
	if _, err := e.writer.PutEvent(ctx, imp(ann), "trip-1", trip("Flight to Oslo, seat 3A"), false, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	_, err = e.writer.DeleteEvent(ctx, imp(ann), "user-made", false, t0.Add(2*time.Minute))
	if !errors.Is(err, domain.ErrEventNotFound) {
		t.Fatalf("delete of an event Mailbridge never wrote: got %v, want ErrEventNotFound", err)
	}
	del, err := e.writer.DeleteEvent(ctx, imp(ann), "trip-1", false, t0.Add(3*time.Minute))
	if err != nil || del.Result != domain.EventDeleted {
		t.Fatalf("delete of Mailbridge's event: %+v, %v", del, err)
	}
	cal := e.calendar(t, ann)
	if len(cal) != 1 {
		t.Fatalf("calendar holds %d items, want only the user's", len(cal))
	}
	it, ref, err := e.sim.GetItem(userID)
	if err != nil {
		t.Fatalf("the user's item is gone: %v", err)
	}
	if ref.ChangeKey != userCK || it.Subject != "Flight to Oslo" {
		t.Errorf("the user's item was changed: change key %s -> %s, subject %q", userCK, ref.ChangeKey, it.Subject)
	}
	if _, err := e.writer.DeleteEvent(ctx, imp(ann), "trip-1", false, t0.Add(4*time.Minute)); !errors.Is(err, domain.ErrEventNotFound) {
		t.Errorf("second delete: got %v, want ErrEventNotFound", err)
	}
}

// The server matches the marker ignoring case; an id that differs only in
// case is a different client event.
func TestMarkerMatchIsExact(t *testing.T) {
	e := newCalEnv(t)
	ctx := context.Background()
	t0 := start.Add(-72 * time.Hour)
	upper, err := e.writer.PutEvent(ctx, imp(ann), "TRIP-1", trip("Upper"), false, t0)
	if err != nil {
		t.Fatal(err)
	}
	lower, err := e.writer.PutEvent(ctx, imp(ann), "trip-1", trip("Lower"), false, t0)
	if err != nil {
		t.Fatal(err)
	}
	if lower.Result != domain.EventCreated || lower.ItemID == upper.ItemID {
		t.Fatalf("trip-1 put %+v touched TRIP-1's item %s", lower, upper.ItemID)
	}
	if it, _, _ := e.sim.GetItem(upper.ItemID); it.Subject != "Upper" {
		t.Errorf("TRIP-1's subject is now %q", it.Subject)
	}
}

// A late retry of an older request must not undo a newer one.
func TestOlderRequestIsSuperseded(t *testing.T) {
	e := newCalEnv(t)
	ctx := context.Background()
	t0 := start.Add(-72 * time.Hour)
	newer, err := e.writer.PutEvent(ctx, imp(ann), "trip-1", trip("Newer"), false, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		op   func() (domain.EventWrite, error)
	}{
		{"put", func() (domain.EventWrite, error) {
			return e.writer.PutEvent(ctx, imp(ann), "trip-1", trip("Older"), false, t0)
		}},
		{"delete", func() (domain.EventWrite, error) { return e.writer.DeleteEvent(ctx, imp(ann), "trip-1", false, t0) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := tc.op()
			if err != nil || res.Result != domain.EventSuperseded {
				t.Fatalf("got %+v, %v; want superseded", res, err)
			}
			if it, _, err := e.sim.GetItem(newer.ItemID); err != nil || it.Subject != "Newer" {
				t.Errorf("the newer write was undone: %q, %v", it.Subject, err)
			}
		})
	}
}

func TestFailuresAreClassified(t *testing.T) {
	ctx := context.Background()
	t0 := start.Add(-72 * time.Hour)
	for _, tc := range []struct {
		name      string
		mailbox   domain.MailboxRef
		fault     *ewssim.Fault
		wantKind  domain.AccessErrorKind
		wantAfter time.Duration
	}{
		{name: "out of impersonation scope", mailbox: imp(bob), wantKind: domain.AccessOutOfScope},
		{name: "no such mailbox", mailbox: domain.MailboxRef{Address: "nobody@contoso.com", Mode: domain.AccessDelegate}, wantKind: domain.AccessMailboxNotFound},
		{name: "server busy", mailbox: imp(ann), fault: &ewssim.Fault{Op: "CreateItem", Kind: ewssim.FaultSOAP, Code: "ErrorServerBusy", BackOff: 40 * time.Second},
			wantKind: domain.AccessThrottled, wantAfter: 40 * time.Second},
		{name: "HTTP 503", mailbox: imp(ann), fault: &ewssim.Fault{Op: "FindItem", Kind: ewssim.FaultHTTP503, RetryAfter: 2 * time.Minute},
			wantKind: domain.AccessThrottled, wantAfter: 2 * time.Minute},
		{name: "mailbox moving", mailbox: imp(ann), fault: &ewssim.Fault{Op: "CreateItem", Kind: ewssim.FaultSOAP, Code: "ErrorMailboxMoveInProgress"},
			wantKind: domain.AccessTransient},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newCalEnv(t)
			if tc.fault != nil {
				e.sim.InjectFault(*tc.fault)
			}
			_, err := e.writer.PutEvent(ctx, tc.mailbox, "trip-1", trip("Flight"), false, t0)
			var ae *domain.AccessError
			if !errors.As(err, &ae) {
				t.Fatalf("got %v, want an *AccessError", err)
			}
			if ae.Kind != tc.wantKind || ae.RetryAfter != tc.wantAfter {
				t.Errorf("got kind %s retry after %s, want %s and %s (%v)", ae.Kind, ae.RetryAfter, tc.wantKind, tc.wantAfter, err)
			}
			if n := len(e.calendar(t, ann)); n != 0 {
				t.Errorf("a failed write left %d items", n)
			}
		})
	}
}

// Two first writes of one event that ran at the same time each created an
// item; the next write keeps the newest and removes the other.
func TestDuplicatesDoNotOutliveTheNextWrite(t *testing.T) {
	t0 := start.Add(-72 * time.Hour)
	marked := func(stamp time.Time) ewssim.Item {
		return ewssim.Item{Kind: ewssim.KindCalendar, Subject: "Flight", Start: start, End: start.Add(time.Hour), Extended: []ewssim.ExtendedProperty{
			{SetID: ewsmailbox.PropertySetID, Name: ewsmailbox.MarkerField.PropertyName, Type: "String", Value: "trip-1"},
			{SetID: ewsmailbox.PropertySetID, Name: ewsmailbox.StampField.PropertyName, Type: "String", Value: stamp.Format(time.RFC3339Nano)},
		}}
	}
	for _, tc := range []struct {
		name   string
		op     func(w domain.CalendarWriter) (domain.EventWrite, error)
		result domain.EventWriteResult
		left   int
	}{
		{"put", func(w domain.CalendarWriter) (domain.EventWrite, error) {
			return w.PutEvent(context.Background(), imp(ann), "trip-1", trip("Flight, seat 3A"), false, t0.Add(2*time.Minute))
		}, domain.EventUpdated, 1},
		{"delete", func(w domain.CalendarWriter) (domain.EventWrite, error) {
			return w.DeleteEvent(context.Background(), imp(ann), "trip-1", false, t0.Add(2*time.Minute))
		}, domain.EventDeleted, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newCalEnv(t)
			if _, err := e.sim.AddItem(ann, "calendar", marked(t0)); err != nil {
				t.Fatal(err)
			}
			newest, err := e.sim.AddItem(ann, "calendar", marked(t0.Add(time.Minute)))
			if err != nil {
				t.Fatal(err)
			}
			res, err := tc.op(e.writer)
			if err != nil || res.Result != tc.result {
				t.Fatalf("got %+v, %v; want %s", res, err, tc.result)
			}
			cal := e.calendar(t, ann)
			if len(cal) != tc.left {
				t.Fatalf("calendar holds %d items, want %d", len(cal), tc.left)
			}
			if tc.left == 1 {
				if it, ok := cal[newest.ID]; !ok || it.Subject != "Flight, seat 3A" {
					t.Errorf("kept %+v, want the newest item %s updated", cal, newest.ID)
				}
			}
		})
	}
}

// A delete delivered again after its DeleteItem succeeded (the process died
// before it answered) answers deleted, not not_found: the item in Deleted
// Items carries the stamp of that very request. Another request for the
// deleted event still gets not_found, and the event is deleted once.
func TestRedeliveredDeleteIsDone(t *testing.T) {
	e := newCalEnv(t)
	ctx := context.Background()
	t0 := start.Add(-72 * time.Hour)
	if _, err := e.writer.PutEvent(ctx, imp(ann), "trip-1", trip("Flight to Oslo"), false, t0); err != nil {
		t.Fatal(err)
	}
	at := t0.Add(time.Minute)
	for i := range 2 {
		del, err := e.writer.DeleteEvent(ctx, imp(ann), "trip-1", false, at)
		if err != nil || del.Result != domain.EventDeleted {
			t.Fatalf("delivery %d of the delete: %+v, %v; want deleted", i+1, del, err)
		}
	}
	if _, err := e.writer.DeleteEvent(ctx, imp(ann), "trip-1", false, at.Add(time.Minute)); !errors.Is(err, domain.ErrEventNotFound) {
		t.Errorf("a later delete of the deleted event: %v, want ErrEventNotFound", err)
	}
	refs, err := e.sim.ListItems(ann, "deleteditems")
	if err != nil {
		t.Fatal(err)
	}
	if len(e.calendar(t, ann)) != 0 || len(refs) != 1 {
		t.Errorf("calendar %d items, Deleted Items %d; want 0 and 1", len(e.calendar(t, ann)), len(refs))
	}
}

// The synced item of an event Mailbridge wrote carries its client event
// id (read from the marker with the item), so a client tells its own
// writes from the user's events; the user's own item carries none.
func TestSyncedEventCarriesItsClientEventID(t *testing.T) {
	e := newCalEnv(t)
	ctx := context.Background()
	written, err := e.writer.PutEvent(ctx, imp(ann), "trip-1", trip("Flight to Oslo"), false, start.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	userID, _ := e.userItem(t, ann, "Flight to Oslo")
	a, err := ewsmailbox.NewConnector(simOptions).Connect(ctx, e.tenant, e.cred)
	if err != nil {
		t.Fatal(err)
	}
	items, err := a.GetItems(ctx, imp(ann), domain.KindCalendar, []string{written.ItemID, userID})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, it := range items {
		got[it.ID] = it.ClientEventID
	}
	if len(items) != 2 || got[written.ItemID] != "trip-1" || got[userID] != "" {
		t.Errorf("clientEventId by item: %v; want trip-1 on Mailbridge's event and none on the user's", got)
	}
}
