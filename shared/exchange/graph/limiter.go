package graph

import (
	"context"
	"strings"
	"sync"
)

// mailboxLimiter caps the calls in flight per mailbox. Outlook allows an
// app 4 concurrent requests per mailbox and answers the fifth with 429
// (MailboxConcurrency); waiting here is cheaper than being throttled.
// Entries live only while a call holds or waits for a slot, so the map
// stays as small as the work in flight.
type mailboxLimiter struct {
	max   int
	mu    sync.Mutex
	slots map[string]*mailboxSlots
}

type mailboxSlots struct {
	sem  chan struct{}
	refs int // holders and waiters
}

func newMailboxLimiter(max int) *mailboxLimiter {
	return &mailboxLimiter{max: max, slots: map[string]*mailboxSlots{}}
}

// acquire waits for a slot of mailbox within ctx and returns its release.
func (l *mailboxLimiter) acquire(ctx context.Context, mailbox string) (func(), error) {
	// User ids and addresses are case-insensitive in Graph.
	key := strings.ToLower(mailbox)
	l.mu.Lock()
	s := l.slots[key]
	if s == nil {
		s = &mailboxSlots{sem: make(chan struct{}, l.max)}
		l.slots[key] = s
	}
	s.refs++
	l.mu.Unlock()

	select {
	case s.sem <- struct{}{}:
		return func() {
			<-s.sem
			l.done(key, s)
		}, nil
	case <-ctx.Done():
		l.done(key, s)
		return nil, ctx.Err()
	}
}

func (l *mailboxLimiter) done(key string, s *mailboxSlots) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s.refs--
	if s.refs == 0 {
		delete(l.slots, key)
	}
}
