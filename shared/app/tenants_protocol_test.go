package app

import (
	"context"
	"testing"

	"github.com/mailbridge/mailbridge/shared/domain"
)

var (
	protoApp   = domain.Credential{Kind: domain.AuthOAuthSecret, EntraTenant: "contoso.onmicrosoft.com", ClientID: "app-1", ClientSecret: "Proto-app-secret"}
	protoBasic = domain.Credential{Kind: domain.AuthBasic, Username: "svc", Password: "Proto-basic-pw"}
)

const (
	exoEWS    = "https://outlook.office365.com/EWS/Exchange.asmx"
	onPremEWS = "https://mail.contoso.com/EWS/Exchange.asmx"
)

// TestOnboardProtocol: which protocol, mode and Graph endpoint a new tenant
// gets, and the combinations refused with the field to fix.
func TestOnboardProtocol(t *testing.T) {
	cases := []struct {
		name      string
		in        NewTenant
		wantProto domain.Protocol
		wantMode  domain.AccessMode
		wantGraph string // Tenant.GraphEndpoint()
		wantField string // refused: the field named
	}{
		{name: "entra app on exchange online defaults to graph", in: NewTenant{EWSURL: exoEWS, Credential: protoApp},
			wantProto: domain.ProtocolGraph, wantMode: domain.AccessApplication, wantGraph: domain.DefaultGraphURL},
		{name: "entra app without an EWS URL is graph", in: NewTenant{Credential: protoApp},
			wantProto: domain.ProtocolGraph, wantMode: domain.AccessApplication, wantGraph: domain.DefaultGraphURL},
		{name: "GCC High EWS host picks its Graph endpoint", in: NewTenant{EWSURL: "https://outlook.office365.us/EWS/Exchange.asmx", Credential: protoApp},
			wantProto: domain.ProtocolGraph, wantMode: domain.AccessApplication, wantGraph: "https://graph.microsoft.us/v1.0"},
		{name: "explicit graph URL wins", in: NewTenant{Credential: protoApp, GraphURL: "https://graph.example.com/v1.0"},
			wantProto: domain.ProtocolGraph, wantMode: domain.AccessApplication, wantGraph: "https://graph.example.com/v1.0"},
		{name: "on-premises stays on EWS", in: NewTenant{EWSURL: onPremEWS, Credential: protoApp},
			wantProto: domain.ProtocolEWS, wantMode: domain.AccessImpersonation},
		{name: "basic auth on exchange online stays on EWS", in: NewTenant{EWSURL: exoEWS, Credential: protoBasic},
			wantProto: domain.ProtocolEWS, wantMode: domain.AccessImpersonation},
		{name: "explicit ews on exchange online", in: NewTenant{EWSURL: exoEWS, Protocol: domain.ProtocolEWS, Credential: protoApp, AccessMode: domain.AccessDelegate},
			wantProto: domain.ProtocolEWS, wantMode: domain.AccessDelegate},
		{name: "graph with basic auth", in: NewTenant{Protocol: domain.ProtocolGraph, EWSURL: onPremEWS, Credential: protoBasic}, wantField: "credentials.kind"},
		{name: "graph with delegate access", in: NewTenant{Protocol: domain.ProtocolGraph, Credential: protoApp, AccessMode: domain.AccessDelegate}, wantField: "accessMode"},
		{name: "graph with fallback", in: NewTenant{Protocol: domain.ProtocolGraph, Credential: protoApp, AllowFallback: true}, wantField: "allowFallback"},
		{name: "ews with application access", in: NewTenant{EWSURL: onPremEWS, Credential: protoApp, AccessMode: domain.AccessApplication}, wantField: "accessMode"},
		{name: "ews without URL", in: NewTenant{Protocol: domain.ProtocolEWS, Credential: protoApp}, wantField: "ewsUrl"},
		{name: "basic auth without URL", in: NewTenant{Credential: protoBasic}, wantField: "ewsUrl"},
		{name: "unknown protocol", in: NewTenant{Protocol: "rest", Credential: protoApp}, wantField: "protocol"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts, _ := newTestTenants(t, &tenantsCallLog{})
			tc.in.ID = "contoso"
			got, err := ts.Onboard(context.Background(), tc.in)
			if tc.wantField != "" {
				de, ok := err.(*domain.Error)
				if !ok || de.Code != domain.CodeInvalid || de.Field != tc.wantField {
					t.Fatalf("Onboard = %v, want invalid %s", err, tc.wantField)
				}
				if _, gerr := ts.Get(context.Background(), "contoso"); !domain.IsNotFound(gerr) {
					t.Fatalf("a refused onboarding stored the tenant: %v", gerr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.ProtocolOf() != tc.wantProto || got.AccessMode != tc.wantMode {
				t.Fatalf("protocol %q mode %q, want %q %q", got.ProtocolOf(), got.AccessMode, tc.wantProto, tc.wantMode)
			}
			if tc.wantProto == domain.ProtocolGraph && got.GraphEndpoint() != tc.wantGraph {
				t.Fatalf("graph endpoint %q, want %q", got.GraphEndpoint(), tc.wantGraph)
			}
			stored, _ := ts.Get(context.Background(), "contoso")
			if stored.ProtocolOf() != tc.wantProto {
				t.Fatalf("stored protocol %q", stored.ProtocolOf())
			}
			// The id format follows the protocol the tenant is onboarded on.
			if want := domain.IDFormat(tc.wantProto); stored.IDFormat != want {
				t.Fatalf("stored id format %q, want %q", stored.IDFormat, want)
			}
		})
	}
}

// TestSwitchProtocol: PATCH {"protocol": ...} alone switches a tenant, with
// the mode following; what the new protocol cannot take is refused and
// changes nothing.
func TestSwitchProtocol(t *testing.T) {
	graph, ews := domain.ProtocolGraph, domain.ProtocolEWS
	delegate := domain.AccessDelegate
	cases := []struct {
		name      string
		cred      domain.Credential
		start     NewTenant
		patch     TenantPatch
		wantProto domain.Protocol
		wantMode  domain.AccessMode
		wantField string
	}{
		{name: "ews to graph with an entra app", cred: protoApp,
			start: NewTenant{EWSURL: exoEWS, Protocol: ews, AccessMode: domain.AccessImpersonation, AllowFallback: true},
			patch: TenantPatch{Protocol: &graph}, wantProto: graph, wantMode: domain.AccessApplication},
		{name: "graph back to ews", cred: protoApp, start: NewTenant{EWSURL: exoEWS},
			patch: TenantPatch{Protocol: &ews}, wantProto: ews, wantMode: domain.AccessImpersonation},
		{name: "graph back to ews with a mode", cred: protoApp, start: NewTenant{EWSURL: exoEWS},
			patch: TenantPatch{Protocol: &ews, AccessMode: &delegate}, wantProto: ews, wantMode: domain.AccessDelegate},
		{name: "ews with basic auth cannot switch", cred: protoBasic, start: NewTenant{EWSURL: exoEWS},
			patch: TenantPatch{Protocol: &graph}, wantField: "credentials.kind"},
		{name: "graph without an EWS URL cannot switch to ews", cred: protoApp, start: NewTenant{},
			patch: TenantPatch{Protocol: &ews}, wantField: "ewsUrl"},
		{name: "graph tenant refuses a delegate mode", cred: protoApp, start: NewTenant{},
			patch: TenantPatch{AccessMode: &delegate}, wantField: "accessMode"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts, _ := newTestTenants(t, &tenantsCallLog{})
			ctx := context.Background()
			tc.start.ID, tc.start.Credential = "contoso", tc.cred
			before, err := ts.Onboard(ctx, tc.start)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ts.Update(ctx, "contoso", tc.patch)
			if tc.wantField != "" {
				if de, ok := err.(*domain.Error); !ok || de.Field != tc.wantField {
					t.Fatalf("Update = %v, want invalid %s", err, tc.wantField)
				}
				after, _ := ts.Get(ctx, "contoso")
				if after.Version != before.Version || after.ProtocolOf() != before.ProtocolOf() || after.AccessMode != before.AccessMode {
					t.Fatalf("a refused patch changed the tenant: %+v", after)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.ProtocolOf() != tc.wantProto || got.AccessMode != tc.wantMode {
				t.Fatalf("protocol %q mode %q, want %q %q", got.ProtocolOf(), got.AccessMode, tc.wantProto, tc.wantMode)
			}
			// A switch never changes the ids the consumer holds.
			if got.IDFormatOf() != before.IDFormatOf() {
				t.Fatalf("id format %q after the switch, was %q", got.IDFormatOf(), before.IDFormatOf())
			}
			if got.ProtocolOf() == graph && got.AllowFallback {
				t.Fatal("a graph tenant kept allowFallback")
			}
		})
	}
}

// TestLegacyRecordStaysEWS: a tenant stored before Graph (no protocol) on
// Exchange Online with an Entra app is an EWS tenant; an unrelated PATCH
// must not move it to Graph behind the operator's back.
func TestLegacyRecordStaysEWS(t *testing.T) {
	ts, st := newTestTenants(t, &tenantsCallLog{})
	ctx := context.Background()
	if _, err := ts.Onboard(ctx, NewTenant{ID: "contoso", EWSURL: exoEWS, Protocol: domain.ProtocolEWS, Credential: protoApp}); err != nil {
		t.Fatal(err)
	}
	legacy, _ := ts.Get(ctx, "contoso")
	legacy.Protocol = ""
	if err := st.Store.UpdateTenant(ctx, legacy); err != nil {
		t.Fatal(err)
	}
	name := "Contoso"
	got, err := ts.Update(ctx, "contoso", TenantPatch{DisplayName: &name})
	if err != nil {
		t.Fatal(err)
	}
	if got.ProtocolOf() != domain.ProtocolEWS || got.AccessMode != domain.AccessImpersonation {
		t.Fatalf("legacy tenant became %q / %q", got.ProtocolOf(), got.AccessMode)
	}
}

// TestGraphTenantMailboxesAndRotation: a graph tenant's mailboxes take no
// EWS mode override, and its credential cannot rotate to basic auth.
func TestGraphTenantMailboxesAndRotation(t *testing.T) {
	ts, _ := newTestTenants(t, &tenantsCallLog{})
	ctx := context.Background()
	if _, err := ts.Onboard(ctx, NewTenant{ID: "contoso", Credential: protoApp}); err != nil {
		t.Fatal(err)
	}
	res, err := ts.AddMailboxes(ctx, "contoso", []NewMailbox{
		{Address: "ann@contoso.com"},
		{Address: "bob@contoso.com", AccessMode: domain.AccessDelegate},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Outcome != MailboxAdded || res[1].Outcome != MailboxInvalid || res[1].Error.Field != "accessMode" {
		t.Fatalf("results %+v", res)
	}
	_, _, err = ts.RotateCredential(ctx, "contoso", protoBasic, "ann@contoso.com")
	if de, ok := err.(*domain.Error); !ok || de.Field != "credentials.kind" {
		t.Fatalf("rotation to basic = %v, want invalid credentials.kind", err)
	}
	if got, _ := ts.Get(ctx, "contoso"); got.AuthKind != domain.AuthOAuthSecret {
		t.Fatalf("auth kind became %q", got.AuthKind)
	}
}

// TestCalendarWindow: the window a Graph tenant syncs is validated on
// create and patch (a refusal names the field and changes nothing) and
// stored as given; zero fields mean the defaults.
func TestCalendarWindow(t *testing.T) {
	cases := []struct {
		name      string
		w         domain.CalendarWindow
		wantField string
		past, fut int
	}{
		{name: "defaults", past: domain.DefaultCalendarPastDays, fut: domain.DefaultCalendarFutureDays},
		{name: "given", w: domain.CalendarWindow{PastDays: 7, FutureDays: 90}, past: 7, fut: 90},
		{name: "only the past", w: domain.CalendarWindow{PastDays: 365}, past: 365, fut: domain.DefaultCalendarFutureDays},
		{name: "negative past", w: domain.CalendarWindow{PastDays: -1}, wantField: "calendarWindow.pastDays"},
		{name: "future too far", w: domain.CalendarWindow{FutureDays: domain.MaxCalendarFutureDays + 1}, wantField: "calendarWindow.futureDays"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts, _ := newTestTenants(t, &tenantsCallLog{})
			ctx := context.Background()
			got, err := ts.Onboard(ctx, NewTenant{ID: "contoso", Credential: protoApp, CalendarWindow: tc.w})
			if tc.wantField != "" {
				if de, ok := err.(*domain.Error); !ok || de.Field != tc.wantField {
					t.Fatalf("Onboard = %v, want invalid %s", err, tc.wantField)
				}
				if _, err := ts.Onboard(ctx, NewTenant{ID: "contoso", Credential: protoApp}); err != nil {
					t.Fatal(err)
				}
				before, _ := ts.Get(ctx, "contoso")
				if _, err := ts.Update(ctx, "contoso", TenantPatch{CalendarWindow: &tc.w}); err == nil {
					t.Fatal("the patch was accepted")
				}
				if after, _ := ts.Get(ctx, "contoso"); after.Version != before.Version {
					t.Fatal("a refused patch changed the tenant")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p, f := got.CalendarWindow.Days(); p != tc.past || f != tc.fut {
				t.Fatalf("window %d/%d days, want %d/%d", p, f, tc.past, tc.fut)
			}
		})
	}
}
