package domain

import (
	"context"
	"errors"
)

// Rooms and room lists: the meeting rooms of a tenant's organisation,
// grouped in room lists (EWS GetRoomLists and GetRooms; Graph places), so
// a customer's rooms need not be typed in.

// RoomList is a room list (a distribution group of rooms).
type RoomList struct {
	Address     string `json:"address"`
	DisplayName string `json:"displayName"`
}

// Room is a room mailbox. EWS knows only its name and address; Graph adds
// capacity, building and floor (zero values when unknown).
type Room struct {
	Address     string `json:"address"`
	DisplayName string `json:"displayName"`
	Capacity    int    `json:"capacity,omitempty"`
	Building    string `json:"building,omitempty"`
	FloorNumber *int   `json:"floorNumber,omitempty"`
}

// ErrRoomListNotFound: the address is no room list of the organisation.
var ErrRoomListNotFound = errors.New("no such room list")

// RoomDirectory reads one tenant's rooms.
type RoomDirectory interface {
	RoomLists(ctx context.Context) ([]RoomList, error)
	// Rooms lists the rooms of the room list with address list
	// (ErrRoomListNotFound when there is none), or every room of the
	// organisation when list is "".
	Rooms(ctx context.Context, list string) ([]Room, error)
}

// RoomConnector opens a tenant's RoomDirectory. actAs is a mailbox of the
// tenant the reads may act as where the protocol needs one (EWS under
// impersonation and app-only tokens); "" when the tenant has none.
type RoomConnector interface {
	ConnectRooms(ctx context.Context, t Tenant, c Credential, actAs string) (RoomDirectory, error)
}
