package main

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/mailbridge/mailbridge/shared/api"
	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/local/boltstore"
	"github.com/mailbridge/mailbridge/shared/local/dirarchive"
	"github.com/mailbridge/mailbridge/shared/local/localqueue"
	"github.com/mailbridge/mailbridge/shared/local/localretry"
	"github.com/mailbridge/mailbridge/shared/platform/secretcache"
	"github.com/mailbridge/mailbridge/shared/platform/urlguard"
)

// config is the command line.
type runConfig struct {
	limits      serverLimits // the API server's; zero: defaultServerLimits
	once        bool
	noDemo      bool
	dev         bool
	interval    time.Duration // the demo tenant's sync interval
	workers     int
	addr        string
	data        string
	demo        demoOptions
	mutateEvery time.Duration // how often the simulator changes demo items
	spread      time.Duration // jitter of a tenant's jobs within a tick
	verbose     bool
	secretsKey  string // key file of the secrets file; "" = generated (demo, --dev)
	maxReceives int    // receives before a job is dead-lettered; 0 = the queue's default (10, as SQS)
	// feedRetention is how long the change feeds keep a change; 0 keeps
	// them all (tests that build a config by hand).
	feedRetention time.Duration
	// rateLimit is the API's request rate limit; zero: none (tests that
	// build a config by hand).
	rateLimit api.RateLimit
	// lastSyncRefresh is Syncer.LastSyncRefresh ($MAILBRIDGE_LASTSYNC_REFRESH
	// or --lastsync-refresh); 0: the default.
	lastSyncRefresh time.Duration
}

// stack is the whole of Mailbridge in one process.
type stack struct {
	cfg     runConfig
	out     io.Writer
	log     *slog.Logger
	store   *boltstore.Store
	tenants *app.Tenants
	queue   *localqueue.Queue
	// calendar runs calendar writes and their retries from the store, as
	// the calendar-writes queue and Step Functions do in AWS.
	calendar *localretry.Scheduler
	sched    *app.Scheduler
	// rooms releases room no-shows each minute (the room policy).
	rooms    *app.RoomMeetings
	progress *progress
	demo     *demo
	api      *http.Server
	apiURL   string
	// fresh is true when this run onboarded the demo tenant.
	fresh       bool
	workersDone chan struct{} // closed when the workers have stopped
}

func openStack(ctx context.Context, cfg runConfig, out io.Writer) (*stack, error) {
	if err := os.MkdirAll(cfg.data, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	level := slog.LevelWarn
	if cfg.verbose {
		level = slog.LevelDebug // every mailbox sync, not only those that come back
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	clock := domain.SystemClock{}
	s := &stack{cfg: cfg, out: out, log: log, progress: newProgress(out, clock.Now, callsLabel(cfg))}

	store, err := boltstore.Open(filepath.Join(cfg.data, "mailbridge.db"), boltstore.Options{FeedRetention: cfg.feedRetention})
	if err != nil {
		return nil, err
	}
	s.store = store
	ok := false
	defer func() {
		if !ok {
			s.close()
		}
	}()

	secrets, err := openSecrets(cfg.data, cfg.secretsKey, !cfg.noDemo || cfg.dev, out)
	if err != nil {
		return nil, err
	}
	// The simulator starts before the adapters: the Graph adapter must
	// trust the certificate it makes.
	var graphRoots *x509.CertPool
	if !cfg.noDemo {
		if s.demo, err = startDemo(cfg.data, cfg.demo); err != nil {
			return nil, fmt.Errorf("starting the demo simulator: %w", err)
		}
		if err := s.demo.save(); err != nil {
			return nil, err
		}
		if s.demo.graph != nil {
			// The system's roots too, for a real Graph tenant onboarded
			// through the API next to the demo.
			if graphRoots, err = x509.SystemCertPool(); err != nil || graphRoots == nil {
				graphRoots = x509.NewCertPool()
			}
			graphRoots.AppendCertsFromPEM(s.demo.server.CAPEM)
		}
	}

	// The demo's simulator listens on 127.0.0.1, so the demo needs what
	// --dev allows; EWS and Graph connections share this one policy.
	policy := urlguard.Policy{DevLoopback: cfg.dev || !cfg.noDemo}
	// Every EWS connection is checked again at dial time (DNS may change
	// after registration). Workers share the connections to a server.
	transport := policy.Transport()
	transport.MaxIdleConnsPerHost = max(cfg.workers, 2)
	httpClient := &http.Client{Timeout: 60 * time.Second, Transport: transport}
	protocols := newExchangeAccess(&policy, httpClient, graphRoots)

	// Archive export (tenants with archive on): each new message's MIME
	// under <data>/archive/<tenant>/<mailbox>/, as S3 keys in AWS;
	// offboarding deletes <data>/archive/<tenant>.
	archive, err := dirarchive.New(filepath.Join(cfg.data, "archive"))
	if err != nil {
		return nil, err
	}
	s.tenants = &app.Tenants{Store: store, Secrets: secrets, Checker: protocols, Clock: clock, URLs: policy, Log: log, Archive: archive}
	if cfg.maxReceives <= 0 {
		cfg.maxReceives = localqueue.DefaultMaxReceives
	}
	s.queue = localqueue.New(localqueue.Options{MaxReceives: cfg.maxReceives})
	s.sched = &app.Scheduler{Store: store, Queue: s.queue, Spread: cfg.spread, ForceDue: cfg.once}
	syncer := &app.Syncer{Store: store, Secrets: secretcache.New(secrets, 0, clock), Connector: protocols, Clock: clock, Log: log, DeferAudit: true, LastSyncRefresh: cfg.lastSyncRefresh}
	syncer.Archive = archive
	syncer.Content = newArchiveContent(&policy, httpClient, protocols.Graph.Content, app.DefaultArchiveMaxBytes)
	// The same batch worker, on the same ports, as functions/internal/syncworkerfn:
	// the queue requeues as SQS does, the store audits, remembers a
	// returning job's finished mailboxes and reads a job's mailboxes at
	// once. At most cfg.workers mailbox syncs run at once, however many
	// mailboxes the batches in hand name.
	batch := &app.BatchWorker{Syncer: syncer, Requeuer: s.queue, Audit: store, Progress: store, Snapshots: store, Concurrency: cfg.workers, Log: log}
	w := &worker{batch: batch, progress: s.progress, log: log, maxReceives: cfg.maxReceives}
	s.workersDone = make(chan struct{})
	go func() {
		defer close(s.workersDone)
		s.queue.Run(ctx, cfg.workers, batchSize, w.handle)
	}()

	// Calendar writes: the API's requests and their retries are stored
	// before they are answered or scheduled, so a restart resumes them
	// (overdue ones at once) instead of losing them.
	writes := &app.CalendarWrites{Store: store, Secrets: secretcache.New(secrets, 0, clock), Calendars: protocols, Clock: clock, Log: log}
	s.calendar = localretry.New(store, writes, localretry.Options{Log: log})
	writes.Retries = s.calendar
	resumed, err := s.calendar.Resume(ctx)
	if err != nil {
		return nil, err
	}
	if resumed > 0 {
		fmt.Fprintf(out, "calendar: resumed %d pending calendar writes and retries from the store\n", resumed)
	}

	// The room policy's no-show release, each minute with the tick (in
	// AWS: the calendarwriter function's own schedule).
	s.rooms = &app.RoomMeetings{Store: store, Marks: store, Secrets: secretcache.New(secrets, 0, clock), Calendars: protocols, Rooms: protocols, Clock: clock, Log: log}

	if s.demo != nil {
		_, getErr := s.tenants.Get(ctx, demoTenantID)
		s.fresh = domain.IsNotFound(getErr)
		if _, err := onboardDemo(ctx, s.tenants, s.demo, cfg.demo, cfg.interval); err != nil {
			return nil, err
		}
	}

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return nil, fmt.Errorf("API address %s: %w (set --addr or MAILBRIDGE_ADDR)", cfg.addr, err)
	}
	s.apiURL = "http://" + ln.Addr().String()
	lim := cfg.limits
	if lim == (serverLimits{}) {
		lim = defaultServerLimits
	}
	var apiLn net.Listener
	s.api, apiLn = newAPIServer(api.New(api.Deps{Store: store, Secrets: secrets, Checker: protocols, Availability: protocols, Rooms: protocols, People: protocols, RoomCalendar: protocols, Content: protocols, CalendarView: protocols, Clock: clock, Logger: log, URLPolicy: policy, Archive: archive, CalendarQueue: s.calendar, RateLimit: cfg.rateLimit}), ln, lim)
	go func() {
		if err := s.api.Serve(api.JSONErrorListener(apiLn)); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("API server stopped", "err", err)
		}
	}()
	ok = true
	return s, nil
}

func (s *stack) close() {
	if s.api != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = s.api.Shutdown(ctx)
		cancel()
	}
	if s.queue != nil {
		// Workers finish the job in hand before the store closes under them.
		s.queue.Close()
		if s.workersDone != nil {
			<-s.workersDone
		}
	}
	if s.calendar != nil {
		// Writes in hand finish; waiting ones stay stored for the next start.
		s.calendar.Close()
	}
	if s.demo != nil {
		s.demo.close()
	}
	if s.store != nil {
		_ = s.store.Close()
	}
}

// tick runs one scheduler tick and records its jobs in the progress.
func (s *stack) tick(ctx context.Context, now time.Time) (app.TickSummary, error) {
	s.progress.began(now.UTC().Truncate(time.Minute))
	sum, err := s.sched.Tick(ctx, now)
	s.progress.enqueued(sum)
	if len(sum.DamagedTenants) > 0 {
		s.log.Error("tenants skipped: their stored record is damaged", "tenants", sum.DamagedTenants)
	}
	if sum.Damaged > 0 {
		s.log.Error("mailboxes skipped: their stored record is damaged; remove each and add it again",
			"damaged", sum.Damaged, "mailboxes", sum.DamagedMailboxes)
	}
	return sum, err
}

// runOnce ticks once for the minute of now, waits for every job of the
// tick, and returns the report.
func (s *stack) runOnce(ctx context.Context, now time.Time) (tickReport, error) {
	if s.demo != nil && !s.fresh {
		// A later --once run shows deltas: the simulator changes a few
		// items first, as it would have meanwhile.
		n, err := s.demo.mutate()
		if err != nil {
			return tickReport{}, err
		}
		fmt.Fprintf(s.out, "demo: the simulator changed %d items (round %d)\n", n, s.demo.rounds)
	}
	if _, err := s.tick(ctx, now); err != nil {
		return tickReport{}, err
	}
	if err := s.queue.Drain(ctx); err != nil {
		return tickReport{}, err
	}
	// Every job has been handled, so the tick's report is complete.
	select {
	case r := <-s.progress.done:
		return r, nil
	default:
		return tickReport{}, fmt.Errorf("the queue is empty but the tick's jobs are not all accounted for (queue: %+v)", s.queue.Stats())
	}
}

// runForever ticks at every minute boundary, mutates demo items now and
// then, prints progress every two seconds, until ctx ends.
func (s *stack) runForever(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	if s.demo != nil && s.cfg.mutateEvery > 0 {
		wg.Go(func() {
			t := time.NewTicker(s.cfg.mutateEvery)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					n, err := s.demo.mutate()
					if err != nil {
						s.log.Error("demo change round failed", "err", err)
						continue
					}
					fmt.Fprintf(s.out, "demo: the simulator changed %d items (round %d); the next tick syncs only these\n", n, s.demo.rounds)
				}
			}
		})
	}
	wg.Go(func() {
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				s.progress.printProgress()
			}
		}
	})
	next := time.Now()
	for {
		if _, err := s.tick(ctx, next); err != nil && ctx.Err() == nil {
			s.log.Error("tick failed; the next one retries", "err", err)
		}
		if sum, err := s.rooms.ReleaseNoShows(ctx, next); err != nil && ctx.Err() == nil {
			s.log.Error("room release failed; the next tick retries", "err", err)
		} else if sum.Released > 0 || sum.Failed > 0 {
			s.log.Info("room release", "released", sum.Released, "failed", sum.Failed)
		}
		next = time.Now().Truncate(time.Minute).Add(time.Minute)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Until(next)):
		}
	}
}
