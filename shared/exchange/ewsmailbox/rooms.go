package ewsmailbox

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ews"
)

// This file implements domain.RoomConnector over EWS GetRoomLists and
// GetRooms. EWS lists rooms per room list only: all rooms are the union
// of every list's rooms (a room in no list is not found this way).

// RoomConnector builds each tenant's RoomDirectory over a shared client
// cache.
type RoomConnector struct {
	clients *ClientCache
}

// NewRoomConnector returns a RoomConnector building clients with opts.
func NewRoomConnector(opts Options) *RoomConnector {
	return &RoomConnector{clients: NewClientCache(opts, maxCachedClients)}
}

var _ domain.RoomConnector = (*RoomConnector)(nil)

// ConnectRooms returns the tenant's directory. It does no network I/O.
func (c *RoomConnector) ConnectRooms(_ context.Context, t domain.Tenant, cred domain.Credential, actAs string) (domain.RoomDirectory, error) {
	cl, err := c.clients.For(t, cred).Client(t.EWSURL)
	if err != nil {
		return nil, clientConfigError(err)
	}
	// The directory is the organisation's: impersonation (app-only tokens
	// need it) acts as one of the tenant's mailboxes, delegate access as
	// the service account itself.
	tg := ews.Target{Mode: ews.ModeSelf}
	if actAs != "" && !t.AccessMode.Delegated() {
		tg = ews.Target{Mailbox: actAs, Mode: ews.ModeImpersonation}
	}
	return &rooms{client: cl, target: tg}, nil
}

type rooms struct {
	client *ews.Client
	target ews.Target
}

func (r *rooms) RoomLists(ctx context.Context) ([]domain.RoomList, error) {
	lists, err := r.client.GetRoomLists(ctx, r.target)
	if err != nil {
		return nil, classify(useRead, err, "")
	}
	out := make([]domain.RoomList, 0, len(lists))
	for _, l := range lists {
		out = append(out, domain.RoomList{Address: strings.ToLower(l.EmailAddress), DisplayName: l.Name})
	}
	return out, nil
}

func (r *rooms) Rooms(ctx context.Context, list string) ([]domain.Room, error) {
	if list != "" {
		return r.roomsOf(ctx, list)
	}
	lists, err := r.RoomLists(ctx)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	out := []domain.Room{}
	for _, l := range lists {
		rs, err := r.roomsOf(ctx, l.Address)
		if errors.Is(err, domain.ErrRoomListNotFound) {
			continue // removed since it was listed
		}
		if err != nil {
			return nil, err
		}
		for _, rm := range rs {
			if !seen[rm.Address] {
				seen[rm.Address] = true
				out = append(out, rm)
			}
		}
	}
	slices.SortFunc(out, func(a, b domain.Room) int { return strings.Compare(a.Address, b.Address) })
	return out, nil
}

func (r *rooms) roomsOf(ctx context.Context, list string) ([]domain.Room, error) {
	rs, err := r.client.GetRooms(ctx, r.target, list)
	if err != nil {
		var e *ews.Error
		if errors.As(err, &e) && e.ResponseCode == "ErrorNameResolutionNoResults" {
			return nil, domain.ErrRoomListNotFound
		}
		return nil, classify(useRead, err, "")
	}
	out := make([]domain.Room, 0, len(rs))
	for _, rm := range rs {
		out = append(out, domain.Room{Address: strings.ToLower(rm.EmailAddress), DisplayName: rm.Name})
	}
	return out, nil
}
