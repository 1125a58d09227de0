package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// The places API: the tenant's rooms and room lists (GET /places/
// microsoft.graph.roomlist, /places/microsoft.graph.room and /places/
// {room list address}/microsoft.graph.roomlist/rooms). It needs the
// application permission Place.Read.All; directory calls do not count
// against a mailbox's concurrency. Pages of 100 by default, followed
// through @odata.nextLink.

// RoomList is the part of Graph's roomList Mailbridge reads.
type RoomList struct {
	ID           string `json:"id"`
	EmailAddress string `json:"emailAddress"`
	DisplayName  string `json:"displayName"`
}

// Room is the part of Graph's room Mailbridge reads.
type Room struct {
	ID           string `json:"id"`
	EmailAddress string `json:"emailAddress"`
	DisplayName  string `json:"displayName"`
	// Capacity is an Edm.Int32 in the metadata, but Microsoft's own
	// examples send it as a string ("50"): both are read.
	Capacity    FlexInt `json:"capacity"`
	Building    string  `json:"building,omitempty"`
	FloorNumber *int    `json:"floorNumber,omitempty"`
	FloorLabel  string  `json:"floorLabel,omitempty"`
	BookingType string  `json:"bookingType,omitempty"`
}

// FlexInt reads a JSON number, a string holding one, or null (0).
type FlexInt int

func (f *FlexInt) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "null" {
		*f = 0
		return nil
	}
	if uq, err := strconv.Unquote(s); err == nil {
		s = strings.TrimSpace(uq)
		if s == "" {
			*f = 0
			return nil
		}
	}
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return fmt.Errorf("not an integer")
	}
	*f = FlexInt(n)
	return nil
}

// maxPlacePages bounds a listing (100 places a page): a server that keeps
// sending nextLinks does not keep the client forever.
const maxPlacePages = 500

// ListRoomLists returns every room list of the tenant.
func (c *Client) ListRoomLists(ctx context.Context) ([]RoomList, error) {
	var out []RoomList
	err := c.listPlaces(ctx, "ListRoomLists", c.path("places", "microsoft.graph.roomlist"), func(raw json.RawMessage) error {
		var page []RoomList
		if err := json.Unmarshal(raw, &page); err != nil {
			return err
		}
		out = append(out, page...)
		return nil
	})
	if out == nil && err == nil {
		out = []RoomList{}
	}
	return out, err
}

// ListRooms returns the rooms of the room list with address roomList, or
// every room of the tenant when roomList is "". An address that is no
// room list answers 404 (ClassNotFound).
func (c *Client) ListRooms(ctx context.Context, roomList string) ([]Room, error) {
	const op = "ListRooms"
	u := c.path("places", "microsoft.graph.room")
	if roomList != "" {
		if strings.TrimSpace(roomList) != roomList || strings.ContainsAny(roomList, "/\\?#") {
			return nil, invalidArg(op, "roomList is not an address")
		}
		u = c.path("places", roomList, "microsoft.graph.roomlist", "rooms")
	}
	var out []Room
	err := c.listPlaces(ctx, op, u, func(raw json.RawMessage) error {
		var page []Room
		if err := json.Unmarshal(raw, &page); err != nil {
			return err
		}
		out = append(out, page...)
		return nil
	})
	if out == nil && err == nil {
		out = []Room{}
	}
	return out, err
}

// listPlaces pages through a places collection, handing each page's value
// to add.
func (c *Client) listPlaces(ctx context.Context, op, u string, add func(json.RawMessage) error) error {
	for range maxPlacePages {
		resp, err := c.do(ctx, request{op: op, method: "GET", url: u})
		if err != nil {
			return err
		}
		var page struct {
			Value    json.RawMessage `json:"value"`
			NextLink string          `json:"@odata.nextLink"`
		}
		if err := decode(op, resp, &page); err != nil {
			return err
		}
		bad := func(err error) error {
			return &Error{Layer: LayerProtocol, Op: op, HTTPStatus: resp.status, RequestID: resp.requestID,
				ClientRequestID: resp.clientRequestID, Err: fmt.Errorf("%w: %v", ErrMalformedResponse, err)}
		}
		if len(page.Value) == 0 {
			return bad(fmt.Errorf("no value array"))
		}
		if err := add(page.Value); err != nil {
			return bad(err)
		}
		if page.NextLink == "" {
			return nil
		}
		if u, err = c.checkLink(op, page.NextLink); err != nil {
			return err
		}
	}
	return &Error{Layer: LayerProtocol, Op: op, Err: fmt.Errorf("%w: more than %d pages", ErrMalformedResponse, maxPlacePages)}
}
