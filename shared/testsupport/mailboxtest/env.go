// Package mailboxtest is the contract suite of the domain's mailbox ports
// (domain.Connector, domain.CalendarConnector, domain.AccessChecker): the
// promises the sync, calendar-write and verify use cases rely on, checked
// the same way for every protocol on its simulator. Run takes an Env
// builder; EWS and Graph build one for each protocol over one
// ewssim.Sim mailbox store, so a mutation made through the simulator
// shows in both.
//
// Reads are checked through the real use case: app.Syncer into a bbolt
// store, reading the change feed a consumer reads. Where the protocols
// truly differ the Env says so (MoveKeepsID); the cases never look at
// which protocol they run on.
//
// Availability (free/busy) is checked through the port and through the
// use case behind POST /tenants/{id}/availability (app.Availability):
// batches, per-mailbox failures, free slots against a brute-force check.
package mailboxtest

import (
	"slices"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ewsmailbox"
	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
	"github.com/mailbridge/mailbridge/shared/exchange/graphmailbox"
	"github.com/mailbridge/mailbridge/shared/exchange/graphsim"
	"github.com/mailbridge/mailbridge/shared/platform/urlguard"
	"github.com/mailbridge/mailbridge/shared/testsupport/secretscan"
)

// Env is one protocol's mailbox ports on its simulator.
type Env struct {
	// Sim is the mailbox store both protocols serve; the suite mutates
	// mailboxes through it.
	Sim *ewssim.Sim
	// Graph is the Graph front end over Sim (faults, stats); nil on EWS.
	Graph *graphsim.Server
	// Tenant is ready to store: id, protocol, endpoint, auth kind, access
	// mode.
	Tenant     domain.Tenant
	Credential domain.Credential
	// Account is the simulator account the credential signs in as; its
	// impersonation scope is the Graph app's scope too (AddInScope).
	Account string
	// BadCredential is Credential with a wrong secret.
	BadCredential domain.Credential
	// Mailboxes the credential may read, each with ItemsPerMailbox
	// generated items (mail, calendar, contacts).
	Mailboxes []string
	// OutOfScope exists but is outside what the credential may reach (the
	// impersonation scope, the app's RBAC management scope).
	OutOfScope string

	Connector    domain.Connector
	Calendar     domain.CalendarConnector
	Checker      domain.AccessChecker
	Availability domain.AvailabilityConnector
	// AvailabilityScoped: free/busy of a mailbox outside the credential's
	// scope fails (Graph applies the app's scope); otherwise it answers
	// (EWS: every mailbox of the organisation shows free/busy by default).
	AvailabilityScoped bool
	Rooms              domain.RoomConnector
	// RoomDetails: rooms come with capacity, building and floor (Graph
	// places); otherwise name and address only (EWS GetRooms).
	RoomDetails bool
	People      domain.PeopleConnector
	// RoomCalendar acts on room meetings (the room policy).
	RoomCalendar domain.RoomCalendarConnector
	// Content reads items' MIME (on demand, and the sync's archive export).
	Content domain.ContentConnector
	// PeopleByStart: the lookup matches the start of a name or an address
	// (Graph users); otherwise any part (EWS ambiguous name resolution).
	PeopleByStart bool
	// PeopleContacts: the lookup finds the mailbox's own contacts too
	// (EWS ResolveNames); Graph looks up the directory's users only.
	PeopleContacts bool

	// ItemID maps the simulator's item id (ewssim.ItemRef.ID, an EWS id)
	// to the id the protocol reports in the feed and in write results.
	ItemID func(simID string) (string, error)
	// MoveKeepsID: an item keeps its id when it moves between folders
	// (Graph's immutable ids), so a move between synced folders is a
	// delete and a create of that one id (the source folder synced
	// first), or one update of it (the target first). Otherwise (EWS) the
	// move is a delete of the old id and a create of the new one.
	MoveKeepsID bool
	// Hints holds, per status an access check reports, a phrase of the
	// fix hint the application writes for it (app.ReportHint): the
	// protocol's own fix. None for ok.
	Hints map[domain.MailboxStatus]string
	// Calls counts the requests the simulator admitted for this protocol.
	Calls func() int64
}

// Options size an Env.
type Options struct {
	Mailboxes       int    // default 1
	ItemsPerMailbox int    // default 40
	Seed            uint64 // default 7
	// Now anchors the generated calendar; default the system clock (the
	// Graph calendar window is the connector's clock's).
	Now time.Time
	// Timeout bounds each call of the protocol's client; 0: the client's
	// default (a fault suite's hang ends after it).
	Timeout time.Duration
	// BodyFormat is the tenant's body format (domain.BodyFormatText or
	// BodyFormatHTML); empty: text.
	BodyFormat string
}

func (o *Options) defaults() {
	if o.Mailboxes <= 0 {
		o.Mailboxes = 1
	}
	if o.ItemsPerMailbox <= 0 {
		o.ItemsPerMailbox = 40
	}
	if o.Seed == 0 {
		o.Seed = 7
	}
	if o.Now.IsZero() {
		o.Now = time.Now().UTC()
	}
}

// UnknownMailbox exists in no Env.
const UnknownMailbox = "nobody@contoso.com"

// OutOfScopeMailbox is the mailbox every Env holds outside its scope.
const OutOfScopeMailbox = "outsider@contoso.com"

// world builds the simulator: generated mailboxes, one more outside the
// account's scope, the account scoped to the generated ones.
func world(t testing.TB, o Options) (*ewssim.Sim, ewssim.Dataset) {
	t.Helper()
	o.defaults()
	sim := ewssim.New(ewssim.Options{Seed: o.Seed, MaxConcurrency: -1})
	ds, err := sim.Generate(ewssim.GenOptions{Mailboxes: o.Mailboxes, ItemsPerMailbox: o.ItemsPerMailbox, Seed: o.Seed, Base: o.Now.Truncate(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.AddMailbox(OutOfScopeMailbox, "Outsider"); err != nil {
		t.Fatal(err)
	}
	if err := sim.SetImpersonationScope(ds.Account.Username, ds.Mailboxes, false); err != nil {
		t.Fatal(err)
	}
	return sim, ds
}

var devGuard = &urlguard.Policy{DevLoopback: true}

// contentMax bounds what an Env's content reader reads (the simulator's
// messages are kilobytes).
const contentMax = 16 << 20

// EWS is the EWS adapters on ewssim over HTTP: Basic credentials,
// impersonation.
func EWS(t testing.TB, o Options) Env {
	t.Helper()
	sim, ds := world(t, o)
	srv, err := sim.Start(false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	opts := ewsmailbox.Options{URLGuard: devGuard, Timeout: o.Timeout}
	cred := domain.Credential{Kind: domain.AuthBasic, Username: ds.Account.Username, Password: ds.Account.Password}
	bad := cred
	bad.Password = "Wr0ng-Passw0rd"
	secretscan.Register(cred, bad)
	return Env{
		Sim: sim,
		Tenant: domain.Tenant{ID: "acme", DisplayName: "Acme", Protocol: domain.ProtocolEWS, EWSURL: srv.EWSURL, ExchangeVersion: "Exchange2016",
			AuthKind: domain.AuthBasic, AccessMode: domain.AccessImpersonation, BodyFormat: o.BodyFormat},
		Credential: cred, BadCredential: bad, Account: ds.Account.Username,
		Mailboxes: ds.Mailboxes, OutOfScope: OutOfScopeMailbox,
		Connector:    ewsmailbox.NewConnector(opts),
		Calendar:     ewsmailbox.NewCalendarConnector(opts),
		Checker:      ewsmailbox.NewChecker(ewsmailbox.CheckerOptions{Client: opts}),
		Availability: ewsmailbox.NewAvailabilityConnector(opts),
		Rooms:        ewsmailbox.NewRoomConnector(opts),
		People:       ewsmailbox.NewPeopleConnector(opts), PeopleContacts: true,
		RoomCalendar: ewsmailbox.NewRoomCalendarConnector(opts),
		Content:      ewsmailbox.NewContentConnector(opts, contentMax),
		ItemID:       func(id string) (string, error) { return id, nil },
		Hints: map[domain.MailboxStatus]string{domain.MailboxOutOfScope: "ApplicationImpersonation role assignment",
			domain.MailboxNotFound: "no mailbox " + UnknownMailbox, domain.MailboxAuthFailed: "Check the password of " + ds.Account.Username},
		Calls: func() int64 { return sim.Stats().TotalCalls() },
	}
}

// GraphOptions are the Graph simulator's and adapter's knobs an app test
// turns.
type GraphOptions struct {
	Options
	Sim graphsim.Options // Seed defaults to Options.Seed
}

// Graph is the Graph adapters on graphsim over TLS (MSAL wants https):
// an app registration with a client secret, application access scoped
// like an RBAC for Applications management scope.
func Graph(t testing.TB, o Options) Env { return GraphWith(t, GraphOptions{Options: o}) }

// GraphWith is Graph with the simulator's options.
func GraphWith(t testing.TB, o GraphOptions) Env {
	t.Helper()
	o.defaults()
	sim, ds := world(t, o.Options)
	if o.Sim.Seed == 0 {
		o.Sim.Seed = o.Seed
	}
	g := graphsim.New(sim, o.Sim)
	srv, err := g.Start(true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	cred := domain.Credential{Kind: domain.AuthOAuthSecret, EntraTenant: ds.Account.Tenant, ClientID: ds.Account.ClientID,
		ClientSecret: ds.Account.ClientSecret, Authority: srv.URL}
	bad := cred
	bad.ClientSecret = "wrong-client-secret"
	secretscan.Register(cred, bad)
	// The generated calendar spans 60 days back: the window reaches
	// further back than the default so both protocols see every event.
	conn := graphmailbox.NewConnector(graphmailbox.Options{URLGuard: devGuard, RootCAs: srv.CertPool(), CalendarBack: 90 * 24 * time.Hour,
		Timeout: o.Timeout, Logger: secretscan.Logger()})
	return Env{
		Sim: sim, Graph: g,
		Tenant: domain.Tenant{ID: "acme", DisplayName: "Acme", Protocol: domain.ProtocolGraph, IDFormat: domain.IDFormatGraph, GraphURL: srv.GraphURL,
			AuthKind: domain.AuthOAuthSecret, AccessMode: domain.AccessApplication, BodyFormat: o.BodyFormat},
		Credential: cred, BadCredential: bad, Account: ds.Account.Username,
		Mailboxes: ds.Mailboxes, OutOfScope: OutOfScopeMailbox,
		Connector: conn, Calendar: conn, Checker: conn, Availability: conn, AvailabilityScoped: true, Rooms: conn, RoomDetails: true,
		People: conn, PeopleByStart: true, RoomCalendar: conn, Content: conn,
		ItemID:      sim.ImmutableID,
		MoveKeepsID: true,
		Hints: map[domain.MailboxStatus]string{domain.MailboxOutOfScope: "RBAC for Applications limits it to a management scope",
			domain.MailboxNotFound: "no mailbox " + UnknownMailbox, domain.MailboxAuthFailed: "client secret (not the secret's id) is current"},
		Calls: func() int64 { return g.Stats().TotalCalls() },
	}
}

// AddInScope adds empty mailboxes to the simulator, inside the
// credential's scope (with the Env's own mailboxes).
func (e Env) AddInScope(t testing.TB, addrs ...string) {
	t.Helper()
	for _, a := range addrs {
		if err := e.Sim.AddMailbox(a, a); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Sim.SetImpersonationScope(e.Account, append(slices.Clone(e.Mailboxes), addrs...), false); err != nil {
		t.Fatal(err)
	}
}
