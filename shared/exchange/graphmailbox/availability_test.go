package graphmailbox_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ewsmailbox"
	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
	"github.com/mailbridge/mailbridge/shared/platform/urlguard"
)

// TestAvailabilityBothProtocols: free/busy of the same simulated calendars
// read over Graph (getSchedule) and over EWS (GetUserAvailability) gives the
// same busy intervals, which are the calendar items overlapping the
// window; each protocol states its batch limits. A mailbox outside the
// app's scope differs, as in Exchange: EWS answers any mailbox of the
// organisation's free/busy (everyone may see free/busy by default), Graph
// applies the app's scope and fails that one mailbox alone.
func TestAvailabilityBothProtocols(t *testing.T) {
	e := newSimEnv(t)
	ctx := context.Background()
	day := time.Now().UTC().Truncate(24 * time.Hour).Add(48 * time.Hour)
	meetings := []struct {
		mailbox    string
		start, end time.Duration // from day
	}{
		{alice, 9 * time.Hour, 10 * time.Hour},
		{alice, 13 * time.Hour, 14*time.Hour + 30*time.Minute},
		{bob, 10 * time.Hour, 11 * time.Hour},
		{bob, 30 * time.Hour, 31 * time.Hour}, // the next day: outside the window
	}
	for _, m := range meetings {
		e.add(m.mailbox, "calendar", ewssim.Item{Kind: ewssim.KindCalendar, Subject: "Busy", Start: day.Add(m.start), End: day.Add(m.end), Organizer: ewssim.Address{Email: m.mailbox}})
	}
	want := map[string][]domain.BusyInterval{}
	for _, m := range meetings {
		if m.start < 24*time.Hour {
			want[m.mailbox] = append(want[m.mailbox], domain.BusyInterval{Start: day.Add(m.start), End: day.Add(m.end), Status: domain.BusyBusy})
		}
	}

	graphReader, err := e.conn.ConnectAvailability(ctx, e.tenant, e.cred, "")
	if err != nil {
		t.Fatal(err)
	}
	ewsTenant := domain.Tenant{ID: "t1", Protocol: domain.ProtocolEWS, EWSURL: e.srv.EWSURL, ExchangeVersion: domain.DefaultExchangeVersion,
		AuthKind: domain.AuthOAuthSecret, AccessMode: domain.AccessImpersonation}
	ewsConn := ewsmailbox.NewAvailabilityConnector(ewsmailbox.Options{URLGuard: &urlguard.Policy{DevLoopback: true}, RootCAs: e.srv.CertPool()})
	ewsReader, err := ewsConn.ConnectAvailability(ctx, ewsTenant, e.cred, "")
	if err != nil {
		t.Fatal(err)
	}
	readers := []struct {
		name          string
		r             domain.AvailabilityReader
		maxBoxes      int
		outOfScopeErr bool
	}{
		{"graph", graphReader, 20, true},
		{"ews", ewsReader, 100, false},
	}
	for _, rd := range readers {
		t.Run(rd.name, func(t *testing.T) {
			if got := rd.r.Limits().MaxMailboxes; got != rd.maxBoxes {
				t.Fatalf("batch limit %d, want %d", got, rd.maxBoxes)
			}
			res, err := rd.r.Availability(ctx, []string{alice, bob, carol}, day, day.Add(24*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if len(res) != 3 {
				t.Fatalf("%d answers, want 3", len(res))
			}
			for _, m := range []string{alice, bob} {
				got := res[slices.IndexFunc(res, func(a domain.MailboxAvailability) bool { return a.Mailbox == m })]
				if got.Err != nil || !sameIntervals(got.Busy, want[m]) {
					t.Errorf("%s: busy %+v err %v, want %+v", m, got.Busy, got.Err, want[m])
				}
			}
			if res[2].Mailbox != carol || (res[2].Err != nil) != rd.outOfScopeErr || (!rd.outOfScopeErr && len(res[2].Busy) != 0) {
				t.Errorf("carol (out of the app's scope): %+v, want error %v", res[2], rd.outOfScopeErr)
			}
		})
	}
}

func sameIntervals(a, b []domain.BusyInterval) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].Start.Equal(b[i].Start) || !a[i].End.Equal(b[i].End) || a[i].Status != b[i].Status {
			return false
		}
	}
	return true
}
