package syncworkerfn

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/testsupport/storetest"
)

// answers scripts the sync outcome per mailbox.
type answers map[string]error

func (a answers) SyncMailboxWith(_ context.Context, job domain.SyncJob, _ *domain.SyncSnapshot) (app.SyncResult, error) {
	return app.SyncResult{Mailbox: job.Mailbox, EWSCalls: 3, Throttled: 1, Appended: 2}, a[job.Mailbox]
}

type requeues []string

func (r *requeues) Requeue(_ context.Context, h string, after time.Duration) error {
	*r = append(*r, h+"@"+after.String())
	return nil
}

// sampleEvent is aws-lambda-go's SQS sample event with n records whose
// bodies are the given jobs (FIFO attributes added).
func sampleEvent(t *testing.T, bodies ...string) events.SQSEvent {
	t.Helper()
	raw, err := os.ReadFile("testdata/sqs-event.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev events.SQSEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	if len(bodies) == 0 {
		return ev
	}
	tmpl := ev.Records[0]
	ev.Records = nil
	for i, b := range bodies {
		r := tmpl
		r.MessageId = "msg-" + string(rune('a'+i))
		r.ReceiptHandle = "rh-" + string(rune('a'+i))
		r.Body = b
		r.Attributes = map[string]string{"MessageGroupId": "acme#" + string(rune('a'+i)), "ApproximateReceiveCount": "1"}
		ev.Records = append(ev.Records, r)
	}
	return ev
}

func job(mailbox string) string {
	b, _ := json.Marshal(domain.SyncJob{TenantID: "acme", Mailbox: mailbox, Tick: time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)})
	return string(b)
}

func TestHandlerReportsPartialBatchFailure(t *testing.T) {
	rq := &requeues{}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	w := &app.BatchWorker{Syncer: answers{
		"busy@acme.com":  &app.RetryLater{After: 4 * time.Second, Reason: "throttled"},
		"flaky@acme.com": errors.New("dynamodb unavailable"),
	}, Requeuer: rq, Log: quiet}
	var metrics bytes.Buffer
	h := handler(w.Process, &batchMetrics{out: &metrics, stage: "prod", clock: storetest.NewClock(time.Unix(1700000000, 0))}, quiet)

	resp, err := h(context.Background(), sampleEvent(t, job("ok@acme.com"), job("busy@acme.com"), job("flaky@acme.com"), "not a job"))
	if err != nil {
		t.Fatal(err)
	}
	var failed []string
	for _, f := range resp.BatchItemFailures {
		failed = append(failed, f.ItemIdentifier)
	}
	if strings.Join(failed, ",") != "msg-b,msg-c" && strings.Join(failed, ",") != "msg-c,msg-b" {
		t.Errorf("batch item failures %v, want msg-b (throttled) and msg-c (failed)", failed)
	}
	if len(*rq) != 1 || (*rq)[0] != "rh-b@4s" {
		t.Errorf("requeues %v, want rh-b after 4s", *rq)
	}

	// One EMF line, Stage the only dimension, no tenant or mailbox in it.
	line := strings.TrimSpace(metrics.String())
	if strings.Count(line, "\n") != 0 || strings.Contains(line, "acme") {
		t.Fatalf("EMF output %q: want one line without tenant ids", line)
	}
	var doc struct {
		AWS struct {
			Timestamp         int64
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name, Unit string }
			}
		} `json:"_aws"`
		Stage           string
		EWSCalls        int
		ThrottledCalls  int
		ChangesAppended int
		SyncJobs        int
	}
	if err := json.Unmarshal([]byte(line), &doc); err != nil {
		t.Fatal(err)
	}
	cw := doc.AWS.CloudWatchMetrics
	if len(cw) != 1 || cw[0].Namespace != "Mailbridge" || len(cw[0].Dimensions) != 1 || strings.Join(cw[0].Dimensions[0], ",") != "Stage" {
		t.Fatalf("EMF metadata %+v: want namespace Mailbridge, dimensions [[Stage]]", cw)
	}
	if doc.Stage != "prod" || doc.SyncJobs != 4 || doc.EWSCalls != 9 || doc.ThrottledCalls != 3 || doc.ChangesAppended != 6 || doc.AWS.Timestamp != 1700000000000 {
		t.Errorf("EMF values %+v", doc)
	}
}

func TestHandlerDropsTheSampleBody(t *testing.T) {
	// The unmodified sample's body ("Message Body") is no job: it is
	// logged and dropped, not redelivered until the dead-letter queue.
	w := &app.BatchWorker{Syncer: answers{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	h := handler(w.Process, &batchMetrics{out: io.Discard, stage: "dev", clock: storetest.NewClock(time.Time{})}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	resp, err := h(context.Background(), sampleEvent(t))
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("resp %+v err %v: want no failures", resp, err)
	}
	// The response marshals as Lambda expects, with an empty list.
	b, _ := json.Marshal(resp)
	if string(b) != `{"batchItemFailures":[]}` {
		t.Errorf("response JSON %s", b)
	}
}

// The handler hands the worker each record's group and receive count: a
// redelivered job (count above 1) looks up the mailboxes it finished.
func TestHandlerPassesGroupAndReceiveCount(t *testing.T) {
	ev := sampleEvent(t, job("a@acme.com"), job("b@acme.com"))
	ev.Records[1].Attributes["ApproximateReceiveCount"] = "3"
	var got []app.BatchMessage
	process := func(_ context.Context, msgs []app.BatchMessage) app.BatchResult {
		got = msgs
		return app.BatchResult{}
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	if _, err := handler(process, &batchMetrics{out: io.Discard, stage: "prod", clock: storetest.NewClock(time.Unix(1700000000, 0))}, quiet)(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Receives != 1 || got[1].Receives != 3 || got[1].GroupID != "acme#b" || got[1].ReceiptHandle != "rh-b" {
		t.Fatalf("messages %+v", got)
	}
}
