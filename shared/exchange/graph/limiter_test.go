package graph

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
)

// TestMailboxConcurrencyCap: 10 calls for one mailbox never have more than
// 4 in flight, while a call for another mailbox is not held up by them.
// The handler blocks until released, so the peak is exact, not timed.
func TestMailboxConcurrencyCap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		inFlight := map[string]int{}
		peak := map[string]int{}
		release := make(chan struct{})
		rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			box := strings.Split(r.URL.Path, "/")[3]
			mu.Lock()
			inFlight[box]++
			peak[box] = max(peak[box], inFlight[box])
			mu.Unlock()
			if box == "busy" {
				<-release
			}
			mu.Lock()
			inFlight[box]--
			mu.Unlock()
			return answer(200, []byte(`{"id":"inbox"}`)).response(r), nil
		})
		c := newTestClient(t, rt)
		var wg sync.WaitGroup
		errs := make(chan error, 11)
		for range 10 {
			wg.Go(func() { errs <- c.ProbeMailbox(bg, "busy") })
		}
		synctest.Wait() // 4 calls block in the handler, 6 wait for a slot
		mu.Lock()
		if inFlight["busy"] != DefaultMailboxConcurrency {
			t.Errorf("in flight for the busy mailbox: %d, want %d", inFlight["busy"], DefaultMailboxConcurrency)
		}
		mu.Unlock()
		// Another mailbox proceeds while the busy one is full.
		if err := c.ProbeMailbox(bg, "other"); err != nil {
			t.Fatal(err)
		}
		// A waiting call gives up with its context.
		ctx, cancel := context.WithCancel(bg)
		waitErr := make(chan error, 1)
		go func() { waitErr <- c.ProbeMailbox(ctx, "BUSY") }() // same mailbox, other case
		synctest.Wait()
		cancel()
		if err := <-waitErr; !errors.Is(err, context.Canceled) || Classify(err) != ClassTransient {
			t.Errorf("cancelled wait: %v", err)
		}
		close(release)
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
		if peak["busy"] != DefaultMailboxConcurrency || peak["other"] != 1 {
			t.Errorf("peaks = %v", peak)
		}
		c.limiter.mu.Lock()
		defer c.limiter.mu.Unlock()
		if len(c.limiter.slots) != 0 {
			t.Errorf("limiter keeps %d idle mailboxes", len(c.limiter.slots))
		}
	})
}

func TestMailboxConcurrencyConfigurable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		n, peak := 0, 0
		release := make(chan struct{})
		rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			mu.Lock()
			n++
			peak = max(peak, n)
			mu.Unlock()
			<-release
			mu.Lock()
			n--
			mu.Unlock()
			return answer(200, []byte(`{"id":"x"}`)).response(r), nil
		})
		c := newTestClient(t, rt, func(c *Config) { c.MailboxConcurrency = 2 })
		var wg sync.WaitGroup
		for range 5 {
			wg.Go(func() { _ = c.ProbeMailbox(bg, "m") })
		}
		synctest.Wait()
		close(release)
		wg.Wait()
		if peak != 2 {
			t.Errorf("peak %d, want 2", peak)
		}
	})
}
