package ews

import (
	"context"
	"encoding/xml"
	"fmt"
	"strings"
)

// GetRooms lists the rooms of one room list. Exchange 2010 SP1 and later.

type xGetRooms struct {
	XMLName  xml.Name `xml:"m:GetRooms"`
	RoomList string   `xml:"m:RoomList>t:EmailAddress"`
}

// GetRooms returns the rooms of the room list with address roomList, each
// as its name and address. A room list Exchange does not know answers
// ErrorNameResolutionNoResults (an *Error with that ResponseCode).
func (c *Client) GetRooms(ctx context.Context, t Target, roomList string) ([]Mailbox, error) {
	const op = "GetRooms"
	if err := t.validate(op); err != nil {
		return nil, err
	}
	if strings.TrimSpace(roomList) == "" {
		return nil, invalidArg(op, "roomList is empty")
	}
	resp, err := c.call(ctx, op, t, xGetRooms{RoomList: roomList})
	if err != nil {
		return nil, err
	}
	out, err := decodeRooms(resp)
	return out, wrapDecode(op, err)
}

// decodeRooms reads a GetRoomsResponse, which is its own response message
// (no ResponseMessages wrapper), each room a Room with its Id address.
func decodeRooms(resp elem) ([]Mailbox, error) {
	const op = "GetRooms"
	if resp.name() != op+"Response" {
		return nil, fmt.Errorf("%w: expected <%sResponse>, got <%s>", ErrMalformedResponse, op, resp.name())
	}
	if e := decodeRespMsg(resp).err(op); e != nil {
		return nil, e
	}
	rooms := resp.child("Rooms")
	out := make([]Mailbox, 0, rooms.countChildren())
	for r := range rooms.children() {
		out = append(out, decodeMailbox(r.child("Id")))
	}
	return out, nil
}
