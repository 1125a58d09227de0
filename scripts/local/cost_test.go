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
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
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
	"github.com/mailbridge/mailbridge/shared/exchange/graphmailbox"
	"github.com/mailbridge/mailbridge/shared/exchange/graphsim"
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

// delayed holds each Exchange request (under prefix) for latency before
// the simulator answers it: what the worker waits on Exchange, which is
// what Lambda bills. It sits in front of the simulator because neither
// adapter takes a wrapped transport (the URL guard must see the real one).
func delayed(latency *atomic.Int64, prefix string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, prefix) {
			time.Sleep(time.Duration(latency.Load()))
		}
		h.ServeHTTP(w, r)
	})
}

// TestMain stops the DynamoDB Local that BenchmarkCostPerSync may start.
func TestMain(m *testing.M) { standin.Main(m) }

// costCase is one priced interval: the Exchange latency and the share of
// mailboxes that received a message.
type costCase struct {
	latency time.Duration
	changed float64
}

var costCases = []costCase{
	{50 * time.Millisecond, changedFraction},
	{500 * time.Millisecond, changedFraction},
	{50 * time.Millisecond, 0},
	{500 * time.Millisecond, 0},
}

// BenchmarkCostPerSync prices an EWS tenant (impersonation) and a
// Microsoft Graph tenant (app-only access, on graphsim), each a sample of
// costMailboxes on its own table, and prints the Graph figure beside the
// EWS one.
func BenchmarkCostPerSync(b *testing.B) {
	meter := &ddbMeter{}
	meter.reset()
	client := dynamodb.NewFromConfig(standin.AWSConfig(), func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(standin.DynamoDB(b))
		o.APIOptions = append(o.APIOptions, meter.install)
	})
	ews := newCostSample(b, client, meter, domain.ProtocolEWS)
	graph := newCostSample(b, client, meter, domain.ProtocolGraph)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for k, tc := range costCases {
			minute := 1 + i*len(costCases) + k
			e := ews.price(b, minute, tc)
			g := graph.price(b, minute, tc)
			fmt.Printf("cost: %v per call, %.0f%% changed: Graph $%.2f, EWS $%.2f per 1,000 mailboxes a month, Graph / EWS = %.2f\n",
				tc.latency, tc.changed*100, g, e, g/e)
		}
	}
}

// costSample is one tenant of costMailboxes on its own table and
// simulator, synced once from scratch (not priced).
type costSample struct {
	proto   domain.Protocol
	meter   *ddbMeter
	store   *dynamostore.Store // the scheduler's: strongly consistent reads
	worker  *dynamostore.Store // the worker's
	sim     *ewssim.Sim
	ds      ewssim.Dataset
	tenant  domain.Tenant
	secrets *countingSecrets
	latency *atomic.Int64  // what each Exchange request waits (delayed)
	roots   *x509.CertPool // Graph: the simulator's certificate
}

func newCostSample(b *testing.B, client *dynamodb.Client, meter *ddbMeter, proto domain.Protocol) *costSample {
	b.Helper()
	ctx := context.Background()
	store, tableName := dynamotable.New(b, client, "mailbridge-cost-"+string(proto))
	c := &costSample{proto: proto, meter: meter, store: store, latency: &atomic.Int64{}}
	c.sim = ewssim.New(ewssim.Options{Seed: demoSeed})
	ds, err := c.sim.Generate(ewssim.GenOptions{Mailboxes: costMailboxes, ItemsPerMailbox: demoItems, Seed: demoSeed, Base: demoBase})
	if err != nil {
		b.Fatal(err)
	}
	c.ds = ds
	acct := ds.Account
	c.tenant = domain.Tenant{
		ID: "cost", DisplayName: "cost", Folders: domain.DefaultFolders,
		SyncInterval: 5 * time.Minute, MaxConcurrentJobs: domain.DefaultMaxConcurrentJobs, Status: domain.TenantActive,
	}
	var cred domain.Credential
	switch proto {
	case domain.ProtocolEWS:
		srv := httptest.NewServer(delayed(c.latency, ewssim.EWSPath, c.sim.Handler()))
		b.Cleanup(srv.Close)
		c.tenant.EWSURL, c.tenant.ExchangeVersion = srv.URL+ewssim.EWSPath, domain.DefaultExchangeVersion
		c.tenant.AuthKind, c.tenant.AccessMode = domain.AuthBasic, domain.AccessImpersonation
		cred = domain.Credential{Kind: domain.AuthBasic, Username: acct.Username, Password: acct.Password}
	case domain.ProtocolGraph:
		// Latency 0 in the simulator: delayed holds it, so it can change
		// between intervals. Outlook's caps stay on.
		g := graphsim.New(c.sim, graphsim.Options{Seed: demoSeed})
		url, roots := serveGraph(b, delayed(c.latency, graphsim.BasePath+"/", g.Handler()))
		c.roots = roots
		c.tenant.Protocol, c.tenant.IDFormat, c.tenant.GraphURL = domain.ProtocolGraph, domain.IDFormatGraph, url+graphsim.BasePath
		c.tenant.AuthKind, c.tenant.AccessMode = domain.AuthOAuthSecret, domain.AccessApplication
		cred = domain.Credential{Kind: domain.AuthOAuthSecret, EntraTenant: acct.Tenant, ClientID: acct.ClientID, ClientSecret: acct.ClientSecret, Authority: url}
	}
	if err := store.CreateTenant(ctx, c.tenant); err != nil {
		b.Fatal(err)
	}
	for _, mb := range ds.Mailboxes {
		if err := store.AddMailbox(ctx, domain.Mailbox{TenantID: c.tenant.ID, Address: mb, Status: domain.MailboxOK}); err != nil {
			b.Fatal(err)
		}
	}
	c.secrets = &countingSecrets{c: map[string]domain.Credential{c.tenant.ID: cred}}
	// Wired like functions/internal/syncworkerfn (newWorker): eventually consistent
	// mailbox and checkpoint reads, the tenant record and the secret
	// cached, a batch's audit entries written in one call, job progress
	// and snapshots from the store.
	c.worker, err = dynamostore.New(client, dynamostore.Options{Table: tableName, EventuallyConsistentReads: true})
	if err != nil {
		b.Fatal(err)
	}
	c.pass(b, 0, costCase{}) // the initial sync, not priced
	return c
}

// newWorker is a cold worker: it pays for its tenant and secret reads
// (and, on Graph, its token).
func (c *costSample) newWorker() *app.BatchWorker {
	clock := domain.SystemClock{}
	guard := &urlguard.Policy{DevLoopback: true}
	connector := app.Protocols{
		EWS:   app.ProtocolAdapters{Connector: ewsmailbox.NewConnector(ewsmailbox.Options{URLGuard: guard})},
		Graph: app.ProtocolAdapters{Connector: graphmailbox.NewConnector(graphmailbox.Options{URLGuard: guard, RootCAs: c.roots})},
	}
	syncer := &app.Syncer{
		Store: c.worker, Tenants: &app.TenantCache{Store: c.worker, Clock: clock},
		Secrets: secretcache.New(c.secrets, time.Hour, clock), Connector: connector, Clock: clock, DeferAudit: true,
	}
	return &app.BatchWorker{Syncer: syncer, Audit: c.worker, Progress: c.worker, Snapshots: c.worker,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

// passResult is one interval, per mailbox sync.
type passResult struct {
	rru, schedRRU, wru, sends, invocations, calls, secretReads float64
	lambdaSeconds                                              float64 // wall time of the invocations, per sync
	tick                                                       time.Duration
	ops, schedOps                                              string
}

// pass is one interval: a scheduler tick over the tenant, then the
// worker's invocations over the messages it sent, 10 a batch as the event
// source mapping delivers them.
func (c *costSample) pass(b *testing.B, minute int, tc costCase) passResult {
	b.Helper()
	ctx := context.Background()
	var r passResult
	for k := range int(costMailboxes * tc.changed) {
		mb := c.ds.Mailboxes[(k*5+minute)%costMailboxes]
		if _, err := c.sim.AddItem(mb, "inbox", ewssim.Item{Kind: ewssim.KindMessage, Subject: fmt.Sprintf("cost probe %d.%d", minute, k), From: ewssim.Address{Email: "x@fabrikam.example"}, Received: time.Now()}); err != nil {
			b.Fatal(err)
		}
	}
	meter := c.meter
	meter.reset()
	q := &recordingQueue{}
	began := time.Now()
	sum, err := (&app.Scheduler{Store: c.store, Queue: q, ForceDue: true}).Tick(ctx, time.Now().Add(time.Duration(minute)*time.Minute))
	r.tick = time.Since(began)
	if err != nil || sum.Enqueued != costMailboxes {
		b.Fatalf("tick: %+v %v", sum, err)
	}
	n := float64(costMailboxes)
	r.schedRRU, r.schedOps = meter.rru/n, meter.String()
	r.sends = float64(q.requests) / n

	w := c.newWorker()
	c.latency.Store(int64(tc.latency))
	meter.reset()
	c.secrets.mu.Lock()
	c.secrets.reads = 0
	c.secrets.mu.Unlock()
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
			b.Fatalf("%s batch at %d: %+v", c.proto, first, res)
		}
		// A sync that reached no mailbox (a refused client, say) still
		// succeeds, with the mailbox in error: it must not be priced.
		for _, jr := range res.Runs {
			for _, run := range jr.Runs {
				if run.Result.Status != domain.MailboxOK || run.Result.EWSCalls == 0 {
					b.Fatalf("%s: mailbox %s synced with status %q after %d calls (%v): the figure would price a sync that did not happen",
						c.proto, run.Mailbox, run.Result.Status, run.Result.EWSCalls, run.Result.Audit)
				}
			}
		}
		calls += res.Stats.EWSCalls // Exchange calls, whichever protocol
	}
	c.latency.Store(0)
	r.invocations /= n
	r.rru, r.wru = meter.rru/n+r.schedRRU, (meter.wru+float64(meter.failed))/n
	r.calls = float64(calls) / n
	r.lambdaSeconds = wall.Seconds() / n
	r.secretReads = float64(c.secrets.reads) / n
	r.ops = meter.String()
	return r
}

// price runs one interval of tc, prints what it measured and its (d)
// figure, and returns the dollars per 1,000 mailboxes a month.
func (c *costSample) price(b *testing.B, minute int, tc costCase) float64 {
	r := c.pass(b, minute, tc)
	proto := "EWS"
	if c.proto == domain.ProtocolGraph {
		proto = "Graph"
	}
	b.ReportMetric(r.rru, proto+"-RRU/sync")
	b.ReportMetric(r.wru, proto+"-WRU/sync")
	b.ReportMetric(r.calls, proto+"-calls/sync")
	fmt.Printf("cost: %s: measured per mailbox sync (%d mailboxes, %.0f%% with a new message, %v per %s call): %.3f RRU (scheduler %.3f), %.3f WRU, %.3f SQS sends, %.3f worker invocations, %.1f %s calls, %.1f ms of worker wall time, %.3f secret reads\n",
		proto, costMailboxes, tc.changed*100, tc.latency, proto, r.rru, r.schedRRU, r.wru, r.sends, r.invocations, r.calls, proto, r.lambdaSeconds*1000, r.secretReads)
	fmt.Printf("cost: %s: DynamoDB requests of the worker: %s\ncost: %s: of the scheduler tick: %s(tick over %d mailboxes took %v)\n", proto, r.ops, proto, r.schedOps, costMailboxes, r.tick.Round(time.Millisecond))

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
		// measured: the batches' wall time, Exchange latency included
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
	fmt.Printf("cost: %s: at %v per call, %.0f%% changed (%.0f MB worker, batches of %d messages): %s\n",
		proto, tc.latency, tc.changed*100, workerMemoryGB*1024, batchSize, strings.Join(lines, ", "))
	label := fmt.Sprintf("(d) $ per 1,000 mailboxes per month, 5-minute interval, one tenant, %v per EWS call, %.0f%% of mailboxes changed per interval", tc.latency, tc.changed*100)
	if c.proto == domain.ProtocolGraph {
		label = fmt.Sprintf("(d) Graph: $ per 1,000 mailboxes per month, 5-minute interval, one tenant on graphsim, %v per Graph request, %.0f%% of mailboxes changed per interval", tc.latency, tc.changed*100)
	}
	figure(b, label, fmt.Sprintf("$%.2f", total), "$3.00", total/3, "<= 1")
	return total
}
