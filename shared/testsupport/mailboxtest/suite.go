package mailboxtest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
)

// Run runs the contract against the ports newEnv builds; every case gets
// a fresh Env (and simulator).
func Run(t *testing.T, newEnv func(t testing.TB) Env) {
	t.Run("read", func(t *testing.T) { runRead(t, newEnv) })
	t.Run("resync", func(t *testing.T) { runResync(t, newEnv) })
	t.Run("write", func(t *testing.T) { runWrite(t, newEnv) })
	t.Run("end", func(t *testing.T) { runEnd(t, newEnv) })
	t.Run("access", func(t *testing.T) { runAccess(t, newEnv) })
	t.Run("availability", func(t *testing.T) { runAvailability(t, newEnv) })
	t.Run("availability use case", func(t *testing.T) { runAvailabilityUseCase(t, newEnv) })
	t.Run("availability over series", func(t *testing.T) { runAvailabilitySeries(t, newEnv) })
	t.Run("rooms", func(t *testing.T) { runRooms(t, newEnv) })
	t.Run("people", func(t *testing.T) { runPeople(t, newEnv) })
	t.Run("room calendar", func(t *testing.T) { runRoomCalendar(t, newEnv) })
}

// mutation changes mailbox m through the simulator and returns the feed
// lines ("kind id") the next sync must append, in any order.
type mutation func(h *Harness, m string) []string

func (h *Harness) add(m, where string, it ewssim.Item) string {
	h.T.Helper()
	ref, err := h.Env.Sim.AddItem(m, where, it)
	if err != nil {
		h.T.Fatal(err)
	}
	return ref.ID
}

// first is the first simulator id of m's items in folder.
func (h *Harness) first(m, folder string) string {
	h.T.Helper()
	ids := h.SimIDs(m, folder)
	if len(ids) == 0 {
		h.T.Fatalf("%s has no item in %s", m, folder)
	}
	return ids[0]
}

func (h *Harness) update(simID string, fn func(*ewssim.Item)) {
	h.T.Helper()
	if _, err := h.Env.Sim.UpdateItem(simID, fn); err != nil {
		h.T.Fatal(err)
	}
}

func (h *Harness) move(simID, where string) string {
	h.T.Helper()
	ref, err := h.Env.Sim.MoveItem(simID, where)
	if err != nil {
		h.T.Fatal(err)
	}
	return ref.ID
}

func message(subject string) ewssim.Item {
	return ewssim.Item{Kind: ewssim.KindMessage, Subject: subject, Body: "body of " + subject,
		From: ewssim.Address{Name: "Sender", Email: "sender@fabrikam.com"}, To: []ewssim.Address{{Email: "someone@contoso.com"}},
		Received: time.Now().UTC().Add(-time.Hour).Truncate(time.Second)}
}

func event(subject string, start time.Time) ewssim.Item {
	return ewssim.Item{Kind: ewssim.KindCalendar, Subject: subject, Start: start, End: start.Add(time.Hour),
		Organizer: ewssim.Address{Email: "organizer@contoso.com"}}
}

// Read cases: each starts from a full sync and checks what one more sync
// appends to the feed after the mutation.
var readCases = []struct {
	name   string
	mutate mutation
	check  func(t *testing.T, h *Harness, delta []domain.Change)
	// sameID: with Env.MoveKeepsID the delete and create of one id may
	// also come as one update of it (the target folder synced first).
	sameID bool
}{
	{name: "no mutation appends nothing", mutate: func(*Harness, string) []string { return nil }},
	{name: "create message", mutate: func(h *Harness, m string) []string {
		return []string{"create " + h.ID(h.add(m, "inbox", message("new message")))}
	}, check: func(t *testing.T, _ *Harness, d []domain.Change) {
		if d[0].Item.Subject != "new message" || d[0].Item.Kind != domain.KindMessage {
			t.Errorf("created item: %+v", d[0].Item)
		}
	}},
	{name: "create event", mutate: func(h *Harness, m string) []string {
		return []string{"create " + h.ID(h.add(m, "calendar", event("new meeting", time.Now().UTC().Add(50*time.Hour).Truncate(time.Hour))))}
	}, check: func(t *testing.T, _ *Harness, d []domain.Change) {
		if it := d[0].Item; it.Kind != domain.KindCalendar || it.Start.IsZero() || it.Subject != "new meeting" {
			t.Errorf("created event: %+v", it)
		}
	}},
	{name: "create contact", mutate: func(h *Harness, m string) []string {
		return []string{"create " + h.ID(h.add(m, "contacts", ewssim.Item{Kind: ewssim.KindContact, DisplayName: "Nina Novak", GivenName: "Nina", Surname: "Novak", Emails: []string{"nina@fabrikam.com"}}))}
	}, check: func(t *testing.T, _ *Harness, d []domain.Change) {
		if it := d[0].Item; it.Kind != domain.KindContact || it.DisplayName != "Nina Novak" {
			t.Errorf("created contact: %+v", it)
		}
	}},
	{name: "update message", mutate: func(h *Harness, m string) []string {
		id := h.first(m, "inbox")
		h.update(id, func(it *ewssim.Item) { it.Subject = "changed subject" })
		return []string{"update " + h.ID(id)}
	}, check: func(t *testing.T, _ *Harness, d []domain.Change) {
		if d[0].Item.Subject != "changed subject" {
			t.Errorf("updated item carries subject %q", d[0].Item.Subject)
		}
	}},
	{name: "update event", mutate: func(h *Harness, m string) []string {
		id := h.first(m, "calendar")
		h.update(id, func(it *ewssim.Item) { it.Location = "Room 42" })
		return []string{"update " + h.ID(id)}
	}, check: func(t *testing.T, _ *Harness, d []domain.Change) {
		if d[0].Item.Location != "Room 42" {
			t.Errorf("updated event carries location %q", d[0].Item.Location)
		}
	}},
	{name: "read flag", mutate: func(h *Harness, m string) []string {
		id := h.first(m, "inbox")
		it, _, err := h.Env.Sim.GetItem(id)
		if err != nil {
			h.T.Fatal(err)
		}
		if _, err := h.Env.Sim.SetRead(id, !it.IsRead); err != nil {
			h.T.Fatal(err)
		}
		return []string{"update " + h.ID(id)}
	}, check: func(t *testing.T, h *Harness, d []domain.Change) {
		it, _, _ := h.Env.Sim.GetItem(h.first(h.Env.Mailboxes[0], "inbox"))
		if d[0].Item.IsRead == nil || *d[0].Item.IsRead != it.IsRead {
			t.Errorf("read flag in the feed %v, mailbox %v", d[0].Item.IsRead, it.IsRead)
		}
	}},
	{name: "delete", mutate: func(h *Harness, m string) []string {
		id := h.first(m, "inbox")
		if err := h.Env.Sim.DeleteItem(id); err != nil {
			h.T.Fatal(err)
		}
		return []string{"delete " + h.ID(id)}
	}},
	{name: "move out of the synced folders", mutate: func(h *Harness, m string) []string {
		id := h.first(m, "inbox")
		gone := h.ID(id)
		h.move(id, "deleteditems")
		return []string{"delete " + gone}
	}},
	{name: "move between synced folders", mutate: func(h *Harness, m string) []string {
		id := h.first(m, "inbox")
		old := h.ID(id)
		moved := h.ID(h.move(id, "sentitems"))
		if h.Env.MoveKeepsID && moved != old {
			h.T.Fatalf("the env says ids survive moves, but %s became %s", old, moved)
		}
		return []string{"delete " + old, "create " + moved}
	}, sameID: true},
	{name: "new folder", mutate: func(h *Harness, m string) []string {
		fid, err := h.Env.Sim.AddFolder(m, "inbox", "Clients", "IPF.Note")
		if err != nil {
			h.T.Fatal(err)
		}
		var want []string
		for _, s := range []string{"client A", "client B", "client C"} {
			want = append(want, "create "+h.ID(h.add(m, fid, message(s))))
		}
		return want
	}},
	{name: "several at once", mutate: func(h *Harness, m string) []string {
		inbox := h.SimIDs(m, "inbox")
		h.update(inbox[1], func(it *ewssim.Item) { it.Subject = "edited" })
		if err := h.Env.Sim.DeleteItem(inbox[2]); err != nil {
			h.T.Fatal(err)
		}
		added := h.add(m, "sentitems", message("sent later"))
		return []string{"update " + h.ID(inbox[1]), "delete " + h.ID(inbox[2]), "create " + h.ID(added)}
	}},
}

func runRead(t *testing.T, newEnv func(t testing.TB) Env) {
	for _, c := range readCases {
		t.Run(c.name, func(t *testing.T) {
			h := NewHarness(t, newEnv(t))
			m := h.Env.Mailboxes[0]
			h.MustSync(m)
			full := h.Feed(m)
			if got, want := IDsOf(full, domain.ChangeCreate), h.IDs(m, SyncedFolders...); !slices.Equal(got, want) || len(got) == 0 {
				t.Fatalf("full sync: %d creates in the feed, the mailbox holds %d items", len(got), len(want))
			}
			if len(full) != len(IDsOf(full, domain.ChangeCreate)) {
				t.Fatalf("full sync appended %d entries that are not creates", len(full)-len(IDsOf(full, domain.ChangeCreate)))
			}
			want := c.mutate(h, m)
			h.Clock.Advance(5 * time.Minute)
			res := h.MustSync(m)
			delta := h.Feed(m)[len(full):]
			got := Changes(delta)
			slices.Sort(got)
			slices.Sort(want)
			if c.sameID && h.Env.MoveKeepsID && len(got) == 1 && len(want) == 2 && got[0] == "update "+strings.Fields(want[0])[1] {
				want = got
			}
			if !slices.Equal(got, want) {
				t.Fatalf("after the mutation the feed appended %v, want %v", got, want)
			}
			if res.Appended != len(want) {
				t.Errorf("the job reports %d appended, the feed grew by %d", res.Appended, len(want))
			}
			if c.check != nil && len(delta) > 0 {
				c.check(t, h, delta)
			}
			if dups := Duplicates(h.Feed(m)); len(dups) > 0 {
				t.Fatalf("changes twice in the feed: %v", dups)
			}
			// A second sync with nothing changed appends nothing.
			h.Clock.Advance(5 * time.Minute)
			before := len(h.Feed(m))
			if res := h.MustSync(m); res.Appended != 0 || len(h.Feed(m)) != before {
				t.Fatalf("a sync with nothing changed appended %d entries", len(h.Feed(m))-before)
			}
		})
	}
}

// Resync cases: the server forgets the sync state (EWS
// ErrorInvalidSyncStateData, Graph 410 on the delta link) while items
// change; the next sync appends exactly those changes, nothing for the
// unchanged items.
func runResync(t *testing.T, newEnv func(t testing.TB) Env) {
	for _, c := range []struct {
		name   string
		folder string // invalidated folder; "" the whole mailbox
	}{
		{name: "whole mailbox", folder: ""},
		{name: "inbox only", folder: "inbox"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := NewHarness(t, newEnv(t))
			m := h.Env.Mailboxes[0]
			h.MustSync(m)
			before := len(h.Feed(m))
			inbox := h.SimIDs(m, "inbox")
			h.update(inbox[3], func(it *ewssim.Item) { it.Subject = "edited while the state was lost" })
			if err := h.Env.Sim.DeleteItem(inbox[4]); err != nil {
				t.Fatal(err)
			}
			if err := h.Env.Sim.InvalidateSyncStates(m, c.folder); err != nil {
				t.Fatal(err)
			}
			h.Clock.Advance(5 * time.Minute)
			res := h.MustSync(m)
			got := Changes(h.Feed(m)[before:])
			slices.Sort(got)
			want := []string{"delete " + h.ID(inbox[4]), "update " + h.ID(inbox[3])}
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("after the resync the feed appended %v, want %v", got, want)
			}
			if res.Resyncs == 0 {
				t.Errorf("the job reports no resync")
			}
			h.Clock.Advance(5 * time.Minute)
			n := len(h.Feed(m))
			if res := h.MustSync(m); res.Resyncs != 0 || len(h.Feed(m)) != n {
				t.Fatalf("next sync: %d resyncs, %d appended; want none", res.Resyncs, len(h.Feed(m))-n)
			}
		})
	}
}

// calendarBySubject lists m's calendar items with subject.
func (h *Harness) calendarBySubject(m, subject string) []ewssim.ItemView {
	h.T.Helper()
	items, err := h.Env.Sim.Items(m, "calendar")
	if err != nil {
		h.T.Fatal(err)
	}
	var out []ewssim.ItemView
	for _, v := range items {
		if v.Subject == subject {
			out = append(out, v)
		}
	}
	return out
}

// Write cases run in order on one mailbox: each step's state is the
// previous step's result.
func runWrite(t *testing.T, newEnv func(t testing.TB) Env) {
	h := NewHarness(t, newEnv(t))
	ctx := context.Background()
	m := h.Env.Mailboxes[0]
	w, err := h.Env.Calendar.ConnectCalendar(ctx, h.Env.Tenant, h.Env.Credential)
	if err != nil {
		t.Fatal(err)
	}
	ref := domain.MailboxRef{Address: m, Mode: h.Env.Tenant.AccessMode}
	t0 := time.Now().UTC().Truncate(time.Minute)
	start := t0.Add(48 * time.Hour)
	spec := func(subject string) domain.EventSpec {
		return domain.EventSpec{Subject: subject, Start: start, End: start.Add(2 * time.Hour), Location: "FRA"}
	}
	// The user's own event, with the subject Mailbridge will write: the
	// author-only rule says it is never touched.
	own := h.add(m, "calendar", event("Flight LH 123", start))
	_, ownRef, err := h.Env.Sim.GetItem(own)
	if err != nil {
		t.Fatal(err)
	}
	h.MustSync(m)
	synced := len(h.Feed(m))

	var id string
	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"create", func(t *testing.T) {
			got, err := w.PutEvent(ctx, ref, "trip-1", spec("Flight LH 123"), false, t0)
			if err != nil || got.Result != domain.EventCreated {
				t.Fatalf("PutEvent = %+v, %v; want created", got, err)
			}
			id = got.ItemID
			var mine []string
			for _, v := range h.calendarBySubject(m, "Flight LH 123") {
				if v.ID != own {
					mine = append(mine, h.ID(v.ID))
				}
			}
			if len(mine) != 1 || mine[0] != id {
				t.Fatalf("the calendar holds %v besides the user's event; the write reported %s", mine, id)
			}
			// The written event reaches the feed once, under the id the
			// write reported.
			h.Clock.Advance(time.Minute)
			h.MustSync(m)
			if got := Changes(h.Feed(m)[synced:]); !slices.Equal(got, []string{"create " + id}) {
				t.Fatalf("the feed appended %v after the write, want the create of %s", got, id)
			}
		}},
		{"update", func(t *testing.T) {
			got, err := w.PutEvent(ctx, ref, "trip-1", spec("Flight LH 124"), false, t0.Add(time.Minute))
			if err != nil || got.Result != domain.EventUpdated || got.ItemID != id {
				t.Fatalf("PutEvent = %+v, %v; want updated %s", got, err, id)
			}
			if v := h.calendarBySubject(m, "Flight LH 124"); len(v) != 1 || h.ID(v[0].ID) != id {
				t.Fatalf("calendar: %d events named Flight LH 124", len(v))
			}
		}},
		{"superseded", func(t *testing.T) {
			got, err := w.PutEvent(ctx, ref, "trip-1", spec("Flight LH 100"), false, t0)
			if err != nil || got.Result != domain.EventSuperseded {
				t.Fatalf("older PutEvent = %+v, %v; want superseded", got, err)
			}
			got, err = w.DeleteEvent(ctx, ref, "trip-1", false, t0)
			if err != nil || got.Result != domain.EventSuperseded {
				t.Fatalf("older DeleteEvent = %+v, %v; want superseded", got, err)
			}
			if len(h.calendarBySubject(m, "Flight LH 124")) != 1 || len(h.calendarBySubject(m, "Flight LH 100")) != 0 {
				t.Fatal("an older request changed the event")
			}
		}},
		{"delete", func(t *testing.T) {
			got, err := w.DeleteEvent(ctx, ref, "trip-1", false, t0.Add(time.Hour))
			if err != nil || got.Result != domain.EventDeleted {
				t.Fatalf("DeleteEvent = %+v, %v; want deleted", got, err)
			}
			if len(h.calendarBySubject(m, "Flight LH 124")) != 0 {
				t.Fatal("the event is still there")
			}
		}},
		{"not found", func(t *testing.T) {
			for _, cid := range []string{"trip-1", "never-written"} {
				if _, err := w.DeleteEvent(ctx, ref, cid, false, t0.Add(2*time.Hour)); !errors.Is(err, domain.ErrEventNotFound) {
					t.Errorf("DeleteEvent(%s) = %v; want not found", cid, err)
				}
			}
		}},
		{"author-only", func(t *testing.T) {
			// No client event id reaches the user's event: not its
			// subject, not its id, not an id Mailbridge wrote before.
			for _, cid := range []string{"Flight LH 123", own, h.ID(own), "trip-1"} {
				if _, err := w.DeleteEvent(ctx, ref, cid, false, t0.Add(3*time.Hour)); !errors.Is(err, domain.ErrEventNotFound) {
					t.Errorf("DeleteEvent(%q) = %v; want not found", cid, err)
				}
			}
			got, err := w.PutEvent(ctx, ref, "Flight LH 123", spec("Flight LH 123"), false, t0.Add(3*time.Hour))
			if err != nil || got.Result != domain.EventCreated || got.ItemID == h.ID(own) {
				t.Fatalf("PutEvent = %+v, %v; want a new event beside the user's", got, err)
			}
			_, now, err := h.Env.Sim.GetItem(own)
			if err != nil || now.ChangeKey != ownRef.ChangeKey {
				t.Fatalf("the user's event was changed or deleted (%v)", err)
			}
		}},
	}
	for _, s := range steps {
		if !t.Run(s.name, s.run) {
			return
		}
	}
}

// Access cases: the statuses verify reports, for each protocol.
func runAccess(t *testing.T, newEnv func(t testing.TB) Env) {
	env := newEnv(t)
	for _, c := range []struct {
		name    string
		mailbox string
		bad     bool
		want    domain.MailboxStatus
	}{
		{name: "ok", mailbox: env.Mailboxes[0], want: domain.MailboxOK},
		{name: "out of scope", mailbox: env.OutOfScope, want: domain.MailboxOutOfScope},
		{name: "not found", mailbox: UnknownMailbox, want: domain.MailboxNotFound},
		{name: "auth failed", mailbox: env.Mailboxes[0], bad: true, want: domain.MailboxAuthFailed},
	} {
		t.Run(c.name, func(t *testing.T) {
			cred := env.Credential
			if c.bad {
				cred = env.BadCredential
			}
			rep, err := env.Checker.CheckAccess(context.Background(), env.Tenant, domain.Mailbox{TenantID: env.Tenant.ID, Address: c.mailbox}, cred)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Status != c.want || rep.Mailbox != c.mailbox || rep.Mode != env.Tenant.AccessMode {
				t.Fatalf("report = %+v; want status %s in mode %s", rep, c.want, env.Tenant.AccessMode)
			}
			// The admin reads the hint the application writes for the
			// report: it names this protocol's fix.
			hint := app.ReportHint(env.Tenant, domain.Mailbox{TenantID: env.Tenant.ID, Address: c.mailbox}, cred, rep)
			if want := env.Hints[c.want]; !strings.Contains(hint, want) || (want == "") != (hint == "") {
				t.Errorf("hint %q; want one naming %q", hint, want)
			}
			if c.want != domain.MailboxOK && (rep.Detail == "" || rep.ErrorKind == "") {
				t.Errorf("a failed check says nothing of why: %+v", rep)
			}
			for _, s := range append(cred.SecretValues(), env.Credential.SecretValues()...) {
				if s != "" && strings.Contains(rep.Detail, s) {
					t.Errorf("the report carries a secret: %q", rep.Detail)
				}
			}
		})
	}
}
