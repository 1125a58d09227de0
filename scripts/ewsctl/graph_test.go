package main

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
	"github.com/mailbridge/mailbridge/shared/exchange/graphmailbox"
	"github.com/mailbridge/mailbridge/shared/testsupport/golden"
)

var (
	graphDemoOnce sync.Once
	graphDemo     *demoSim
	graphDemoErr  error
)

// testGraphDemo is one simulator serving EWS and Graph for the package,
// started through the same code as `ewsctl sim --protocol graph`.
func testGraphDemo(t *testing.T) *demoSim {
	t.Helper()
	graphDemoOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ewsctl-graph-test-")
		if err != nil {
			graphDemoErr = err
			return
		}
		graphDemo, graphDemoErr = startDemo(simConfig{addr: "127.0.0.1:0", mailboxes: 5, items: 40, seed: 7, tls: true, graph: true, dir: dir, maxConc: ewssim.DefaultMaxConcurrency})
	})
	if graphDemoErr != nil {
		t.Fatal(graphDemoErr)
	}
	return graphDemo
}

// graphArgs are the flags and environment of the demo's secret app over
// Graph.
func (d *demoSim) graphArgs() ([]string, map[string]string) {
	return []string{"--protocol", "graph", "--graph-url", d.graphURL, "--ca-file", d.caFile, "--authority", d.srv.URL,
		"--tenant-id", ewssim.DemoTenant, "--client-id", ewssim.DemoClientID}, map[string]string{envClientSecret: demoSecret}
}

// TestGraphProbeOutcomes: probe --protocol graph runs the Graph adapter's
// access check and prints the EWS report's shape (the URL row names
// Graph), with app.ReportHint's fix; golden files pin the text.
func TestGraphProbeOutcomes(t *testing.T) {
	d := testGraphDemo(t)
	tests := []struct {
		name     string
		mailbox  string
		env      map[string]string
		code     int
		status   domain.MailboxStatus
		readable int
		hint     string
	}{
		{name: "graph-ok", mailbox: mbInScope, code: exitOK, status: domain.MailboxOK, readable: 3},
		{name: "graph-out-of-scope", mailbox: mbNoAccess, code: exitFailed, status: domain.MailboxOutOfScope, hint: "scope"},
		{name: "graph-not-found", mailbox: unknownMailbox, code: exitFailed, status: domain.MailboxNotFound, hint: "nobody@contoso.com"},
		// The Graph adapter does not yet tell the token endpoint's refusal
		// (a wrong secret) from Graph's, so the hint is about the token.
		{name: "graph-wrong-secret", mailbox: mbInScope, env: map[string]string{envClientSecret: "not-the-secret"}, code: exitFailed,
			status: domain.MailboxAuthFailed, hint: "the client secret (not the secret's id) is current"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args, env := d.graphArgs()
			for k, v := range tt.env {
				env[k] = v
			}
			args = append(args, "--mailbox", tt.mailbox)
			js := runCLI(t, env, append([]string{"probe", "--json"}, args...)...)
			if js.code != tt.code {
				t.Errorf("--json exit %d, want %d (stderr %s)", js.code, tt.code, js.stderr)
			}
			rep := decodeJSON[domain.AccessReport](t, js.stdout)
			if rep.Status != tt.status || rep.Mode != domain.AccessApplication || len(rep.ReadableFolders) != tt.readable {
				t.Errorf("report %+v", rep)
			}
			if !strings.Contains(rep.Hint, tt.hint) || (rep.Status != domain.MailboxOK && (rep.Hint == "" || rep.Detail == "")) {
				t.Errorf("hint %q (detail %q), want one naming %q", rep.Hint, rep.Detail, tt.hint)
			}
			txt := runCLI(t, env, append([]string{"probe"}, args...)...)
			if txt.code != tt.code {
				t.Errorf("text exit %d, want %d", txt.code, tt.code)
			}
			out := strings.ReplaceAll(txt.stdout, d.graphURL, "https://127.0.0.1:PORT/v1.0")
			golden.Check(t, filepath.Join("testdata", "probe", tt.name+".txt"), []byte(out))
			noSecrets(t, js.stdout, js.stderr, txt.stdout, txt.stderr)
			for _, v := range tt.env {
				if strings.Contains(js.stdout+js.stderr+txt.stdout+txt.stderr, v) {
					t.Errorf("a secret from the environment is echoed")
				}
			}
		})
	}
}

// TestGraphSync: sync --protocol graph reads every message and contact of
// the mailbox, and the events in Graph's calendar window, once each, by
// their Graph (immutable) ids, with their properties; no EWS call is made.
func TestGraphSync(t *testing.T) {
	d := testGraphDemo(t)
	args, env := d.graphArgs()
	before := d.sim.Stats().TotalCalls()
	now := time.Now()
	res := runCLI(t, env, append([]string{"sync", "--mailbox", mbInScope, "--page-size", "7"}, args...)...)
	if res.code != exitOK {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
	if n := d.sim.Stats().TotalCalls() - before; n != 0 {
		t.Errorf("%d EWS calls for a graph sync", n)
	}
	from, to := now.Add(-graphmailbox.DefaultCalendarBack), now.Add(graphmailbox.DefaultCalendarAhead)
	want := map[string]bool{}
	events := 0
	for _, f := range []string{"inbox", "sentitems", "calendar", "contacts"} {
		items, err := d.sim.Items(mbInScope, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			if f == "calendar" {
				if !it.Start.Before(to) || !it.End.After(from) {
					continue
				}
				events++
			}
			want[it.ImmutableID] = true
		}
	}
	if events == 0 {
		t.Fatal("no demo event in Graph's calendar window")
	}
	seen := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(res.stdout))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := decodeJSON[changeLine](t, sc.Text())
		if line.Mailbox != mbInScope || line.Kind != domain.ChangeCreate || line.Item == nil || (line.Item.Subject == "" && line.Item.DisplayName == "") {
			t.Errorf("unexpected change %s", sc.Text())
		}
		if seen[line.ItemID] || !want[line.ItemID] {
			t.Errorf("item %s printed twice or not in the mailbox", line.ItemID)
		}
		seen[line.ItemID] = true
	}
	if len(seen) != len(want) {
		t.Errorf("sync printed %d items, Graph serves %d of the mailbox", len(seen), len(want))
	}
	for _, s := range []string{"(application access)", "Graph requests", "Inbox:"} {
		if !strings.Contains(res.stderr, s) {
			t.Errorf("progress lacks %q:\n%s", s, res.stderr)
		}
	}
	noSecrets(t, res.stdout, res.stderr)

	out := runCLI(t, env, append([]string{"sync", "--mailbox", mbNoAccess}, args...)...)
	if out.code != exitFailed || out.stdout != "" || !strings.Contains(out.stderr, "ewsctl sync: folders delta failed: out_of_scope") {
		t.Errorf("out of scope: exit %d, stdout %q, stderr %q", out.code, out.stdout, out.stderr)
	}
}

// TestGraphUsageErrors: the flags that do not go with --protocol graph
// are refused with one line.
func TestGraphUsageErrors(t *testing.T) {
	g := []string{"--protocol", "graph", "--mailbox", "a@contoso.com", "--tenant-id", "t", "--client-id", "c"}
	env := map[string]string{envClientSecret: "s3cret-value"}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"bad protocol", []string{"probe", "--protocol", "mapi", "--mailbox", "a@contoso.com"}, `--protocol must be ews or graph, not "mapi"`},
		{"graph with an EWS url", append([]string{"probe", "--url", "https://mail.contoso.com/EWS/Exchange.asmx"}, g...), "with --protocol graph give --graph-url"},
		{"graph with basic", append([]string{"probe", "--auth", "basic"}, g...), "--protocol graph takes --auth oauth"},
		{"graph with an EWS mode", append([]string{"probe", "--mode", "delegate"}, g...), "application access (the Entra app's scope), not --mode delegate"},
		{"graph with fallback", append([]string{"probe", "--fallback"}, g...), "--fallback is for EWS"},
		{"graph with trace", append([]string{"sync", "--trace", "/tmp/x"}, g...), "--trace records EWS exchanges"},
		{"graph url not https", append([]string{"probe", "--graph-url", "graph.microsoft.com"}, g...), "--graph-url must be an absolute https URL"},
		{"graph url with ews", []string{"probe", "--url", "https://mail.contoso.com/EWS/Exchange.asmx", "--graph-url", "https://graph.microsoft.us/v1.0", "--mailbox", "a@contoso.com"}, "--graph-url belongs to --protocol graph"},
		{"application mode with ews", []string{"probe", "--url", "https://mail.contoso.com/EWS/Exchange.asmx", "--mode", "application", "--mailbox", "a@contoso.com"}, "--mode must be impersonation, delegate or folder-delegate"},
		{"sim bad protocol", []string{"sim", "--protocol", "mapi"}, `--protocol must be ews or graph, not "mapi"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := runCLI(t, env, tt.args...)
			if res.code != exitUsage || !strings.Contains(res.stderr, tt.want) || res.stdout != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want 2 and %q", res.code, res.stdout, res.stderr, tt.want)
			}
			if strings.Contains(res.stderr, "s3cret-value") {
				t.Error("secret echoed")
			}
		})
	}
}

// TestSimDescribesGraph: sim --protocol graph prints what to connect to
// Graph with, and the commands it prints work.
func TestSimDescribesGraph(t *testing.T) {
	d := testGraphDemo(t)
	var b strings.Builder
	d.describe(&b)
	out := b.String()
	for _, want := range []string{"Graph URL: " + d.graphURL, "graph-url=" + d.graphURL + " authority=" + d.srv.URL,
		"tenant-id=" + ewssim.DemoTenant + " client-id=" + ewssim.DemoClientID + " client-secret=" + demoSecret,
		"ewsctl probe --protocol graph --graph-url " + d.graphURL} {
		if !strings.Contains(out, want) {
			t.Errorf("sim output lacks %q:\n%s", want, out)
		}
	}
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "ewsctl probe --protocol graph") {
			continue
		}
		res := runCLI(t, map[string]string{envClientSecret: demoSecret}, append(strings.Fields(line)[1:], "--json")...)
		if res.code != exitOK {
			t.Errorf("%s: exit %d %s %s", line, res.code, res.stdout, res.stderr)
		}
	}
}
