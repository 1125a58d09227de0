// Package sqsqueue is the SQS adapter of domain.Queue, plus the visibility
// change the sync worker uses to hand a throttled job back to its queue.
//
// Mailbridge's sync queue is FIFO (MessageGroupId bounds concurrency, the
// deduplication id stops a retried scheduler tick from doubling jobs). FIFO
// queues refuse per-message delays, so a message with a Delay is rejected
// here with a clear error instead of by SQS; standard queues take delays
// and have no deduplication, so a DedupID is rejected on them.
package sqsqueue

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// SQS limits.
const (
	MaxBatch      = 10               // entries per SendMessageBatch
	MaxDelay      = 15 * time.Minute // DelaySeconds
	MaxVisibility = 12 * time.Hour   // VisibilityTimeout
)

// API is the part of *sqs.Client the adapter uses.
type API interface {
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
	ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, opts ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
}

// Queue sends to one SQS queue.
type Queue struct {
	client API
	url    string
	fifo   bool
}

// New returns the adapter for the queue at queueURL; a URL ending in
// ".fifo" is a FIFO queue (SQS requires the suffix).
func New(client API, queueURL string) *Queue {
	return &Queue{client: client, url: queueURL, fifo: strings.HasSuffix(queueURL, ".fifo")}
}

// FailedMessage is one message SQS did not accept.
type FailedMessage struct {
	Index       int // position in the batch given to SendBatch
	Code        string
	Message     string
	SenderFault bool // true: the message is bad, resending it will not help
}

// BatchError reports a partly failed batch: the others were sent.
type BatchError struct {
	Sent   int
	Failed []FailedMessage
}

func (e *BatchError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "sqs: %d of %d messages not sent", len(e.Failed), e.Sent+len(e.Failed))
	for i, f := range e.Failed {
		if i == 3 {
			fmt.Fprintf(&b, "; and %d more", len(e.Failed)-3)
			break
		}
		fmt.Fprintf(&b, "; #%d %s: %s", f.Index, f.Code, f.Message)
	}
	return b.String()
}

// SendBatch sends up to MaxBatch messages in one request. Input that SQS
// would refuse is refused before anything is sent. A partial failure comes
// back as a *BatchError naming the messages that were not sent.
func (q *Queue) SendBatch(ctx context.Context, msgs []domain.QueueMessage) error {
	if len(msgs) == 0 {
		return nil
	}
	if len(msgs) > MaxBatch {
		return fmt.Errorf("sqs: batch of %d messages, at most %d", len(msgs), MaxBatch)
	}
	entries := make([]types.SendMessageBatchRequestEntry, len(msgs))
	for i, m := range msgs {
		e, err := q.entry(i, m)
		if err != nil {
			return fmt.Errorf("sqs: message %d: %w", i, err)
		}
		entries[i] = e
	}
	out, err := q.client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(q.url), Entries: entries})
	if err != nil {
		return fmt.Errorf("sqs: send batch: %w", err)
	}
	if len(out.Failed) == 0 {
		return nil
	}
	be := &BatchError{Sent: len(out.Successful)}
	for _, f := range out.Failed {
		idx, _ := strconv.Atoi(aws.ToString(f.Id))
		be.Failed = append(be.Failed, FailedMessage{Index: idx, Code: aws.ToString(f.Code), Message: aws.ToString(f.Message), SenderFault: f.SenderFault})
	}
	return be
}

func (q *Queue) entry(i int, m domain.QueueMessage) (types.SendMessageBatchRequestEntry, error) {
	e := types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(string(m.Body))}
	if len(m.Body) == 0 {
		return e, errors.New("empty body")
	}
	if m.Delay < 0 || m.Delay > MaxDelay {
		return e, fmt.Errorf("delay %v outside 0-%v", m.Delay, MaxDelay)
	}
	if q.fifo {
		if m.Delay > 0 {
			return e, errors.New("FIFO queues take no per-message delay (use a zero Delay; requeue with Requeue)")
		}
		if m.GroupID == "" || m.DedupID == "" {
			return e, errors.New("FIFO queues need a group id and a deduplication id")
		}
		e.MessageGroupId = aws.String(m.GroupID)
		e.MessageDeduplicationId = aws.String(m.DedupID)
		return e, nil
	}
	if m.DedupID != "" {
		return e, errors.New("standard queues do not deduplicate: a deduplication id needs a FIFO queue")
	}
	if m.GroupID != "" {
		e.MessageGroupId = aws.String(m.GroupID) // fair queues
	}
	if m.Delay > 0 {
		e.DelaySeconds = int32((m.Delay + time.Second - 1) / time.Second)
	}
	return e, nil
}

// Requeue returns a received message to the queue to be delivered again
// after the given delay (rounded up to whole seconds, at most 12 hours), by
// changing its visibility timeout. On a FIFO queue the message keeps its
// group waiting until then, which is what a throttled delegate slot needs.
// The caller must then not delete the message (for a Lambda: report it as a
// batch item failure).
func (q *Queue) Requeue(ctx context.Context, receiptHandle string, after time.Duration) error {
	if receiptHandle == "" {
		return errors.New("sqs: requeue: empty receipt handle")
	}
	after = min(max(after, 0), MaxVisibility)
	secs := int32((after + time.Second - 1) / time.Second)
	_, err := q.client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl: aws.String(q.url), ReceiptHandle: aws.String(receiptHandle), VisibilityTimeout: secs,
	})
	if err != nil {
		return fmt.Errorf("sqs: requeue after %ds: %w", secs, err)
	}
	return nil
}
