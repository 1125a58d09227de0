package graph

import (
	"context"
	"strings"
	"sync"
)

// mailboxLimiter caps the calls in flight per mailbox. Outlook allows an
// app 4 concurrent requests per mailbox and answers the fifth with 429
// (MailboxConcurrency); waiting here is cheaper than being throttled.
// Outlook counts each sub-request of a $batch as one of the 4 (it runs
// up to 4 of a batch at once), so a batch takes as many slots as it runs
// at once (acquire's n). Entries live only while a call holds or waits
// for a slot, so the map stays as small as the work in flight.
type mailboxLimiter struct {
	max   int
	mu    sync.Mutex
	slots map[string]*mailboxSlots
}

type mailboxSlots struct {
	sem chan struct{}
	// gate lets one call at a time gather several slots: two batches
	// each holding part of what they need would wait for each other for
	// ever. Single-slot calls never wait for it.
	gate chan struct{}
	refs int // holders and waiters
}

func newMailboxLimiter(max int) *mailboxLimiter {
	return &mailboxLimiter{max: max, slots: map[string]*mailboxSlots{}}
}

// acquire waits for n slots (at least 1, at most the cap) of mailbox
// within ctx and returns their release.
func (l *mailboxLimiter) acquire(ctx context.Context, mailbox string, n int) (func(), error) {
	n = min(max(n, 1), l.max)
	// User ids and addresses are case-insensitive in Graph.
	key := strings.ToLower(mailbox)
	l.mu.Lock()
	s := l.slots[key]
	if s == nil {
		s = &mailboxSlots{sem: make(chan struct{}, l.max), gate: make(chan struct{}, 1)}
		l.slots[key] = s
	}
	s.refs++
	l.mu.Unlock()

	held := 0
	release := func() {
		for range held {
			<-s.sem
		}
		l.done(key, s)
	}
	if n > 1 {
		select {
		case s.gate <- struct{}{}:
			defer func() { <-s.gate }()
		case <-ctx.Done():
			release()
			return nil, ctx.Err()
		}
	}
	for held < n {
		select {
		case s.sem <- struct{}{}:
			held++
		case <-ctx.Done():
			release()
			return nil, ctx.Err()
		}
	}
	return release, nil
}

func (l *mailboxLimiter) done(key string, s *mailboxSlots) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s.refs--
	if s.refs == 0 {
		delete(l.slots, key)
	}
}
