package syncworkerfn

import (
	"context"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/aws/dynamostore"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ewsmailbox"
	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
	"github.com/mailbridge/mailbridge/shared/platform/urlguard"
	"github.com/mailbridge/mailbridge/shared/testsupport/dynamotable"
	"github.com/mailbridge/mailbridge/shared/testsupport/secretscan"
	"github.com/mailbridge/mailbridge/shared/testsupport/standin"
)

// TestMain stops the DynamoDB Local the tests below may start.
// TestMain stops the stand-ins after the tests, then runs the package's secret scan.
func TestMain(m *testing.M) { secretscan.Main(m, standin.Stop) }

// The Lambda's wiring on DynamoDB Local: a job of ten mailboxes, one of
// them throttled, comes back once with the server's delay; its redelivery
// syncs only that mailbox (the store recorded the nine that finished), and
// each mailbox's items are in the feed once.
func TestWorkerJobComesBackForTheThrottledMailboxOnly(t *testing.T) {
	ctx := context.Background()
	client := dynamostore.NewClient(standin.AWSConfig(), standin.DynamoDB(t))
	admin, table := dynamotable.New(t, client, "mailbridge-worker")
	store, err := dynamostore.New(client, dynamostore.Options{Table: table, EventuallyConsistentReads: true})
	if err != nil {
		t.Fatal(err)
	}

	sim, ds, tenant := simTenant(t, 11, 10, 6)
	if err := admin.CreateTenant(ctx, tenant); err != nil {
		t.Fatal(err)
	}
	for _, mb := range ds.Mailboxes {
		if err := admin.AddMailbox(ctx, domain.Mailbox{TenantID: "acme", Address: mb, Status: domain.MailboxPending}); err != nil {
			t.Fatal(err)
		}
	}
	// The scheduler's job for the tenant: ten consecutive mailboxes.
	q := &jobsQueue{}
	if _, err := (&app.Scheduler{Store: admin, Queue: q, ForceDue: true}).Tick(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	if len(q.msgs) != 1 {
		t.Fatalf("the tick sent %d messages, want one job of 10 mailboxes", len(q.msgs))
	}
	busy := ds.Mailboxes[4]
	sim.InjectFault(ewssim.Fault{Mailbox: busy, Op: "SyncFolderItems", Kind: ewssim.FaultSOAP, Code: "ErrorServerBusy", BackOff: 7 * time.Second, Count: 1})

	rq := &requeues{}
	secrets := oneSecret{domain.Credential{Kind: domain.AuthBasic, Username: ds.Account.Username, Password: ds.Account.Password}}
	secretscan.Register(secrets.c) // generated: Harvest cannot see it
	w := newWorker(store, secrets, ewsmailbox.NewConnector(ewsmailbox.Options{URLGuard: &urlguard.Policy{DevLoopback: true}}), rq, domain.SystemClock{}, secretscan.Logger(), 0, nil)
	msg := app.BatchMessage{ID: "m1", Body: q.msgs[0].Body, ReceiptHandle: "rh-1", GroupID: q.msgs[0].GroupID, Receives: 1}

	res := w.Process(ctx, []app.BatchMessage{msg})
	if len(res.Failed) != 1 || res.Stats.Succeeded != 9 || res.Stats.Requeued != 1 {
		t.Fatalf("first delivery: %+v, want 9 synced and the job back", res)
	}
	if len(*rq) != 1 || (*rq)[0] != "rh-1@7s" {
		t.Fatalf("requeues %v, want the job back after the server's 7s", *rq)
	}

	sim.ResetStats()
	msg.Receives = 2
	res = w.Process(ctx, []app.BatchMessage{msg})
	if len(res.Failed) != 0 || res.Stats.Mailboxes != 1 || res.Stats.AlreadyDone != 9 {
		t.Fatalf("redelivery: %+v, want only the throttled mailbox synced", res)
	}
	for _, mb := range ds.Mailboxes {
		changes, _, err := store.ReadFeed(ctx, domain.FeedQuery{TenantID: "acme", Mailbox: mb, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, c := range changes {
			if seen[c.ItemID] {
				t.Fatalf("%s: item %s twice in the feed", mb, c.ItemID)
			}
			seen[c.ItemID] = true
		}
		if want := 6; len(seen) != want { // the generated items of a mailbox
			t.Fatalf("%s: %d items in the feed, want %d", mb, len(seen), want)
		}
	}
}

// jobsQueue keeps what the scheduler sends.
type jobsQueue struct{ msgs []domain.QueueMessage }

func (q *jobsQueue) SendBatch(_ context.Context, msgs []domain.QueueMessage) error {
	q.msgs = append(q.msgs, msgs...)
	return nil
}
