// Command local runs all of Mailbridge in one process: the embedded bolt
// store and file secrets under $MAILBRIDGE_DATA (default .mailbridge/), the
// embedded queue with its workers, the scheduler ticking every minute, the
// API on $MAILBRIDGE_ADDR (default 127.0.0.1:8080), and, unless --no-demo,
// the EWS simulator with a demo tenant of 50 mailboxes. `make run` runs it;
// see docs/local.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/mailbridge/mailbridge/shared/api"
	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/local/localqueue"
	"github.com/mailbridge/mailbridge/shared/platform/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run is the program: it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return 2
	}
	s, err := openStack(ctx, cfg, stdout)
	if err != nil {
		fmt.Fprintln(stderr, "mailbridge:", err)
		return 1
	}
	defer s.close()
	s.banner()
	if cfg.once {
		if _, err := s.runOnce(ctx, time.Now()); err != nil {
			fmt.Fprintln(stderr, "mailbridge:", err)
			return 1
		}
		return 0
	}
	if err := s.runForever(ctx); err != nil {
		fmt.Fprintln(stderr, "mailbridge:", err)
		return 1
	}
	fmt.Fprintln(stdout, "mailbridge: stopped; data kept in", cfg.data)
	return 0
}

// Defaults and bounds of the command line (docs/local.md).
const (
	defaultAddr    = "127.0.0.1:8080"
	defaultData    = ".mailbridge"
	defaultWorkers = 16
	maxWorkers     = 1024
	maxDemoSize    = 1_000_000 // mailboxes, or items per mailbox
)

// parseFlags reads the command line and the environment variables that
// give some flags their defaults. Both go through the strict settings
// loader, so a bad value is refused the same way: its name, the value and
// what is wrong, on one line.
func parseFlags(args []string, stderr io.Writer) (runConfig, error) {
	cfg := runConfig{}
	env := config.Env()
	addr := config.Parse(env, "MAILBRIDGE_ADDR", defaultAddr, parseListenAddr)
	data := env.String("MAILBRIDGE_DATA", defaultData)
	secretsKey := env.String("MAILBRIDGE_SECRETS_KEY_FILE", "")
	lastSyncRefresh := env.String("MAILBRIDGE_LASTSYNC_REFRESH", "")
	config.Parse(env, "MAILBRIDGE_LASTSYNC_REFRESH", app.DefaultLastSyncRefresh, app.ParseLastSyncRefresh)
	if err := env.Err(); err != nil {
		fmt.Fprintln(stderr, "mailbridge:", err)
		return cfg, err
	}

	fs := flag.NewFlagSet("mailbridge-local", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&cfg.once, "once", false, "run one tick over every tenant to completion, print the summary and exit")
	fs.BoolVar(&cfg.noDemo, "no-demo", false, "start without the simulator and demo tenant (onboard tenants through the API)")
	fs.BoolVar(&cfg.dev, "dev", false, "allow http and loopback EWS URLs (a local Exchange or simulator)")
	fs.BoolVar(&cfg.verbose, "v", false, "log every mailbox sync")
	// The other flags are read below, through the loader.
	fs.Duration("interval", time.Minute, "the demo tenant's sync interval (whole minutes)")
	fs.Int("workers", defaultWorkers, "concurrent mailbox syncs")
	fs.Duration("feed-retention", 30*24*time.Hour, "how long the change feeds keep a change (a reader further behind gets 410)")
	fs.String("rate-limit", "20/100", "the API's request rate limit per tenant (and per caller on /tenants): <per second>/<burst>, or off (429 beyond it)")
	fs.String("addr", addr, "API listen address ($MAILBRIDGE_ADDR)")
	fs.String("data", data, "data directory, kept between runs ($MAILBRIDGE_DATA)")
	fs.Duration("sim-latency", 20*time.Millisecond, "the demo simulator's latency per EWS call")
	fs.Int("demo-mailboxes", demoMailboxes, "mailboxes in the demo (a first run decides; later runs must keep it)")
	fs.Int("demo-items", demoItems, "items per demo mailbox (a first run decides; later runs must keep it)")
	fs.String("demo-mode", string(domain.AccessImpersonation), "the EWS demo tenant's access mode: impersonation or delegate")
	fs.String("demo-protocol", string(domain.ProtocolEWS), "the demo tenant's protocol: ews, or graph (Microsoft Graph with an Entra app; a first run decides)")
	fs.Duration("mutate-every", 45*time.Second, "how often the simulator changes a few demo items (0: never)")
	fs.Duration("spread", 20*time.Second, "spread each tenant's jobs over this much of the minute")
	fs.String("lastsync-refresh", lastSyncRefresh, "how stale an idle mailbox's lastSync may get before a sync rewrites its record: a duration (1s to 24h; default 1h) or every ($MAILBRIDGE_LASTSYNC_REFRESH)")
	fs.String("secrets-key", secretsKey, "key file (32 bytes, mode 600) encrypting the stored credentials ($MAILBRIDGE_SECRETS_KEY_FILE); the demo and --dev generate one in the data directory")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return cfg, fmt.Errorf("unexpected argument")
	}

	r := config.New(config.Flags(fs))
	cfg.interval = config.Parse(r, "--interval", time.Minute, parseInterval)
	cfg.workers = r.Int("--workers", defaultWorkers, 1, maxWorkers)
	cfg.feedRetention = r.Duration("--feed-retention", 30*24*time.Hour, time.Hour, 3650*24*time.Hour)
	cfg.addr = config.Parse(r, "--addr", defaultAddr, parseListenAddr)
	cfg.rateLimit = config.Parse(r, "--rate-limit", api.DefaultRateLimit, api.ParseRateLimit)
	cfg.lastSyncRefresh = config.Parse(r, "--lastsync-refresh", app.DefaultLastSyncRefresh, app.ParseLastSyncRefresh)
	cfg.data = r.Required("--data")
	cfg.demo.Latency = r.Duration("--sim-latency", 20*time.Millisecond, 0, 10*time.Second)
	cfg.demo.Mailboxes = r.Int("--demo-mailboxes", demoMailboxes, 1, maxDemoSize)
	cfg.demo.Items = r.Int("--demo-items", demoItems, 0, maxDemoSize)
	cfg.demo.Protocol = domain.Protocol(r.Enum("--demo-protocol", string(domain.ProtocolEWS), string(domain.ProtocolEWS), string(domain.ProtocolGraph)))
	cfg.demo.Mode = domain.AccessMode(r.Enum("--demo-mode", string(domain.AccessImpersonation), string(domain.AccessImpersonation), string(domain.AccessDelegate)))
	if cfg.demo.Protocol == domain.ProtocolGraph {
		// A Graph tenant has one mode, application access: a mode given
		// with it is a mistake to report, not to ignore.
		fs.Visit(func(f *flag.Flag) {
			if f.Name == "demo-mode" {
				config.Parse(r, "--demo-mode", "", func(string) (string, error) {
					return "", errors.New("the graph demo uses application access (an Entra app); --demo-mode is for --demo-protocol ews")
				})
			}
		})
		cfg.demo.Mode = ""
	}
	cfg.mutateEvery = r.Duration("--mutate-every", 45*time.Second, 0, 24*time.Hour)
	// A job's spread delay must fit in the queue's longest delay.
	cfg.spread = r.Duration("--spread", 20*time.Second, 0, localqueue.MaxDelay)
	cfg.secretsKey = r.String("--secrets-key", "")
	if err := r.Err(); err != nil {
		fmt.Fprintln(stderr, "mailbridge:", err)
		return cfg, err
	}
	if cfg.once {
		cfg.spread = 0 // finish as fast as possible
	}
	return cfg, nil
}

// parseListenAddr accepts host:port (the host may be empty: every address).
func parseListenAddr(s string) (string, error) {
	_, port, err := net.SplitHostPort(s)
	if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 0 || n > 65535 {
		return "", errors.New("must be host:port, such as 127.0.0.1:8080")
	}
	return s, nil
}

// parseInterval accepts whole minutes, at least one: the scheduler ticks
// once a minute.
func parseInterval(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d < time.Minute || d%time.Minute != 0 {
		return 0, errors.New("must be whole minutes, at least 1m")
	}
	return d, nil
}

// banner says where everything is and how to read the feed.
func (s *stack) banner() {
	fmt.Fprintf(s.out, "mailbridge: API on %s, data in %s, %d workers\n", s.apiURL, s.cfg.data, s.cfg.workers)
	if s.demo != nil {
		if s.demo.protocol == domain.ProtocolGraph {
			fmt.Fprintf(s.out, "demo: simulated Exchange Online, Microsoft Graph at %s, tenant %q with %d mailboxes (protocol graph, application access as an Entra app), interval %s\n",
				s.demo.graphURL, demoTenantID, len(s.demo.dataset.Mailboxes), s.cfg.interval)
		} else {
			mode := s.cfg.demo.Mode
			if mode == "" {
				mode = domain.AccessImpersonation
			}
			fmt.Fprintf(s.out, "demo: simulated Exchange at %s, tenant %q with %d mailboxes (protocol ews, %s), interval %s\n",
				s.demo.server.EWSURL, demoTenantID, len(s.demo.dataset.Mailboxes), mode, s.cfg.interval)
		}
		fmt.Fprintf(s.out, "read the change feed:  curl -s '%s/tenants/%s/changes?limit=20'\n", s.apiURL, demoTenantID)
		fmt.Fprintf(s.out, "one mailbox:           curl -s '%s/tenants/%s/mailboxes/%s/changes?limit=20'\n", s.apiURL, demoTenantID, s.demo.dataset.Mailboxes[0])
	} else {
		fmt.Fprintf(s.out, "no demo: onboard a tenant with  curl -s -X POST %s/tenants -d @tenant.json  (see docs/local.md)\n", s.apiURL)
	}
}
