package graphmailbox_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
	"github.com/mailbridge/mailbridge/shared/exchange/graphmailbox"
	"github.com/mailbridge/mailbridge/shared/exchange/graphsim"
)

func (e *simEnv) writer() domain.CalendarWriter {
	e.t.Helper()
	w, err := e.conn.ConnectCalendar(context.Background(), e.tenant, e.cred)
	if err != nil {
		e.t.Fatal(err)
	}
	return w
}

// marker is Mailbridge's mark as the EWS writer sets it.
func marker(clientEventID string) ewssim.ExtendedProperty {
	return ewssim.ExtendedProperty{SetID: graphmailbox.PropertySetID, Name: "MailbridgeClientEventId", Type: "String", Value: clientEventID}
}

func stamp(at time.Time) ewssim.ExtendedProperty {
	return ewssim.ExtendedProperty{SetID: graphmailbox.PropertySetID, Name: "MailbridgeRequestedAt", Type: "String", Value: at.UTC().Format(time.RFC3339Nano)}
}

// calendar lists alice's events by subject.
func (e *simEnv) calendar() map[string][]ewssim.ItemView {
	e.t.Helper()
	items, err := e.sim.Items(alice, "calendar")
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string][]ewssim.ItemView{}
	for _, v := range items {
		out[v.Subject] = append(out[v.Subject], v)
	}
	return out
}

func TestSimCalendarWrites(t *testing.T) {
	e := newSimEnv(t)
	ctx := context.Background()
	w := e.writer()
	ref := domain.MailboxRef{Address: alice, Mode: domain.AccessApplication}
	t0 := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
	start := t0.Add(48 * time.Hour)
	ev := domain.EventSpec{Subject: "Flight LH 123", Start: start, End: start.Add(2 * time.Hour), TimeZone: "W. Europe Standard Time", Location: "FRA",
		Attendees: []domain.Address{{Name: "Bob", Email: bob}}}

	var id string
	t.Run("create", func(t *testing.T) {
		got, err := w.PutEvent(ctx, ref, "trip-1", ev, false, t0)
		if err != nil || got.Result != domain.EventCreated || got.ItemID == "" {
			t.Fatalf("PutEvent = %+v, %v", got, err)
		}
		id = got.ItemID
		v := e.calendar()["Flight LH 123"]
		if len(v) != 1 || !v[0].Start.Equal(start) || v[0].TimeZone != "W. Europe Standard Time" || v[0].Location != "FRA" {
			t.Fatalf("calendar holds %+v", v)
		}
		// Without notify nobody is invited: Graph would send invitations
		// to any attendee of a new event.
		if len(v[0].Attendees) != 0 {
			t.Errorf("attendees written without notify: %v", v[0].Attendees)
		}
	})
	t.Run("update", func(t *testing.T) {
		ev2 := ev
		ev2.Subject = "Flight LH 124"
		got, err := w.PutEvent(ctx, ref, "trip-1", ev2, true, t0.Add(time.Minute))
		if err != nil || got.Result != domain.EventUpdated || got.ItemID != id {
			t.Fatalf("PutEvent = %+v, %v (created %s)", got, err, id)
		}
		v := e.calendar()["Flight LH 124"]
		if len(v) != 1 || len(v[0].Attendees) != 1 {
			t.Fatalf("calendar holds %+v", v)
		}
	})
	t.Run("superseded", func(t *testing.T) {
		got, err := w.PutEvent(ctx, ref, "trip-1", ev, false, t0)
		if err != nil || got.Result != domain.EventSuperseded || got.ItemID != id {
			t.Fatalf("PutEvent = %+v, %v", got, err)
		}
		got, err = w.DeleteEvent(ctx, ref, "trip-1", false, t0)
		if err != nil || got.Result != domain.EventSuperseded {
			t.Fatalf("DeleteEvent = %+v, %v", got, err)
		}
		if len(e.calendar()["Flight LH 124"]) != 1 {
			t.Error("an older request changed the event")
		}
	})
	t.Run("delete", func(t *testing.T) {
		got, err := w.DeleteEvent(ctx, ref, "trip-1", true, t0.Add(time.Hour))
		if err != nil || got.Result != domain.EventDeleted {
			t.Fatalf("DeleteEvent = %+v, %v", got, err)
		}
		if len(e.calendar()["Flight LH 124"]) != 0 {
			t.Error("event still there")
		}
	})
	t.Run("delete of a missing event", func(t *testing.T) {
		_, err := w.DeleteEvent(ctx, ref, "trip-1", false, t0.Add(2*time.Hour))
		if !errors.Is(err, domain.ErrEventNotFound) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestSimCalendarAuthorOnly(t *testing.T) {
	e := newSimEnv(t)
	ctx := context.Background()
	w := e.writer()
	ref := domain.MailboxRef{Address: alice}
	t0 := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
	base := ewssim.Item{Kind: ewssim.KindCalendar, Start: t0.Add(24 * time.Hour), End: t0.Add(25 * time.Hour), Organizer: ewssim.Address{Email: alice}}
	mine := base
	mine.Subject = "user's own"
	e.add(alice, "calendar", mine)
	other := base
	other.Subject = "marked for another case"
	other.Extended = []ewssim.ExtendedProperty{marker("TRIP-9")}
	e.add(alice, "calendar", other)

	t.Run("an unmarked or differently marked event is never found", func(t *testing.T) {
		_, err := w.DeleteEvent(ctx, ref, "trip-9", false, t0)
		if !errors.Is(err, domain.ErrEventNotFound) {
			t.Fatalf("err = %v", err)
		}
		got, err := w.PutEvent(ctx, ref, "trip-9", domain.EventSpec{Subject: "new", Start: base.Start, End: base.End}, false, t0)
		if err != nil || got.Result != domain.EventCreated {
			t.Fatalf("PutEvent = %+v, %v", got, err)
		}
		cal := e.calendar()
		if len(cal["user's own"]) != 1 || len(cal["marked for another case"]) != 1 || len(cal["new"]) != 1 {
			t.Errorf("calendar: %v", cal)
		}
	})
	t.Run("an event written over EWS is found after the switch", func(t *testing.T) {
		ewsEv := base
		ewsEv.Subject = "written over EWS"
		ewsEv.Extended = []ewssim.ExtendedProperty{marker("trip-ews"), stamp(t0)}
		gid := e.add(alice, "calendar", ewsEv)
		got, err := w.PutEvent(ctx, ref, "trip-ews", domain.EventSpec{Subject: "updated over Graph", Start: base.Start, End: base.End}, false, t0.Add(time.Second))
		if err != nil || got.Result != domain.EventUpdated || got.ItemID != gid {
			t.Fatalf("PutEvent = %+v, %v (want update of %s)", got, err, gid)
		}
	})
	t.Run("duplicates are deleted, the newest kept", func(t *testing.T) {
		older, newer := base, base
		older.Subject, older.Extended = "dup", []ewssim.ExtendedProperty{marker("trip-dup"), stamp(t0)}
		newer.Subject, newer.Extended = "dup", []ewssim.ExtendedProperty{marker("trip-dup"), stamp(t0.Add(time.Minute))}
		e.add(alice, "calendar", older)
		keep := e.add(alice, "calendar", newer)
		got, err := w.PutEvent(ctx, ref, "trip-dup", domain.EventSpec{Subject: "dup v2", Start: base.Start, End: base.End}, false, t0.Add(time.Hour))
		if err != nil || got.Result != domain.EventUpdated || got.ItemID != keep {
			t.Fatalf("PutEvent = %+v, %v (want update of %s)", got, err, keep)
		}
		if cal := e.calendar(); len(cal["dup"]) != 0 || len(cal["dup v2"]) != 1 {
			t.Errorf("calendar: dup %d, dup v2 %d", len(cal["dup"]), len(cal["dup v2"]))
		}
	})
	t.Run("no write permission", func(t *testing.T) {
		e.graph.DenyPermission(clientID, graphsim.PermCalendarsReadWrite)
		defer e.graph.GrantPermission(clientID, graphsim.PermCalendarsReadWrite)
		_, err := w.PutEvent(ctx, ref, "trip-new", domain.EventSpec{Subject: "x", Start: base.Start, End: base.End}, false, t0)
		var ae *domain.AccessError
		if !errors.As(err, &ae) || ae.Kind != domain.AccessDenied {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestTransactionID(t *testing.T) {
	at := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
	a := graphmailbox.TransactionID("trip-1", at)
	for _, c := range []struct {
		name string
		id   string
		at   time.Time
		same bool
	}{
		{"a retry", "trip-1", at, true},
		{"the same instant in another zone", "trip-1", at.In(time.FixedZone("X", 3600)), true},
		{"a later request", "trip-1", at.Add(time.Nanosecond), false},
		{"another event", "trip-2", at, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := graphmailbox.TransactionID(c.id, c.at); (got == a) != c.same {
				t.Errorf("TransactionID = %s vs %s, same %v", got, a, c.same)
			}
		})
	}
	if len(a) != 36 {
		t.Errorf("TransactionID %q is not UUID-shaped", a)
	}
}

func TestSimCheckAccess(t *testing.T) {
	for _, c := range []struct {
		name    string
		mailbox string
		folders []string
		deny    []string
		secret  string
		want    domain.MailboxStatus
		detail  string
	}{
		{name: "ok", mailbox: alice, want: domain.MailboxOK},
		{name: "out of scope", mailbox: carol, want: domain.MailboxOutOfScope, detail: "ErrorAccessDenied"},
		{name: "not found", mailbox: "nobody@contoso.com", want: domain.MailboxNotFound, detail: "Request_ResourceNotFound"},
		{name: "calendar permission missing", mailbox: alice, deny: []string{graphsim.PermCalendarsReadWrite, graphsim.PermCalendarsRead}, want: domain.MailboxAccessDenied, detail: "Calendars.ReadWrite"},
		{name: "contacts not selected", mailbox: alice, folders: []string{"inbox", "calendar"}, deny: []string{graphsim.PermContactsRead}, want: domain.MailboxOK},
		{name: "calendar-only app", mailbox: alice, folders: []string{"calendar"}, deny: []string{graphsim.PermMailRead, graphsim.PermContactsRead}, want: domain.MailboxOK},
		{name: "wrong secret", mailbox: alice, secret: "wrong-secret-value", want: domain.MailboxAuthFailed},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newSimEnv(t)
			for _, p := range c.deny {
				e.graph.DenyPermission(clientID, p)
			}
			e.tenant.Folders = c.folders
			cred := e.cred
			if c.secret != "" {
				cred.ClientSecret = c.secret
			}
			rep, err := e.conn.CheckAccess(context.Background(), e.tenant, domain.Mailbox{TenantID: "t1", Address: c.mailbox}, cred)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Status != c.want || rep.Mode != domain.AccessApplication || rep.Mailbox != c.mailbox || !containsFold(rep.Detail, c.detail) || rep.Hint != "" {
				t.Errorf("report = %+v, want status %s with %q in the detail", rep, c.want, c.detail)
			}
			for _, s := range append(cred.SecretValues(), e.cred.SecretValues()...) {
				if containsFold(rep.Detail, s) {
					t.Errorf("detail carries a secret: %q", rep.Detail)
				}
			}
		})
	}
}

// The synced item of an event Mailbridge wrote carries its client event
// id over Graph too (the delta page's events looked up with the marker),
// on the first sync and after an update; the user's own event carries
// none.
func TestSimSyncedEventCarriesItsClientEventID(t *testing.T) {
	e := newSimEnv(t)
	ctx := context.Background()
	ref := domain.MailboxRef{Address: alice, Mode: domain.AccessApplication}
	start := e.clock.now.Add(48 * time.Hour).Truncate(time.Minute)
	if _, err := e.writer().PutEvent(ctx, ref, "trip-1", domain.EventSpec{Subject: "Flight LH 123", Start: start, End: start.Add(time.Hour)}, false, e.clock.now); err != nil {
		t.Fatal(err)
	}
	e.add(alice, "calendar", ewssim.Item{Kind: ewssim.KindCalendar, Subject: "Dentist", Start: start, End: start.Add(time.Hour)})
	m := newMirror()
	check := func(wantSubject string) {
		t.Helper()
		if err := m.sync(ctx, e.access(), alice); err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, it := range m.items {
			if it.Kind == domain.KindCalendar {
				got[it.Subject] = it.ClientEventID
			}
		}
		if len(got) != 2 || got[wantSubject] != "trip-1" || got["Dentist"] != "" {
			t.Errorf("clientEventId by subject: %v; want trip-1 on %q only", got, wantSubject)
		}
	}
	check("Flight LH 123")
	if _, err := e.writer().PutEvent(ctx, ref, "trip-1", domain.EventSpec{Subject: "Flight LH 124", Start: start, End: start.Add(time.Hour)}, false, e.clock.now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	check("Flight LH 124")
}
