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
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
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
	"github.com/mailbridge/mailbridge/shared/aws/dynamostore"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ewsmailbox"
	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
	"github.com/mailbridge/mailbridge/shared/platform/secretcache"
	"github.com/mailbridge/mailbridge/shared/platform/urlguard"
	"github.com/mailbridge/mailbridge/shared/testsupport/dynamotable"
	"github.com/mailbridge/mailbridge/shared/testsupport/standin"
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
		var txUnits float64 // what AWS bills a transaction, computed
		// AWS bills a read that finds nothing too: half a unit (eventually
		// consistent) or one per key read or per Query call. DynamoDB Local
		// reports 0 for those, so the meter applies the floor.
		minRead := 0.0
		switch p := in.Parameters.(type) {
		case *dynamodb.TransactWriteItemsInput:
			txUnits = transactWriteUnits(p)
		case *dynamodb.GetItemInput:
			minRead = readFloor(p.ConsistentRead)
		case *dynamodb.QueryInput:
			minRead = readFloor(p.ConsistentRead)
		case *dynamodb.BatchGetItemInput:
			for _, ka := range p.RequestItems {
				minRead += float64(len(ka.Keys)) * readFloor(ka.ConsistentRead)
			}
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
			// DynamoDB Local under-reports transactions (4 units for three
			// 100-byte puts; AWS bills 6): price them as AWS does.
			caps = []types.ConsumedCapacity{{CapacityUnits: aws.Float64(txUnits)}}
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
		units := 0.0
		for _, c := range caps {
			units += aws.ToFloat64(c.CapacityUnits)
		}
		units = max(units, minRead)
		m.units[op] += units
		switch op {
		case "GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems":
			m.rru += units
		default:
			m.wru += units
		}
		return out, md, err
	}), middleware.After)
}

func readFloor(consistent *bool) float64 {
	if aws.ToBool(consistent) {
		return 1
	}
	return 0.5
}

// transactWriteUnits is what AWS bills a TransactWriteItems: two write
// units per KB (rounded up) of each item written. Puts are sized exactly;
// an update or delete, whose item size is not in the request, counts as
// one KB.
func transactWriteUnits(in *dynamodb.TransactWriteItemsInput) float64 {
	units := 0.0
	for _, a := range in.TransactItems {
		kb := 1.0
		if a.Put != nil {
			kb = math.Ceil(float64(itemSize(a.Put.Item)) / 1024)
		}
		if a.ConditionCheck == nil {
			units += 2 * kb
		}
	}
	return units
}

// itemSize follows DynamoDB's item size rules: attribute names plus values
// (numbers about half their digits, lists and maps 3 bytes plus 1 per
// element).
func itemSize(it map[string]types.AttributeValue) int {
	n := 0
	for name, v := range it {
		n += len(name) + valueSize(v)
	}
	return n
}

func valueSize(v types.AttributeValue) int {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return len(v.Value)
	case *types.AttributeValueMemberN:
		return len(v.Value)/2 + 1
	case *types.AttributeValueMemberB:
		return len(v.Value)
	case *types.AttributeValueMemberBOOL, *types.AttributeValueMemberNULL:
		return 1
	case *types.AttributeValueMemberSS:
		n := 0
		for _, s := range v.Value {
			n += len(s)
		}
		return n
	case *types.AttributeValueMemberL:
		n := 3
		for _, e := range v.Value {
			n += 1 + valueSize(e)
		}
		return n
	case *types.AttributeValueMemberM:
		return 3 + itemSize(v.Value) + len(v.Value)
	}
	return 0
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

// recordingQueue keeps what a tick sends, counting SendBatch requests (one
// SQS SendMessageBatch each); the worker then receives exactly those.
type recordingQueue struct {
	mu       sync.Mutex
	requests int
	msgs     []domain.QueueMessage
}

func (q *recordingQueue) SendBatch(_ context.Context, msgs []domain.QueueMessage) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.requests++
	q.msgs = append(q.msgs, msgs...)
	return nil
}

// slowTransport holds each EWS request for a fixed time before sending
// it: what the worker waits on Exchange, which is what Lambda bills.
type slowTransport struct {
	next    http.RoundTripper
	latency time.Duration
}

func (t slowTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	time.Sleep(t.latency)
	return t.next.RoundTrip(r)
}

// TestMain stops the DynamoDB Local that BenchmarkCostPerSync may start.
func TestMain(m *testing.M) { standin.Main(m) }

func BenchmarkCostPerSync(b *testing.B) {
	ctx := context.Background()
	meter := &ddbMeter{}
	meter.reset()
	client := dynamodb.NewFromConfig(standin.AWSConfig(), func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(standin.DynamoDB(b))
		o.APIOptions = append(o.APIOptions, meter.install)
	})
	store, tableName := dynamotable.New(b, client, "mailbridge-cost")

	sim := ewssim.New(ewssim.Options{Seed: demoSeed})
	ds, err := sim.Generate(ewssim.GenOptions{Mailboxes: costMailboxes, ItemsPerMailbox: demoItems, Seed: demoSeed, Base: demoBase})
	if err != nil {
		b.Fatal(err)
	}

	tenant := domain.Tenant{
		ID: "cost", DisplayName: "cost", EWSURL: standin.EWS(b, sim), ExchangeVersion: domain.DefaultExchangeVersion,
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
	// Wired like functions/syncworker (newWorker): eventually consistent
	// mailbox and checkpoint reads, the tenant record and the secret
	// cached, a batch's audit entries written in one call, job progress
	// and snapshots from the store.
	workerStore, err := dynamostore.New(client, dynamostore.Options{Table: tableName, EventuallyConsistentReads: true})
	if err != nil {
		b.Fatal(err)
	}
	clock := domain.SystemClock{}
	newWorker := func(latency time.Duration) *app.BatchWorker {
		hc := &http.Client{Transport: slowTransport{next: http.DefaultTransport, latency: latency}}
		syncer := &app.Syncer{
			Store: workerStore, Tenants: &app.TenantCache{Store: workerStore, Clock: clock},
			Secrets:   secretcache.New(secrets, time.Hour, clock),
			Connector: ewsmailbox.NewConnector(ewsmailbox.Options{URLGuard: &urlguard.Policy{DevLoopback: true}, HTTPClient: hc}), Clock: clock, DeferAudit: true,
		}
		return &app.BatchWorker{Syncer: syncer, Audit: workerStore, Progress: workerStore, Snapshots: workerStore,
			Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	}
	// pass is one interval: a scheduler tick over the tenant, then the
	// worker's invocations over the messages it sent, 10 a batch as the
	// event source mapping delivers them.
	type passResult struct {
		rru, schedRRU, wru, sends, invocations, ewsCalls, secretReads float64
		lambdaSeconds                                                 float64 // wall time of the invocations, per sync
		tick                                                          time.Duration
		ops, schedOps                                                 string
	}
	pass := func(minute int, latency time.Duration, changed float64) passResult {
		var r passResult
		for k := range int(costMailboxes * changed) {
			mb := ds.Mailboxes[(k*5+minute)%costMailboxes]
			if _, err := sim.AddItem(mb, "inbox", ewssim.Item{Kind: ewssim.KindMessage, Subject: fmt.Sprintf("cost probe %d.%d", minute, k), From: ewssim.Address{Email: "x@fabrikam.example"}, Received: time.Now()}); err != nil {
				b.Fatal(err)
			}
		}
		meter.reset()
		q := &recordingQueue{}
		began := time.Now()
		sum, err := (&app.Scheduler{Store: store, Queue: q, ForceDue: true}).Tick(ctx, time.Now().Add(time.Duration(minute)*time.Minute))
		r.tick = time.Since(began)
		if err != nil || sum.Enqueued != costMailboxes {
			b.Fatalf("tick: %+v %v", sum, err)
		}
		n := float64(costMailboxes)
		r.schedRRU, r.schedOps = meter.rru/n, meter.String()
		r.sends = float64(q.requests) / n

		meter.reset()
		secrets.mu.Lock()
		secrets.reads = 0
		secrets.mu.Unlock()
		w := newWorker(latency) // a cold worker: it pays for its tenant and secret reads
		var wall time.Duration
		calls := 0
		for first := 0; first < len(q.msgs); first += batchSize {
			var msgs []app.BatchMessage
			for i, m := range q.msgs[first:min(first+batchSize, len(q.msgs))] {
				msgs = append(msgs, app.BatchMessage{ID: fmt.Sprint(first + i), Body: m.Body, GroupID: m.GroupID, Receives: 1})
			}
			began := time.Now()
			res := w.Process(ctx, msgs)
			wall += time.Since(began)
			r.invocations++
			if len(res.Failed) > 0 || res.Stats.Succeeded != res.Stats.Mailboxes {
				b.Fatalf("batch at %d: %+v", first, res)
			}
			calls += res.Stats.EWSCalls
		}
		r.invocations /= n
		r.rru, r.wru = meter.rru/n+r.schedRRU, (meter.wru+float64(meter.failed))/n
		r.ewsCalls = float64(calls) / n
		r.lambdaSeconds = wall.Seconds() / n
		r.secretReads = float64(secrets.reads) / n
		r.ops = meter.String()
		return r
	}
	pass(0, 0, 0) // the initial sync, not priced

	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for k, tc := range []struct {
			latency time.Duration
			changed float64
		}{
			{50 * time.Millisecond, changedFraction},
			{500 * time.Millisecond, changedFraction},
			{50 * time.Millisecond, 0},
			{500 * time.Millisecond, 0},
		} {
			r := pass(1+i*4+k, tc.latency, tc.changed)
			b.ReportMetric(r.rru, "RRU/sync")
			b.ReportMetric(r.wru, "WRU/sync")
			b.ReportMetric(r.ewsCalls, "EWS-calls/sync")
			fmt.Printf("cost: measured per mailbox sync (%d mailboxes, %.0f%% with a new message, %v per EWS call): %.3f RRU (scheduler %.3f), %.3f WRU, %.3f SQS sends, %.3f worker invocations, %.1f EWS calls, %.1f ms of worker wall time, %.3f secret reads\n",
				costMailboxes, tc.changed*100, tc.latency, r.rru, r.schedRRU, r.wru, r.sends, r.invocations, r.ewsCalls, r.lambdaSeconds*1000, r.secretReads)
			fmt.Printf("cost: DynamoDB requests of the worker: %s\ncost: of the scheduler tick: %s(tick over %d mailboxes took %v)\n", r.ops, r.schedOps, costMailboxes, r.tick.Round(time.Millisecond))

			perMonth := syncsPerMonth * 1000.0 // syncs of 1,000 mailboxes
			items := []struct {
				name string
				usd  float64
			}{
				{"DynamoDB reads", perMonth * r.rru * priceRRU},
				{"DynamoDB writes", perMonth * r.wru * priceWRU},
				// sends (measured) + the Lambda poller's ReceiveMessage and
				// DeleteMessageBatch, one each per invocation
				{"SQS FIFO requests", perMonth * (r.sends + 2*r.invocations) * priceFIFO},
				// measured: the batches' wall time, EWS latency included
				{"sync Lambda duration", perMonth * r.lambdaSeconds * workerMemoryGB * priceGBs},
				{"sync Lambda requests", perMonth * r.invocations * priceInvoke},
				// per invocation: the batch log line and the EMF line, ~900 bytes
				{"CloudWatch Logs", perMonth * r.invocations * 900 / 1e9 * priceLogGB},
				// per deployment, shared by all tenants: counted in full
				{"scheduler (Lambda + EventBridge, per deployment)", 43_200 * (priceSchedule + priceInvoke + r.tick.Seconds()*schedMemoryGB*priceGBs)},
				// per tenant: the secret, and one read per warm worker per
				// cache TTL (an hour; 10 warm workers assumed)
				{"Secrets Manager (one tenant)", priceSecret + 10*30*24*priceSecretRead},
				// per tenant: the tenant record, one strongly consistent
				// read per warm worker per minute
				{"tenant record reads (one tenant)", 10 * 30 * 24 * 60 * priceRRU},
			}
			total := 0.0
			var lines []string
			for _, it := range items {
				total += it.usd
				lines = append(lines, fmt.Sprintf("%s $%.2f", it.name, it.usd))
			}
			fmt.Printf("cost: at %v per EWS call, %.0f%% changed (%.0f MB worker, batches of %d messages): %s\n",
				tc.latency, tc.changed*100, workerMemoryGB*1024, batchSize, strings.Join(lines, ", "))
			label := fmt.Sprintf("(d) $ per 1,000 mailboxes per month, 5-minute interval, one tenant, %v per EWS call, %.0f%% of mailboxes changed per interval", tc.latency, tc.changed*100)
			figure(b, label, fmt.Sprintf("$%.2f", total), "$3.00", total/3, "<= 1")
		}
	}
}
