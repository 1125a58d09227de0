package ewssim_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/testsupport/golden"

	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
)

// TestGoldenResponses pins the exact bytes of representative answers
// (a reviewer sees any change of shape in the diff). Run with -update to
// rewrite them after an intended change.
func TestGoldenResponses(t *testing.T) {
	const mbx = "alice@contoso.com"
	clock := &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	env := newEnv(t, ewssim.Options{Clock: clock}, mbx, "bob@contoso.com")
	must(t, env.sim.SetImpersonationScope(svcUser, []string{mbx}, false))
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	_, err := env.sim.AddItem(mbx, "inbox", ewssim.Item{Subject: "Budget Q3", Body: "Numbers attached.",
		From: ewssim.Address{Name: "Bob", Email: "bob@contoso.com"}, To: []ewssim.Address{{Name: "Alice", Email: mbx}}, Received: start.Add(-time.Hour)})
	must(t, err)
	ev, err := env.sim.AddItem(mbx, "calendar", ewssim.Item{Kind: ewssim.KindCalendar, Subject: "Standup", Start: start, End: start.Add(15 * time.Minute),
		TimeZone: "W. Europe Standard Time", Location: "Aurora", Organizer: ewssim.Address{Name: "Alice", Email: mbx},
		Attendees: []ewssim.Address{{Name: "Bob", Email: "bob@contoso.com"}}})
	must(t, err)
	_, err = env.sim.AddItem(mbx, "contacts", ewssim.Item{Kind: ewssim.KindContact, DisplayName: "Dan Park", GivenName: "Dan", Surname: "Park",
		Emails: []string{"dan@fabrikam.com"}, Phones: []string{"+1 555 0100"}})
	must(t, err)

	tests := []struct {
		name string
		call func() []byte
	}{
		{"syncfolderitems-inbox", func() []byte {
			_, b := env.call(t, impersonate(mbx), `<m:SyncFolderItems><m:ItemShape><t:BaseShape>Default</t:BaseShape></m:ItemShape><m:SyncFolderId>`+dist("inbox", "")+`</m:SyncFolderId><m:MaxChangesReturned>10</m:MaxChangesReturned></m:SyncFolderItems>`)
			return b
		}},
		{"getitem-calendar-and-missing", func() []byte {
			_, b := env.call(t, impersonate(mbx), getItemBody(ev.ID, "AAMkAGhvc3Q="))
			return b
		}},
		{"finditem-contacts", func() []byte {
			_, b := env.call(t, impersonate(mbx), `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>Default</t:BaseShape></m:ItemShape><m:IndexedPageItemView MaxEntriesReturned="10" Offset="0" BasePoint="Beginning"/><m:ParentFolderIds>`+dist("contacts", "")+`</m:ParentFolderIds></m:FindItem>`)
			return b
		}},
		{"fault-impersonation-denied", func() []byte {
			_, b := env.call(t, impersonate("bob@contoso.com"), getItemBody(ev.ID))
			return b
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.call()
			path := filepath.Join("testdata", tc.name+".xml")
			golden.Check(t, path, got)
		})
	}
}
