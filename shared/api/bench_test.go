package api

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/local/boltstore"
)

func bulkBody(n int) string {
	items := make([]string, n)
	for j := range items {
		items[j] = fmt.Sprintf(`{"address":"user%04d@contoso.com"}`, j)
	}
	return `{"mailboxes":[` + strings.Join(items, ",") + `]}`
}

// benchBulkAdd times one POST /tenants/{id}/mailboxes of 1,000 new
// mailboxes on a fresh env from open (set up outside the timer).
func benchBulkAdd(b *testing.B, open func(b *testing.B) *env) {
	body := bulkBody(1000)
	for b.Loop() {
		b.StopTimer()
		e := open(b)
		e.onboard("contoso", basicCred("u", "Bench-pw-1"))
		b.StartTimer()
		if w := e.do(req{method: "POST", path: "/tenants/contoso/mailboxes", body: body}); w.Code != 200 {
			b.Fatal(w.Code, w.Body)
		}
	}
}

// BenchmarkBulkAdd1000 is the bulk add on the embedded store (one fsync'd
// transaction per mailbox).
func BenchmarkBulkAdd1000(b *testing.B) {
	benchBulkAdd(b, func(b *testing.B) *env { return newEnv(b) })
}

// BenchmarkBulkAdd1000DynamoDB is the same call on DynamoDB Local.
func BenchmarkBulkAdd1000DynamoDB(b *testing.B) {
	benchBulkAdd(b, func(b *testing.B) *env { return awsEnv(b) })
}

// slowStore adds a fixed delay to each mailbox write, as a network round
// trip to DynamoDB does (DynamoDB Local on this machine is CPU-bound, not
// latency-bound, so it cannot show what the concurrency of bulk adds buys).
type slowStore struct {
	domain.Store
	delay time.Duration
}

func (s slowStore) AddMailbox(ctx context.Context, m domain.Mailbox) error {
	time.Sleep(s.delay)
	return s.Store.AddMailbox(ctx, m)
}

// BenchmarkBulkAdd1000Latency5ms: 1,000 mailboxes when each write takes
// 5 ms of round trip.
func BenchmarkBulkAdd1000Latency5ms(b *testing.B) {
	benchBulkAdd(b, func(b *testing.B) *env {
		st := openStore(b, boltstore.Options{Clock: fixedClock{testNow}})
		return newEnvOn(b, slowStore{Store: st, delay: 5 * time.Millisecond}, openSecrets(b))
	})
}
