package graphmailbox

import (
	"context"
	"strings"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/graph"
)

// This file implements domain.RoomConnector over Graph's places API
// (application permission Place.Read.All): room lists, every room, the
// rooms of one list. Graph adds capacity, building and floor to each room.

var _ domain.RoomConnector = (*Connector)(nil)

// ConnectRooms returns the tenant's directory. It does no network I/O;
// Graph needs no mailbox to act as (actAs is ignored).
func (c *Connector) ConnectRooms(_ context.Context, t domain.Tenant, cred domain.Credential, _ string) (domain.RoomDirectory, error) {
	cl, err := c.client(t, cred)
	if err != nil {
		return nil, err
	}
	return &rooms{client: cl}, nil
}

type rooms struct{ client *graph.Client }

func (r *rooms) RoomLists(ctx context.Context) ([]domain.RoomList, error) {
	lists, err := r.client.ListRoomLists(ctx)
	if err != nil {
		return nil, classify(err, useMailbox, "")
	}
	out := make([]domain.RoomList, 0, len(lists))
	for _, l := range lists {
		out = append(out, domain.RoomList{Address: strings.ToLower(l.EmailAddress), DisplayName: l.DisplayName})
	}
	return out, nil
}

func (r *rooms) Rooms(ctx context.Context, list string) ([]domain.Room, error) {
	rs, err := r.client.ListRooms(ctx, list)
	if err != nil {
		if list != "" && graph.Classify(err) == graph.ClassNotFound {
			return nil, domain.ErrRoomListNotFound
		}
		return nil, classify(err, useMailbox, "")
	}
	out := make([]domain.Room, 0, len(rs))
	for _, rm := range rs {
		out = append(out, domain.Room{Address: strings.ToLower(rm.EmailAddress), DisplayName: rm.DisplayName,
			Capacity: int(rm.Capacity), Building: rm.Building, FloorNumber: rm.FloorNumber})
	}
	return out, nil
}
