package app

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/testsupport/storetest"
)

// namedConnector records which protocol's adapter served a call.
type namedConnector struct {
	name  string
	calls *[]string
}

func (c namedConnector) Connect(context.Context, domain.Tenant, domain.Credential) (domain.MailboxAccess, error) {
	*c.calls = append(*c.calls, c.name)
	return nil, nil
}

func (c namedConnector) CheckAccess(_ context.Context, _ domain.Tenant, m domain.Mailbox, _ domain.Credential) (domain.AccessReport, error) {
	*c.calls = append(*c.calls, c.name)
	return domain.AccessReport{Mailbox: m.Address, Status: domain.MailboxOK}, nil
}

// TestProtocolsRouteByTenant: each tenant's calls reach its protocol's
// adapter; an EWS tenant on Exchange Online is refused after the cutoff
// with the fix named, on-premises EWS is not; a missing adapter is a clear
// permanent error.
func TestProtocolsRouteByTenant(t *testing.T) {
	before := domain.EWSCutoff.Add(-time.Hour)
	after := domain.EWSCutoff.Add(time.Hour)
	cases := []struct {
		name     string
		tenant   domain.Tenant
		now      time.Time
		noGraph  bool
		wantCall string // adapter that served; "" = refused
		wantCode string
	}{
		{name: "graph tenant", tenant: domain.Tenant{ID: "a", Protocol: domain.ProtocolGraph}, now: after, wantCall: "graph"},
		{name: "legacy record is ews", tenant: domain.Tenant{ID: "a", EWSURL: onPremEWS}, now: after, wantCall: "ews"},
		{name: "ews on exchange online before the cutoff", tenant: domain.Tenant{ID: "a", Protocol: domain.ProtocolEWS, EWSURL: exoEWS}, now: before, wantCall: "ews"},
		{name: "ews on exchange online after the cutoff", tenant: domain.Tenant{ID: "a", Protocol: domain.ProtocolEWS, EWSURL: exoEWS}, now: after, wantCode: CodeEWSRetired},
		{name: "on-premises ews after the cutoff", tenant: domain.Tenant{ID: "a", Protocol: domain.ProtocolEWS, EWSURL: onPremEWS}, now: after, wantCall: "ews"},
		{name: "no graph adapter wired", tenant: domain.Tenant{ID: "a", Protocol: domain.ProtocolGraph}, now: before, noGraph: true, wantCode: "ProtocolNotConfigured"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var calls []string
			ews, graph := namedConnector{"ews", &calls}, namedConnector{"graph", &calls}
			p := Protocols{EWS: ProtocolAdapters{Connector: ews, Checker: ews}, Graph: ProtocolAdapters{Connector: graph, Checker: graph},
				Clock: storetest.NewClock(tc.now)}
			if tc.noGraph {
				p.Graph = ProtocolAdapters{}
			}
			_, err := p.Connect(context.Background(), tc.tenant, domain.Credential{})
			if tc.wantCode != "" {
				var ae *domain.AccessError
				if !errors.As(err, &ae) || ae.Code != tc.wantCode || ae.Kind != domain.AccessPermanent {
					t.Fatalf("Connect = %v, want permanent %s", err, tc.wantCode)
				}
				if len(calls) != 0 {
					t.Fatalf("an adapter was called: %v", calls)
				}
				return
			}
			if err != nil || len(calls) != 1 || calls[0] != tc.wantCall {
				t.Fatalf("Connect = %v, calls %v, want %s", err, calls, tc.wantCall)
			}
		})
	}
}

// TestCheckAccessAfterCutoff: verify reports an EWS tenant on Exchange
// Online after the cutoff as a failing mailbox naming the switch, not as
// a failed call.
func TestCheckAccessAfterCutoff(t *testing.T) {
	var calls []string
	ews := namedConnector{"ews", &calls}
	p := Protocols{EWS: ProtocolAdapters{Checker: ews}, Clock: storetest.NewClock(domain.EWSCutoff)}
	rep, err := p.CheckAccess(context.Background(), domain.Tenant{ID: "contoso", Protocol: domain.ProtocolEWS, EWSURL: exoEWS},
		domain.Mailbox{Address: "ann@contoso.com"}, domain.Credential{})
	if err != nil || rep.Status != domain.MailboxError || !containsAll(rep.Detail, "2027-04-01", `"protocol": "graph"`) || len(calls) != 0 {
		t.Fatalf("report %+v, err %v, calls %v", rep, err, calls)
	}
}

func TestTenantWarnings(t *testing.T) {
	exo := domain.Tenant{Protocol: domain.ProtocolEWS, EWSURL: exoEWS}
	cases := []struct {
		name   string
		tenant domain.Tenant
		now    time.Time
		want   string // warning code; "" = none
	}{
		{name: "long before", tenant: exo, now: domain.EWSCutoff.Add(-2 * EWSWarningWindow)},
		{name: "in the last year", tenant: exo, now: time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC), want: "ews_retiring"},
		{name: "at the cutoff", tenant: exo, now: domain.EWSCutoff, want: "ews_retired"},
		{name: "on-premises", tenant: domain.Tenant{Protocol: domain.ProtocolEWS, EWSURL: onPremEWS}, now: domain.EWSCutoff},
		{name: "graph", tenant: domain.Tenant{Protocol: domain.ProtocolGraph, EWSURL: exoEWS}, now: domain.EWSCutoff},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := TenantWarnings(tc.tenant, tc.now)
			switch {
			case tc.want == "" && len(w) != 0:
				t.Fatalf("warnings %+v, want none", w)
			case tc.want != "" && (len(w) != 1 || w[0].Code != tc.want || !containsAll(w[0].Message, "graph", "2027-04-01")):
				t.Fatalf("warnings %+v, want %s", w, tc.want)
			}
		})
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

func (c namedConnector) ConnectAvailability(_ context.Context, _ domain.Tenant, _ domain.Credential, actAs string) (domain.AvailabilityReader, error) {
	*c.calls = append(*c.calls, c.name+" availability as "+actAs)
	return nil, nil
}

func (c namedConnector) ConnectRooms(_ context.Context, _ domain.Tenant, _ domain.Credential, actAs string) (domain.RoomDirectory, error) {
	*c.calls = append(*c.calls, c.name+" rooms as "+actAs)
	return nil, nil
}

// TestProtocolsRouteScheduling: free/busy and rooms reach the tenant's
// protocol's adapter (rooms with the mailbox to act as); a protocol
// without them wired is a clear permanent error.
func TestProtocolsRouteScheduling(t *testing.T) {
	var calls []string
	ews, graph := namedConnector{"ews", &calls}, namedConnector{"graph", &calls}
	p := Protocols{EWS: ProtocolAdapters{Availability: ews, Rooms: ews}, Graph: ProtocolAdapters{Availability: graph, Rooms: graph}}
	ctx := context.Background()
	ewsT, graphT := domain.Tenant{ID: "a", EWSURL: onPremEWS}, domain.Tenant{ID: "b", Protocol: domain.ProtocolGraph}
	for _, tn := range []domain.Tenant{ewsT, graphT} {
		if _, err := p.ConnectAvailability(ctx, tn, domain.Credential{}, "ann@contoso.com"); err != nil {
			t.Fatal(err)
		}
		if _, err := p.ConnectRooms(ctx, tn, domain.Credential{}, "ann@contoso.com"); err != nil {
			t.Fatal(err)
		}
	}
	if got := strings.Join(calls, "; "); got != "ews availability as ann@contoso.com; ews rooms as ann@contoso.com; graph availability as ann@contoso.com; graph rooms as ann@contoso.com" {
		t.Errorf("calls: %s", got)
	}
	none := Protocols{EWS: ProtocolAdapters{Connector: ews}}
	for name, call := range map[string]func() error{
		"availability": func() error { _, err := none.ConnectAvailability(ctx, ewsT, domain.Credential{}, ""); return err },
		"rooms":        func() error { _, err := none.ConnectRooms(ctx, ewsT, domain.Credential{}, ""); return err },
	} {
		var ae *domain.AccessError
		if err := call(); !errors.As(err, &ae) || ae.Code != "ProtocolNotConfigured" || !strings.Contains(ae.Error(), name) {
			t.Errorf("%s without an adapter: %v", name, err)
		}
	}
}
