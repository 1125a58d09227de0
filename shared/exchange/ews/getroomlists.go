package ews

import (
	"context"
	"encoding/xml"
	"fmt"
)

// GetRoomLists lists the organisation's room lists (distribution groups
// marked as room lists). Exchange 2010 SP1 and later.

type xGetRoomLists struct {
	XMLName xml.Name `xml:"m:GetRoomLists"`
}

// GetRoomLists returns the room lists of the organisation, each as its
// name and address. An organisation without room lists answers an empty
// list.
func (c *Client) GetRoomLists(ctx context.Context, t Target) ([]Mailbox, error) {
	const op = "GetRoomLists"
	if err := t.validate(op); err != nil {
		return nil, err
	}
	resp, err := c.call(ctx, op, t, xGetRoomLists{})
	if err != nil {
		return nil, err
	}
	out, err := decodeRoomLists(resp)
	return out, wrapDecode(op, err)
}

// decodeRoomLists reads a GetRoomListsResponse: unlike most operations,
// the response element is the response message itself (no
// ResponseMessages wrapper).
func decodeRoomLists(resp elem) ([]Mailbox, error) {
	const op = "GetRoomLists"
	if resp.name() != op+"Response" {
		return nil, fmt.Errorf("%w: expected <%sResponse>, got <%s>", ErrMalformedResponse, op, resp.name())
	}
	if e := decodeRespMsg(resp).err(op); e != nil {
		return nil, e
	}
	lists := resp.child("RoomLists")
	out := make([]Mailbox, 0, lists.countChildren())
	for a := range lists.children() {
		out = append(out, decodeMailbox(a))
	}
	return out, nil
}
