package main

import (
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
)

// tickReport is what one scheduler tick and the jobs it made did.
type tickReport struct {
	Slot      time.Time     `json:"slot"`
	Enqueued  int           `json:"enqueued"` // jobs the tick sent (-1 until the tick returned)
	Done      int           `json:"done"`     // jobs finished, ok or failed
	Failed    int           `json:"failed"`   // jobs dropped (rejected or out of retries)
	Changes   int           `json:"changes"`  // changes found by SyncFolderItems
	Appended  int           `json:"appended"` // new entries in the change feed
	EWSCalls  int           `json:"ewsCalls"`
	Throttled int           `json:"throttled"` // EWS calls answered "server busy"
	Requeues  int           `json:"requeues"`  // jobs handed back to the queue with a delay
	Began     time.Time     `json:"began"`
	Took      time.Duration `json:"took"`
}

func (r *tickReport) complete() bool { return r.Enqueued >= 0 && r.Done >= r.Enqueued }

// progress tracks jobs by the tick that made them (SyncJob.Tick) and prints
// a progress line per running tick and a summary when a tick completes.
type progress struct {
	out   io.Writer
	now   func() time.Time
	calls string // what the calls are: "EWS calls", "Graph calls"

	mu      sync.Mutex
	ticks   map[time.Time]*tickReport
	printed map[time.Time]string // last progress line, to print only changes
	done    chan tickReport      // completed ticks, for --once and tests (buffered)
}

func newProgress(out io.Writer, now func() time.Time, calls string) *progress {
	return &progress{out: out, now: now, calls: calls, ticks: map[time.Time]*tickReport{}, printed: map[time.Time]string{}, done: make(chan tickReport, 64)}
}

func (p *progress) get(slot time.Time) *tickReport {
	r := p.ticks[slot]
	if r == nil {
		r = &tickReport{Slot: slot, Enqueued: -1, Began: p.now()}
		p.ticks[slot] = r
	}
	return r
}

// began records that a tick started (before its jobs can finish).
func (p *progress) began(slot time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.get(slot).Began = p.now()
}

// enqueued records the tick's summary once Tick returned.
func (p *progress) enqueued(sum app.TickSummary) {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.get(sum.Slot)
	r.Enqueued = sum.Enqueued
	p.maybeComplete(r)
}

// job records one run of a job: finished (ok or failed) or requeued.
func (p *progress) job(slot time.Time, res app.SyncResult, finished, failed bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.get(slot)
	r.Changes += res.Changes
	r.Appended += res.Appended
	r.EWSCalls += res.EWSCalls
	r.Throttled += res.Throttled
	if !finished {
		r.Requeues++
		return
	}
	r.Done++
	if failed {
		r.Failed++
	}
	p.maybeComplete(r)
}

func (p *progress) maybeComplete(r *tickReport) {
	if !r.complete() {
		return
	}
	r.Took = p.now().Sub(r.Began)
	delete(p.ticks, r.Slot)
	delete(p.printed, r.Slot)
	fmt.Fprintln(p.out, r.summary(p.calls))
	select {
	case p.done <- *r:
	default: // nobody is waiting for it
	}
}

// printProgress prints one line per running tick whose counts changed.
func (p *progress) printProgress() {
	p.mu.Lock()
	defer p.mu.Unlock()
	slots := make([]time.Time, 0, len(p.ticks))
	for s := range p.ticks {
		slots = append(slots, s)
	}
	sort.Slice(slots, func(i, j int) bool { return slots[i].Before(slots[j]) })
	for _, s := range slots {
		r := p.ticks[s]
		total := "?"
		if r.Enqueued >= 0 {
			total = fmt.Sprint(r.Enqueued)
		}
		line := fmt.Sprintf("tick %s: %d/%s mailboxes, %d changes, %d new in feed, %d %s, %d throttled",
			s.Local().Format("15:04"), r.Done, total, r.Changes, r.Appended, r.EWSCalls, p.calls, r.Throttled)
		if p.printed[s] != line {
			p.printed[s] = line
			fmt.Fprintln(p.out, line)
		}
	}
}

func (r tickReport) summary(calls string) string {
	return fmt.Sprintf("tick %s done in %s: %d/%d mailboxes synced (%d failed), %d changes, %d new in feed, %d %s, %d throttled (%d requeues)",
		r.Slot.Local().Format("15:04"), r.Took.Round(10*time.Millisecond), r.Done-r.Failed, r.Enqueued, r.Failed,
		r.Changes, r.Appended, r.EWSCalls, calls, r.Throttled, r.Requeues)
}

// callsLabel names the calls a tick counts by the demo tenant's protocol
// (a sync's calls are its protocol's requests); without the demo the
// tenants may use either.
func callsLabel(cfg runConfig) string {
	switch {
	case cfg.noDemo:
		return "Exchange calls"
	case cfg.demo.protocol() == domain.ProtocolGraph:
		return "Graph calls"
	}
	return "EWS calls"
}
