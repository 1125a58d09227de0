package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
	"github.com/mailbridge/mailbridge/shared/testsupport/openapicheck"
	"github.com/mailbridge/mailbridge/shared/testsupport/secretscan"
)

func testConfig(dir string) runConfig {
	return runConfig{
		once: true, workers: 8, interval: time.Minute, addr: "127.0.0.1:0", data: dir,
		demo: demoOptions{Mailboxes: demoMailboxes, Items: demoItems, Mode: domain.AccessImpersonation},
	}
}

// listItemIDs pages through an item listing over the API.
func listItemIDs(t *testing.T, base, path string) []string {
	t.Helper()
	var ids []string
	cursor := ""
	for {
		resp, err := openapicheck.Client(t).Get(base + path + "?limit=50&cursor=" + url.QueryEscape(cursor))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
		}
		var page struct {
			Items      []domain.Item `json:"items"`
			NextCursor string        `json:"nextCursor"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			ids = append(ids, it.ID)
		}
		if page.NextCursor == "" {
			return ids
		}
		cursor = page.NextCursor
	}
}

// readFeed pages through a feed over the API and returns every change.
// mailboxFeeds reads the mailbox feed of each of mailboxes.
func mailboxFeeds(t *testing.T, base string, mailboxes []string) []domain.Change {
	t.Helper()
	var all []domain.Change
	for _, mb := range mailboxes {
		all = append(all, readFeed(t, base, "/tenants/demo/mailboxes/"+mb+"/changes")...)
	}
	return all
}

// assertAnnounced: the tenant feed holds one mailboxSynced per mailbox and
// nothing else (their initial syncs are in their mailbox feeds).
func assertAnnounced(t *testing.T, feed []domain.Change, mailboxes []string) {
	t.Helper()
	seen := map[string]int{}
	for _, c := range feed {
		if c.Kind != domain.ChangeMailboxSynced {
			t.Fatalf("the tenant feed after the initial syncs holds %s of %s in %s, want only mailboxSynced", c.Kind, c.ItemID, c.Mailbox)
		}
		seen[c.Mailbox]++
	}
	for _, mb := range mailboxes {
		if seen[mb] != 1 {
			t.Fatalf("the tenant feed announces %s %d times, want once", mb, seen[mb])
		}
	}
	if len(feed) != len(mailboxes) {
		t.Fatalf("the tenant feed holds %d announcements for %d mailboxes", len(feed), len(mailboxes))
	}
}

func readFeed(t *testing.T, base, path string) []domain.Change {
	t.Helper()
	var all []domain.Change
	cursor := ""
	for {
		resp, err := openapicheck.Client(t).Get(base + path + "?limit=500&cursor=" + url.QueryEscape(cursor))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
		}
		var page struct {
			Changes    []domain.Change `json:"changes"`
			NextCursor string          `json:"nextCursor"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatal(err)
		}
		all = append(all, page.Changes...)
		if len(page.Changes) == 0 || page.NextCursor == cursor {
			return all
		}
		cursor = page.NextCursor
	}
}

func TestOnceSyncsTheDemoThenOnlyDeltas(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	var out bytes.Buffer

	s, err := openStack(ctx, testConfig(dir), &out)
	if err != nil {
		t.Fatal(err)
	}
	scanStack(t, s)
	first, err := s.runOnce(ctx, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	wantItems := 0
	for _, mb := range s.demo.dataset.Mailboxes {
		for _, f := range []string{"inbox", "sentitems", "calendar", "contacts"} {
			refs, err := s.demo.sim.ListItems(mb, f)
			if err != nil {
				t.Fatal(err)
			}
			wantItems += len(refs)
		}
	}
	if first.Enqueued != demoMailboxes || first.Done != demoMailboxes || first.Failed != 0 {
		t.Fatalf("first run: %+v, want all %d mailboxes synced", first, demoMailboxes)
	}
	if first.Appended != wantItems || wantItems < demoMailboxes*demoItems/2 {
		t.Fatalf("first run appended %d feed entries, want every demo item (%d)", first.Appended, wantItems)
	}
	// The demo's mailboxes were added through the API, so their first
	// sync is their initial sync: in the mailbox feeds, announced to the
	// tenant feed with one mailboxSynced each.
	assertAnnounced(t, readFeed(t, s.apiURL, "/tenants/demo/changes"), s.demo.dataset.Mailboxes)
	feed := mailboxFeeds(t, s.apiURL, s.demo.dataset.Mailboxes)
	if len(feed) != wantItems {
		t.Fatalf("the mailbox feeds hold %d changes, want %d", len(feed), wantItems)
	}
	kinds := map[domain.ItemKind]int{}
	for _, c := range feed {
		if c.Kind != domain.ChangeCreate || c.Item == nil {
			t.Fatalf("a first sync should only create: %+v", c)
		}
		kinds[c.Item.Kind]++
	}
	if kinds[domain.KindMessage] == 0 || kinds[domain.KindCalendar] == 0 || kinds[domain.KindContact] == 0 {
		t.Fatalf("want mail, calendar items and contacts in the feed, got %v", kinds)
	}
	mb := s.demo.dataset.Mailboxes[0]
	mfeed := readFeed(t, s.apiURL, "/tenants/demo/mailboxes/"+mb+"/changes")
	if n := len(mfeed); n == 0 || n >= wantItems {
		t.Fatalf("mailbox %s feed has %d changes; want its own items only", mb, n)
	}
	// The local run serves the bootstrap listing too: the mailbox's items,
	// the ones its feed created.
	if got := listItemIDs(t, s.apiURL, "/tenants/demo/mailboxes/"+mb+"/items"); len(got) != len(mfeed) {
		t.Fatalf("listing of %s has %d items, its feed %d creates", mb, len(got), len(mfeed))
	}
	if !strings.Contains(out.String(), fmt.Sprintf("%d/%d mailboxes synced (0 failed)", demoMailboxes, demoMailboxes)) {
		t.Fatalf("the summary line is missing:\n%s", out.String())
	}
	s.close()

	// A second --once run on the same data directory: the simulator
	// changes a few items first, and only those reach the feed.
	out.Reset()
	s, err = openStack(ctx, testConfig(dir), &out)
	if err != nil {
		t.Fatal(err)
	}
	scanStack(t, s)
	defer s.close()
	second, err := s.runOnce(ctx, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var changed int
	if _, err := fmt.Sscanf(out.String()[strings.Index(out.String(), "demo: the simulator changed"):], "demo: the simulator changed %d items", &changed); err != nil {
		t.Fatalf("no change round reported: %v\n%s", err, out.String())
	}
	if second.Done != demoMailboxes || second.Failed != 0 {
		t.Fatalf("second run: %+v, want all mailboxes synced", second)
	}
	if second.Appended != changed || changed == 0 {
		t.Fatalf("second run appended %d feed entries, want only the %d deltas", second.Appended, changed)
	}
	after := readFeed(t, s.apiURL, "/tenants/demo/changes")
	if len(after) != demoMailboxes+changed {
		t.Fatalf("the tenant feed holds %d changes after the second run, want %d announcements + %d", len(after), demoMailboxes, changed)
	}
	kinds2 := map[domain.ChangeKind]int{}
	for _, c := range after[demoMailboxes:] {
		kinds2[c.Kind]++
	}
	if kinds2[domain.ChangeCreate] == 0 || kinds2[domain.ChangeUpdate] == 0 || kinds2[domain.ChangeDelete] == 0 {
		t.Fatalf("the deltas should include creates, updates and deletes: %v", kinds2)
	}
}

func TestRunOnceExitsZeroWithASummary(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"--once", "--data", t.TempDir(), "--addr", "127.0.0.1:0",
		"--sim-latency", "0", "--demo-mailboxes", "3", "--demo-items", "12"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, errOut.String())
	}
	for _, want := range []string{"mailbridge: API on http://127.0.0.1:", "3/3 mailboxes synced (0 failed)", "/tenants/demo/changes"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// A bad flag or environment variable stops the run before anything
// starts: exit 2 and one line naming the setting and its value.
func TestBadSettingsExitTwo(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string // in stderr
	}{
		{"interval not whole minutes", []string{"--interval", "90s"}, nil, `--interval="1m30s": must be whole minutes, at least 1m`},
		{"no workers", []string{"--workers", "0"}, nil, `--workers="0": must be between 1 and 1024`},
		{"workers not a number", []string{"--workers", "many"}, nil, `invalid value "many" for flag -workers`},
		{"unknown demo mode", []string{"--demo-mode", "magic"}, nil, `--demo-mode="magic": must be one of impersonation, delegate`},
		{"no demo mailboxes", []string{"--demo-mailboxes", "0"}, nil, `--demo-mailboxes="0": must be between 1 and 1000000`},
		{"negative demo items", []string{"--demo-items", "-1"}, nil, `--demo-items="-1": must be between 0 and 1000000`},
		{"feed retention under an hour", []string{"--feed-retention", "30m"}, nil, `--feed-retention="30m0s": must be between 1h0m0s and 87600h0m0s`},
		{"rate limit without a burst", []string{"--rate-limit", "20"}, nil, `--rate-limit="20": want "<requests per second>/<burst>"`},
		{"spread past the queue's longest delay", []string{"--spread", "16m"}, nil, `--spread="16m0s": must be between 0s and 15m0s`},
		{"empty data directory", []string{"--data", ""}, nil, `--data is not set`},
		{"address without a port", []string{"--addr", "localhost"}, nil, `--addr="localhost": must be host:port`},
		{"MAILBRIDGE_ADDR without a port", nil, map[string]string{"MAILBRIDGE_ADDR": "8080"}, `MAILBRIDGE_ADDR="8080": must be host:port`},
		{"MAILBRIDGE_ADDR with a bad port", nil, map[string]string{"MAILBRIDGE_ADDR": "127.0.0.1:http"}, `MAILBRIDGE_ADDR="127.0.0.1:http": must be host:port`},
		{"lastSync refresh not a duration", []string{"--lastsync-refresh", "often"}, nil, `--lastsync-refresh="often": not a duration (such as 15m or 1h) nor every`},
		{"MAILBRIDGE_LASTSYNC_REFRESH negative", nil, map[string]string{"MAILBRIDGE_LASTSYNC_REFRESH": "-1h"}, `MAILBRIDGE_LASTSYNC_REFRESH="-1h": must be every (or 0), or between 1s and 24h0m0s`},
		{"extra argument", []string{"extra"}, nil, `unexpected argument "extra"`},
		{"unknown flag", []string{"--no-such-flag"}, nil, "flag provided but not defined: -no-such-flag"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			var out, errOut bytes.Buffer
			args := append([]string{"--data", t.TempDir()}, tc.args...)
			if code := run(context.Background(), args, &out, &errOut); code != 2 {
				t.Fatalf("exit %d, want 2; stderr:\n%s", code, errOut.String())
			}
			if !strings.Contains(errOut.String(), tc.want) {
				t.Fatalf("stderr %q, want %q", errOut.String(), tc.want)
			}
			if out.Len() != 0 {
				t.Fatalf("started anyway:\n%s", out.String())
			}
		})
	}
}

// The environment gives --addr, --data and --secrets-key their defaults;
// a flag overrides it.
func TestEnvironmentDefaults(t *testing.T) {
	t.Setenv("MAILBRIDGE_ADDR", "127.0.0.1:9999")
	t.Setenv("MAILBRIDGE_DATA", "/tmp/mb-data")
	t.Setenv("MAILBRIDGE_SECRETS_KEY_FILE", "/tmp/mb.key")
	cfg, err := parseFlags([]string{"--addr", "127.0.0.1:0"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.addr != "127.0.0.1:0" || cfg.data != "/tmp/mb-data" || cfg.secretsKey != "/tmp/mb.key" || cfg.workers != defaultWorkers || cfg.interval != time.Minute || cfg.lastSyncRefresh != app.DefaultLastSyncRefresh {
		t.Fatalf("config %+v", cfg)
	}
}

// MAILBRIDGE_LASTSYNC_REFRESH gives --lastsync-refresh its default; the
// flag overrides it; every (or 0) means every sync.
func TestLastSyncRefreshSetting(t *testing.T) {
	for _, tc := range []struct {
		env  string
		args []string
		want time.Duration
	}{
		{"", nil, app.DefaultLastSyncRefresh},
		{"15m", nil, 15 * time.Minute},
		{"every", nil, app.LastSyncEverySync},
		{"0", nil, app.LastSyncEverySync},
		{"15m", []string{"--lastsync-refresh", "6h"}, 6 * time.Hour},
		{"6h", []string{"--lastsync-refresh", "every"}, app.LastSyncEverySync},
	} {
		t.Setenv("MAILBRIDGE_LASTSYNC_REFRESH", tc.env)
		cfg, err := parseFlags(tc.args, io.Discard)
		if err != nil || cfg.lastSyncRefresh != tc.want {
			t.Errorf("env %q, args %v: refresh %v (%v), want %v", tc.env, tc.args, cfg.lastSyncRefresh, err, tc.want)
		}
	}
}

func TestDemoSizeIsFixedByTheFirstRun(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	args := []string{"--once", "--data", dir, "--addr", "127.0.0.1:0", "--sim-latency", "0", "--demo-mailboxes", "2", "--demo-items", "5"}
	if code := run(context.Background(), args, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	errOut.Reset()
	args[len(args)-1] = "6"
	if code := run(context.Background(), args, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "--demo-items 5") {
		t.Fatalf("exit %d, stderr %q: want a refusal naming the flags to use", code, errOut.String())
	}
}

func TestNoDemo(t *testing.T) {
	t.Run("refuses to store real credentials without a key", func(t *testing.T) {
		var out, errOut bytes.Buffer
		code := run(context.Background(), []string{"--no-demo", "--once", "--data", t.TempDir(), "--addr", "127.0.0.1:0"}, &out, &errOut)
		if code != 1 || !strings.Contains(errOut.String(), "--secrets-key") {
			t.Fatalf("exit %d, stderr %q: want a refusal naming --secrets-key", code, errOut.String())
		}
	})
	t.Run("with --dev runs an empty tick over the API's tenants", func(t *testing.T) {
		var out, errOut bytes.Buffer
		code := run(context.Background(), []string{"--no-demo", "--dev", "--once", "--data", t.TempDir(), "--addr", "127.0.0.1:0"}, &out, &errOut)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut.String())
		}
		if !strings.Contains(out.String(), "0/0 mailboxes synced") || strings.Contains(out.String(), "simulated Exchange") {
			t.Fatalf("want an empty tick and no demo:\n%s", out.String())
		}
	})
}

// peak returns the highest concurrency the simulator saw for budget owners
// whose name starts with prefix.
func peak(s *stack, prefix string) int {
	n := 0
	for owner, p := range s.demo.sim.Stats().PeakConcurrency {
		if strings.HasPrefix(owner, prefix) {
			n = max(n, p)
		}
	}
	return n
}

// Throttling budgets end to end: the message groups the scheduler picks and the
// embedded queue honours keep a delegate tenant within its job limit, and
// an impersonated mailbox to one call at a time.
func TestConcurrencyStaysWithinBudgets(t *testing.T) {
	for _, tc := range []struct {
		name          string
		mode          domain.AccessMode
		jobs, cap     int
		wantThrottled bool
		owner         string
		// minPeak 2: the jobs of a delegate tenant within its budget run
		// side by side.
		minPeak, maxPeak int
	}{
		{"delegate, 3 jobs on a budget of 3", domain.AccessDelegate, 3, 3, false, "account:", 2, 3},
		{"delegate, 6 jobs on a budget of 3: throttled, requeued, all synced", domain.AccessDelegate, 6, 3, true, "account:", 1, 3},
		{"impersonation: one call per mailbox at a time", domain.AccessImpersonation, 10, 27, false, "mailbox:", 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t.TempDir())
			cfg.workers = 16
			cfg.demo = demoOptions{Mailboxes: 24, Items: 6, Latency: 10 * time.Millisecond, MaxConcurrency: tc.cap,
				BackOff: time.Second, Mode: tc.mode, MaxJobs: tc.jobs}
			s, err := openStack(context.Background(), cfg, secretscan.Writer(secretscan.Logs, "local stack log"))
			if err != nil {
				t.Fatal(err)
			}
			scanStack(t, s)
			defer s.close()
			s.demo.sim.ResetStats()
			r, err := s.runOnce(context.Background(), time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if r.Done != 24 || r.Failed != 0 {
				t.Fatalf("report %+v: want all 24 mailboxes synced", r)
			}
			throttled := s.demo.sim.Stats().Throttled
			if (throttled > 0) != tc.wantThrottled || (r.Requeues > 0) != tc.wantThrottled {
				t.Fatalf("%d calls throttled, %d jobs requeued; want throttling %v", throttled, r.Requeues, tc.wantThrottled)
			}
			if p := peak(s, tc.owner); p < tc.minPeak || p > tc.maxPeak {
				t.Fatalf("peak concurrency of %s* = %d, want %d..%d", tc.owner, p, tc.minPeak, tc.maxPeak)
			}
		})
	}
}

// A throttle storm: 30% of calls answered ErrorServerBusy. Throttled jobs go
// back to the embedded queue with the server's delay and resume; every
// mailbox ends synced and the feed holds every item exactly once.
// The stack's jobs name several mailboxes each (app.Scheduler packs 10 a
// message, the demo's 16 make two jobs), so a throttled mailbox sends its
// whole job back: the finished mailboxes must not sync again (the
// successful calls of the storm are those of a calm run).
func TestThrottleStormConverges(t *testing.T) {
	run := func(storm bool) tickReport {
		cfg := testConfig(t.TempDir())
		cfg.demo = demoOptions{Mailboxes: 16, Items: 12, BackOff: time.Second, Mode: domain.AccessImpersonation}
		s, err := openStack(context.Background(), cfg, secretscan.Writer(secretscan.Logs, "local stack log"))
		if err != nil {
			t.Fatal(err)
		}
		scanStack(t, s)
		t.Cleanup(s.close)
		if storm {
			s.demo.sim.InjectFault(ewssim.Fault{Kind: ewssim.FaultSOAP, Code: "ErrorServerBusy", BackOff: time.Second, Rate: 0.3})
		}
		r, err := s.runOnce(context.Background(), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if storm {
			assertFeedOnce(t, s.apiURL, r, s.demo.dataset.Mailboxes, 16*12)
		}
		return r
	}
	calm, r := run(false), run(true)
	if r.Done != 16 || r.Failed != 0 || r.Requeues == 0 || r.Throttled == 0 {
		t.Fatalf("report %+v: want all 16 synced after some requeues", r)
	}
	repeated := r.EWSCalls - r.Throttled - calm.EWSCalls
	t.Logf("storm: %d EWS calls (%d throttled, %d requeues), calm: %d; successful calls repeated: %d", r.EWSCalls, r.Throttled, r.Requeues, calm.EWSCalls, repeated)
	if repeated > calm.EWSCalls/50 {
		t.Fatalf("%d successful calls repeated after requeues (calm run: %d calls), want at most 2%%", repeated, calm.EWSCalls)
	}
}

// assertFeedOnce checks that the tenant feed holds every item exactly once.
func assertFeedOnce(t *testing.T, apiURL string, r tickReport, mailboxes []string, items int) {
	t.Helper()
	assertAnnounced(t, readFeed(t, apiURL, "/tenants/demo/changes"), mailboxes)
	feed := mailboxFeeds(t, apiURL, mailboxes)
	seen := map[string]bool{}
	for _, c := range feed {
		if seen[c.ItemID] {
			t.Fatalf("item %s twice in the feed", c.ItemID)
		}
		seen[c.ItemID] = true
	}
	if len(feed) != items || r.Appended != items {
		t.Fatalf("feed holds %d changes (report %d), want every one of the %d items once", len(feed), r.Appended, items)
	}
}

// A job throttled on every receive is dead-lettered after the queue's
// last receive; the tick still completes, reporting it failed.
func TestAlwaysThrottledJobEndsTheTick(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.demo = demoOptions{Mailboxes: 2, Items: 4, Mode: domain.AccessImpersonation}
	cfg.maxReceives = 2 // instead of 10, to keep the test short
	s, err := openStack(context.Background(), cfg, secretscan.Writer(secretscan.Logs, "local stack log"))
	if err != nil {
		t.Fatal(err)
	}
	scanStack(t, s)
	defer s.close()
	s.demo.sim.InjectFault(ewssim.Fault{Kind: ewssim.FaultSOAP, Code: "ErrorServerBusy", BackOff: time.Millisecond, Mailbox: s.demo.dataset.Mailboxes[0]})
	r, err := s.runOnce(context.Background(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if r.Done != 2 || r.Failed != 1 || r.Requeues != 1 {
		t.Fatalf("report %+v: want one mailbox synced, one failed after 2 receives", r)
	}
}

// notifyWriter calls found once when what it is written contains want.
type notifyWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	want  string
	found chan struct{}
}

func (w *notifyWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.buf.Write(p)
	if w.found != nil && strings.Contains(w.buf.String(), w.want) {
		close(w.found)
		w.found = nil
	}
	return n, err
}

func (w *notifyWriter) String() string { w.mu.Lock(); defer w.mu.Unlock(); return w.buf.String() }

// Without --once the stack keeps ticking until interrupted (SIGINT cancels
// the context in main), then stops cleanly, keeping its data.
func TestRunsUntilInterrupted(t *testing.T) {
	dir := t.TempDir()
	out := &notifyWriter{want: "3/3 mailboxes synced", found: make(chan struct{})}
	found := out.found
	ctx, cancel := context.WithCancel(context.Background())
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, []string{"--data", dir, "--addr", "127.0.0.1:0", "--sim-latency", "0", "--spread", "0",
			"--demo-mailboxes", "3", "--demo-items", "6"}, out, io.Discard)
	}()
	select {
	case <-found:
	case <-time.After(30 * time.Second):
		t.Fatalf("no tick completed:\n%s", out.String())
	}
	cancel()
	select {
	case c := <-code:
		if c != 0 || !strings.Contains(out.String(), "mailbridge: stopped; data kept in "+dir) {
			t.Fatalf("exit %d:\n%s", c, out.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("did not stop after the interrupt")
	}
	// The data survives: a --once run finds the demo tenant already onboarded.
	var again bytes.Buffer
	if c := run(context.Background(), []string{"--once", "--data", dir, "--addr", "127.0.0.1:0", "--sim-latency", "0",
		"--demo-mailboxes", "3", "--demo-items", "6"}, &again, io.Discard); c != 0 || !strings.Contains(again.String(), "demo: the simulator changed") {
		t.Fatalf("second run exit %d:\n%s", c, again.String())
	}
}
