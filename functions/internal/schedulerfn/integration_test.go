package schedulerfn

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/aws/dynamostore"
	"github.com/mailbridge/mailbridge/shared/aws/sqsqueue"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/testsupport/dynamotable"
	"github.com/mailbridge/mailbridge/shared/testsupport/standin"
	"github.com/mailbridge/mailbridge/shared/testsupport/storetest"
)

func TestMain(m *testing.M) { standin.Main(m) }

// The scheduler Lambda's path on the AWS stand-ins: tenants and mailboxes
// in DynamoDB Local, jobs into a FIFO queue on moto_server. The schedule
// invokes it twice for the same scheduled time (a retry): the queue holds
// each job once, in the right message group.
func TestTickOnTheAWSStandIns(t *testing.T) {
	ctx := context.Background()
	store, _ := dynamotable.New(t, dynamostore.NewClient(standin.AWSConfig(), standin.DynamoDB(t)), "scheduler")

	tenants := []struct {
		t     domain.Tenant
		boxes int
	}{
		{domain.Tenant{ID: "imp", AccessMode: domain.AccessImpersonation, SyncInterval: time.Minute, Status: domain.TenantActive}, 12},
		{domain.Tenant{ID: "del", AccessMode: domain.AccessDelegate, MaxConcurrentJobs: 3, SyncInterval: time.Minute, Status: domain.TenantActive}, 7},
		{domain.Tenant{ID: "gone", AccessMode: domain.AccessImpersonation, SyncInterval: time.Minute, Status: domain.TenantOffboarded}, 4},
	}
	for _, tc := range tenants {
		tc.t.DisplayName, tc.t.EWSURL, tc.t.AuthKind = tc.t.ID, "https://mail.example.com/EWS/Exchange.asmx", domain.AuthBasic
		if err := store.CreateTenant(ctx, tc.t); err != nil {
			t.Fatal(err)
		}
		for i := range tc.boxes {
			if err := store.AddMailbox(ctx, domain.Mailbox{TenantID: tc.t.ID, Address: fmt.Sprintf("u%02d@%s.example", i, tc.t.ID), Status: domain.MailboxOK}); err != nil {
				t.Fatal(err)
			}
		}
	}

	client := sqs.NewFromConfig(standin.AWSConfig(), func(o *sqs.Options) { o.BaseEndpoint = aws.String(standin.Moto(t)) })
	created, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{
		QueueName:  aws.String(fmt.Sprintf("sync-jobs-%d.fifo", time.Now().UnixNano())),
		Attributes: map[string]string{"FifoQueue": "true", "DeduplicationScope": "messageGroup", "FifoThroughputLimit": "perMessageGroupId"},
	})
	if err != nil {
		t.Fatal(err)
	}
	url := aws.ToString(created.QueueUrl)

	s := &app.Scheduler{Store: store, Queue: sqsqueue.New(client, url), PageSize: 5}
	h := tick(s.Tick, storetest.NewClock(time.Now()), slog.New(slog.NewTextHandler(io.Discard, nil)))
	event := json.RawMessage(`{"scheduledTime":"2026-11-23T09:40:00Z"}`)
	for range 2 { // the schedule's retry of the same invocation
		sum, err := h(ctx, event)
		if err != nil || sum.Enqueued != 19 || sum.Offboarded != 1 {
			t.Fatalf("tick: %+v, %v: want 19 mailboxes, the offboarded tenant skipped", sum, err)
		}
	}

	jobs := map[string]string{} // tenant/mailbox -> group
	for {
		out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), MaxNumberOfMessages: 10, VisibilityTimeout: 60,
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameMessageGroupId},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			break
		}
		for _, m := range out.Messages {
			var j domain.SyncJob
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &j); err != nil {
				t.Fatal(err)
			}
			for _, mb := range j.Targets() {
				key := j.TenantID + "/" + mb
				if _, dup := jobs[key]; dup {
					t.Fatalf("mailbox %s delivered twice", key)
				}
				jobs[key] = m.Attributes[string(types.MessageSystemAttributeNameMessageGroupId)]
			}
			if want := time.Date(2026, 11, 23, 9, 40, 0, 0, time.UTC); !j.Tick.Equal(want) {
				t.Fatalf("job tick %v, want the scheduled time %v", j.Tick, want)
			}
			// Done with it, as the worker would be: FIFO holds back the
			// rest of a group while one of its messages is in flight.
			if _, err := client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(jobs) != 19 {
		t.Fatalf("the queue held %d jobs, want 19 (12 + 7, each once)", len(jobs))
	}
	groups := map[string]map[string]bool{"imp": {}, "del": {}}
	for key, g := range jobs {
		tenant := key[:3]
		groups[tenant][g] = true
	}
	if len(groups["imp"]) != 2 {
		t.Fatalf("impersonation tenant: %d groups, want one per job of 10 mailboxes (2)", len(groups["imp"]))
	}
	if len(groups["del"]) != 3 {
		t.Fatalf("delegate tenant: %d groups, want MaxConcurrentJobs (3)", len(groups["del"]))
	}
}
