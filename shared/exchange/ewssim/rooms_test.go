package ewssim_test

import (
	"context"
	"errors"
	"testing"

	"github.com/mailbridge/mailbridge/shared/exchange/ews"
	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
)

// TestRoomOperations: GetRoomLists and GetRooms through the real client
// answer what the directory holds, as Exchange does: the lists in order,
// a list's rooms in order, an empty list as no rooms, and an address that
// is no room list (a mailbox, or nothing) as ErrorNameResolutionNoResults.
func TestRoomOperations(t *testing.T) {
	e := newClientEnv(t, ewssim.Options{})
	must(t, e.sim.AddRoom(ewssim.Room{Address: "Aurora@contoso.com", DisplayName: "Aurora", Capacity: 8, Building: "HQ", FloorNumber: 4}))
	must(t, e.sim.AddRoom(ewssim.Room{Address: "borealis@contoso.com", DisplayName: "Borealis"}))
	must(t, e.sim.AddRoomList("hq@contoso.com", "HQ rooms", "aurora@contoso.com", "borealis@contoso.com"))
	must(t, e.sim.AddRoomList("annex@contoso.com", "Annex"))
	if err := e.sim.AddRoomList("bad@contoso.com", "Bad", e.ds.Mailboxes[0]); err == nil {
		t.Error("a user mailbox was accepted as a room")
	}
	c := e.client(t, ews.BasicAuth(e.ds.Account.Username, e.ds.Account.Password))
	ctx := context.Background()
	self := ews.Target{Mode: ews.ModeSelf}

	lists, err := c.GetRoomLists(ctx, self)
	must(t, err)
	if len(lists) != 2 || lists[0].EmailAddress != "hq@contoso.com" || lists[0].Name != "HQ rooms" || lists[1].EmailAddress != "annex@contoso.com" {
		t.Fatalf("room lists = %+v", lists)
	}
	rooms, err := c.GetRooms(ctx, ews.Target{Mailbox: e.ds.Mailboxes[0], Mode: ews.ModeImpersonation}, "HQ@contoso.com")
	must(t, err)
	if len(rooms) != 2 || rooms[0].EmailAddress != "aurora@contoso.com" || rooms[0].Name != "Aurora" || rooms[1].EmailAddress != "borealis@contoso.com" {
		t.Fatalf("rooms = %+v", rooms)
	}
	if rooms, err := c.GetRooms(ctx, self, "annex@contoso.com"); err != nil || len(rooms) != 0 {
		t.Fatalf("empty list: %+v, %v", rooms, err)
	}
	for _, addr := range []string{"nolist@contoso.com", e.ds.Mailboxes[0], "aurora@contoso.com"} {
		_, err := c.GetRooms(ctx, self, addr)
		var ee *ews.Error
		if !errors.As(err, &ee) || ee.ResponseCode != "ErrorNameResolutionNoResults" {
			t.Errorf("GetRooms(%s) = %v; want ErrorNameResolutionNoResults", addr, err)
		}
	}
}
