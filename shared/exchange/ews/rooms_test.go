package ews

import (
	"context"
	"errors"
	"testing"
)

// TestRoomOperationsDecode reads Microsoft's documented GetRoomLists and
// GetRooms answers: the lists and rooms with their names and addresses,
// an organisation without room lists as an empty list, and an unknown
// room list as ErrorNameResolutionNoResults.
func TestRoomOperationsDecode(t *testing.T) {
	ctx := context.Background()
	t.Run("GetRoomLists", func(t *testing.T) {
		srv := newCaptureServer(t, 200, readFixture(t, "msdocs/getroomlists-operation.02.GetRoomListsResponse.xml"))
		got, err := newTestClient(t, srv.URL, nil).GetRoomLists(ctx, imp)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Name != "Room List" || got[0].EmailAddress != "RoomList@contoso.com" || got[0].MailboxType != "PublicDL" {
			t.Fatalf("room lists = %+v", got)
		}
	})
	t.Run("GetRoomLists empty", func(t *testing.T) {
		srv := newCaptureServer(t, 200, readFixture(t, "msdocs/getroomlists-operation.03.GetRoomListsResponse.xml"))
		got, err := newTestClient(t, srv.URL, nil).GetRoomLists(ctx, imp)
		if err != nil || got == nil || len(got) != 0 {
			t.Fatalf("room lists = %+v, %v; want an empty list", got, err)
		}
	})
	t.Run("GetRooms", func(t *testing.T) {
		srv := newCaptureServer(t, 200, readFixture(t, "msdocs/getrooms-operation.02.GetRoomsResponse.xml"))
		got, err := newTestClient(t, srv.URL, nil).GetRooms(ctx, imp, "RoomList@contoso.com")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].Name != "Room01" || got[1].EmailAddress != "Room02@contoso.com" {
			t.Fatalf("rooms = %+v", got)
		}
	})
	t.Run("GetRooms unknown list", func(t *testing.T) {
		srv := newCaptureServer(t, 200, readFixture(t, "msdocs/getrooms-operation.03.GetRoomsResponse.ErrorNameResolutionNoResults.xml"))
		_, err := newTestClient(t, srv.URL, nil).GetRooms(ctx, imp, "nolist@contoso.com")
		var e *Error
		if !errors.As(err, &e) || e.ResponseCode != "ErrorNameResolutionNoResults" {
			t.Fatalf("err %v; want ErrorNameResolutionNoResults", err)
		}
	})
	t.Run("GetRooms refuses an empty list address", func(t *testing.T) {
		srv := newCaptureServer(t, 200, nil)
		if _, err := newTestClient(t, srv.URL, nil).GetRooms(ctx, imp, " "); err == nil || srv.count() != 0 {
			t.Fatalf("err %v, %d requests; want a refusal before any request", err, srv.count())
		}
	})
}
