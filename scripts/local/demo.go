package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
	"github.com/mailbridge/mailbridge/shared/exchange/graphsim"
)

// The demo: a simulated Exchange with about 50 mailboxes of mixed mail,
// calendar and contacts, and a tenant "demo" that reaches them by
// impersonation over EWS, or (--demo-protocol graph) as an Entra app over
// Microsoft Graph, onboarded through app.Tenants like an API call would.
const (
	demoTenantID  = "demo"
	demoSeed      = 20261123
	demoMailboxes = 50
	demoItems     = 120 // per mailbox
	// demoVerifyMax: larger demos (benchmarks) skip the access check at
	// onboarding; their mailboxes start pending and the first sync sets
	// their status.
	demoVerifyMax = 200

	// The graph demo's Entra app. Its scope (the simulator's impersonation
	// scope, standing for an RBAC for Applications scope) is the demo's
	// mailboxes. Fixed values: the simulator is regenerated every run.
	demoGraphClientID = "5b1d6a52-0c1b-4f53-9d1e-6d656d6f0010"
	demoGraphSecret   = "demo-graph-client-secret"
)

// demoOptions shape the simulator and the demo tenant; the defaults are
// the demo, benchmarks change them.
type demoOptions struct {
	Mailboxes      int
	Items          int // per mailbox
	Latency        time.Duration
	MaxConcurrency int               // the simulator's budget per owner; 0 = 27
	BackOff        time.Duration     // the simulator's ErrorServerBusy back-off; 0 = 1s
	Mode           domain.AccessMode // EWS only; default impersonation
	Protocol       domain.Protocol   // default EWS
	Folders        []string          // default: the tenant default
	MaxJobs        int               // delegate: the tenant's MaxConcurrentJobs
}

// demoBase anchors generated dates, so every run generates the same data:
// the data directories made before the anchor was kept in demo.json use
// it; later ones keep the day of their first run (demoState.Base), so the
// demo's meetings stay within the window Graph syncs calendars over.
var demoBase = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

func (o demoOptions) protocol() domain.Protocol {
	if o.Protocol == "" {
		return domain.ProtocolEWS
	}
	return o.Protocol
}

// demo is the running simulator and what it holds.
type demo struct {
	sim      *ewssim.Sim
	server   *ewssim.Server
	protocol domain.Protocol
	// graph and graphURL are set for the graph demo: graphsim over sim,
	// served with EWS and the OAuth authority on server (TLS).
	graph    *graphsim.Server
	graphURL string
	dataset  ewssim.Dataset
	file     string    // demo.json in the data directory
	rounds   int       // mutation rounds applied so far (persisted)
	base     time.Time // anchors generated and mutated dates (persisted)
	// lastChanges is how many feed changes this run's last round made.
	lastChanges int
	opts        demoOptions
}

// demoState is persisted between runs. The simulator lives in memory and
// is regenerated from the same seed on every start; replaying the recorded
// mutation rounds brings it back to the state the stored sync checkpoints
// point into, so a restart syncs only what changed, like a real server.
type demoState struct {
	Mailboxes int `json:"mailboxes"`
	Items     int `json:"items"`
	Rounds    int `json:"rounds"`
	// Protocol is the demo tenant's; empty in files written before Graph
	// (EWS).
	Protocol domain.Protocol `json:"protocol,omitempty"`
	// Base anchors the dates (zero in older files: demoBase).
	Base time.Time `json:"base,omitzero"`
	// Port is the simulator's last port, taken again when free: Graph's
	// saved delta links and the demo app's authority name it.
	Port int `json:"port,omitempty"`
}

// addDemoRooms gives the demo organisation eight meeting rooms in two
// room lists (GET /tenants/demo/roomlists, /rooms; POST .../availability)
// and returns their addresses.
func addDemoRooms(sim *ewssim.Sim) ([]string, error) {
	var all []string
	for _, l := range []struct {
		addr, name, building string
		n                    int
	}{{"rooms-hq@contoso.com", "HQ", "HQ", 5}, {"rooms-annex@contoso.com", "Annex", "Annex", 3}} {
		var rooms []string
		for i := range l.n {
			a := fmt.Sprintf("room-%s-%d@contoso.com", strings.ToLower(l.building), i+1)
			if err := sim.AddRoom(ewssim.Room{Address: a, DisplayName: fmt.Sprintf("%s %d", l.building, i+1), Capacity: 4 + 2*i, Building: l.building, FloorNumber: 1 + i%3}); err != nil {
				return nil, err
			}
			rooms = append(rooms, a)
		}
		if err := sim.AddRoomList(l.addr, l.name, rooms...); err != nil {
			return nil, err
		}
		all = append(all, rooms...)
	}
	return all, nil
}

func startDemo(dataDir string, o demoOptions) (*demo, error) {
	file := filepath.Join(dataDir, "demo.json")
	var st demoState
	switch b, err := os.ReadFile(file); {
	case err == nil:
		if err := json.Unmarshal(b, &st); err != nil {
			return nil, fmt.Errorf("%s is damaged (%v); delete it together with mailbridge.db to start the demo afresh", file, err)
		}
	case !errors.Is(err, os.ErrNotExist):
		return nil, err
	}
	if st.Mailboxes != 0 && (st.Mailboxes != o.Mailboxes || st.Items != o.Items) {
		return nil, fmt.Errorf("the data directory %s holds a demo of %d mailboxes with %d items each; run with --demo-mailboxes %d --demo-items %d, or use another --data",
			dataDir, st.Mailboxes, st.Items, st.Mailboxes, st.Items)
	}
	base := st.Base
	switch {
	case st.Mailboxes == 0:
		base = time.Now().UTC().Truncate(24 * time.Hour).Add(9 * time.Hour)
	case base.IsZero():
		base = demoBase
	}
	sim := ewssim.New(ewssim.Options{Seed: demoSeed, Latency: o.Latency, MaxConcurrency: o.MaxConcurrency, BackOff: o.BackOff})
	ds, err := sim.Generate(ewssim.GenOptions{Mailboxes: o.Mailboxes, ItemsPerMailbox: o.Items, Seed: demoSeed, Base: base})
	if err != nil {
		return nil, err
	}
	rooms, err := addDemoRooms(sim)
	if err != nil {
		return nil, err
	}
	d := &demo{sim: sim, dataset: ds, file: file, opts: o, protocol: o.protocol(), base: base}
	// The first run decides the demo tenant's protocol, like its size:
	// its checkpoints and feed were made over that protocol, and switching
	// is a customer's migration (PATCH), not a demo flag.
	if was := (domain.Tenant{Protocol: st.Protocol}).ProtocolOf(); st.Mailboxes != 0 && was != d.protocol {
		return nil, fmt.Errorf("the data directory %s holds a demo tenant on protocol %s; run with --demo-protocol %s, or use another --data (or rm -rf %s to start afresh)",
			dataDir, was, was, dataDir)
	}
	for r := 1; r <= st.Rounds; r++ {
		if _, err := d.applyRound(r); err != nil {
			return nil, fmt.Errorf("replaying demo change round %d: %w", r, err)
		}
	}
	d.rounds = st.Rounds
	if d.protocol == domain.ProtocolGraph {
		if err := sim.AddAccount(ewssim.Account{Tenant: ewssim.DemoTenant, ClientID: demoGraphClientID, ClientSecret: demoGraphSecret,
			ImpersonationScope: append(slices.Clone(ds.Mailboxes), rooms...)}); err != nil {
			return nil, err
		}
		d.graph = graphsim.New(sim, graphsim.Options{Seed: demoSeed, Latency: o.Latency})
	}
	if st.Port != 0 {
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(st.Port))
		if err := d.serve(addr); err == nil {
			return d, nil
		}
		// Taken: another port; the tenant is pointed at it, and the graph
		// demo's folders resync (their delta links name the old one).
	}
	if err := d.serve("127.0.0.1:0"); err != nil {
		return nil, err
	}
	return d, nil
}

// serve starts the simulator on addr: EWS over http, or for the graph
// demo Graph, EWS and the OAuth authority on one TLS host (MSAL wants an
// https authority).
func (d *demo) serve(addr string) error {
	if d.protocol != domain.ProtocolGraph {
		srv, err := d.sim.Serve(addr, false)
		if err != nil {
			return err
		}
		d.server = srv
		return nil
	}
	run, err := d.graph.Serve(addr, true)
	if err != nil {
		return err
	}
	d.server, d.graphURL = run.Server, run.GraphURL
	return nil
}

// port is the simulator's port.
func (d *demo) port() int {
	u, err := url.Parse(d.server.URL)
	if err != nil {
		return 0
	}
	p, _ := strconv.Atoi(u.Port())
	return p
}

// url is where the demo tenant reaches the simulator.
func (d *demo) url() string {
	if d.protocol == domain.ProtocolGraph {
		return d.graphURL
	}
	return d.server.EWSURL
}

// graphCredential is the graph demo app's credential; its authority is
// this run's simulator.
func (d *demo) graphCredential() domain.Credential {
	return domain.Credential{Kind: domain.AuthOAuthSecret, EntraTenant: ewssim.DemoTenant, ClientID: demoGraphClientID,
		ClientSecret: demoGraphSecret, Authority: d.server.URL}
}

func (d *demo) close() {
	if d.server != nil {
		d.server.Close()
	}
}

// mutate applies the next change round and records it. It returns how
// many feed changes the round makes.
func (d *demo) mutate() (int, error) {
	n, err := d.applyRound(d.rounds + 1)
	if err != nil {
		return 0, err
	}
	d.rounds++
	d.lastChanges = n
	return n, d.save()
}

func (d *demo) save() error {
	b, _ := json.Marshal(demoState{Mailboxes: d.opts.Mailboxes, Items: d.opts.Items, Rounds: d.rounds, Protocol: d.protocol, Base: d.base,
		Port: d.port()})
	return os.WriteFile(d.file, b, 0o600)
}

// applyRound makes round r's changes: deterministic from r, so replaying a
// round on a regenerated simulator gives the same ids and change keys. In
// three different mailboxes it adds a message, renames one and deletes one, and in
// one mailbox it adds a meeting. It returns the number of changes.
func (d *demo) applyRound(r int) (int, error) {
	rng := rand.New(rand.NewPCG(demoSeed, uint64(r)))
	at := d.base.Add(time.Duration(r) * time.Hour)
	changes := 0
	// Three different mailboxes, so that no change hides another in the
	// same sync (an edit then a delete of one item arrive as one delete).
	// (Fewer in a smaller demo.)
	for k, i := range rng.Perm(len(d.dataset.Mailboxes))[:min(3, len(d.dataset.Mailboxes))] {
		mb := d.dataset.Mailboxes[i]
		refs, err := d.sim.ListItems(mb, "inbox")
		if err != nil {
			return changes, err
		}
		if _, err := d.sim.AddItem(mb, "inbox", ewssim.Item{
			Kind: ewssim.KindMessage, Subject: fmt.Sprintf("Demo update %d.%d: order confirmed", r, k),
			Body: "This message arrived while Mailbridge was running.",
			From: ewssim.Address{Name: "Orders", Email: "orders@fabrikam.example"},
			To:   []ewssim.Address{{Email: mb}}, Received: at,
		}); err != nil {
			return changes, err
		}
		changes++
		if len(refs) < 2 {
			continue
		}
		edit := refs[rng.IntN(len(refs))]
		if _, err := d.sim.UpdateItem(edit.ID, func(it *ewssim.Item) { it.Subject = fmt.Sprintf("[round %d] %s", r, it.Subject) }); err != nil {
			return changes, err
		}
		changes++
		del := refs[rng.IntN(len(refs))]
		if del.ID != edit.ID {
			if err := d.sim.DeleteItem(del.ID); err != nil {
				return changes, err
			}
			changes++
		}
	}
	mb := d.dataset.Mailboxes[rng.IntN(len(d.dataset.Mailboxes))]
	if _, err := d.sim.AddItem(mb, "calendar", ewssim.Item{
		Kind: ewssim.KindCalendar, Subject: fmt.Sprintf("Demo meeting %d", r),
		Start: at.Add(24 * time.Hour), End: at.Add(25 * time.Hour), TimeZone: "UTC", Location: "Aurora",
		Organizer: ewssim.Address{Email: mb}, Attendees: []ewssim.Address{{Email: d.dataset.Mailboxes[0]}},
	}); err != nil {
		return changes, err
	}
	return changes + 1, nil
}

// onboardDemo creates the demo tenant through the tenant use cases (the
// code behind POST /tenants and POST /tenants/{id}/mailboxes), or points
// the existing one at this run's simulator, whose port changes per run.
func onboardDemo(ctx context.Context, tenants *app.Tenants, d *demo, o demoOptions, interval time.Duration) (domain.Tenant, error) {
	t, err := tenants.Get(ctx, demoTenantID)
	switch {
	case err == nil:
		// An earlier run may have been killed part way through its
		// onboarding: finish it (every step is idempotent) rather than
		// keep a demo with some of its mailboxes for good.
		if t, err = repointDemo(ctx, tenants, d, t, interval); err != nil {
			return t, err
		}
		if err := addDemoMailboxes(ctx, tenants, d); err != nil {
			return t, err
		}
		return ensureDemoCredential(ctx, tenants, d, t)
	case !domain.IsNotFound(err):
		return t, err
	}
	in := app.NewTenant{
		ID: demoTenantID, DisplayName: "Demo tenant (simulated Exchange)", EWSURL: d.url(),
		AccessMode: o.Mode, SyncInterval: interval, Folders: o.Folders, MaxConcurrentJobs: o.MaxJobs,
		Credential: domain.Credential{Kind: domain.AuthBasic, Username: d.dataset.Account.Username, Password: d.dataset.Account.Password},
	}
	if d.protocol == domain.ProtocolGraph {
		// Application access is the only Graph mode: AccessMode is left
		// for the use case to set.
		in = app.NewTenant{
			ID: demoTenantID, DisplayName: "Demo tenant (simulated Exchange Online, Microsoft Graph)",
			Protocol: domain.ProtocolGraph, GraphURL: d.graphURL,
			SyncInterval: interval, Folders: o.Folders, Credential: d.graphCredential(),
		}
	}
	t, err = tenants.Onboard(ctx, in)
	if err != nil {
		return t, fmt.Errorf("onboarding the demo tenant: %w", err)
	}
	if err := addDemoMailboxes(ctx, tenants, d); err != nil {
		return t, err
	}
	if len(d.dataset.Mailboxes) > demoVerifyMax || tenants.Checker == nil {
		return t, nil
	}
	if _, err := tenants.Verify(ctx, demoTenantID, ""); err != nil {
		return t, fmt.Errorf("verifying the demo mailboxes: %w", err)
	}
	return t, nil
}

// addDemoMailboxes registers every demo mailbox; one registered already
// is left as it is, so a run killed half way is completed by the next.
func addDemoMailboxes(ctx context.Context, tenants *app.Tenants, d *demo) error {
	for batch := range slices.Chunk(d.dataset.Mailboxes, domain.MaxMailboxesPerBulkRequest) {
		in := make([]app.NewMailbox, len(batch))
		for i, mb := range batch {
			in[i] = app.NewMailbox{Address: mb}
		}
		res, err := tenants.AddMailboxes(ctx, demoTenantID, in)
		if err != nil {
			return fmt.Errorf("adding the demo mailboxes: %w", err)
		}
		for _, r := range res {
			if r.Error != nil {
				return fmt.Errorf("adding demo mailbox %s: %v", r.Address, r.Error)
			}
		}
	}
	return nil
}

// ensureDemoCredential stores the demo credential when a killed run left
// the tenant without one (its record is created before its secret).
func ensureDemoCredential(ctx context.Context, tenants *app.Tenants, d *demo, t domain.Tenant) (domain.Tenant, error) {
	if _, err := tenants.Secrets.GetCredential(ctx, demoTenantID); err == nil || !domain.IsNotFound(err) {
		return t, err
	}
	cred := domain.Credential{Kind: domain.AuthBasic, Username: d.dataset.Account.Username, Password: d.dataset.Account.Password}
	if d.protocol == domain.ProtocolGraph {
		cred = d.graphCredential()
	}
	t, _, err := tenants.RotateCredential(ctx, demoTenantID, cred, d.dataset.Mailboxes[0])
	if err != nil {
		return t, fmt.Errorf("storing the demo tenant's credential: %w", err)
	}
	return t, nil
}

// repointDemo points the existing demo tenant at this run's simulator
// through the same use cases as PATCH /tenants/demo and PUT
// /tenants/demo/credentials. The graph demo's authority is the simulator,
// so a new port is a new credential too.
func repointDemo(ctx context.Context, tenants *app.Tenants, d *demo, t domain.Tenant, interval time.Duration) (domain.Tenant, error) {
	if t.ProtocolOf() != d.protocol {
		return t, fmt.Errorf("the demo tenant was switched to protocol %s (through the API); the demo runs it on %s: run with --demo-protocol %s, or start afresh with another --data",
			t.ProtocolOf(), d.protocol, t.ProtocolOf())
	}
	url := d.url()
	var p app.TenantPatch
	if t.SyncInterval != interval {
		p.SyncInterval = &interval
	}
	switch {
	case d.protocol == domain.ProtocolGraph && t.GraphURL != url:
		p.GraphURL = &url
	case d.protocol == domain.ProtocolEWS && t.EWSURL != url:
		p.EWSURL = &url
	}
	if p != (app.TenantPatch{}) {
		var err error
		if t, err = tenants.Update(ctx, demoTenantID, p); err != nil {
			return t, fmt.Errorf("pointing the demo tenant at the simulator: %w", err)
		}
	}
	if d.protocol != domain.ProtocolGraph {
		return t, nil
	}
	cur, err := tenants.Secrets.GetCredential(ctx, demoTenantID)
	if err != nil && !domain.IsNotFound(err) {
		return t, err
	}
	if err == nil && cur.Authority == d.server.URL {
		return t, nil
	}
	t, _, err = tenants.RotateCredential(ctx, demoTenantID, d.graphCredential(), d.dataset.Mailboxes[0])
	if err != nil {
		return t, fmt.Errorf("pointing the demo tenant's credential at the simulator's authority: %w", err)
	}
	return t, nil
}
