package mailboxtest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
)

// runRooms: the room lists and rooms the organisation's directory holds,
// each list's rooms in its order, every room once, an address that is no
// room list (unknown, or a user's mailbox) as domain.ErrRoomListNotFound,
// and a refused credential as an auth failure.
func runRooms(t *testing.T, newEnv func(t testing.TB) Env) {
	env := newEnv(t)
	if env.Rooms == nil {
		t.Fatal("the Env has no room connector")
	}
	ctx := context.Background()
	floor := 3
	rooms := []ewssim.Room{
		{Address: "aurora@contoso.com", DisplayName: "Aurora", Capacity: 8, Building: "HQ", FloorNumber: floor},
		{Address: "borealis@contoso.com", DisplayName: "Borealis", Capacity: 20, Building: "HQ"},
		{Address: "cosmos@contoso.com", DisplayName: "Cosmos"},
	}
	for _, r := range rooms {
		if err := env.Sim.AddRoom(r); err != nil {
			t.Fatal(err)
		}
	}
	for _, l := range []struct {
		addr, name string
		rooms      []string
	}{
		{"hq@contoso.com", "HQ rooms", []string{"borealis@contoso.com", "aurora@contoso.com"}},
		{"annex@contoso.com", "Annex", []string{"cosmos@contoso.com", "aurora@contoso.com"}},
		{"new@contoso.com", "Not furnished yet", nil},
	} {
		if err := env.Sim.AddRoomList(l.addr, l.name, l.rooms...); err != nil {
			t.Fatal(err)
		}
	}
	dir, err := env.Rooms.ConnectRooms(ctx, env.Tenant, env.Credential, env.Mailboxes[0])
	if err != nil {
		t.Fatal(err)
	}
	lists, err := dir.RoomLists(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(lists), "[{hq@contoso.com HQ rooms} {annex@contoso.com Annex} {new@contoso.com Not furnished yet}]"; got != want {
		t.Errorf("room lists %s, want %s", got, want)
	}
	view := func(rs []domain.Room) []string {
		var out []string
		for _, r := range rs {
			s := r.Address + " " + r.DisplayName
			if env.RoomDetails {
				fl := "-"
				if r.FloorNumber != nil {
					fl = fmt.Sprint(*r.FloorNumber)
				}
				s += fmt.Sprintf(" cap %d bldg %q floor %s", r.Capacity, r.Building, fl)
			} else if r.Capacity != 0 || r.Building != "" || r.FloorNumber != nil {
				t.Errorf("room %s has details this protocol does not know", r.Address)
			}
			out = append(out, s)
		}
		return out
	}
	want := func(addrs ...string) []string {
		var out []domain.Room
		for _, a := range addrs {
			i := slices.IndexFunc(rooms, func(r ewssim.Room) bool { return r.Address == a })
			r := rooms[i]
			d := domain.Room{Address: r.Address, DisplayName: r.DisplayName}
			if env.RoomDetails {
				d.Capacity, d.Building = r.Capacity, r.Building
				if r.FloorNumber != 0 {
					d.FloorNumber = &floor
				}
			}
			out = append(out, d)
		}
		return view(out)
	}
	hq, err := dir.Rooms(ctx, "HQ@contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	if got, w := view(hq), want("borealis@contoso.com", "aurora@contoso.com"); !slices.Equal(got, w) {
		t.Errorf("rooms of hq %q, want %q", got, w)
	}
	if empty, err := dir.Rooms(ctx, "new@contoso.com"); err != nil || len(empty) != 0 {
		t.Errorf("rooms of an empty list: %v, %v", empty, err)
	}
	all, err := dir.Rooms(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	got := view(all)
	slices.Sort(got)
	if w := want("aurora@contoso.com", "borealis@contoso.com", "cosmos@contoso.com"); !slices.Equal(got, w) {
		t.Errorf("all rooms %q, want each room once: %q", got, w)
	}
	for _, addr := range []string{"nolist@contoso.com", env.Mailboxes[0]} {
		if _, err := dir.Rooms(ctx, addr); !errors.Is(err, domain.ErrRoomListNotFound) {
			t.Errorf("rooms of %s: %v, want ErrRoomListNotFound", addr, err)
		}
	}
	bad, err := env.Rooms.ConnectRooms(ctx, env.Tenant, env.BadCredential, env.Mailboxes[0])
	if err == nil {
		_, err = bad.RoomLists(ctx)
	}
	if ae := domain.AccessErrorOf(err); err == nil || ae.Kind != domain.AccessAuth {
		t.Errorf("room lists with a wrong secret: %v, want an auth failure", err)
	}
}
