package ewssim

import (
	"fmt"
	"slices"
	"strings"
)

// Rooms and room lists, as Exchange keeps them in the directory: a room is
// a mailbox (a room mailbox) with what Graph's places API shows of it, a
// room list a distribution group marked as one, holding rooms. EWS serves
// them through GetRoomLists and GetRooms (op_rooms.go), Graph through
// /places (graphsim).

// Room is a room mailbox's directory data.
type Room struct {
	Address     string
	DisplayName string
	Capacity    int    // 0: not set
	Building    string // "": not set
	FloorNumber int    // 0: not set (Graph reports null)
}

// RoomList is a room list and its rooms' addresses.
type RoomList struct {
	Address     string
	DisplayName string
	Rooms       []string
}

type roomDirectory struct {
	rooms map[string]*Room     // by lower-cased address
	lists map[string]*RoomList // by lower-cased address
	order []string             // list addresses in creation order
}

// AddRoom creates a room mailbox.
func (s *Sim) AddRoom(r Room) error {
	if err := s.AddMailbox(r.Address, r.DisplayName); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dir.rooms == nil {
		s.dir.rooms = map[string]*Room{}
	}
	r.Address = normAddr(r.Address)
	s.dir.rooms[r.Address] = &r
	return nil
}

// AddRoomList creates a room list holding rooms made with AddRoom.
func (s *Sim) AddRoomList(address, displayName string, rooms ...string) error {
	addr := normAddr(address)
	if !strings.Contains(addr, "@") {
		return fmt.Errorf("ewssim: room list address %q is not an SMTP address", address)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.byAddr[addr]; ok {
		return fmt.Errorf("ewssim: %s is a mailbox", addr)
	}
	if _, ok := s.dir.lists[addr]; ok {
		return fmt.Errorf("ewssim: room list %s exists", addr)
	}
	l := &RoomList{Address: addr, DisplayName: displayName}
	for _, r := range rooms {
		ra := normAddr(r)
		if s.dir.rooms[ra] == nil {
			return fmt.Errorf("ewssim: %s is not a room (AddRoom)", r)
		}
		l.Rooms = append(l.Rooms, ra)
	}
	if s.dir.lists == nil {
		s.dir.lists = map[string]*RoomList{}
	}
	s.dir.lists[addr] = l
	s.dir.order = append(s.dir.order, addr)
	return nil
}

// RoomLists returns the room lists in creation order.
func (s *Sim) RoomLists() []RoomList {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]RoomList, 0, len(s.dir.order))
	for _, a := range s.dir.order {
		l := *s.dir.lists[a]
		l.Rooms = slices.Clone(l.Rooms)
		out = append(out, l)
	}
	return out
}

// RoomsOf returns the rooms of a room list in the list's order; ok is
// false when there is no such list.
func (s *Sim) RoomsOf(list string) (rooms []Room, ok bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	l := s.dir.lists[normAddr(list)]
	if l == nil {
		return nil, false
	}
	rooms = make([]Room, 0, len(l.Rooms))
	for _, a := range l.Rooms {
		rooms = append(rooms, *s.dir.rooms[a])
	}
	return rooms, true
}

// Rooms returns every room, by address.
func (s *Sim) Rooms() []Room {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Room, 0, len(s.dir.rooms))
	for _, r := range s.dir.rooms {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b Room) int { return strings.Compare(a.Address, b.Address) })
	return out
}
