package main

// Benchmark (d) of `make bench`: what one mailbox sync costs in AWS
// requests, and the resulting dollars per 1,000 mailboxes per month at a
// 5-minute interval. DynamoDB units are measured, not estimated: the real
// store (shared/dynamostore) runs against DynamoDB Local with
// ReturnConsumedCapacity=TOTAL set on every request. The rest is counted in
// process (SQS batches, secret reads, EWS calls, processing time) and priced
// with the list prices below; what cannot be measured here (Lambda's SQS
// pollers, EWS latency in the cloud) is a stated assumption.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/dynamostore"
	"github.com/mailbridge/mailbridge/shared/ewsaccess"
	"github.com/mailbridge/mailbridge/shared/ewssim"
	"github.com/mailbridge/mailbridge/shared/local/queue"
	"github.com/mailbridge/mailbridge/shared/secretcache"
	"github.com/mailbridge/mailbridge/shared/teststandin"
)

// List prices, us-east-1, 2025-2026 (DESIGN.md "Cost and scale facts").
const (
	priceRRU        = 0.125 / 1e6      // DynamoDB on-demand read request unit
	priceWRU        = 0.625 / 1e6      // DynamoDB on-demand write request unit
	priceFIFO       = 0.50 / 1e6       // SQS FIFO request (a batch of 10 small messages is one)
	priceSecretRead = 0.05 / 10_000    // Secrets Manager API call
	priceSecret     = 0.40             // Secrets Manager secret per month
	priceGBs        = 0.0000133334     // Lambda arm64 per GB-second
	priceInvoke     = 0.20 / 1e6       // Lambda request
	priceSchedule   = 1.00 / 1e6       // EventBridge Scheduler invocation
	priceLogGB      = 0.50             // CloudWatch Logs ingestion per GB
	workerMemoryGB  = 256.0 / 1024     // template.yaml Globals MemorySize (the sync worker's)
	schedMemoryGB   = 512.0 / 1024     // the scheduler's MemorySize
	syncsPerMonth   = 30 * 24 * 60 / 5 // one mailbox at a 5-minute interval: 8,640
	batchSize       = 10               // SQS batch per worker invocation, run side by side
	costMailboxes   = 100              // measured sample
	changedFraction = 0.2              // mailboxes with a new message per interval
)

// ddbMeter sums the capacity DynamoDB reports, by operation.
type ddbMeter struct {
	mu    sync.Mutex
	calls map[string]int
	units map[string]float64
	rru   float64
	wru   float64
	// failed counts requests that failed (a failed conditional write is
	// billed too; DynamoDB does not report its units, so it is priced at
	// one WRU each).
	failed int
}

func (m *ddbMeter) reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls, m.units, m.rru, m.wru, m.failed = map[string]int{}, map[string]float64{}, 0, 0, 0
}

func (m *ddbMeter) install(st *middleware.Stack) error {
	return st.Initialize.Add(middleware.InitializeMiddlewareFunc("mailbridgeMeter", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
		total := types.ReturnConsumedCapacityTotal
		switch p := in.Parameters.(type) {
		case *dynamodb.GetItemInput:
			p.ReturnConsumedCapacity = total
		case *dynamodb.PutItemInput:
			p.ReturnConsumedCapacity = total
		case *dynamodb.UpdateItemInput:
			p.ReturnConsumedCapacity = total
		case *dynamodb.DeleteItemInput:
			p.ReturnConsumedCapacity = total
		case *dynamodb.QueryInput:
			p.ReturnConsumedCapacity = total
		case *dynamodb.ScanInput:
			p.ReturnConsumedCapacity = total
		case *dynamodb.BatchGetItemInput:
			p.ReturnConsumedCapacity = total
		case *dynamodb.BatchWriteItemInput:
			p.ReturnConsumedCapacity = total
		case *dynamodb.TransactWriteItemsInput:
			p.ReturnConsumedCapacity = total
		case *dynamodb.TransactGetItemsInput:
			p.ReturnConsumedCapacity = total
		}
		out, md, err := next.HandleInitialize(ctx, in)
		var caps []types.ConsumedCapacity
		one := func(c *types.ConsumedCapacity) {
			if c != nil {
				caps = append(caps, *c)
			}
		}
		switch r := out.Result.(type) {
		case *dynamodb.GetItemOutput:
			one(r.ConsumedCapacity)
		case *dynamodb.PutItemOutput:
			one(r.ConsumedCapacity)
		case *dynamodb.UpdateItemOutput:
			one(r.ConsumedCapacity)
		case *dynamodb.DeleteItemOutput:
			one(r.ConsumedCapacity)
		case *dynamodb.QueryOutput:
			one(r.ConsumedCapacity)
		case *dynamodb.ScanOutput:
			one(r.ConsumedCapacity)
		case *dynamodb.BatchGetItemOutput:
			caps = r.ConsumedCapacity
		case *dynamodb.BatchWriteItemOutput:
			caps = r.ConsumedCapacity
		case *dynamodb.TransactWriteItemsOutput:
			caps = r.ConsumedCapacity
		case *dynamodb.TransactGetItemsOutput:
			caps = r.ConsumedCapacity
		}
		op := awsmiddleware.GetOperationName(ctx)
		m.mu.Lock()
		defer m.mu.Unlock()
		m.calls[op]++
		if err != nil {
			m.failed++
			return out, md, err
		}
		for _, c := range caps {
			u := aws.ToFloat64(c.CapacityUnits)
			m.units[op] += u
			switch op {
			case "GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems":
				m.rru += u
			default:
				m.wru += u
			}
		}
		return out, md, err
	}), middleware.After)
}

func (m *ddbMeter) String() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	ops := make([]string, 0, len(m.calls))
	for op := range m.calls {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	var b strings.Builder
	for _, op := range ops {
		fmt.Fprintf(&b, "%s %d calls %.1f units; ", op, m.calls[op], m.units[op])
	}
	return b.String()
}

// countingSecrets is the secret port in memory, counting reads: the
// figure is how many reads reach Secrets Manager through the cache.
type countingSecrets struct {
	mu    sync.Mutex
	c     map[string]domain.Credential
	reads int
}

func (s *countingSecrets) PutCredential(_ context.Context, id string, c domain.Credential) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.c[id] = c
	return nil
}

func (s *countingSecrets) GetCredential(_ context.Context, id string) (domain.Credential, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	c, ok := s.c[id]
	if !ok {
		return c, domain.ErrNotFound
	}
	return c, nil
}

func (s *countingSecrets) DeleteCredential(context.Context, string) error { return nil }

// countingQueue counts SendBatch requests on the embedded queue.
type countingQueue struct {
	*queue.Queue
	mu       sync.Mutex
	requests int
}

func (q *countingQueue) SendBatch(ctx context.Context, msgs []domain.QueueMessage) error {
	q.mu.Lock()
	q.requests++
	q.mu.Unlock()
	return q.Queue.SendBatch(ctx, msgs)
}

// TestMain stops the DynamoDB Local that BenchmarkCostPerSync may start.
func TestMain(m *testing.M) { teststandin.Main(m) }

func BenchmarkCostPerSync(b *testing.B) {
	ctx := context.Background()
	meter := &ddbMeter{}
	meter.reset()
	client := dynamodb.NewFromConfig(teststandin.AWSConfig(), func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(teststandin.DynamoDB(b))
		o.APIOptions = append(o.APIOptions, meter.install)
	})
	tableName := fmt.Sprintf("mailbridge-cost-%d", time.Now().UnixNano())
	store, err := dynamostore.New(client, dynamostore.Options{Table: tableName})
	if err != nil {
		b.Fatal(err)
	}
	if err := store.CreateTable(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = store.DeleteTable(context.Background()) })

	sim := ewssim.New(ewssim.Options{Seed: demoSeed})
	ds, err := sim.Generate(ewssim.GenOptions{Mailboxes: costMailboxes, ItemsPerMailbox: demoItems, Seed: demoSeed, Base: demoBase})
	if err != nil {
		b.Fatal(err)
	}
	srv, err := sim.Start(false)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { srv.Close() })

	tenant := domain.Tenant{
		ID: "cost", DisplayName: "cost", EWSURL: srv.EWSURL, ExchangeVersion: domain.DefaultExchangeVersion,
		AuthKind: domain.AuthBasic, AccessMode: domain.AccessImpersonation, Folders: domain.DefaultFolders,
		SyncInterval: 5 * time.Minute, MaxConcurrentJobs: domain.DefaultMaxConcurrentJobs, Status: domain.TenantActive,
	}
	if err := store.CreateTenant(ctx, tenant); err != nil {
		b.Fatal(err)
	}
	for _, mb := range ds.Mailboxes {
		if err := store.AddMailbox(ctx, domain.Mailbox{TenantID: tenant.ID, Address: mb, Status: domain.MailboxOK}); err != nil {
			b.Fatal(err)
		}
	}
	secrets := &countingSecrets{c: map[string]domain.Credential{
		tenant.ID: {Kind: domain.AuthBasic, Username: ds.Account.Username, Password: ds.Account.Password},
	}}
	// Wired like functions/syncworker: eventually consistent mailbox and
	// checkpoint reads, the tenant record cached, and a batch's audit
	// entries written by the batch worker in one call.
	workerStore, err := dynamostore.New(client, dynamostore.Options{Table: tableName, EventuallyConsistentReads: true})
	if err != nil {
		b.Fatal(err)
	}
	clock := domain.SystemClock{}
	syncer := &app.Syncer{
		Store: workerStore, Secrets: secretcache.New(secrets, 0, clock),
		Connector: ewsaccess.NewConnector(ewsaccess.Options{}), Clock: clock, DeferAudit: true,
	}
	worker := &app.BatchWorker{Syncer: syncer, Audit: workerStore, Concurrency: 1, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	syncAll := func() (calls int, took time.Duration) {
		// A fresh tenant cache: this run pays for its read.
		syncer.Tenants = &app.TenantCache{Store: workerStore, Clock: clock}
		tick := time.Now().Truncate(time.Minute)
		for first := 0; first < len(ds.Mailboxes); first += batchSize {
			var msgs []app.BatchMessage
			for _, mb := range ds.Mailboxes[first:min(first+batchSize, len(ds.Mailboxes))] {
				body, _ := json.Marshal(domain.SyncJob{TenantID: tenant.ID, Mailbox: mb, Tick: tick})
				msgs = append(msgs, app.BatchMessage{ID: mb, Body: body})
			}
			began := time.Now()
			res := worker.Process(ctx, msgs)
			took += time.Since(began)
			if len(res.Failed) > 0 || res.Stats.Succeeded != len(msgs) {
				b.Fatalf("batch at %d: %+v", first, res)
			}
			calls += res.Stats.EWSCalls
		}
		return calls, took
	}
	syncAll() // initial sync, not priced

	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// The scheduler's share: one tick over the tenant.
		meter.reset()
		q := &countingQueue{Queue: queue.New(queue.Options{})}
		tickBegan := time.Now()
		sum, err := (&app.Scheduler{Store: store, Queue: q, ForceDue: true}).Tick(ctx, time.Now().Add(time.Duration(i)*time.Minute))
		tickTook := time.Since(tickBegan)
		if err != nil || sum.Enqueued != costMailboxes {
			b.Fatalf("tick: %+v %v", sum, err)
		}
		schedRRU := meter.rru / costMailboxes
		sends := float64(q.requests) / costMailboxes
		schedOps := meter.String()

		// A typical interval: a fifth of the mailboxes got one message.
		for k := range int(costMailboxes * changedFraction) {
			mb := ds.Mailboxes[(k*5+i)%costMailboxes]
			if _, err := sim.AddItem(mb, "inbox", ewssim.Item{Kind: ewssim.KindMessage, Subject: fmt.Sprintf("cost probe %d.%d", i, k), From: ewssim.Address{Email: "x@fabrikam.example"}, Received: time.Now()}); err != nil {
				b.Fatal(err)
			}
		}
		meter.reset()
		secrets.mu.Lock()
		secrets.reads = 0
		secrets.mu.Unlock()
		calls, took := syncAll()
		n := float64(costMailboxes)
		rru, wru := meter.rru/n+schedRRU, (meter.wru+float64(meter.failed))/n
		ewsPerSync := float64(calls) / n
		procMS := float64(took.Milliseconds()) / n
		secretReads := float64(secrets.reads) / n

		b.ReportMetric(rru, "RRU/sync")
		b.ReportMetric(wru, "WRU/sync")
		b.ReportMetric(ewsPerSync, "EWS-calls/sync")
		fmt.Printf("cost: measured per mailbox sync (%d mailboxes, %.0f%% with a new message): %.2f RRU (scheduler %.2f), %.2f WRU, %.2f SQS sends, %.1f EWS calls, %.1f ms processing (DynamoDB Local, no EWS latency), %.2f secret reads through the cache\n",
			costMailboxes, changedFraction*100, rru, schedRRU, wru, sends, ewsPerSync, procMS, secretReads)
		fmt.Printf("cost: DynamoDB requests of the sync: %s\ncost: of the scheduler tick: %s(tick over %d mailboxes took %v)\n", meter.String(), schedOps, costMailboxes, tickTook.Round(time.Millisecond))

		for _, ewsLatency := range []time.Duration{50 * time.Millisecond, 500 * time.Millisecond} {
			perMonth := syncsPerMonth * 1000.0 // syncs of 1,000 mailboxes
			jobMS := procMS + ewsPerSync*float64(ewsLatency.Milliseconds())
			items := []struct {
				name string
				usd  float64
			}{
				{"DynamoDB reads", perMonth * rru * priceRRU},
				{"DynamoDB writes", perMonth * wru * priceWRU},
				// send (measured) + the Lambda poller's receive and
				// delete, a batch of 10 each (assumed)
				{"SQS FIFO requests", perMonth * (sends + 2.0/batchSize) * priceFIFO},
				// a batch of 10 jobs runs side by side: the invocation
				// lasts about one job
				{"sync Lambda duration", perMonth * jobMS / 1000 / batchSize * workerMemoryGB * priceGBs},
				{"sync Lambda requests", perMonth / batchSize * priceInvoke},
				// one batch log line of ~400 bytes
				{"CloudWatch Logs", perMonth / batchSize * 400 / 1e9 * priceLogGB},
				// per deployment, shared by all tenants: counted in full
				{"scheduler (Lambda + EventBridge, per deployment)", 43_200 * (priceSchedule + priceInvoke + tickTook.Seconds()*schedMemoryGB*priceGBs)},
				// per tenant: the secret, and one read per warm worker per
				// cache TTL (10 warm workers assumed)
				{"Secrets Manager (one tenant)", priceSecret + 10*syncsPerMonth*priceSecretRead},
				// per tenant: the tenant record, one strongly consistent
				// read per warm worker per minute (the measured run has one
				// cache, so one read per 100 syncs)
				{"tenant record reads (one tenant)", 10 * 30 * 24 * 60 * priceRRU},
			}
			total := 0.0
			var lines []string
			for _, it := range items {
				total += it.usd
				lines = append(lines, fmt.Sprintf("%s $%.2f", it.name, it.usd))
			}
			fmt.Printf("cost: at %v per EWS call (job %.0f ms, %.0f MB worker, batches of %d side by side): %s\n",
				ewsLatency, jobMS, workerMemoryGB*1024, batchSize, strings.Join(lines, ", "))
			figure(b, fmt.Sprintf("(d) $ per 1,000 mailboxes per month, 5-minute interval, one tenant, %v per EWS call", ewsLatency),
				fmt.Sprintf("$%.2f", total), "$3.00", total/3, "<= 1")
		}
	}
}
