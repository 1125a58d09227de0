// Package queue is the embedded job queue of the one-process local run. It
// behaves like the SQS FIFO queue the deployment uses, where that matters
// to Mailbridge:
//
//   - deduplication ids: a message whose (group, dedup id) was sent within
//     the window (5 minutes, like SQS) is dropped, so a retried scheduler
//     tick does not double jobs;
//   - message groups: one message per group is in flight at a time, in
//     send order, which is how a delegate tenant's concurrency is bounded;
//     a message without a group is its own group;
//   - delays: a message is invisible until its delay has passed;
//   - batches and partial failure, as the Lambda event source delivers
//     them: a consumer receives up to a batch of messages and names those
//     that must come back; the others are deleted;
//   - requeue with a delay (Requeue, what ChangeMessageVisibility does on
//     SQS): a message that comes back after a Requeue is visible again at
//     the time Requeue gave, and until then blocks its group; one that
//     comes back without it waits the retry delay (SQS: the visibility
//     timeout). Queue implements app.Requeuer;
//   - receive counting: after MaxReceives receives (throttled requeues
//     included, as SQS counts them) a message that still is not done is
//     dead-lettered (kept for inspection, not retried).
//
// It keeps everything in memory. That is deliberate: a job is only "sync
// this mailbox now", and the scheduler makes it again on the mailbox's next
// due tick, so jobs lost when the process stops cost one interval of delay
// and nothing else (checkpoints and the feed live in the store).
package localqueue

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// Defaults, chosen to match the deployment's SQS settings.
const (
	DefaultDedupWindow = 5 * time.Minute // SQS FIFO deduplication interval
	// DefaultMaxReceives counts every receive, throttled ones included,
	// as SQS's maxReceiveCount does. It is high because a job handed back
	// for throttling is received again: at 10, a storm in which 30% of
	// calls are throttled dead-letters some jobs.
	DefaultMaxReceives = 50
	DefaultRetryDelay  = 30 * time.Second // a failed (not throttled) job waits this long
	MaxBatch           = 10               // SendMessageBatch limit, and most messages a receive returns
	MaxDelay           = 15 * time.Minute // SQS DelaySeconds limit
	MaxVisibility      = 12 * time.Hour   // SQS VisibilityTimeout limit: the longest Requeue
)

// Message is one delivered message.
type Message struct {
	ID      string
	Body    []byte
	GroupID string
	DedupID string
	// ReceiptHandle names this delivery; Requeue takes it while the
	// message is in flight.
	ReceiptHandle string
	Receives      int // 1 on the first delivery
	SentAt        time.Time
}

// BatchHandler processes a batch of received messages and returns the ids
// of those that must come back (the Lambda event source's batch item
// failures); the others are deleted. A message that comes back is
// delivered again at the time a Requeue during the batch gave it, or else
// after Options.RetryDelay, until it has been received MaxReceives times;
// then it is dead-lettered. As with Lambda, an id that names no message of
// the batch brings the whole batch back.
type BatchHandler func(ctx context.Context, msgs []Message) (failed []string)

// Options configure a Queue; zero values take the defaults.
type Options struct {
	DedupWindow time.Duration
	MaxReceives int
	RetryDelay  time.Duration
	Clock       domain.Clock // for timestamps and the dedup window; delays use real timers
}

// Stats is a snapshot of the queue's counters.
type Stats struct {
	Sent         int // accepted by SendBatch
	Deduplicated int // dropped as doubles
	Waiting      int // queued, visible or delayed
	InFlight     int // being handled
	Done         int // acknowledged
	Requeued     int // returned to the queue (throttled or failed)
	Failed       int // came back without a Requeue (an error, not throttling)
	DeadLettered int
}

// Queue is the embedded queue. It implements domain.Queue.
type Queue struct {
	opts Options

	mu       sync.Mutex
	cond     *sync.Cond // signalled when a group becomes ready or the queue closes
	groups   map[string]*group
	ready    []*group // groups whose head is visible and none in flight
	delayed  groupHeap
	timer    *time.Timer
	dedup    map[string]time.Time
	dedupLog []dedupEntry // in send order, to expire dedup ids cheaply
	dead     []Message
	inFlight map[string]*entry // by receipt handle
	stats    Stats
	seq      uint64
	closed   bool
	idle     chan struct{} // closed when Waiting and InFlight are both zero
}

type group struct {
	key      string
	msgs     []*entry // FIFO
	inFlight bool
	queued   bool // in ready or delayed
	heapIdx  int
}

type entry struct {
	Message
	visibleAt time.Time
	// requeueAt is when the message is visible again if its batch sends
	// it back; set by Requeue, zero otherwise.
	requeueAt time.Time
}

type dedupEntry struct {
	key     string
	expires time.Time
}

// New returns an empty queue.
func New(opts Options) *Queue {
	if opts.DedupWindow <= 0 {
		opts.DedupWindow = DefaultDedupWindow
	}
	if opts.MaxReceives <= 0 {
		opts.MaxReceives = DefaultMaxReceives
	}
	if opts.RetryDelay <= 0 {
		opts.RetryDelay = DefaultRetryDelay
	}
	if opts.Clock == nil {
		opts.Clock = domain.SystemClock{}
	}
	q := &Queue{opts: opts, groups: map[string]*group{}, dedup: map[string]time.Time{}, inFlight: map[string]*entry{}}
	q.cond = sync.NewCond(&q.mu)
	q.timer = time.AfterFunc(time.Hour, q.promote)
	q.timer.Stop()
	return q
}

// SendBatch enqueues up to MaxBatch messages. It checks the whole batch
// first, so a bad message changes nothing.
func (q *Queue) SendBatch(_ context.Context, msgs []domain.QueueMessage) error {
	if len(msgs) > MaxBatch {
		return fmt.Errorf("queue: batch of %d messages, at most %d", len(msgs), MaxBatch)
	}
	for i, m := range msgs {
		if m.Delay < 0 || m.Delay > MaxDelay {
			return fmt.Errorf("queue: message %d: delay %v outside 0-%v", i, m.Delay, MaxDelay)
		}
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return errors.New("queue: closed")
	}
	now := q.opts.Clock.Now()
	q.expireDedup(now)
	for _, m := range msgs {
		if m.DedupID != "" {
			key := m.GroupID + "\x00" + m.DedupID
			if exp, ok := q.dedup[key]; ok && now.Before(exp) {
				q.stats.Deduplicated++
				continue
			}
			q.dedup[key] = now.Add(q.opts.DedupWindow)
			q.dedupLog = append(q.dedupLog, dedupEntry{key, now.Add(q.opts.DedupWindow)})
		}
		q.seq++
		id := strconv.FormatUint(q.seq, 10)
		gk := m.GroupID
		if gk == "" {
			gk = "\x00" + id // ungrouped: its own group, no ordering
		}
		g := q.groups[gk]
		if g == nil {
			g = &group{key: gk, heapIdx: -1}
			q.groups[gk] = g
		}
		g.msgs = append(g.msgs, &entry{
			Message:   Message{ID: id, Body: m.Body, GroupID: m.GroupID, DedupID: m.DedupID, SentAt: now},
			visibleAt: time.Now().Add(m.Delay),
		})
		q.stats.Sent++
		q.stats.Waiting++
		q.schedule(g)
	}
	return nil
}

// expireDedup forgets dedup ids older than the window. The log is in send
// order and the window is fixed, so expired entries are at its front.
func (q *Queue) expireDedup(now time.Time) {
	n := 0
	for n < len(q.dedupLog) && !now.Before(q.dedupLog[n].expires) {
		e := q.dedupLog[n]
		if exp, ok := q.dedup[e.key]; ok && !now.Before(exp) {
			delete(q.dedup, e.key)
		}
		n++
	}
	if n > 0 {
		q.dedupLog = append(q.dedupLog[:0], q.dedupLog[n:]...)
	}
}

// schedule puts g where it belongs: ready if its head is visible and
// nothing of it is in flight, delayed if its head is not yet visible.
// Callers hold q.mu.
func (q *Queue) schedule(g *group) {
	if g.inFlight || g.queued {
		return
	}
	if len(g.msgs) == 0 {
		delete(q.groups, g.key)
		return
	}
	g.queued = true
	if at := g.msgs[0].visibleAt; time.Now().Before(at) {
		heap.Push(&q.delayed, g)
		if q.delayed[0] == g {
			q.timer.Reset(time.Until(at))
		}
		return
	}
	q.ready = append(q.ready, g)
	q.cond.Signal()
}

// promote moves delayed groups whose head has become visible to ready.
func (q *Queue) promote() {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := time.Now()
	for len(q.delayed) > 0 && !now.Before(q.delayed[0].msgs[0].visibleAt) {
		g := heap.Pop(&q.delayed).(*group)
		q.ready = append(q.ready, g)
		q.cond.Signal()
	}
	if len(q.delayed) > 0 {
		q.timer.Reset(time.Until(q.delayed[0].msgs[0].visibleAt))
	}
}

// take blocks until a message is ready or the queue is closed, then takes
// the heads of up to max ready groups: one message per group is in flight
// at a time, so a batch never holds two messages of one group.
func (q *Queue) take(max int) ([]*group, []*entry, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.ready) == 0 && !q.closed {
		q.cond.Wait()
	}
	if q.closed {
		return nil, nil, false
	}
	n := min(max, len(q.ready))
	gs := make([]*group, n)
	es := make([]*entry, n)
	for i := range n {
		g := q.ready[i]
		q.ready[i] = nil
		g.queued = false
		g.inFlight = true
		e := g.msgs[0]
		e.Receives++
		e.ReceiptHandle = e.ID + "#" + strconv.Itoa(e.Receives)
		e.requeueAt = time.Time{}
		q.inFlight[e.ReceiptHandle] = e
		q.stats.Waiting--
		q.stats.InFlight++
		gs[i], es[i] = g, e
	}
	q.ready = q.ready[n:]
	return gs, es, true
}

// Requeue makes the in-flight message of receiptHandle visible again after
// the delay (at most MaxVisibility) if its batch sends it back, as
// ChangeMessageVisibility does on SQS; the message keeps its group waiting
// until then. It implements app.Requeuer.
func (q *Queue) Requeue(_ context.Context, receiptHandle string, after time.Duration) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	e, ok := q.inFlight[receiptHandle]
	if !ok {
		return fmt.Errorf("queue: requeue: receipt handle %q is not in flight", receiptHandle)
	}
	e.requeueAt = time.Now().Add(min(max(after, 0), MaxVisibility))
	return nil
}

// finish records the outcome for e and frees its group.
func (q *Queue) finish(g *group, e *entry, comeBack bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.inFlight, e.ReceiptHandle)
	g.inFlight = false
	q.stats.InFlight--
	requeued := !e.requeueAt.IsZero()
	switch {
	case !comeBack:
		g.msgs = g.msgs[1:]
		q.stats.Done++
	case e.Receives >= q.opts.MaxReceives:
		g.msgs = g.msgs[1:]
		if !requeued {
			q.stats.Failed++
		}
		q.stats.DeadLettered++
		q.dead = append(q.dead, e.Message)
	default:
		if requeued {
			e.visibleAt = e.requeueAt
		} else {
			e.visibleAt = time.Now().Add(q.opts.RetryDelay)
			q.stats.Failed++
		}
		// The message stays at its group's head: the group waits with it.
		q.stats.Requeued++
		q.stats.Waiting++
	}
	e.requeueAt = time.Time{}
	q.schedule(g)
	q.checkIdle()
}

func (q *Queue) checkIdle() {
	if q.idle != nil && q.stats.Waiting == 0 && q.stats.InFlight == 0 {
		close(q.idle)
		q.idle = nil
	}
}

// Run starts workers goroutines that each receive up to batch messages
// (at most MaxBatch) and call h, until ctx is done or Close is called; it
// returns when all have stopped. A batch being handled when ctx ends is
// handled with that ctx, and what it sends back is requeued as usual.
func (q *Queue) Run(ctx context.Context, workers, batch int, h BatchHandler) {
	workers = max(workers, 1)
	batch = min(max(batch, 1), MaxBatch)
	stop := context.AfterFunc(ctx, q.Close)
	defer stop()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				gs, es, ok := q.take(batch)
				if !ok {
					return
				}
				msgs := make([]Message, len(es))
				for i, e := range es {
					msgs[i] = e.Message
				}
				back := comingBack(msgs, h(ctx, msgs))
				for i := range es {
					q.finish(gs[i], es[i], back[i])
				}
			}
		})
	}
	wg.Wait()
}

// comingBack marks the messages named in failed; an id that names none of
// them brings them all back, as the Lambda event source does with an
// invalid batch item failure.
func comingBack(msgs []Message, failed []string) []bool {
	back := make([]bool, len(msgs))
	for _, id := range failed {
		i := slices.IndexFunc(msgs, func(m Message) bool { return m.ID == id })
		if i < 0 {
			for i := range back {
				back[i] = true
			}
			return back
		}
		back[i] = true
	}
	return back
}

// Close stops the workers (after the message each is handling) and makes
// SendBatch fail. Queued messages are dropped with the process.
func (q *Queue) Close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	q.closed = true
	q.timer.Stop()
	q.cond.Broadcast()
}

// Drain waits until no message is waiting or in flight (including delayed
// and requeued ones), or ctx is done.
func (q *Queue) Drain(ctx context.Context) error {
	q.mu.Lock()
	if q.stats.Waiting == 0 && q.stats.InFlight == 0 {
		q.mu.Unlock()
		return nil
	}
	if q.idle == nil {
		q.idle = make(chan struct{})
	}
	idle := q.idle
	q.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stats returns a snapshot of the counters.
func (q *Queue) Stats() Stats {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.stats
}

// DeadLetters returns the dead-lettered messages.
func (q *Queue) DeadLetters() []Message {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]Message(nil), q.dead...)
}

// groupHeap orders delayed groups by when their head becomes visible.
type groupHeap []*group

func (h groupHeap) Len() int { return len(h) }
func (h groupHeap) Less(i, j int) bool {
	return h[i].msgs[0].visibleAt.Before(h[j].msgs[0].visibleAt)
}
func (h groupHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIdx, h[j].heapIdx = i, j
}
func (h *groupHeap) Push(x any) {
	g := x.(*group)
	g.heapIdx = len(*h)
	*h = append(*h, g)
}
func (h *groupHeap) Pop() any {
	old := *h
	g := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	g.heapIdx = -1
	return g
}
