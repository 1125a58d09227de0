package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
	"github.com/mailbridge/mailbridge/shared/exchange/graphsim"
)

// certClientID is the demo app registration with a certificate credential
// (the simulator's secret app is ewssim.DemoClientID).
const certClientID = "5b1d6a52-0c1b-4f53-9d1e-6d656d6f0002"

// unknownMailbox is an address the simulator has no mailbox for.
const unknownMailbox = "nobody@contoso.com"

type simConfig struct {
	addr      string
	mailboxes int
	items     int
	latency   time.Duration
	maxConc   int
	seed      uint64
	tls       bool
	graph     bool   // serve Microsoft Graph too (on the same TLS host)
	dir       string // where the CA and the app certificate go (with --tls)
}

// demoMailbox is one generated mailbox and what the demo account may do.
type demoMailbox struct {
	address string
	access  string
}

// demoSim is a running simulator with the demo dataset.
type demoSim struct {
	sim      *ewssim.Sim
	srv      *ewssim.Server
	graphURL string // "" unless Graph is served
	account  ewssim.Account
	layout   []demoMailbox
	caFile   string
	certFile string
	keyFile  string
	dir      string
	ownDir   bool // created here, removed on close
}

// startDemo generates the dataset, narrows the demo account's rights so
// every access outcome can be tried, and serves it.
func startDemo(cfg simConfig) (*demoSim, error) {
	sim := ewssim.New(ewssim.Options{Latency: cfg.latency, MaxConcurrency: cfg.maxConc, Seed: cfg.seed})
	gen := ewssim.GenOptions{Mailboxes: cfg.mailboxes, ItemsPerMailbox: cfg.items, Seed: cfg.seed}
	if cfg.graph {
		// Graph syncs calendars over a window around now: dates around
		// today keep the generated meetings in it.
		gen.Base = time.Now().UTC().Truncate(24 * time.Hour).Add(9 * time.Hour)
	}
	ds, err := sim.Generate(gen)
	if err != nil {
		return nil, err
	}
	d := &demoSim{sim: sim, account: ds.Account}
	var certPEM, keyPEM []byte
	if cfg.tls {
		if certPEM, keyPEM, err = appCertificate(); err != nil {
			return nil, err
		}
		if err := sim.AddAccount(ewssim.Account{Tenant: ewssim.DemoTenant, ClientID: certClientID, CertPEM: string(certPEM)}); err != nil {
			return nil, err
		}
	}
	if d.layout, err = narrowRights(sim, ds, cfg.tls); err != nil {
		return nil, err
	}
	if cfg.graph {
		// Graph, EWS and the OAuth authority on one host; the demo apps'
		// Graph scope is their impersonation scope, as narrowed above.
		run, err := graphsim.New(sim, graphsim.Options{Seed: cfg.seed, Latency: cfg.latency}).Serve(cfg.addr, true)
		if err != nil {
			return nil, fmt.Errorf("listening on %s: %w", cfg.addr, err)
		}
		d.srv, d.graphURL = run.Server, run.GraphURL
	} else if d.srv, err = sim.Serve(cfg.addr, cfg.tls); err != nil {
		return nil, fmt.Errorf("listening on %s: %w", cfg.addr, err)
	}
	if cfg.tls {
		if err := d.writeFiles(cfg.dir, certPEM, keyPEM); err != nil {
			d.close()
			return nil, err
		}
	}
	return d, nil
}

// narrowRights turns the generated all-access account into a realistic
// one: the last three mailboxes are outside the impersonation scope, one
// with FullAccess (delegate only), one with some folders shared (folder
// delegate), one with nothing (no access). Fewer than four mailboxes all
// stay fully accessible.
func narrowRights(sim *ewssim.Sim, ds ewssim.Dataset, certApp bool) ([]demoMailbox, error) {
	accounts := []string{ds.Account.Username}
	if certApp {
		accounts = append(accounts, certClientID)
	}
	n := len(ds.Mailboxes)
	special := 0
	if n >= 4 {
		special = 3
	}
	scope := ds.Mailboxes[:n-special]
	layout := make([]demoMailbox, 0, n)
	for _, a := range scope {
		layout = append(layout, demoMailbox{a, "impersonation + delegate (FullAccess)"})
	}
	for _, acct := range accounts {
		if err := sim.SetImpersonationScope(acct, scope, false); err != nil {
			return nil, err
		}
		for _, a := range scope {
			if err := sim.GrantDelegate(acct, a, ""); err != nil {
				return nil, err
			}
		}
	}
	if special == 0 {
		return layout, nil
	}
	delegateOnly, folderDelegate, none := ds.Mailboxes[n-3], ds.Mailboxes[n-2], ds.Mailboxes[n-1]
	for _, acct := range accounts {
		for _, a := range []string{folderDelegate, none} {
			if err := sim.RevokeDelegate(acct, a); err != nil {
				return nil, err
			}
		}
		if err := sim.GrantDelegate(acct, delegateOnly, ""); err != nil {
			return nil, err
		}
		for _, f := range []string{"inbox", "calendar"} {
			if err := sim.GrantDelegate(acct, folderDelegate, f); err != nil {
				return nil, err
			}
		}
	}
	return append(layout,
		demoMailbox{delegateOnly, "delegate only (FullAccess; outside the impersonation scope)"},
		demoMailbox{folderDelegate, "folder delegate (inbox and calendar shared; sent items and contacts not)"},
		demoMailbox{none, "no access (outside the impersonation scope, nothing shared)"},
	), nil
}

// appCertificate makes the demo app's certificate credential.
func appCertificate() (certPEM, keyPEM []byte, err error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "mailbridge-demo-app"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(365 * 24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), nil
}

func (d *demoSim) writeFiles(dir string, certPEM, keyPEM []byte) error {
	if dir == "" {
		tmp, err := os.MkdirTemp("", "ewsctl-sim-")
		if err != nil {
			return err
		}
		dir, d.ownDir = tmp, true
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	d.dir = dir
	d.caFile = filepath.Join(dir, "ca.pem")
	d.certFile = filepath.Join(dir, "app-cert.pem")
	d.keyFile = filepath.Join(dir, "app-key.pem")
	for _, f := range []struct {
		path string
		data []byte
	}{{d.caFile, d.srv.CAPEM}, {d.certFile, certPEM}, {d.keyFile, keyPEM}} {
		if err := os.WriteFile(f.path, f.data, 0o600); err != nil {
			return err
		}
	}
	return nil
}

func (d *demoSim) close() {
	if d.srv != nil {
		_ = d.srv.Close()
	}
	if d.ownDir {
		_ = os.RemoveAll(d.dir)
	}
}

// describe prints what a user needs to point ewsctl or Mailbridge at the
// simulator.
func (d *demoSim) describe(w io.Writer) {
	acct := d.account
	if d.graphURL != "" {
		fmt.Fprintf(w, "EWS and Microsoft Graph simulator listening (Ctrl-C to stop)\n\n")
	} else {
		fmt.Fprintf(w, "EWS simulator listening (Ctrl-C to stop)\n\n")
	}
	fmt.Fprintf(w, "EWS URL:  %s\n", d.srv.EWSURL)
	if d.graphURL != "" {
		fmt.Fprintf(w, "Graph URL: %s\n", d.graphURL)
	}
	if d.caFile != "" {
		fmt.Fprintf(w, "CA file:  %s   (clients trust it with --ca-file)\n", d.caFile)
	}
	fmt.Fprintf(w, "\nService account (--auth basic or --auth ntlm):\n")
	fmt.Fprintf(w, "  username=%s password=%s\n", acct.Username, acct.Password)
	fmt.Fprintf(w, "\nOAuth app registration (--auth oauth; needs --tls, as OAuth authorities are https):\n")
	fmt.Fprintf(w, "  tenant-id=%s client-id=%s client-secret=%s\n", acct.Tenant, acct.ClientID, acct.ClientSecret)
	if d.certFile != "" {
		fmt.Fprintf(w, "  certificate credential: client-id=%s cert=%s key=%s\n", certClientID, d.certFile, d.keyFile)
		fmt.Fprintf(w, "  authority=%s\n", d.srv.URL)
	}
	fmt.Fprintf(w, "\nMailboxes and the demo account's access:\n")
	for _, m := range d.layout {
		fmt.Fprintf(w, "  %-24s %s\n", m.address, m.access)
	}
	fmt.Fprintf(w, "  %-24s unknown (no such mailbox)\n", unknownMailbox)

	ca := ""
	if d.caFile != "" {
		ca = " --ca-file " + d.caFile
	}
	first := d.layout[0].address
	last := d.layout[len(d.layout)-1].address
	fmt.Fprintf(w, "\nTry:\n")
	fmt.Fprintf(w, "  export EWS_PASSWORD='%s'\n", acct.Password)
	fmt.Fprintf(w, "  ewsctl probe --url %s%s --username %s --mailbox %s\n", d.srv.EWSURL, ca, acct.Username, first)
	fmt.Fprintf(w, "  ewsctl probe --url %s%s --auth ntlm --username %s --mailbox %s --mode delegate\n", d.srv.EWSURL, ca, acct.Username, last)
	fmt.Fprintf(w, "  ewsctl sync  --url %s%s --username %s --mailbox %s > changes.jsonl\n", d.srv.EWSURL, ca, acct.Username, first)
	if d.certFile != "" {
		fmt.Fprintf(w, "  EWS_CLIENT_SECRET='%s' ewsctl probe --url %s%s --auth oauth --authority %s --tenant-id %s --client-id %s --mailbox %s\n",
			acct.ClientSecret, d.srv.EWSURL, ca, d.srv.URL, acct.Tenant, acct.ClientID, first)
	}
	if d.graphURL == "" {
		return
	}
	// The same apps over Graph: their scope is the impersonation scope
	// above, standing for an RBAC for Applications scope.
	fmt.Fprintf(w, "\nMicrosoft Graph (the OAuth apps above; their scope is the impersonation scope):\n")
	fmt.Fprintf(w, "  graph-url=%s authority=%s\n", d.graphURL, d.srv.URL)
	fmt.Fprintf(w, "  tenant-id=%s client-id=%s client-secret=%s\n", acct.Tenant, acct.ClientID, acct.ClientSecret)
	fmt.Fprintf(w, "  export EWS_CLIENT_SECRET='%s'\n", acct.ClientSecret)
	fmt.Fprintf(w, "  ewsctl probe --protocol graph --graph-url %s%s --authority %s --tenant-id %s --client-id %s --mailbox %s\n",
		d.graphURL, ca, d.srv.URL, acct.Tenant, acct.ClientID, first)
	fmt.Fprintf(w, "  ewsctl sync  --protocol graph --graph-url %s%s --authority %s --tenant-id %s --client-id %s --mailbox %s > changes.jsonl\n",
		d.graphURL, ca, d.srv.URL, acct.Tenant, acct.ClientID, first)
}

func runSim(ctx context.Context, args []string, e env) error {
	cfg := simConfig{}
	var seed uint
	var protocol string
	fs := newFlagSet("sim", "[--addr A] [--mailboxes N] [--items M] [--latency D] [--max-concurrency C] [--seed S] [--tls [--dir DIR]] [--protocol graph]", e)
	fs.StringVar(&cfg.addr, "addr", "127.0.0.1:8100", "listen address")
	fs.IntVar(&cfg.mailboxes, "mailboxes", 5, "number of generated mailboxes (4 or more show every access outcome)")
	fs.IntVar(&cfg.items, "items", 50, "items per mailbox (mail, calendar items, contacts)")
	fs.DurationVar(&cfg.latency, "latency", 0, "added to every EWS call, e.g. 300ms like Exchange Online")
	fs.IntVar(&cfg.maxConc, "max-concurrency", ewssim.DefaultMaxConcurrency, "concurrent EWS calls per budget owner before ErrorServerBusy (negative: unlimited)")
	fs.UintVar(&seed, "seed", 1, "dataset seed: the same seed gives the same mailboxes and items")
	fs.BoolVar(&cfg.tls, "tls", false, "serve https with a fresh self-signed certificate (written as ca.pem); needed for --auth oauth")
	fs.StringVar(&protocol, "protocol", "ews", "ews, or graph: serve Microsoft Graph too, on the same host (implies --tls)")
	fs.StringVar(&cfg.dir, "dir", "", "with --tls: directory for ca.pem and the demo app's certificate (default: a temporary directory removed on exit)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected argument %q", fs.Arg(0))
	}
	switch protocol {
	case "ews":
	case "graph":
		cfg.graph, cfg.tls = true, true
	default:
		return usageErr("--protocol must be ews or graph, not %q", protocol)
	}
	switch {
	case cfg.mailboxes < 1 || cfg.mailboxes > 100000:
		return usageErr("--mailboxes must be between 1 and 100000")
	case cfg.items < 0 || cfg.items > 1000000:
		return usageErr("--items must be between 0 and 1000000")
	case cfg.latency < 0:
		return usageErr("--latency must not be negative")
	case cfg.maxConc == 0:
		return usageErr("--max-concurrency must not be 0 (use a negative value for unlimited)")
	case cfg.dir != "" && !cfg.tls:
		return usageErr("--dir is only used with --tls")
	}
	cfg.seed = uint64(seed)
	d, err := startDemo(cfg)
	if err != nil {
		return err
	}
	defer d.close()
	d.describe(e.stdout)
	<-ctx.Done()
	fmt.Fprintln(e.stderr, "stopping the simulator")
	return nil
}
