package boltstore

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// BenchmarkApplyChanges measures an initial sync's store side: batches of
// 512 new messages (EWS's largest SyncFolderItems page). Reported as
// items/s; the local stack's goal for a 50,000-item mailbox is 10,000/s.
func BenchmarkApplyChanges(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "bench.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const batch = 512
	b.ResetTimer()
	items := 0
	for i := 0; i < b.N; i++ {
		changes := make([]domain.ItemChange, batch)
		for j := range changes {
			id := fmt.Sprintf("AAMkADk%08d-%04d", i, j)
			changes[j] = domain.ItemChange{Kind: domain.ChangeCreate, ItemID: id, ChangeKey: "CQAAABYAAA" + id,
				Item: &domain.Item{ID: id, ChangeKey: "CQAAABYAAA" + id, Kind: domain.KindMessage, FolderID: "inbox",
					Subject: "Quarterly report " + id, From: &domain.Address{Name: "Ann", Email: "ann@acme.example"},
					To: []domain.Address{{Email: "bob@acme.example"}}, Received: t0, Sent: t0,
					Preview: "Please find attached the quarterly report for review before Friday's meeting."}}
		}
		n, err := s.ApplyChanges(ctx, "acme", "ann@acme.example", changes)
		if err != nil || n != batch {
			b.Fatalf("appended %d, %v", n, err)
		}
		items += n
	}
	b.ReportMetric(float64(items)/b.Elapsed().Seconds(), "items/s")
}
