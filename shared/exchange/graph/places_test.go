package graph

import (
	"strings"
	"testing"
)

// TestPlaces: the rooms of one room list are asked at the list's
// address; pages are followed through @odata.nextLink, and a nextLink to
// another host is refused; an unknown room list is ClassNotFound; a page
// without a value array is malformed.
func TestPlaces(t *testing.T) {
	t.Run("rooms of a list, two pages", func(t *testing.T) {
		rec := &recorder{answers: []canned{
			answer(200, []byte(`{"value":[{"id":"1","emailAddress":"a@contoso.com","displayName":"A","capacity":8,"floorNumber":3}],"@odata.nextLink":"`+testBase+`/places/bldg2@contoso.com/microsoft.graph.roomlist/rooms?$skip=1"}`)),
			answer(200, []byte(`{"value":[{"id":"2","emailAddress":"b@contoso.com","displayName":"B","capacity":null}]}`)),
		}}
		rooms, err := newTestClient(t, rec).ListRooms(bg, "bldg2@contoso.com")
		if err != nil {
			t.Fatal(err)
		}
		if len(rooms) != 2 || rooms[0].Capacity != 8 || *rooms[0].FloorNumber != 3 || rooms[1].EmailAddress != "b@contoso.com" || rooms[1].Capacity != 0 {
			t.Fatalf("rooms = %+v", rooms)
		}
		if got := rec.reqs[0].URL.EscapedPath(); got != "/v1.0/places/bldg2@contoso.com/microsoft.graph.roomlist/rooms" {
			t.Errorf("first request %s", got)
		}
		if len(rec.reqs) != 2 || !strings.Contains(rec.reqs[1].URL.RawQuery, "skip=1") {
			t.Errorf("%d requests; the second should follow the nextLink", len(rec.reqs))
		}
	})
	t.Run("a nextLink to another host", func(t *testing.T) {
		rec := &recorder{answers: []canned{answer(200, []byte(`{"value":[],"@odata.nextLink":"https://evil.example/v1.0/places?x"}`))}}
		if _, err := newTestClient(t, rec).ListRoomLists(bg); err == nil || len(rec.reqs) != 1 {
			t.Fatalf("err %v after %d requests; want a refusal", err, len(rec.reqs))
		}
	})
	t.Run("unknown room list", func(t *testing.T) {
		rec := &recorder{answers: []canned{answer(404, []byte(`{"error":{"code":"ErrorItemNotFound","message":"The specified object was not found in the store."}}`))}}
		if _, err := newTestClient(t, rec).ListRooms(bg, "nolist@contoso.com"); Classify(err) != ClassNotFound {
			t.Fatalf("err %v (%s); want not found", err, Classify(err))
		}
	})
	t.Run("no value array", func(t *testing.T) {
		rec := &recorder{answers: []canned{answer(200, []byte(`{"rooms":[]}`))}}
		if _, err := newTestClient(t, rec).ListRooms(bg, ""); err == nil {
			t.Fatal("a page without value was accepted")
		}
	})
	t.Run("a path in the list address", func(t *testing.T) {
		rec := &recorder{}
		if _, err := newTestClient(t, rec).ListRooms(bg, "../users/x"); err == nil || len(rec.reqs) != 0 {
			t.Fatalf("err %v, %d requests; want a refusal before any request", err, len(rec.reqs))
		}
	})
}
