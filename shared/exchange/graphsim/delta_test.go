package graphsim_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
	"github.com/mailbridge/mailbridge/shared/exchange/graphsim"
)

func TestMessagesDelta(t *testing.T) {
	e := newEnv(t, graphsim.Options{})
	var refs []ewssim.ItemRef
	for _, s := range []string{"one", "two", "three", "four", "five"} {
		refs = append(refs, e.addMessage(alice, "inbox", s))
	}
	archive, err := e.sim.AddFolder(alice, "msgfolderroot", "Archive", "")
	if err != nil {
		t.Fatal(err)
	}
	start := "/users/" + alice + "/mailFolders/inbox/messages/delta?$select=subject,isRead"
	prefer := []string{"Prefer", "odata.maxpagesize=2"}

	first, pages, deltaLink := e.deltaRound(start, prefer...)
	if len(first) != 5 || pages != 3 {
		t.Fatalf("initial round: %d entries in %d pages, want 5 in 3", len(first), pages)
	}
	for _, m := range first {
		for k := range m {
			if !strings.HasPrefix(k, "@odata.") && k != "id" && k != "subject" && k != "isRead" {
				t.Errorf("$select=subject,isRead sent %q", k)
			}
		}
	}
	// Archive's delta starts now, so the move shows there as a change.
	_, _, archiveLink := e.deltaRound("/users/" + alice + "/mailFolders/" + ewssim.RestID(archive) + "/messages/delta")

	movedID := e.graphID(refs[3].ID)
	created := e.addMessage(alice, "inbox", "six")
	mustDo(t, func() error {
		_, err := e.sim.UpdateItem(refs[0].ID, func(it *ewssim.Item) { it.Subject = "one, edited" })
		return err
	})
	mustDo(t, func() error { _, err := e.sim.SetRead(refs[1].ID, true); return err })
	mustDo(t, func() error { return e.sim.DeleteItem(refs[2].ID) })
	moved, err := e.sim.MoveItem(refs[3].ID, archive)
	if err != nil {
		t.Fatal(err)
	}
	if e.graphID(moved.ID) != movedID {
		t.Fatalf("the Graph id changed with the move: %s -> %s", movedID, e.graphID(moved.ID))
	}
	if moved.ID == refs[3].ID {
		t.Fatalf("the EWS id should change with the move, as in Exchange")
	}

	changes, _, _ := e.deltaRound(deltaLink, prefer...)
	got := byID(changes)
	tests := []struct {
		name    string
		id      string
		removed bool
		subject string
	}{
		{"create", e.graphID(created.ID), false, "six"},
		{"update", e.graphID(refs[0].ID), false, "one, edited"},
		{"read flag", e.graphID(refs[1].ID), false, "two"},
		{"delete", e.graphID(refs[2].ID), true, ""},
		{"move out", movedID, true, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, ok := got[tc.id]
			if !ok {
				t.Fatalf("no change for %s in %v", tc.id, changes)
			}
			if isRemoved(m) != tc.removed {
				t.Fatalf("removed = %v, want %v: %v", isRemoved(m), tc.removed, m)
			}
			if !tc.removed && m["subject"] != tc.subject {
				t.Errorf("subject %v, want %q", m["subject"], tc.subject)
			}
		})
	}
	if len(changes) != len(tests) {
		t.Errorf("%d changes, want %d: %v", len(changes), len(tests), changes)
	}
	if m := got[e.graphID(refs[1].ID)]; m["isRead"] != true {
		t.Errorf("read flag change: isRead %v", m["isRead"])
	}

	arch, _, _ := e.deltaRound(archiveLink)
	if len(arch) != 1 || arch[0]["id"] != movedID || isRemoved(arch[0]) {
		t.Errorf("archive delta after the move: %v, want the moved message with id %s", arch, movedID)
	}

	// Nothing changed: an empty page with a deltaLink.
	again, _, _ := e.deltaRound(deltaLink)
	if len(again) != len(tests) {
		t.Errorf("replaying the old deltaLink gave %d changes, want %d", len(again), len(tests))
	}
	r := e.do("GET", "/users/"+alice+"/messages/"+e.graphID(created.ID)+"?$select=subject", nil)
	if r.status != 200 || r.body["subject"] != "six" || r.body["id"] != e.graphID(created.ID) {
		t.Errorf("GET message: %d %s", r.status, r.raw)
	}
}

func mustDo(t *testing.T, fn func() error) {
	t.Helper()
	if err := fn(); err != nil {
		t.Fatal(err)
	}
}

func TestMailFoldersDelta(t *testing.T) {
	e := newEnv(t, graphsim.Options{})
	first, _, link := e.deltaRound("/users/" + alice + "/mailFolders/delta")
	names := map[string]bool{}
	for _, f := range first {
		names[f["displayName"].(string)] = true
	}
	for _, want := range []string{"Inbox", "Sent Items", "Deleted Items", "Drafts"} {
		if !names[want] {
			t.Errorf("initial mailFolders delta lacks %s: %v", want, names)
		}
	}
	if names["Calendar"] || names["Contacts"] {
		t.Errorf("mailFolders delta lists non-mail folders: %v", names)
	}
	id, err := e.sim.AddFolder(alice, "inbox", "Projects", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.sim.AddFolder(alice, "msgfolderroot", "Trips", "IPF.Appointment"); err != nil {
		t.Fatal(err)
	}
	changes, _, link2 := e.deltaRound(link)
	if len(changes) != 1 || changes[0]["displayName"] != "Projects" || changes[0]["id"] != ewssim.RestID(id) {
		t.Fatalf("a folder created later: %v", changes)
	}
	inbox := e.do("GET", "/users/"+alice+"/mailFolders/Inbox", nil)
	if changes[0]["parentFolderId"] != inbox.body["id"] || inbox.body["childFolderCount"] != 1.0 {
		t.Errorf("parent %v, inbox %s", changes[0]["parentFolderId"], inbox.raw)
	}
	mustDo(t, func() error { return e.sim.DeleteFolder(alice, id) })
	changes, _, _ = e.deltaRound(link2)
	if len(changes) != 1 || !isRemoved(changes[0]) {
		t.Errorf("a deleted folder: %v", changes)
	}
}

func TestDeltaGone(t *testing.T) {
	e := newEnv(t, graphsim.Options{})
	e.addMessage(alice, "inbox", "hello")
	_, _, msgLink := e.deltaRound("/users/" + alice + "/mailFolders/inbox/messages/delta")
	_, _, folderLink := e.deltaRound("/users/" + alice + "/mailFolders/delta")
	tests := []struct {
		name       string
		invalidate func()
		link       string
	}{
		{"garbage token", func() {}, "/users/" + alice + "/mailFolders/inbox/messages/delta?$deltatoken=bm9wZQ"},
		{"token of another mailbox", func() {}, strings.Replace(msgLink, alice, bob, 1)},
		{"token of another folder", func() {}, strings.Replace(msgLink, "/inbox/", "/sentitems/", 1)},
		{"folder invalidated", func() { mustDo(t, func() error { return e.sim.InvalidateSyncStates(alice, "inbox") }) }, msgLink},
		{"mailbox invalidated", func() { mustDo(t, func() error { return e.sim.InvalidateSyncStates(alice, "") }) }, folderLink},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.invalidate()
			r := e.do("GET", tc.link, nil)
			if r.status != http.StatusGone || r.errorCode() != "syncStateNotFound" {
				t.Fatalf("got %d %s, want 410 syncStateNotFound", r.status, r.raw)
			}
			if loc := r.header.Get("Location"); !strings.HasSuffix(loc, "/delta") {
				t.Errorf("Location %q should be the initial query", loc)
			}
		})
	}
	// A fresh round works again.
	if all, _, _ := e.deltaRound("/users/" + alice + "/mailFolders/inbox/messages/delta"); len(all) != 1 {
		t.Errorf("fresh round after invalidation: %v", all)
	}
}

func TestEventsAndContactsDelta(t *testing.T) {
	e := newEnv(t, graphsim.Options{})
	base := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	in, _ := e.sim.AddItem(alice, "calendar", ewssim.Item{Kind: ewssim.KindCalendar, Subject: "in window", Start: base, End: base.Add(time.Hour), TimeZone: "Pacific Standard Time"})
	out, _ := e.sim.AddItem(alice, "calendar", ewssim.Item{Kind: ewssim.KindCalendar, Subject: "later", Start: base.AddDate(0, 2, 0), End: base.AddDate(0, 2, 0).Add(time.Hour)})
	if _, err := e.sim.AddItem(alice, "contacts", ewssim.Item{Kind: ewssim.KindContact, DisplayName: "Dan Chaves", GivenName: "Dan", Surname: "Chaves", Emails: []string{"dan@fabrikam.com"}}); err != nil {
		t.Fatal(err)
	}

	r := e.do("GET", "/users/"+alice+"/calendarView/delta", nil)
	if r.status != http.StatusBadRequest || r.errorCode() != "ErrorInvalidParameter" {
		t.Fatalf("calendarView/delta without a window: %d %s", r.status, r.raw)
	}
	first, _, link := e.deltaRound("/users/" + alice + "/calendarView/delta?startDateTime=2026-03-01T00:00:00Z&endDateTime=2026-03-31T00:00:00Z")
	if len(first) != 1 || first[0]["id"] != e.graphID(in.ID) {
		t.Fatalf("window holds one event: %v", first)
	}
	if start := first[0]["start"].(map[string]any); start["dateTime"] != "2026-03-02T09:00:00.0000000" || start["timeZone"] != "UTC" {
		t.Errorf("start %v", start)
	}
	// Move the late event into the window and the early one out of it.
	mustDo(t, func() error {
		_, err := e.sim.UpdateItem(out.ID, func(it *ewssim.Item) { it.Start, it.End = base.AddDate(0, 0, 7), base.AddDate(0, 0, 7).Add(time.Hour) })
		return err
	})
	mustDo(t, func() error {
		_, err := e.sim.UpdateItem(in.ID, func(it *ewssim.Item) { it.Start, it.End = base.AddDate(1, 0, 0), base.AddDate(1, 0, 0).Add(time.Hour) })
		return err
	})
	changes, _, _ := e.deltaRound(link)
	got := byID(changes)
	if m := got[e.graphID(out.ID)]; m == nil || isRemoved(m) {
		t.Errorf("event moved into the window: %v", changes)
	}
	if m := got[e.graphID(in.ID)]; m == nil || !isRemoved(m) {
		t.Errorf("event moved out of the window: %v", changes)
	}

	contacts, _, _ := e.deltaRound("/users/" + alice + "/contacts/delta")
	if len(contacts) != 1 || contacts[0]["displayName"] != "Dan Chaves" {
		t.Errorf("contacts delta: %v", contacts)
	}
	folders, _, _ := e.deltaRound("/users/" + alice + "/contactFolders/delta")
	if len(folders) != 0 {
		t.Errorf("contactFolders delta lists the default folder: %v", folders)
	}
}
