package app_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/local/boltstore"
	"github.com/mailbridge/mailbridge/shared/local/localqueue"
)

// BenchmarkTick100k measures one scheduler tick over 100,000 due mailboxes
// (10 tenants of 10,000, half delegate, half impersonation) read from the
// embedded bolt store and sent to the in-process queue. The store file is
// put on /dev/shm when it exists: filling it takes 100,000 transactions and
// the figure is about the tick, not the disk's fsync.
func BenchmarkTick100k(b *testing.B) {
	const tenants, perTenant = 10, 10_000
	dir := b.TempDir()
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		if d, err := os.MkdirTemp("/dev/shm", "mailbridge-bench-"); err == nil {
			dir = d
			b.Cleanup(func() { os.RemoveAll(d) })
		}
	}
	store, err := boltstore.Open(filepath.Join(dir, "bench.db"), boltstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	ctx := context.Background()
	for i := range tenants {
		mode := domain.AccessImpersonation
		if i%2 == 1 {
			mode = domain.AccessDelegate
		}
		t := domain.Tenant{ID: fmt.Sprintf("tenant%02d", i), AccessMode: mode, SyncInterval: time.Minute, MaxConcurrentJobs: 25, Status: domain.TenantActive}
		if err := store.CreateTenant(ctx, t); err != nil {
			b.Fatal(err)
		}
		for j := range perTenant {
			m := domain.Mailbox{TenantID: t.ID, Address: fmt.Sprintf("user%05d@%s.example", j, t.ID), Status: domain.MailboxOK}
			if err := store.AddMailbox(ctx, m); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		q := localqueue.New(localqueue.Options{})
		began := time.Now()
		sum, err := (&app.Scheduler{Store: store, Queue: q}).Tick(ctx, schedT0.Add(time.Duration(i)*time.Minute))
		if err != nil {
			b.Fatal(err)
		}
		// 10 mailboxes a message: 10,000 messages.
		if sum.Enqueued != tenants*perTenant || q.Stats().Sent != tenants*perTenant/app.DefaultMailboxesPerJob || sum.Messages != q.Stats().Sent {
			b.Fatalf("enqueued %d mailboxes in %d messages (queue holds %d), want %d in %d", sum.Enqueued, sum.Messages, q.Stats().Sent, tenants*perTenant, tenants*perTenant/app.DefaultMailboxesPerJob)
		}
		b.ReportMetric(time.Since(began).Seconds(), "s/tick")
		b.ReportMetric(float64(sum.Enqueued)/time.Since(began).Seconds(), "mailboxes/s")
	}
}
