package api

import (
	"net/http"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
)

// The organisation's room lists and rooms, read from Exchange on each call
// (EWS GetRoomLists and GetRooms; Graph places). Served when Deps.Rooms is
// set.

const (
	roomListsPath = "/tenants/{id}/roomlists"
	roomsPath     = "/tenants/{id}/rooms"
)

// roomRoutes are the room directory reads, served with rm.
func roomRoutes(rm *app.Rooms) []route {
	return []route{
		{"GET", roomListsPath, with(scoped, 200, 409, 502, 503), func(_ *server, w http.ResponseWriter, r *http.Request) error {
			if _, err := query(r); err != nil {
				return err
			}
			lists, err := rm.RoomLists(r.Context(), r.PathValue("id"))
			if err != nil {
				return err
			}
			writeJSON(w, http.StatusOK, roomListsResponse{RoomLists: lists})
			return nil
		}},
		{"GET", roomsPath, with(scoped, 200, 409, 502, 503), func(_ *server, w http.ResponseWriter, r *http.Request) error {
			q, err := query(r, "roomList")
			if err != nil {
				return err
			}
			if v, ok := q["roomList"]; ok && v == "" {
				return domain.Invalid("roomList", "roomList must be a room list's address; leave it out for every room")
			}
			rooms, err := rm.List(r.Context(), r.PathValue("id"), q["roomList"])
			if err != nil {
				return err
			}
			writeJSON(w, http.StatusOK, roomsResponse{Rooms: rooms})
			return nil
		}},
	}
}

type roomListsResponse struct {
	RoomLists []domain.RoomList `json:"roomLists"`
}

type roomsResponse struct {
	Rooms []domain.Room `json:"rooms"`
}
