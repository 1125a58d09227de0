package storetest

import (
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// testRoomMarks: the first mark of a room meeting stands (a check-in
// and a release race on it), marks expire, and a purge forgets them.
func testRoomMarks(t *testing.T, setup setupFunc) {
	const room, itemID = "room-1@acme.example", "AAMkADk0ZjQ5=="
	mark := func(clock *Clock, state domain.RoomMarkState, by string) domain.RoomMark {
		now := clock.Now().UTC()
		return domain.RoomMark{TenantID: "acme", Room: room, ItemID: itemID, State: state, By: by, At: now, Expires: now.Add(time.Hour)}
	}
	open := func(t *testing.T) (domain.Store, domain.RoomMarkStore, *Clock) {
		s, clock := setup(t)
		rm, ok := s.(domain.RoomMarkStore)
		if !ok {
			t.Fatalf("%T does not implement domain.RoomMarkStore", s)
		}
		must(t, s.CreateTenant(ctx, tenant("acme")))
		return s, rm, clock
	}
	t.Run("the first mark stands; the second gets it back", func(t *testing.T) {
		_, rm, clock := open(t)
		if _, found, err := rm.GetRoomMark(ctx, "acme", room, itemID); err != nil || found {
			t.Fatalf("a mark before any was put: %v %v", found, err)
		}
		first := mark(clock, domain.RoomCheckedIn, "display-7")
		got, existed, err := rm.PutRoomMark(ctx, first)
		if err != nil || existed || got.State != domain.RoomCheckedIn {
			t.Fatalf("first put: %+v %v %v", got, existed, err)
		}
		got, existed, err = rm.PutRoomMark(ctx, mark(clock, domain.RoomReleased, "scheduler"))
		if err != nil || !existed || got.State != domain.RoomCheckedIn || got.By != "display-7" {
			t.Fatalf("second put: %+v %v %v, want the check-in back", got, existed, err)
		}
		if got, found, err := rm.GetRoomMark(ctx, "acme", room, itemID); err != nil || !found || got.State != domain.RoomCheckedIn {
			t.Fatalf("read back %+v %v %v", got, found, err)
		}
		if _, found, _ := rm.GetRoomMark(ctx, "acme", room, itemID+"x"); found {
			t.Fatal("another meeting's mark found")
		}
	})
	t.Run("an expired mark is absent and replaced", func(t *testing.T) {
		_, rm, clock := open(t)
		must2(t, rm, mark(clock, domain.RoomReleased, "scheduler"))
		clock.Advance(time.Hour + time.Second)
		if _, found, _ := rm.GetRoomMark(ctx, "acme", room, itemID); found {
			t.Fatal("an expired mark was found")
		}
		got, existed, err := rm.PutRoomMark(ctx, mark(clock, domain.RoomCheckedIn, "display-7"))
		if err != nil || existed || got.State != domain.RoomCheckedIn {
			t.Fatalf("put over an expired mark: %+v %v %v", got, existed, err)
		}
	})
	t.Run("PurgeTenant forgets the tenant's marks", func(t *testing.T) {
		s, rm, clock := open(t)
		must2(t, rm, mark(clock, domain.RoomCheckedIn, "display-7"))
		must(t, s.PurgeTenant(ctx, "acme"))
		if _, found, _ := rm.GetRoomMark(ctx, "acme", room, itemID); found {
			t.Fatal("a purged tenant's mark was found")
		}
	})
}

func must2(t *testing.T, rm domain.RoomMarkStore, m domain.RoomMark) {
	t.Helper()
	if _, _, err := rm.PutRoomMark(ctx, m); err != nil {
		t.Fatal(err)
	}
}
