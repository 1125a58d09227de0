package graphsim

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
)

// The places API over the simulator's rooms and room lists
// (ewssim.AddRoom, AddRoomList):
//
//	GET /places/microsoft.graph.roomlist
//	GET /places/microsoft.graph.room
//	GET /places/{room list address}/microsoft.graph.roomlist/rooms
//
// as the v1.0 docs (place-list) describe them: the application permission
// Place.Read.All, pages of 100 (or $top, at most 999) continued through an
// @odata.nextLink with $skip, properties as the metadata names them (room:
// emailAddress, displayName, capacity, building, floorNumber, ...).
// A room list Graph does not know answers 404; the docs do not print that
// answer's code, so the simulator uses Exchange's ErrorItemNotFound (the
// adapter relies only on the status). Directory calls are not charged to a
// mailbox's concurrency.

// PermPlaceReadAll is the application permission of the places API.
const PermPlaceReadAll = "Place.Read.All"

const (
	defaultPlacesPage = 100
	maxPlacesPage     = 999
)

func (s *Server) placeRoutes(m *http.ServeMux) {
	p := BasePath + "/places"
	m.HandleFunc("GET "+p+"/microsoft.graph.roomlist", s.places("places.roomLists", s.roomLists))
	m.HandleFunc("GET "+p+"/microsoft.graph.room", s.places("places.rooms", s.rooms))
	m.HandleFunc("GET "+p+"/{list}/microsoft.graph.roomlist/rooms", s.places("places.roomListRooms", s.rooms))
}

// places wraps a places route: authentication and the permission.
func (s *Server) places(op string, fn func(c *call)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c := s.begin(w, r, op)
		if !c.authenticate() {
			return
		}
		if !s.hasPermission(c.app.ClientID, PermPlaceReadAll) {
			c.fail(http.StatusForbidden, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
			return
		}
		s.stats.call(op)
		fn(c)
	}
}

// placeID is a stable id for a place, in the docs' GUID-like form.
func placeID(addr string) string {
	h := sha256.Sum256([]byte(strings.ToLower(addr)))
	return strings.ToUpper(fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16]))
}

func (s *Server) roomLists(c *call) {
	lists := s.sim.RoomLists()
	out := make([]any, 0, len(lists))
	for _, l := range lists {
		out = append(out, obj{{"id", placeID(l.Address)}, {"displayName", l.DisplayName}, {"address", nil}, {"geoCoordinates", nil},
			{"phone", nil}, {"emailAddress", l.Address}})
	}
	c.placesPage("places/microsoft.graph.roomList", out)
}

func (s *Server) rooms(c *call) {
	var rooms []ewssim.Room
	ctx := "places/microsoft.graph.room"
	if list := c.r.PathValue("list"); list != "" {
		var ok bool
		if rooms, ok = s.sim.RoomsOf(list); !ok {
			c.fail(http.StatusNotFound, "ErrorItemNotFound", "The specified object was not found in the store.")
			return
		}
		ctx = "places('" + url.PathEscape(list) + "')/microsoft.graph.roomList/rooms"
	} else {
		rooms = s.sim.Rooms()
	}
	out := make([]any, 0, len(rooms))
	for _, r := range rooms {
		var capacity, floor any
		if r.Capacity > 0 {
			capacity = r.Capacity
		}
		if r.FloorNumber != 0 {
			floor = r.FloorNumber
		}
		var building any
		if r.Building != "" {
			building = r.Building
		}
		out = append(out, obj{{"id", placeID(r.Address)}, {"emailAddress", r.Address}, {"displayName", r.DisplayName},
			{"address", nil}, {"geoCoordinates", nil}, {"phone", nil}, {"nickname", r.DisplayName}, {"label", nil},
			{"capacity", capacity}, {"building", building}, {"floorLabel", nil}, {"floorNumber", floor},
			{"isWheelChairAccessible", false}, {"bookingType", "standard"}, {"tags", []string{}},
			{"audioDeviceName", nil}, {"videoDeviceName", nil}, {"displayDeviceName", nil}})
	}
	c.placesPage(ctx, out)
}

// placesPage answers one page of values per $top and $skip.
func (c *call) placesPage(context string, all []any) {
	q := c.r.URL.Query()
	top, skip := defaultPlacesPage, 0
	if v := q.Get("$top"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPlacesPage {
			c.fail(http.StatusBadRequest, "BadRequest", "Invalid $top value.")
			return
		}
		top = n
	}
	if v := q.Get("$skip"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			c.fail(http.StatusBadRequest, "BadRequest", "Invalid $skip value.")
			return
		}
		skip = n
	}
	page := all[min(skip, len(all)):min(skip+top, len(all))]
	body := obj{{"@odata.context", c.base + "/$metadata#" + context}}
	if skip+top < len(all) {
		next := c.origin() + c.r.URL.Path + "?$top=" + strconv.Itoa(top) + "&$skip=" + strconv.Itoa(skip+top)
		body = append(body, kv{"@odata.nextLink", next})
	}
	c.json(http.StatusOK, append(body, kv{"value", page}))
}
