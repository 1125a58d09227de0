package graph

import (
	"context"
	"testing"
	"time"
)

// steppedClock is a clock the test moves.
type steppedClock struct{ t *time.Time }

func (c steppedClock) Now() time.Time { return *c.t }

// TestMailboxQuota: past the per-mailbox quota a request is refused before
// it is sent, as a throttling error with the time until the window has
// room; other mailboxes are not held up; the window frees after 10 minutes.
func TestMailboxQuota(t *testing.T) {
	now := testNow
	rec := &recorder{answers: []canned{answer(200, []byte(`{"id":"inbox-id"}`))}}
	cl := newTestClient(t, rec, func(c *Config) { c.MailboxQuota = 3; c.Clock = steppedClock{&now} })
	ctx := context.Background()
	steps := []struct {
		name      string
		mailbox   string
		advance   time.Duration
		wantSent  bool
		wantAfter time.Duration // the refusal's RetryAfter, at least
	}{
		{name: "first", mailbox: "ann@contoso.com", wantSent: true},
		{name: "second a minute later", mailbox: "ann@contoso.com", advance: time.Minute, wantSent: true},
		{name: "third", mailbox: "Ann@Contoso.com", wantSent: true},
		{name: "fourth is refused", mailbox: "ann@contoso.com", wantAfter: 8 * time.Minute},
		{name: "another mailbox is not held up", mailbox: "bob@contoso.com", wantSent: true},
		{name: "still refused nine minutes on", mailbox: "ann@contoso.com", advance: 8 * time.Minute, wantAfter: time.Second},
		{name: "the first minute has left the window", mailbox: "ann@contoso.com", advance: 2 * time.Minute, wantSent: true},
	}
	for _, st := range steps {
		now = now.Add(st.advance)
		before := len(rec.reqs)
		err := cl.ProbeMailbox(ctx, st.mailbox)
		sent := len(rec.reqs) > before
		if sent != st.wantSent {
			t.Fatalf("%s: sent %v, want %v (err %v)", st.name, sent, st.wantSent, err)
		}
		if st.wantSent {
			if err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			continue
		}
		if Classify(err) != ClassThrottled || RetryAfter(err) < st.wantAfter {
			t.Fatalf("%s: %v (class %s, retry after %s), want throttled after at least %s", st.name, err, Classify(err), RetryAfter(err), st.wantAfter)
		}
	}
}
