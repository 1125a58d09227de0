package sqsqueue_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/mailbridge/mailbridge/shared/aws/sqsqueue"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/testsupport/standin"
)

func TestMain(m *testing.M) { standin.Main(m) }

// newQueue creates a fresh queue on moto_server and returns its client and URL.
func newQueue(t *testing.T, fifo bool) (*sqs.Client, string) {
	t.Helper()
	client := sqs.NewFromConfig(standin.AWSConfig(), func(o *sqs.Options) {
		o.BaseEndpoint = aws.String(standin.Moto(t))
		o.HTTPClient = &http.Client{Transport: motoFix{http.DefaultTransport}, Timeout: time.Minute} // a stuck moto fails the test
	})
	name := strings.NewReplacer("/", "-", " ", "-").Replace(t.Name()) + fmt.Sprint(time.Now().UnixNano())
	attrs := map[string]string{"VisibilityTimeout": "30"}
	if fifo {
		name += ".fifo"
		attrs["FifoQueue"] = "true"
	}
	out, err := client.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		t.Fatalf("create queue: %v", err)
	}
	return client, aws.ToString(out.QueueUrl)
}

// motoFix works around a moto 5.2 bug: a failed SendMessageBatch entry
// carries "SenderFault": "true" (a string) where SQS sends a JSON boolean,
// which the SDK refuses to decode.
type motoFix struct{ next http.RoundTripper }

var senderFaultString = regexp.MustCompile(`"SenderFault":\s*"(true|false)"`)

func (f motoFix) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := f.next.RoundTrip(r)
	if err != nil || !strings.Contains(r.Header.Get("X-Amz-Target"), "SendMessageBatch") {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	body = senderFaultString.ReplaceAll(body, []byte(`"SenderFault":$1`))
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Del("Content-Length")
	return resp, nil
}

type received struct {
	body, group, handle string
	receives            string
}

func receive(t *testing.T, c *sqs.Client, url string) []received {
	t.Helper()
	var all []received
	for {
		out, err := c.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), MaxNumberOfMessages: 10,
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			return all
		}
		for _, m := range out.Messages {
			all = append(all, received{
				body: aws.ToString(m.Body), group: m.Attributes["MessageGroupId"],
				handle: aws.ToString(m.ReceiptHandle), receives: m.Attributes["ApproximateReceiveCount"],
			})
		}
	}
}

func TestFIFOBatchGroupsAndDedup(t *testing.T) {
	client, url := newQueue(t, true)
	q := sqsqueue.New(client, url)
	ctx := context.Background()
	var batch []domain.QueueMessage
	for i := range 10 {
		batch = append(batch, domain.QueueMessage{
			Body: fmt.Appendf(nil, `{"mailbox":"u%d@x.example"}`, i), GroupID: fmt.Sprint("acme#u", i), DedupID: fmt.Sprint("acme#u", i, "#100"),
		})
	}
	if err := q.SendBatch(ctx, batch); err != nil {
		t.Fatal(err)
	}
	// A retried tick sends the same dedup ids: SQS drops them.
	if err := q.SendBatch(ctx, batch[:5]); err != nil {
		t.Fatal(err)
	}
	got := receive(t, client, url)
	if len(got) != 10 {
		t.Fatalf("received %d messages, want the 10 distinct jobs", len(got))
	}
	for _, r := range got {
		var i int
		if _, err := fmt.Sscanf(r.body, `{"mailbox":"u%d@x.example"}`, &i); err != nil || r.group != fmt.Sprint("acme#u", i) {
			t.Fatalf("message %q in group %q", r.body, r.group)
		}
	}
}

func TestFIFORequeueKeepsTheGroupWaiting(t *testing.T) {
	client, url := newQueue(t, true)
	q := sqsqueue.New(client, url)
	ctx := context.Background()
	err := q.SendBatch(ctx, []domain.QueueMessage{
		{Body: []byte("slot0-first"), GroupID: "acme#d0", DedupID: "1"},
		{Body: []byte("slot0-second"), GroupID: "acme#d0", DedupID: "2"},
		{Body: []byte("slot1"), GroupID: "acme#d1", DedupID: "3"},
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 1})
	if err != nil || len(out.Messages) != 1 || aws.ToString(out.Messages[0].Body) != "slot0-first" {
		t.Fatalf("first receive: %v %v", out, err)
	}
	// Throttled: hand it back for one second instead of sleeping.
	if err := q.Requeue(ctx, aws.ToString(out.Messages[0].ReceiptHandle), 700*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if got := receive(t, client, url); len(got) != 1 || got[0].body != "slot1" {
		t.Fatalf("while requeued, received %v; want only the other group's message", got)
	}
	// Generous: moto_server answers slowly while make test runs every
	// package at once (a 10 s wait once ran out there).
	deadline := time.Now().Add(45 * time.Second)
	for {
		got := receive(t, client, url)
		if len(got) > 0 {
			if got[0].body != "slot0-first" || got[0].receives != "2" {
				t.Fatalf("after the delay, received %v; want slot0-first again (second receive) first", got)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the requeued message never came back")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestRequeueZeroMakesVisibleNow(t *testing.T) {
	client, url := newQueue(t, false)
	q := sqsqueue.New(client, url)
	ctx := context.Background()
	if err := q.SendBatch(ctx, []domain.QueueMessage{{Body: []byte("job")}}); err != nil {
		t.Fatal(err)
	}
	first := receive(t, client, url)
	if len(first) != 1 {
		t.Fatalf("received %v", first)
	}
	if err := q.Requeue(ctx, first[0].handle, -time.Second); err != nil {
		t.Fatal(err)
	}
	if again := receive(t, client, url); len(again) != 1 || again[0].receives != "2" {
		t.Fatalf("after Requeue(0) received %v; want the job again", again)
	}
	if err := q.Requeue(ctx, "", time.Second); err == nil {
		t.Fatal("empty receipt handle must be an error")
	}
	if err := q.Requeue(ctx, "not-a-handle", time.Second); err == nil {
		t.Fatal("an unknown receipt handle must be an error")
	}
}

func TestStandardQueueDelay(t *testing.T) {
	client, url := newQueue(t, false)
	q := sqsqueue.New(client, url)
	ctx := context.Background()
	if err := q.SendBatch(ctx, []domain.QueueMessage{
		{Body: []byte("later"), Delay: 1500 * time.Millisecond}, // rounds up to 2 s
		{Body: []byte("now")},
	}); err != nil {
		t.Fatal(err)
	}
	if got := receive(t, client, url); len(got) != 1 || got[0].body != "now" {
		t.Fatalf("received %v; want only the undelayed message", got)
	}
}

// corrupt forwards to moto after setting an out-of-range DelaySeconds on
// one entry, which SQS (and moto) reject for that entry alone.
type corrupt struct {
	*sqs.Client
	entry int
}

func (c corrupt) SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	in.Entries[c.entry].DelaySeconds = 1800
	return c.Client.SendMessageBatch(ctx, in, opts...)
}

func TestPartialBatchFailureIsReported(t *testing.T) {
	client, url := newQueue(t, false)
	q := sqsqueue.New(corrupt{client, 2}, url)
	var batch []domain.QueueMessage
	for i := range 4 {
		batch = append(batch, domain.QueueMessage{Body: fmt.Append(nil, i)})
	}
	err := q.SendBatch(context.Background(), batch)
	var be *sqsqueue.BatchError
	if !errors.As(err, &be) {
		t.Fatalf("want a *BatchError, got %v", err)
	}
	if be.Sent != 3 || len(be.Failed) != 1 || be.Failed[0].Index != 2 || !be.Failed[0].SenderFault || be.Failed[0].Code == "" {
		t.Fatalf("batch error %+v: want message 2 failed (sender fault), 3 sent", be)
	}
	var bodies []string
	for _, r := range receive(t, client, url) {
		bodies = append(bodies, r.body)
	}
	slices.Sort(bodies)
	if !slices.Equal(bodies, []string{"0", "1", "3"}) {
		t.Fatalf("queue holds %v, want the three accepted messages", bodies)
	}
}

func TestBadInputIsRefusedBeforeSending(t *testing.T) {
	client, fifoURL := newQueue(t, true)
	_, stdURL := newQueue(t, false)
	ok := domain.QueueMessage{Body: []byte("ok"), GroupID: "g", DedupID: "d"}
	for _, tc := range []struct {
		name string
		url  string
		msgs []domain.QueueMessage
		want string
	}{
		{"eleven messages", fifoURL, slices.Repeat([]domain.QueueMessage{ok}, 11), "at most 10"},
		{"FIFO with a delay", fifoURL, []domain.QueueMessage{ok, {Body: []byte("x"), GroupID: "g", DedupID: "e", Delay: time.Second}}, "no per-message delay"},
		{"FIFO without group", fifoURL, []domain.QueueMessage{{Body: []byte("x"), DedupID: "e"}}, "group id"},
		{"FIFO without dedup id", fifoURL, []domain.QueueMessage{{Body: []byte("x"), GroupID: "g"}}, "deduplication id"},
		{"empty body", fifoURL, []domain.QueueMessage{{GroupID: "g", DedupID: "e"}}, "empty body"},
		{"standard with dedup id", stdURL, []domain.QueueMessage{{Body: []byte("x"), DedupID: "e"}}, "FIFO"},
		{"delay over 15 minutes", stdURL, []domain.QueueMessage{{Body: []byte("x"), Delay: 16 * time.Minute}}, "delay"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := sqsqueue.New(client, tc.url).SendBatch(context.Background(), tc.msgs)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tc.want)
			}
			if got := receive(t, client, tc.url); len(got) != 0 {
				t.Fatalf("a refused batch sent %d messages", len(got))
			}
		})
	}
}
