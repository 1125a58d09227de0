// Command local runs all of Mailbridge in one process: the embedded bolt
// store and file secrets under $MAILBRIDGE_DATA (default .mailbridge/), the
// embedded queue with its workers, the scheduler ticking every minute, the
// API on $MAILBRIDGE_ADDR (default 127.0.0.1:8080), and, unless --no-demo,
// the EWS simulator with a demo tenant of 50 mailboxes. `make run` runs it;
// see docs/local.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
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

func parseFlags(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("mailbridge-local", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := config{}
	fs.BoolVar(&cfg.once, "once", false, "run one tick over every tenant to completion, print the summary and exit")
	fs.BoolVar(&cfg.noDemo, "no-demo", false, "start without the simulator and demo tenant (onboard tenants through the API)")
	fs.BoolVar(&cfg.dev, "dev", false, "allow http and loopback EWS URLs (a local Exchange or simulator)")
	fs.DurationVar(&cfg.interval, "interval", time.Minute, "the demo tenant's sync interval (whole minutes)")
	fs.IntVar(&cfg.workers, "workers", 16, "concurrent mailbox syncs")
	fs.DurationVar(&cfg.feedRetention, "feed-retention", 30*24*time.Hour, "how long the change feeds keep a change (a reader further behind gets 410)")
	fs.StringVar(&cfg.addr, "addr", envOr("MAILBRIDGE_ADDR", "127.0.0.1:8080"), "API listen address ($MAILBRIDGE_ADDR)")
	fs.StringVar(&cfg.data, "data", envOr("MAILBRIDGE_DATA", ".mailbridge"), "data directory, kept between runs ($MAILBRIDGE_DATA)")
	fs.DurationVar(&cfg.demo.Latency, "sim-latency", 20*time.Millisecond, "the demo simulator's latency per EWS call")
	fs.IntVar(&cfg.demo.Mailboxes, "demo-mailboxes", demoMailboxes, "mailboxes in the demo (a first run decides; later runs must keep it)")
	fs.IntVar(&cfg.demo.Items, "demo-items", demoItems, "items per demo mailbox (a first run decides; later runs must keep it)")
	mode := fs.String("demo-mode", string(domain.AccessImpersonation), "the demo tenant's access mode: impersonation or delegate")
	fs.DurationVar(&cfg.mutateEvery, "mutate-every", 45*time.Second, "how often the simulator changes a few demo items (0: never)")
	fs.DurationVar(&cfg.spread, "spread", 20*time.Second, "spread each tenant's jobs over this much of the minute")
	fs.BoolVar(&cfg.verbose, "v", false, "log every mailbox sync")
	fs.StringVar(&cfg.secretsKey, "secrets-key", os.Getenv("MAILBRIDGE_SECRETS_KEY_FILE"), "key file (32 bytes, mode 600) encrypting the stored credentials ($MAILBRIDGE_SECRETS_KEY_FILE); the demo and --dev generate one in the data directory")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return cfg, fmt.Errorf("unexpected argument")
	}
	cfg.demo.Mode = domain.AccessMode(*mode)
	if cfg.demo.Mode != domain.AccessImpersonation && cfg.demo.Mode != domain.AccessDelegate {
		fmt.Fprintln(stderr, "--demo-mode must be impersonation or delegate")
		return cfg, fmt.Errorf("bad --demo-mode")
	}
	if cfg.demo.Mailboxes < 1 || cfg.demo.Items < 0 {
		fmt.Fprintln(stderr, "--demo-mailboxes must be at least 1 and --demo-items at least 0")
		return cfg, fmt.Errorf("bad demo size")
	}
	if cfg.feedRetention < time.Hour {
		fmt.Fprintln(stderr, "--feed-retention must be at least 1h")
		return cfg, fmt.Errorf("bad --feed-retention")
	}
	if cfg.workers < 1 {
		fmt.Fprintln(stderr, "--workers must be at least 1")
		return cfg, fmt.Errorf("bad --workers")
	}
	if cfg.interval < time.Minute || cfg.interval%time.Minute != 0 {
		fmt.Fprintln(stderr, "--interval must be whole minutes, at least 1m")
		return cfg, fmt.Errorf("bad --interval")
	}
	if cfg.once {
		cfg.spread = 0 // finish as fast as possible
	}
	return cfg, nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// banner says where everything is and how to read the feed.
func (s *stack) banner() {
	fmt.Fprintf(s.out, "mailbridge: API on %s, data in %s, %d workers\n", s.apiURL, s.cfg.data, s.cfg.workers)
	if s.demo != nil {
		fmt.Fprintf(s.out, "demo: simulated Exchange at %s, tenant %q with %d mailboxes (impersonation), interval %s\n",
			s.demo.server.EWSURL, demoTenantID, len(s.demo.dataset.Mailboxes), s.cfg.interval)
		fmt.Fprintf(s.out, "read the change feed:  curl -s '%s/tenants/%s/changes?limit=20'\n", s.apiURL, demoTenantID)
		fmt.Fprintf(s.out, "one mailbox:           curl -s '%s/tenants/%s/mailboxes/%s/changes?limit=20'\n", s.apiURL, demoTenantID, s.demo.dataset.Mailboxes[0])
	} else {
		fmt.Fprintf(s.out, "no demo: onboard a tenant with  curl -s -X POST %s/tenants -d @tenant.json  (see docs/local.md)\n", s.apiURL)
	}
}
