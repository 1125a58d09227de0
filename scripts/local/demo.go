package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
)

// The demo: a simulated Exchange with about 50 mailboxes of mixed mail,
// calendar and contacts, and a tenant "demo" that reaches them by
// impersonation, onboarded through app.Tenants like an API call would.
const (
	demoTenantID  = "demo"
	demoSeed      = 20261123
	demoMailboxes = 50
	demoItems     = 120 // per mailbox
	// demoVerifyMax: larger demos (benchmarks) skip the access check at
	// onboarding; their mailboxes start pending and the first sync sets
	// their status.
	demoVerifyMax = 200
)

// demoOptions shape the simulator and the demo tenant; the defaults are
// the demo, benchmarks change them.
type demoOptions struct {
	Mailboxes      int
	Items          int // per mailbox
	Latency        time.Duration
	MaxConcurrency int               // the simulator's budget per owner; 0 = 27
	BackOff        time.Duration     // the simulator's ErrorServerBusy back-off; 0 = 1s
	Mode           domain.AccessMode // default impersonation
	Folders        []string          // default: the tenant default
	MaxJobs        int               // delegate: the tenant's MaxConcurrentJobs
}

// demoBase anchors generated dates, so every run generates the same data.
var demoBase = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

// demo is the running simulator and what it holds.
type demo struct {
	sim     *ewssim.Sim
	server  *ewssim.Server
	dataset ewssim.Dataset
	file    string // demo.json in the data directory
	rounds  int    // mutation rounds applied so far (persisted)
	opts    demoOptions
}

// demoState is persisted between runs. The simulator lives in memory and
// is regenerated from the same seed on every start; replaying the recorded
// mutation rounds brings it back to the state the stored sync checkpoints
// point into, so a restart syncs only what changed, like a real server.
type demoState struct {
	Mailboxes int `json:"mailboxes"`
	Items     int `json:"items"`
	Rounds    int `json:"rounds"`
}

func startDemo(dataDir string, o demoOptions) (*demo, error) {
	sim := ewssim.New(ewssim.Options{Seed: demoSeed, Latency: o.Latency, MaxConcurrency: o.MaxConcurrency, BackOff: o.BackOff})
	ds, err := sim.Generate(ewssim.GenOptions{Mailboxes: o.Mailboxes, ItemsPerMailbox: o.Items, Seed: demoSeed, Base: demoBase})
	if err != nil {
		return nil, err
	}
	d := &demo{sim: sim, dataset: ds, file: filepath.Join(dataDir, "demo.json"), opts: o}
	var st demoState
	switch b, err := os.ReadFile(d.file); {
	case err == nil:
		if err := json.Unmarshal(b, &st); err != nil {
			return nil, fmt.Errorf("%s is damaged (%v); delete it together with mailbridge.db to start the demo afresh", d.file, err)
		}
	case !errors.Is(err, os.ErrNotExist):
		return nil, err
	}
	if st.Mailboxes != 0 && (st.Mailboxes != o.Mailboxes || st.Items != o.Items) {
		return nil, fmt.Errorf("the data directory %s holds a demo of %d mailboxes with %d items each; run with --demo-mailboxes %d --demo-items %d, or use another --data",
			dataDir, st.Mailboxes, st.Items, st.Mailboxes, st.Items)
	}
	for r := 1; r <= st.Rounds; r++ {
		if _, err := d.applyRound(r); err != nil {
			return nil, fmt.Errorf("replaying demo change round %d: %w", r, err)
		}
	}
	d.rounds = st.Rounds
	d.server, err = sim.Serve("127.0.0.1:0", false)
	if err != nil {
		return nil, err
	}
	return d, nil
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
	return n, d.save()
}

func (d *demo) save() error {
	b, _ := json.Marshal(demoState{Mailboxes: d.opts.Mailboxes, Items: d.opts.Items, Rounds: d.rounds})
	return os.WriteFile(d.file, b, 0o600)
}

// applyRound makes round r's changes: deterministic from r, so replaying a
// round on a regenerated simulator gives the same ids and change keys. In
// three different mailboxes it adds a message, renames one and deletes one, and in
// one mailbox it adds a meeting. It returns the number of changes.
func (d *demo) applyRound(r int) (int, error) {
	rng := rand.New(rand.NewPCG(demoSeed, uint64(r)))
	at := demoBase.Add(time.Duration(r) * time.Hour)
	changes := 0
	// Three different mailboxes, so that no change hides another in the
	// same sync (an edit then a delete of one item arrive as one delete).
	for k, i := range rng.Perm(len(d.dataset.Mailboxes))[:3] {
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
	url := d.server.EWSURL
	t, err := tenants.Get(ctx, demoTenantID)
	switch {
	case err == nil:
		if t.EWSURL == url && t.SyncInterval == interval {
			return t, nil
		}
		return tenants.Update(ctx, demoTenantID, app.TenantPatch{EWSURL: &url, SyncInterval: &interval})
	case !domain.IsNotFound(err):
		return t, err
	}
	acct := d.dataset.Account
	t, err = tenants.Onboard(ctx, app.NewTenant{
		ID: demoTenantID, DisplayName: "Demo tenant (simulated Exchange)", EWSURL: url,
		AccessMode: o.Mode, SyncInterval: interval, Folders: o.Folders, MaxConcurrentJobs: o.MaxJobs,
		Credential: domain.Credential{Kind: domain.AuthBasic, Username: acct.Username, Password: acct.Password},
	})
	if err != nil {
		return t, fmt.Errorf("onboarding the demo tenant: %w", err)
	}
	for batch := range slices.Chunk(d.dataset.Mailboxes, domain.MaxMailboxesPerBulkRequest) {
		in := make([]app.NewMailbox, len(batch))
		for i, mb := range batch {
			in[i] = app.NewMailbox{Address: mb}
		}
		res, err := tenants.AddMailboxes(ctx, demoTenantID, in)
		if err != nil {
			return t, fmt.Errorf("adding the demo mailboxes: %w", err)
		}
		for _, r := range res {
			if r.Error != nil {
				return t, fmt.Errorf("adding demo mailbox %s: %v", r.Address, r.Error)
			}
		}
	}
	if len(d.dataset.Mailboxes) > demoVerifyMax || tenants.Checker == nil {
		return t, nil
	}
	if _, err := tenants.Verify(ctx, demoTenantID, ""); err != nil {
		return t, fmt.Errorf("verifying the demo mailboxes: %w", err)
	}
	return t, nil
}
