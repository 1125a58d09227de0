package graph

import (
	"strings"
	"sync"
	"time"
)

// Outlook allows an app 10,000 requests per mailbox in any 10 minutes and
// answers the next with 429. mailboxQuota counts what this client sent per
// mailbox and refuses the request that would pass the limit before it is
// sent: it would only earn a 429, and a refusal here costs the mailbox
// nothing. The refusal is a throttling error (code CodeQuotaReached) whose
// RetryAfter is the time until the oldest counted minute leaves the
// window, so the caller requeues the job exactly as for Graph's own 429.
//
// Counts are kept in one-minute buckets (ten per mailbox), so the window
// is slightly conservative (up to a minute longer) and a mailbox costs a
// few dozen bytes however busy it is.
const (
	DefaultMailboxQuota = 10000
	quotaWindow         = 10 * time.Minute
	quotaBuckets        = 10
	// CodeQuotaReached is the code of the client's own refusal.
	CodeQuotaReached = "MailboxQuotaReached"
)

type mailboxQuota struct {
	limit int
	mu    sync.Mutex
	boxes map[string]*quotaCounts
	takes int // since the last sweep of idle mailboxes
}

type quotaCounts struct {
	minute [quotaBuckets]int64 // the minute each bucket counts (Unix minutes)
	n      [quotaBuckets]int
}

func newMailboxQuota(limit int) *mailboxQuota {
	return &mailboxQuota{limit: limit, boxes: map[string]*quotaCounts{}}
}

// take counts one request to mailbox at now, or refuses it and says when
// the window will have room.
func (q *mailboxQuota) take(mailbox string, now time.Time) (wait time.Duration, ok bool) {
	key := strings.ToLower(mailbox)
	min := now.Unix() / 60
	q.mu.Lock()
	defer q.mu.Unlock()
	q.sweep(min)
	c := q.boxes[key]
	if c == nil {
		c = &quotaCounts{}
		q.boxes[key] = c
	}
	total, oldest := 0, int64(-1)
	for i := range c.minute {
		if c.n[i] > 0 && min-c.minute[i] < quotaBuckets {
			total += c.n[i]
			if oldest < 0 || c.minute[i] < oldest {
				oldest = c.minute[i]
			}
		}
	}
	if total >= q.limit {
		free := time.Unix((oldest+quotaBuckets)*60, 0)
		return max(free.Sub(now), time.Second), false
	}
	i := min % quotaBuckets
	if c.minute[i] != min {
		c.minute[i], c.n[i] = min, 0
	}
	c.n[i]++
	return 0, true
}

// sweep drops mailboxes with nothing in the window, every few hundred
// takes, so the map holds only recently busy mailboxes.
func (q *mailboxQuota) sweep(min int64) {
	if q.takes++; q.takes < 512 {
		return
	}
	q.takes = 0
	for k, c := range q.boxes {
		idle := true
		for i := range c.minute {
			if c.n[i] > 0 && min-c.minute[i] < quotaBuckets {
				idle = false
			}
		}
		if idle {
			delete(q.boxes, k)
		}
	}
}
