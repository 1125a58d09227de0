package calendarwriterfn

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/aws/dynamostore"
	"github.com/mailbridge/mailbridge/shared/aws/sqsqueue"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ewsmailbox"
	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
	"github.com/mailbridge/mailbridge/shared/platform/urlguard"
	"github.com/mailbridge/mailbridge/shared/testsupport/dynamotable"
	"github.com/mailbridge/mailbridge/shared/testsupport/standin"
	"github.com/mailbridge/mailbridge/shared/testsupport/storetest"
)

func TestMain(m *testing.M) { standin.Main(m) }

// Issue 12's ordering test on the AWS stand-ins: the API accepts a create,
// an update and a delete of one client event back to back (same clock
// reading) into a standard queue on moto_server, with its write state in
// DynamoDB Local; the Lambda's handler receives the messages in reverse
// order, and the update's first attempt fails and is retried (the retry
// invocation the state machine makes) after the others. The event the
// caller deleted does not exist at the end, and the tracked state says
// which request won.
func TestCalendarWritesOrderedOnTheAWSStandIns(t *testing.T) {
	ctx := context.Background()
	store, _ := dynamotable.New(t, dynamostore.NewClient(standin.AWSConfig(), standin.DynamoDB(t)), "calwrites")
	sim := ewssim.New(ewssim.Options{})
	if err := sim.AddMailbox("ann@contoso.com", "Ann"); err != nil {
		t.Fatal(err)
	}
	if err := sim.AddAccount(ewssim.Account{Username: "svc@contoso.com", Password: "pw-123456", ImpersonationScope: []string{"ann@contoso.com"}}); err != nil {
		t.Fatal(err)
	}
	if err := store.CreateTenant(ctx, domain.Tenant{ID: "acme", EWSURL: standin.EWS(t, sim), ExchangeVersion: "Exchange2016",
		AuthKind: domain.AuthBasic, AccessMode: domain.AccessImpersonation, Status: domain.TenantActive}); err != nil {
		t.Fatal(err)
	}
	if err := store.AddMailbox(ctx, domain.Mailbox{TenantID: "acme", Address: "ann@contoso.com", Status: domain.MailboxOK}); err != nil {
		t.Fatal(err)
	}

	client := sqs.NewFromConfig(standin.AWSConfig(), func(o *sqs.Options) { o.BaseEndpoint = aws.String(standin.Moto(t)) })
	created, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(fmt.Sprintf("calendar-writes-%d", time.Now().UnixNano()))})
	if err != nil {
		t.Fatal(err)
	}
	url := aws.ToString(created.QueueUrl)

	clock := storetest.NewClock(time.Now().UTC().Truncate(time.Second))
	api := &app.CalendarRequests{Store: store, Queue: sqsqueue.New(client, url), Clock: clock}
	start := clock.Now().Add(72 * time.Hour)
	var ids []string
	for _, subject := range []string{"v1", "v2"} {
		req, err := api.RequestPut(ctx, "acme", "ann@contoso.com", app.EventInput{ClientEventID: "trip-7", Subject: subject, Start: start, End: start.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, req.ID)
	}
	req, err := api.RequestDelete(ctx, "acme", "ann@contoso.com", "trip-7", false)
	if err != nil {
		t.Fatal(err)
	}
	ids = append(ids, req.ID)

	// What the queue holds, by request id.
	msgs := map[string]events.SQSMessage{}
	for len(msgs) < 3 {
		out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, VisibilityTimeout: 60})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			t.Fatalf("the queue holds %d of the 3 requests", len(msgs))
		}
		for _, m := range out.Messages {
			var r domain.WriteRequest
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &r); err != nil {
				t.Fatal(err)
			}
			msgs[r.ID] = events.SQSMessage{MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle),
				Body: aws.ToString(m.Body), EventSource: "aws:sqs", EventSourceARN: "arn:aws:sqs:eu-west-1:000000000000:calendar-writes"}
		}
	}

	retries := &retryCapture{}
	w := &app.CalendarWrites{Store: store, Secrets: &memSecrets{c: domain.Credential{Kind: domain.AuthBasic, Username: "svc@contoso.com", Password: "pw-123456"}},
		Calendars: ewsmailbox.NewCalendarConnector(ewsmailbox.Options{URLGuard: &urlguard.Policy{DevLoopback: true}}),
		Retries:   retries, Clock: clock, Log: quiet}
	h := handler(w, nil, nil, quiet)
	deliver := func(id string) {
		t.Helper()
		raw, _ := json.Marshal(events.SQSEvent{Records: []events.SQSMessage{msgs[id]}})
		out, err := h(ctx, raw)
		if err != nil {
			t.Fatal(err)
		}
		if resp := out.(events.SQSEventResponse); len(resp.BatchItemFailures) != 0 {
			t.Fatalf("request %s came back to the queue: %+v", id, resp)
		}
	}
	// The update first, failing once (Exchange busy): its retry is handed
	// to the retry owner.
	sim.InjectFault(ewssim.Fault{Op: "FindItem", Kind: ewssim.FaultSOAP, Code: "ErrorServerBusy", Count: 1})
	deliver(ids[1])
	if len(retries.got) != 1 {
		t.Fatalf("retries scheduled: %+v, want the update's", retries.got)
	}
	deliver(ids[2])
	deliver(ids[0])
	clock.Advance(retries.got[0].RetryAt.Sub(clock.Now()))
	rawRetry, _ := json.Marshal(retries.got[0])
	out, err := h(ctx, rawRetry)
	if err != nil {
		t.Fatal(err)
	}
	if res := out.(app.AttemptResult); res.Outcome != app.OutcomeWritten || res.Result != domain.EventSuperseded {
		t.Fatalf("the update's retry: %+v, want written/superseded", res)
	}

	if refs, err := sim.ListItems("ann@contoso.com", "calendar"); err != nil || len(refs) != 0 {
		t.Errorf("calendar %+v (%v): want empty, the last request deleted the event", refs, err)
	}
	st, err := store.GetWriteState(ctx, "acme", "ann@contoso.com", "trip-7")
	if err != nil {
		t.Fatal(err)
	}
	want := []domain.WriteStatus{domain.WriteSuperseded, domain.WriteSuperseded, domain.WriteWritten}
	for i, r := range st.Requests {
		if i >= len(want) || r.RequestID != ids[i] || r.Status != want[i] {
			t.Errorf("request %d tracked %+v, want %s", i, r, want[min(i, len(want)-1)])
		}
	}
	if st.AppliedSeq != 3 || st.LeaseSeq != 0 || st.ItemID != "" {
		t.Errorf("state %+v: want the delete applied, no lease held, no item", st)
	}
	if r := st.Requests[1]; r.Attempts != 2 {
		t.Errorf("the update made %d attempts, want 2", r.Attempts)
	}
}
