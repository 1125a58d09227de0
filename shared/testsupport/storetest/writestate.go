package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// testWriteState: the write state of a client event (calendar write
// ordering and tracking) is created by its first update, serializes
// concurrent updates (none is lost), stores nothing when the update
// refuses, is kept per tenant, mailbox and client event id, and goes with
// the tenant.
func testWriteState(t *testing.T, setup setupFunc) {
	s, _ := setup(t)
	must(t, s.CreateTenant(ctx, tenant("acme")))
	must(t, s.CreateTenant(ctx, tenant("globex")))
	must(t, s.AddMailbox(ctx, domain.Mailbox{TenantID: "acme", Address: "ann@contoso.com", Status: domain.MailboxOK}))

	if _, err := s.GetWriteState(ctx, "acme", "ann@contoso.com", "trip-1"); !domain.IsNotFound(err) {
		t.Fatalf("GetWriteState before any write: %v, want not found", err)
	}
	const writers = 6
	var wg sync.WaitGroup
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.UpdateWriteState(ctx, "acme", "ann@contoso.com", "trip-1", func(st *domain.WriteState) error {
				st.LastSeq++
				st.Requests = append(st.Requests, domain.WriteRecord{RequestID: string(rune('a' + i)), Seq: st.LastSeq, Status: domain.WritePending})
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	st, err := s.GetWriteState(ctx, "acme", "ann@contoso.com", "trip-1")
	must(t, err)
	if st.LastSeq != writers || len(st.Requests) != writers || st.TenantID != "acme" || st.Mailbox != "ann@contoso.com" || st.ClientEventID != "trip-1" {
		t.Fatalf("after %d concurrent updates: lastSeq %d, %d requests, key %s/%s/%s", writers, st.LastSeq, len(st.Requests), st.TenantID, st.Mailbox, st.ClientEventID)
	}
	for i, r := range st.Requests {
		if r.Seq != int64(i+1) {
			t.Errorf("request %d has seq %d: numbers taken twice or lost", i, r.Seq)
		}
	}

	refused := errors.New("refused")
	if _, err := s.UpdateWriteState(ctx, "acme", "ann@contoso.com", "trip-1", func(st *domain.WriteState) error {
		st.LastSeq = 99
		return refused
	}); !errors.Is(err, refused) {
		t.Fatalf("refused update: %v", err)
	}
	if st, _ := s.GetWriteState(ctx, "acme", "ann@contoso.com", "trip-1"); st.LastSeq != writers {
		t.Errorf("a refused update stored lastSeq %d", st.LastSeq)
	}

	// The event's times (checked by an end request) are kept as given.
	start, end := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC), time.Date(2026, 12, 1, 9, 41, 0, 0, time.UTC)
	if _, err := s.UpdateWriteState(ctx, "acme", "ann@contoso.com", "trip-1", func(st *domain.WriteState) error {
		st.Start, st.End = start, end
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.GetWriteState(ctx, "acme", "ann@contoso.com", "trip-1"); !st.Start.Equal(start) || !st.End.Equal(end) || st.LastSeq != writers {
		t.Errorf("stored times %s-%s (lastSeq %d), want %s-%s", st.Start, st.End, st.LastSeq, start, end)
	}

	for _, other := range [][3]string{{"globex", "ann@contoso.com", "trip-1"}, {"acme", "bob@contoso.com", "trip-1"}, {"acme", "ann@contoso.com", "trip-2"}} {
		if _, err := s.GetWriteState(ctx, other[0], other[1], other[2]); !domain.IsNotFound(err) {
			t.Errorf("GetWriteState %v: %v, want not found (another event's state)", other, err)
		}
	}

	// A mailbox with writes, removed before it was ever synced: its write
	// state still goes with the tenant.
	must(t, s.AddMailbox(ctx, domain.Mailbox{TenantID: "acme", Address: "bob@contoso.com", Status: domain.MailboxOK}))
	if _, err := s.UpdateWriteState(ctx, "acme", "bob@contoso.com", "trip-1", func(st *domain.WriteState) error { st.LastSeq = 1; return nil }); err != nil {
		t.Fatal(err)
	}
	must(t, s.DeleteMailbox(ctx, "acme", "bob@contoso.com"))

	must(t, s.PurgeTenant(ctx, "acme"))
	for _, mb := range []string{"ann@contoso.com", "bob@contoso.com"} {
		if _, err := s.GetWriteState(ctx, "acme", mb, "trip-1"); !domain.IsNotFound(err) {
			t.Errorf("GetWriteState of %s after the tenant was purged: %v, want not found", mb, err)
		}
	}
}
