package main

// Benchmark (i) of `make bench`: how fast one tenant can be synced and
// changed at DynamoDB's documented limits, computed from write units
// measured per change on DynamoDB Local and attributed to the partitions
// they land on. DynamoDB limits each partition to 1,000 write units per
// second, and an on-demand table by default (an adjustable account quota)
// to 40,000. The tenant feed is one partition per tenant (T#<tenant>);
// each mailbox has its own (B#<tenant>#<address>).
//
// The real syncer syncs simulated mailboxes into the real store:
//   - in their initial sync (added through the API: their items go to
//     their mailbox partitions, the tenant feed gets one mailboxSynced);
//   - the same mailboxes' sync under the old design (every item through
//     the tenant feed), on mailboxes never put in an initial sync;
//   - steady state: one, then ten new messages per mailbox per sync, so
//     the per-sync writes (checkpoint, mailbox record, heads, audit) and
//     the per-change writes can be told apart.
//
// Units are priced as AWS bills them (as (d) does): a transaction's puts
// 2 units per KB of each item, updates and deletes 2, and, conservatively,
// its ConditionCheck 2 (DynamoDB Local under-reports transactions);
// single writes 1 unit per KB (rounded up), the most of that and what
// Local reports. Each unit is attributed to the partition key of the item
// it writes.

import (
	"context"
	"fmt"
	"math"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ewsmailbox"
	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
	"github.com/mailbridge/mailbridge/shared/platform/urlguard"
	"github.com/mailbridge/mailbridge/shared/testsupport/dynamotable"
	"github.com/mailbridge/mailbridge/shared/testsupport/secretscan"
	"github.com/mailbridge/mailbridge/shared/testsupport/standin"
)

// DynamoDB's documented limits and the tenant.
const (
	partitionWRU    = 1000   // write units per second per partition
	tableWRU        = 40_000 // on-demand table, default quota (adjustable)
	scaleMailboxes  = 10_000
	scaleItems      = 5_000
	scaleBoundHours = 2.0
	// The measured sample: mailboxes of feedScaleItems items each, half in
	// their initial sync, half synced the old way.
	feedScaleMailboxes = 4
	feedScaleItems     = 500
)

// partitionMeter sums AWS-billed write units by partition key.
type partitionMeter struct {
	mu     sync.Mutex
	byPK   map[string]float64
	local  float64 // what DynamoDB Local reported, for comparison
	writes int
}

func (m *partitionMeter) reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.byPK, m.local, m.writes = map[string]float64{}, 0, 0
}

func pkOf(it map[string]types.AttributeValue) string {
	if s, ok := it["pk"].(*types.AttributeValueMemberS); ok {
		return s.Value
	}
	return "?"
}

func kbUp(n int) float64 { return math.Max(1, math.Ceil(float64(n)/1024)) }

func (m *partitionMeter) install(st *middleware.Stack) error {
	return st.Initialize.Add(middleware.InitializeMiddlewareFunc("mailbridgePartitionMeter", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
		total := types.ReturnConsumedCapacityTotal
		add := map[string]float64{} // billed units by pk
		single := ""                // the pk of a single write, priced from Local's report
		singleKB := 0.0
		switch p := in.Parameters.(type) {
		case *dynamodb.TransactWriteItemsInput:
			p.ReturnConsumedCapacity = total
			for _, a := range p.TransactItems {
				switch {
				case a.Put != nil:
					add[pkOf(a.Put.Item)] += 2 * kbUp(itemSize(a.Put.Item))
				case a.Update != nil:
					add[pkOf(a.Update.Key)] += 2
				case a.Delete != nil:
					add[pkOf(a.Delete.Key)] += 2
				case a.ConditionCheck != nil:
					add[pkOf(a.ConditionCheck.Key)] += 2
				}
			}
		case *dynamodb.PutItemInput:
			p.ReturnConsumedCapacity = total
			single, singleKB = pkOf(p.Item), kbUp(itemSize(p.Item))
		case *dynamodb.UpdateItemInput:
			p.ReturnConsumedCapacity = total
			single, singleKB = pkOf(p.Key), 1
		case *dynamodb.DeleteItemInput:
			p.ReturnConsumedCapacity = total
			single, singleKB = pkOf(p.Key), 1
		case *dynamodb.BatchWriteItemInput:
			p.ReturnConsumedCapacity = total
			for _, reqs := range p.RequestItems {
				for _, r := range reqs {
					if r.PutRequest != nil {
						add[pkOf(r.PutRequest.Item)] += kbUp(itemSize(r.PutRequest.Item))
					}
					if r.DeleteRequest != nil {
						add[pkOf(r.DeleteRequest.Key)]++
					}
				}
			}
		}
		out, md, err := next.HandleInitialize(ctx, in)
		reported := 0.0
		switch r := out.Result.(type) {
		case *dynamodb.TransactWriteItemsOutput:
			for _, c := range r.ConsumedCapacity {
				reported += aws.ToFloat64(c.CapacityUnits)
			}
		case *dynamodb.PutItemOutput:
			if r.ConsumedCapacity != nil {
				reported = aws.ToFloat64(r.ConsumedCapacity.CapacityUnits)
			}
		case *dynamodb.UpdateItemOutput:
			if r.ConsumedCapacity != nil {
				reported = aws.ToFloat64(r.ConsumedCapacity.CapacityUnits)
			}
		case *dynamodb.DeleteItemOutput:
			if r.ConsumedCapacity != nil {
				reported = aws.ToFloat64(r.ConsumedCapacity.CapacityUnits)
			}
		case *dynamodb.BatchWriteItemOutput:
			for _, c := range r.ConsumedCapacity {
				reported += aws.ToFloat64(c.CapacityUnits)
			}
		}
		if single != "" {
			// A failed conditional write is billed too (1 unit here).
			add[single] += math.Max(singleKB, reported)
		}
		if len(add) == 0 {
			return out, md, err
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		m.writes++
		m.local += reported
		for pk, u := range add {
			m.byPK[pk] += u
		}
		return out, md, err
	}), middleware.After)
}

// split is a pass's units: the tenant partition, all mailbox partitions,
// the busiest mailbox partition, everything.
type split struct{ tenant, mailboxes, maxMailbox, total float64 }

func (m *partitionMeter) split(tenantID string) split {
	m.mu.Lock()
	defer m.mu.Unlock()
	var s split
	for pk, u := range m.byPK {
		s.total += u
		switch {
		case pk == "T#"+tenantID:
			s.tenant += u
		case strings.HasPrefix(pk, "B#"+tenantID+"#"):
			s.mailboxes += u
			s.maxMailbox = math.Max(s.maxMailbox, u)
		}
	}
	return s
}

func (s split) per(n float64) split {
	return split{s.tenant / n, s.mailboxes / n, s.maxMailbox / n, s.total / n}
}

func BenchmarkTenantFeedScale(b *testing.B) {
	meter := &partitionMeter{}
	meter.reset()
	client := dynamodb.NewFromConfig(standin.AWSConfig(), func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(standin.DynamoDB(b))
		o.APIOptions = append(o.APIOptions, meter.install)
	})
	ctx := context.Background()
	store, _ := dynamotable.New(b, client, "mailbridge-feedscale")
	sim := ewssim.New(ewssim.Options{Seed: demoSeed})
	ds, err := sim.Generate(ewssim.GenOptions{Mailboxes: feedScaleMailboxes, ItemsPerMailbox: feedScaleItems, Seed: demoSeed, Base: demoBase})
	if err != nil {
		b.Fatal(err)
	}
	srv := standin.EWS(b, sim)
	tenant := domain.Tenant{ID: "scale", DisplayName: "scale", Folders: domain.DefaultFolders, EWSURL: srv, ExchangeVersion: domain.DefaultExchangeVersion,
		AuthKind: domain.AuthBasic, AccessMode: domain.AccessImpersonation, SyncInterval: 5 * time.Minute,
		MaxConcurrentJobs: domain.DefaultMaxConcurrentJobs, Status: domain.TenantActive}
	if err := store.CreateTenant(ctx, tenant); err != nil {
		b.Fatal(err)
	}
	half := feedScaleMailboxes / 2
	initial, old := ds.Mailboxes[:half], ds.Mailboxes[half:]
	for i, mb := range ds.Mailboxes {
		if i < half { // as app.Tenants adds a mailbox
			if err := store.StartInitialSync(ctx, tenant.ID, mb); err != nil {
				b.Fatal(err)
			}
		}
		if err := store.AddMailbox(ctx, domain.Mailbox{TenantID: tenant.ID, Address: mb, Status: domain.MailboxPending}); err != nil {
			b.Fatal(err)
		}
	}
	cred := domain.Credential{Kind: domain.AuthBasic, Username: ds.Account.Username, Password: ds.Account.Password}
	syncer := &app.Syncer{Store: store, Secrets: &countingSecrets{c: map[string]domain.Credential{tenant.ID: cred}},
		Connector: ewsmailbox.NewConnector(ewsmailbox.Options{URLGuard: &urlguard.Policy{DevLoopback: true}}),
		Clock:     domain.SystemClock{}, Log: secretscan.Logger()}
	// pass syncs mailboxes once and returns the units by partition and the
	// feed entries appended.
	tick := time.Now()
	pass := func(mbs []string) (split, int) {
		b.Helper()
		meter.reset()
		changes := 0
		for _, mb := range mbs {
			res, err := syncer.SyncMailbox(ctx, domain.SyncJob{TenantID: tenant.ID, Mailbox: mb, Tick: tick})
			if err != nil || res.Status != domain.MailboxOK {
				b.Fatalf("sync %s: %s, %v", mb, res.Status, err)
			}
			changes += res.Appended
		}
		tick = tick.Add(5 * time.Minute)
		return meter.split(tenant.ID), changes
	}
	addMessages := func(k int) {
		for _, mb := range ds.Mailboxes {
			for j := range k {
				if _, err := sim.AddItem(mb, "inbox", ewssim.Item{Kind: ewssim.KindMessage, Subject: fmt.Sprintf("scale probe %d", j),
					From: ewssim.Address{Email: "x@fabrikam.example"}, Received: time.Now(), Body: strings.Repeat("news ", 100)}); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		newWay, n := pass(initial)
		localNew := meter.local
		if n != half*feedScaleItems {
			b.Fatalf("initial sync appended %d changes, want %d", n, half*feedScaleItems)
		}
		oldWay, n2 := pass(old)
		if n2 != n {
			b.Fatalf("old-design sync appended %d changes, want %d", n2, n)
		}
		addMessages(1)
		one, c1 := pass(ds.Mailboxes)
		addMessages(10)
		ten, c10 := pass(ds.Mailboxes)
		if c1 != feedScaleMailboxes || c10 != 10*feedScaleMailboxes {
			b.Fatalf("steady passes appended %d and %d changes, want %d and %d", c1, c10, feedScaleMailboxes, 10*feedScaleMailboxes)
		}
		ni, oi := newWay.per(float64(n)), oldWay.per(float64(n2))
		perMailbox := float64(feedScaleItems) // changes per mailbox partition in the sample
		items := float64(scaleMailboxes) * scaleItems
		// The initial sync: the tenant partition, each mailbox partition
		// (all in parallel) and the table, each at its limit; the slowest
		// bounds it.
		tTenant := ni.tenant * items / partitionWRU
		tMailbox := newWay.maxMailbox / perMailbox * scaleItems / partitionWRU
		tTable := ni.total * items / tableWRU
		partHours := math.Max(tTenant, tMailbox) / 3600
		hours := math.Max(partHours, tTable/3600)
		oldHours := math.Max(oi.tenant*items/partitionWRU, oi.total*items/tableWRU) / 3600
		// Steady state: tenant-partition units per changed sync of one
		// change, and per further change in the same sync.
		perSync1 := one.tenant / float64(c1)
		marginal := (ten.tenant - one.tenant) / float64(c10-c1)
		fmt.Printf("note: (i) measured write units per change (AWS-billed; DynamoDB Local reported %.2f per initial-sync change): initial sync %.2f on the tenant partition, %.2f on its mailbox partition, %.2f in all; old design %.2f on the tenant partition, %.2f in all; steady state, one change a sync %.2f on the tenant partition (%.2f in all), each further change in the same sync %.2f\n",
			localNew/float64(n), ni.tenant, ni.mailboxes, ni.total, oi.tenant, oi.total, perSync1, one.total/float64(c1), marginal)
		fmt.Printf("note: (i) 10,000 x 5,000 initial sync: tenant partition %.2f h (%.3f WRU/change x 50M / 1,000 WRU/s), each mailbox partition %.0f s, table %.2f h (%.2f WRU/change x 50M / 40,000 WRU/s); old design %.1f h (%.2f WRU/change through the tenant partition)\n",
			tTenant/3600, ni.tenant, tMailbox, tTable/3600, ni.total, oldHours, oi.tenant)
		fmt.Printf("note: (i) steady-state changes/s per tenant at 1,000 WRU/s on its partition: %.0f when every sync carries one change, up to %.0f when syncs carry many\n",
			partitionWRU/perSync1, partitionWRU/marginal)
		fmt.Printf("figure: (i) initial sync of a 10,000 x 5,000-item tenant at DynamoDB's per-partition limit (1,000 WRU/s), hours | %.2f | %.0f | %.3f | <= 1\n",
			partHours, scaleBoundHours, partHours/scaleBoundHours)
		fmt.Printf("figure: (i) the same, also at the on-demand table's default quota (40,000 WRU/s), hours | %.2f | %.0f | %.3f | <= 1\n",
			hours, scaleBoundHours, hours/scaleBoundHours)
		fmt.Printf("note: (i) before/after: the old design (every item through the tenant partition) %.1f h = %.1f x the 2 h bound; now %.2f h, %.0fx faster\n",
			oldHours, oldHours/scaleBoundHours, hours, oldHours/hours)
	}
	if os.Getenv("BENCH_FEEDSCALE_DUMP") != "" {
		m := meter.byPK
		fmt.Println("last pass by partition:", m)
	}
}
