package graphsim_test

import (
	"fmt"
	"testing"

	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
	"github.com/mailbridge/mailbridge/shared/exchange/graphsim"
)

// TestPlaces: room lists and rooms as the places API shows them, pages of
// 100 continued by a nextLink, an unknown room list as 404, and the
// Place.Read.All permission required.
func TestPlaces(t *testing.T) {
	e := newEnv(t, graphsim.Options{})
	var hq []string
	for i := range 120 {
		a := fmt.Sprintf("room%03d@contoso.com", i)
		if err := e.sim.AddRoom(ewssim.Room{Address: a, DisplayName: fmt.Sprintf("Room %d", i), Capacity: i % 12, Building: "HQ", FloorNumber: i % 5}); err != nil {
			t.Fatal(err)
		}
		hq = append(hq, a)
	}
	if err := e.sim.AddRoomList("hq@contoso.com", "HQ", hq...); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.AddRoomList("annex@contoso.com", "Annex", hq[:2]...); err != nil {
		t.Fatal(err)
	}

	lists := e.do("GET", "/places/microsoft.graph.roomlist", nil)
	if lists.status != 200 || len(lists.values()) != 2 || lists.values()[0]["emailAddress"] != "hq@contoso.com" || lists.values()[1]["displayName"] != "Annex" {
		t.Fatalf("room lists: %d %s", lists.status, lists.raw)
	}
	first := e.do("GET", "/places/hq@contoso.com/microsoft.graph.roomlist/rooms", nil)
	next, _ := first.body["@odata.nextLink"].(string)
	if first.status != 200 || len(first.values()) != 100 || next == "" {
		t.Fatalf("first page: %d, %d rooms, nextLink %q", first.status, len(first.values()), next)
	}
	if r := first.values()[1]; r["emailAddress"] != "room001@contoso.com" || r["capacity"] != 1.0 || r["floorNumber"] != 1.0 || r["building"] != "HQ" {
		t.Errorf("room = %v", r)
	}
	if r := first.values()[0]; r["capacity"] != nil || r["floorNumber"] != nil {
		t.Errorf("unset capacity and floor must be null: %v", r)
	}
	second := e.do("GET", next, nil)
	if second.status != 200 || len(second.values()) != 20 || second.body["@odata.nextLink"] != nil {
		t.Fatalf("second page: %d, %d rooms, nextLink %v", second.status, len(second.values()), second.body["@odata.nextLink"])
	}
	if all := e.do("GET", "/places/microsoft.graph.room?$top=200", nil); len(all.values()) != 120 {
		t.Errorf("all rooms with $top=200: %d", len(all.values()))
	}
	if r := e.do("GET", "/places/nolist@contoso.com/microsoft.graph.roomlist/rooms", nil); r.status != 404 {
		t.Errorf("unknown room list: %d %s", r.status, r.raw)
	}
	e.graph.DenyPermission(clientID, graphsim.PermPlaceReadAll)
	if r := e.do("GET", "/places/microsoft.graph.roomlist", nil); r.status != 403 {
		t.Errorf("without Place.Read.All: %d %s", r.status, r.raw)
	}
}
