package app

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// fakeRooms answers every read with err; it records the mailbox the
// directory was opened to act as.
type fakeRooms struct {
	err   error
	actAs []string
}

func (f *fakeRooms) ConnectRooms(_ context.Context, _ domain.Tenant, _ domain.Credential, actAs string) (domain.RoomDirectory, error) {
	f.actAs = append(f.actAs, actAs)
	return f, nil
}

func (f *fakeRooms) RoomLists(context.Context) ([]domain.RoomList, error) {
	return []domain.RoomList{{Address: "hq@acme.com"}}, f.err
}

func (f *fakeRooms) Rooms(context.Context, string) ([]domain.Room, error) { return nil, f.err }

// TestRoomsErrors: what Exchange's failures become for the API caller,
// and which mailbox the reads act as.
func TestRoomsErrors(t *testing.T) {
	e := newAvailabilityEnv(t, acme(0), ewsLimits)
	fake := &fakeRooms{}
	r := &Rooms{Store: e.store, Secrets: e.a.Secrets, Connector: fake, Log: slog.New(slog.DiscardHandler)}
	ctx := context.Background()
	if _, err := r.RoomLists(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	if err := e.store.AddMailbox(ctx, domain.Mailbox{TenantID: "acme", Address: "zed@acme.com"}); err != nil {
		t.Fatal(err)
	}
	if err := e.store.AddMailbox(ctx, domain.Mailbox{TenantID: "acme", Address: "ann@acme.com"}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.RoomLists(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(fake.actAs, ","); got != ",ann@acme.com" {
		t.Errorf("acted as %q; want none without mailboxes, then the first registered one", got)
	}
	for _, tc := range []struct {
		name string
		err  error
		code domain.ErrorCode
		says string
	}{
		{"throttled", &domain.AccessError{Kind: domain.AccessThrottled, Code: "ErrorServerBusy"}, domain.CodeUnavailable, "ask again later"},
		{"credentials refused", &domain.AccessError{Kind: domain.AccessAuth, Code: "HTTP 401"}, domain.CodeUpstream, "PUT /tenants/acme/credentials"},
		{"permission missing", &domain.AccessError{Kind: domain.AccessDenied, Code: "ErrorAccessDenied"}, domain.CodeUpstream, "Place.Read.All"},
		{"EWS retired", &domain.AccessError{Kind: domain.AccessPermanent, Code: CodeEWSRetired, Err: errors.New("switch the tenant to Microsoft Graph")}, domain.CodeConflict, "Microsoft Graph"},
		{"anything else", errors.New("connection reset by 10.1.2.3"), domain.CodeUpstream, "transient"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake.err = tc.err
			for _, call := range []func() error{
				func() error { _, err := r.RoomLists(ctx, "acme"); return err },
				func() error { _, err := r.List(ctx, "acme", ""); return err },
			} {
				err := call()
				var de *domain.Error
				if !errors.As(err, &de) || de.Code != tc.code || !strings.Contains(de.Message, tc.says) || strings.Contains(de.Message, "10.1.2.3") {
					t.Errorf("err %v; want %s saying %q, without the server's words", err, tc.code, tc.says)
				}
			}
		})
	}
	fake.err = domain.ErrRoomListNotFound
	if _, err := r.List(ctx, "acme", "nolist@acme.com"); !domain.IsNotFound(err) {
		t.Errorf("unknown list: %v, want not found", err)
	}
}
