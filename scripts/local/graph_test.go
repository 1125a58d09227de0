package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/graphmailbox"
)

func graphTestConfig(dir string) runConfig {
	cfg := testConfig(dir)
	cfg.demo.Protocol = domain.ProtocolGraph
	cfg.demo.Mode = ""
	return cfg
}

// graphItemCount is how many items the demo's synced folders hold that
// Graph reports: every message and contact, and the events that overlap
// the calendar window (graphmailbox's default, from now).
func graphItemCount(t *testing.T, s *stack, now time.Time) int {
	t.Helper()
	from, to := now.Add(-graphmailbox.DefaultCalendarBack), now.Add(graphmailbox.DefaultCalendarAhead)
	n := 0
	for _, mb := range s.demo.dataset.Mailboxes {
		for _, f := range []string{"inbox", "sentitems", "calendar", "contacts"} {
			items, err := s.demo.sim.Items(mb, f)
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range items {
				if f != "calendar" || (it.Start.Before(to) && it.End.After(from)) {
					n++
				}
			}
		}
	}
	return n
}

// assertGraphOnly checks that the tick's syncs went over Graph only: the
// Graph front end admitted delta requests, EWS answered nothing.
func assertGraphOnly(t *testing.T, s *stack) {
	t.Helper()
	g, e := s.demo.graph.Stats(), s.demo.sim.Stats()
	if g.Calls["messages.delta"] == 0 || g.Calls["events.delta"] == 0 || g.Calls["contacts.delta"] == 0 {
		t.Errorf("Graph calls %v: want message, event and contact deltas", g.Calls)
	}
	if e.TotalCalls() != 0 {
		t.Errorf("EWS answered %v for a graph tenant's syncs, want nothing", e.Calls)
	}
	if g.AuthFailures != 0 || len(g.Errors) != 0 || g.Throttled != 0 {
		t.Errorf("Graph stats %+v: want no failures", g)
	}
}

// The graph demo: the tenant is onboarded with protocol graph and an
// OAuth app whose authority is the simulator, the first --once run syncs
// every mailbox over Graph, a change round and the next tick read and
// deliver only the changes, and a later run (a new simulator port, so a
// new Graph URL and authority) delivers only its change round's deltas.
func TestGraphDemoSyncsOverGraphThenOnlyDeltas(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	var out bytes.Buffer

	s, err := openStack(ctx, graphTestConfig(dir), &out)
	if err != nil {
		t.Fatal(err)
	}
	scanStack(t, s)
	s.banner()
	ten, err := s.tenants.Get(ctx, demoTenantID)
	if err != nil {
		t.Fatal(err)
	}
	if ten.Protocol != domain.ProtocolGraph || ten.AccessMode != domain.AccessApplication || ten.GraphURL != s.demo.graphURL || ten.AuthKind != domain.AuthOAuthSecret {
		t.Fatalf("demo tenant %+v: want protocol graph, application access, the simulator's Graph URL, oauth_secret", ten)
	}
	// Onboarding verified every mailbox over Graph; count the syncs only.
	s.demo.graph.ResetStats()
	s.demo.sim.ResetStats()
	first, err := s.runOnce(ctx, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	wantItems := graphItemCount(t, s, time.Now())
	if wantItems < demoMailboxes*demoItems*3/4 {
		t.Fatalf("only %d of the demo's items are in Graph's calendar window", wantItems)
	}
	if first.Done != demoMailboxes || first.Failed != 0 || first.Appended != wantItems {
		t.Fatalf("first run %+v: want %d mailboxes synced and every demo item (%d) in the feed", first, demoMailboxes, wantItems)
	}
	assertGraphOnly(t, s)
	assertAnnounced(t, readFeed(t, s.apiURL, "/tenants/demo/changes"), s.demo.dataset.Mailboxes)
	feed := mailboxFeeds(t, s.apiURL, s.demo.dataset.Mailboxes)
	kinds := map[domain.ItemKind]int{}
	for _, c := range feed {
		if c.Kind != domain.ChangeCreate || c.Item == nil {
			t.Fatalf("a first sync should only create: %+v", c)
		}
		kinds[c.Item.Kind]++
	}
	if len(feed) != wantItems || kinds[domain.KindMessage] == 0 || kinds[domain.KindCalendar] == 0 || kinds[domain.KindContact] == 0 {
		t.Fatalf("feed holds %d changes (%v), want %d of mail, calendar and contacts", len(feed), kinds, wantItems)
	}
	mbs, _, err := s.store.ListMailboxes(ctx, demoTenantID, domain.MailboxQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mbs {
		if m.Status != domain.MailboxOK || m.EffectiveMode != domain.AccessApplication {
			t.Errorf("mailbox %s: status %s, mode %s; want ok, application", m.Address, m.Status, m.EffectiveMode)
		}
	}
	if len(mbs) != demoMailboxes {
		t.Errorf("%d mailboxes, want %d", len(mbs), demoMailboxes)
	}
	for _, want := range []string{"protocol graph", s.demo.graphURL, "Graph calls", fmt.Sprintf("%d/%d mailboxes synced (0 failed)", demoMailboxes, demoMailboxes)} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}

	// A change round while running (make run's loop): the next tick reads
	// only the round's changes over Graph delta.
	n, err := s.demo.mutate()
	if err != nil {
		t.Fatal(err)
	}
	s.demo.graph.ResetStats()
	s.demo.sim.ResetStats()
	delta, err := s.runOnce(ctx, time.Now().Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if delta.Done != demoMailboxes || delta.Failed != 0 || delta.Changes != n || delta.Appended != n || n == 0 {
		t.Fatalf("tick after change round 1 (%d changes): %+v; want every mailbox synced and only those changes read and appended", n, delta)
	}
	assertGraphOnly(t, s)
	tenantFeed := demoMailboxes + n // one mailboxSynced per mailbox, then the round's changes
	firstURL := s.demo.graphURL
	s.close()

	// A later --once run takes the simulator's port again, so the saved
	// delta links still hold: a change round, and only its changes are
	// read and reach the feed.
	s, err = openStack(ctx, graphTestConfig(dir), &out)
	if err != nil {
		t.Fatal(err)
	}
	scanStack(t, s)
	if s.demo.graphURL != firstURL {
		s.close()
		t.Fatalf("the simulator moved from %s to %s with its port free", firstURL, s.demo.graphURL)
	}
	feedLen := laterRun(t, s, tenantFeed, false)
	s.close()

	// With the port taken the simulator moves: the tenant is patched to the
	// new Graph URL and its credential rotated to the new authority; the
	// saved delta links name the old address, so the folders resync, and
	// the unchanged items they read again are not new changes.
	ln, err := net.Listen("tcp", strings.TrimPrefix(strings.TrimSuffix(firstURL, "/v1.0"), "https://"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s, err = openStack(ctx, graphTestConfig(dir), &out)
	if err != nil {
		t.Fatal(err)
	}
	scanStack(t, s)
	defer s.close()
	ten, err = s.tenants.Get(ctx, demoTenantID)
	if err != nil || ten.GraphURL != s.demo.graphURL || ten.GraphURL == firstURL {
		t.Fatalf("tenant %+v (%v): want it pointed at this run's simulator", ten, err)
	}
	cred, err := s.tenants.Secrets.GetCredential(ctx, demoTenantID)
	if err != nil || cred.Authority != s.demo.server.URL {
		t.Fatalf("credential authority %q (%v), want %s", cred.Authority, err, s.demo.server.URL)
	}
	laterRun(t, s, feedLen, true)
}

// laterRun runs a --once tick on a reopened graph demo stack: the
// simulator changes a few items first, and only those reach the feed
// (and, unless resync, only those are read). It returns the feed's size.
func laterRun(t *testing.T, s *stack, feedBefore int, resync bool) int {
	t.Helper()
	s.demo.graph.ResetStats()
	s.demo.sim.ResetStats()
	mark := s.demo.rounds
	r, err := s.runOnce(context.Background(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if s.demo.rounds != mark+1 {
		t.Fatalf("no change round before the tick (rounds %d)", s.demo.rounds)
	}
	changed := s.demo.lastChanges
	if r.Done != demoMailboxes || r.Failed != 0 || r.Appended != changed || changed == 0 {
		t.Fatalf("run %+v: want all mailboxes synced and only the %d deltas in the feed", r, changed)
	}
	if !resync && r.Changes != changed {
		t.Fatalf("run %+v: read %d changes, want only the round's %d", r, r.Changes, changed)
	}
	assertGraphOnly(t, s)
	after := readFeed(t, s.apiURL, "/tenants/demo/changes")
	if len(after) != feedBefore+changed {
		t.Fatalf("the feed holds %d changes, want %d + %d", len(after), feedBefore, changed)
	}
	ck := map[domain.ChangeKind]int{}
	for _, c := range after[feedBefore:] {
		ck[c.Kind]++
	}
	if ck[domain.ChangeCreate] == 0 || ck[domain.ChangeUpdate] == 0 || ck[domain.ChangeDelete] == 0 {
		t.Fatalf("the deltas should include creates, updates and deletes: %v", ck)
	}
	return len(after)
}

// --demo-protocol goes through the strict loader like the other flags.
func TestDemoProtocolFlag(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown protocol", []string{"--demo-protocol", "mapi"}, `mailbridge: --demo-protocol="mapi": must be one of ews, graph`},
		{"EWS access mode with graph", []string{"--demo-protocol", "graph", "--demo-mode", "delegate"},
			`mailbridge: --demo-mode="delegate": the graph demo uses application access (an Entra app); --demo-mode is for --demo-protocol ews`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			args := append([]string{"--data", t.TempDir()}, tc.args...)
			if code := run(context.Background(), args, &out, &errOut); code != 2 {
				t.Fatalf("exit %d, want 2; stderr:\n%s", code, errOut.String())
			}
			if strings.TrimSpace(errOut.String()) != tc.want || out.Len() != 0 {
				t.Fatalf("stderr %q, want %q; stdout %q", errOut.String(), tc.want, out.String())
			}
		})
	}
	cfg, err := parseFlags([]string{"--demo-protocol", "graph"}, &bytes.Buffer{})
	if err != nil || cfg.demo.Protocol != domain.ProtocolGraph || cfg.demo.Mode != "" {
		t.Fatalf("config %+v, %v: want the graph demo", cfg.demo, err)
	}
	if cfg, err = parseFlags(nil, &bytes.Buffer{}); err != nil || cfg.demo.Protocol != domain.ProtocolEWS {
		t.Fatalf("default protocol %q, %v: want ews", cfg.demo.Protocol, err)
	}
}

// The first run of a data directory decides the demo tenant's protocol;
// a run with the other one is refused, naming the flag to use.
func TestDemoProtocolIsFixedByTheFirstRun(t *testing.T) {
	for _, tc := range []struct{ first, then string }{{"ews", "graph"}, {"graph", "ews"}} {
		t.Run(tc.first+" then "+tc.then, func(t *testing.T) {
			dir := t.TempDir()
			args := func(p string) []string {
				return []string{"--once", "--data", dir, "--addr", "127.0.0.1:0", "--sim-latency", "0",
					"--demo-mailboxes", "2", "--demo-items", "6", "--demo-protocol", p}
			}
			var out, errOut bytes.Buffer
			if code := run(context.Background(), args(tc.first), &out, &errOut); code != 0 {
				t.Fatalf("first run: exit %d: %s", code, errOut.String())
			}
			if want := "(protocol " + tc.first; !strings.Contains(out.String(), want) {
				t.Errorf("the banner does not say %q:\n%s", want, out.String())
			}
			errOut.Reset()
			want := fmt.Sprintf("mailbridge: starting the demo simulator: the data directory %s holds a demo tenant on protocol %s; run with --demo-protocol %s, or use another --data (or rm -rf %s to start afresh)\n",
				dir, tc.first, tc.first, dir)
			if code := run(context.Background(), args(tc.then), &out, &errOut); code != 1 || errOut.String() != want {
				t.Fatalf("exit %d, stderr %q; want 1 and %q", code, errOut.String(), want)
			}
			if code := run(context.Background(), args(tc.first), &out, &errOut); code != 0 {
				t.Fatalf("the first protocol again: exit %d: %s", code, errOut.String())
			}
		})
	}
}
