package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// This file is the rooms use case (GET /tenants/{id}/roomlists and
// /rooms): the organisation's room lists and rooms, read from Exchange on
// each call with the tenant's credential. Nothing is stored.

// Rooms answers room and room-list reads.
type Rooms struct {
	Store     domain.Store
	Secrets   domain.SecretStore
	Connector domain.RoomConnector
	Clock     domain.Clock // audit times; nil: the system clock
	Log       *slog.Logger
}

// RoomLists returns the room lists of the tenant's organisation.
func (r *Rooms) RoomLists(ctx context.Context, tenantID string) ([]domain.RoomList, error) {
	dir, cred, err := r.open(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	lists, err := dir.RoomLists(ctx)
	r.audit(ctx, tenantID, "roomlists.read", len(lists), err)
	if err != nil {
		return nil, r.exchangeError(ctx, tenantID, cred, err)
	}
	return lists, nil
}

// List returns the rooms of the room list with address list, or every
// room when list is "".
func (r *Rooms) List(ctx context.Context, tenantID, list string) ([]domain.Room, error) {
	if list != "" {
		addr, verr := NormalizeAddress("roomList", list)
		if verr != nil {
			return nil, verr
		}
		list = addr
	}
	dir, cred, err := r.open(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	rooms, err := dir.Rooms(ctx, list)
	what := "rooms.read"
	if list != "" {
		what += " of " + list
	}
	r.audit(ctx, tenantID, what, len(rooms), err)
	if errors.Is(err, domain.ErrRoomListNotFound) {
		return nil, domain.NotFound("%s is no room list of tenant %q's organisation; GET /tenants/%s/roomlists lists them", list, tenantID, tenantID)
	}
	if err != nil {
		return nil, r.exchangeError(ctx, tenantID, cred, err)
	}
	return rooms, nil
}

// audit records one read with who asked and how many entries it found.
func (r *Rooms) audit(ctx context.Context, tenantID, what string, n int, err error) {
	result := fmt.Sprintf("found %d", n)
	if errors.Is(err, domain.ErrRoomListNotFound) {
		result = "failed: no such room list"
	} else if err != nil {
		result = "failed: " + string(domain.AccessErrorOf(err).Kind)
	}
	auditRead(ctx, r.Store, r.Clock, requestLogger(ctx, r.Log), domain.AuditEntry{TenantID: tenantID, Operation: what + " by " + callerName(Caller(ctx)), Result: result})
}

// open reads the tenant, its credential and a mailbox to act as, and
// opens its directory.
func (r *Rooms) open(ctx context.Context, tenantID string) (domain.RoomDirectory, domain.Credential, error) {
	t, err := (&Tenants{Store: r.Store}).active(ctx, tenantID)
	if err != nil {
		return nil, domain.Credential{}, err
	}
	cred, err := r.Secrets.GetCredential(ctx, tenantID)
	if err != nil {
		if domain.IsNotFound(err) {
			return nil, cred, domain.Conflict("tenant %q has no stored credentials; PUT /tenants/%s/credentials first", tenantID, tenantID)
		}
		return nil, cred, internal(err, "reading the credentials")
	}
	actAs, err := firstMailbox(ctx, r.Store, tenantID)
	if err != nil {
		return nil, cred, err
	}
	dir, err := r.Connector.ConnectRooms(ctx, t, cred, actAs)
	if err != nil {
		return nil, cred, r.exchangeError(ctx, tenantID, cred, err)
	}
	return dir, cred, nil
}

// roomsFailure words a failed room listing (liveFailure).
var roomsFailure = liveFailure{subject: "rooms", denied: "Exchange refused to list rooms",
	grant: "; on Graph the app needs the Place.Read.All application permission", failed: "Exchange could not list rooms"}

func (r *Rooms) exchangeError(ctx context.Context, tenantID string, cred domain.Credential, err error) error {
	return roomsFailure.answer(ctx, r.Log, tenantID, cred, err)
}

// firstMailbox is the mailbox EWS calls of the scheduling API act as under
// impersonation (an app-only token must act as one): the tenant's first
// registered mailbox, in its impersonation scope once verified; "" when it
// has none.
func firstMailbox(ctx context.Context, st domain.Store, tenantID string) (string, error) {
	ms, _, err := st.ListMailboxes(ctx, tenantID, domain.MailboxQuery{Limit: 1})
	if err != nil {
		return "", internal(err, "listing mailboxes")
	}
	if len(ms) == 0 {
		return "", nil
	}
	return ms[0].Address, nil
}
