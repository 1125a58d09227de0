package secretcache

import (
	"context"
	"path/filepath"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/local/filesecrets"
	"github.com/mailbridge/mailbridge/shared/testsupport/storetest"
)

var ctx = context.Background()

// counting counts reads that reach the real store underneath.
type counting struct {
	domain.SecretStore
	gets atomic.Int64
}

func (c *counting) GetCredential(ctx context.Context, id string) (domain.Credential, error) {
	c.gets.Add(1)
	return c.SecretStore.GetCredential(ctx, id)
}

func newInner(t *testing.T) domain.SecretStore {
	t.Helper()
	s, err := filesecrets.Open(filesecrets.Options{Path: filepath.Join(t.TempDir(), "s.json"), Demo: true, Warn: discard{}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// The cache keeps the SecretStore contract.
func TestContract(t *testing.T) {
	storetest.RunSecrets(t, func(t *testing.T) domain.SecretStore {
		return New(newInner(t), 0, nil)
	})
}

var (
	v1 = domain.Credential{Kind: domain.AuthBasic, Username: "svc", Password: "pw-one-1111"}
	v2 = domain.Credential{Kind: domain.AuthBasic, Username: "svc", Password: "pw-two-2222"}
)

func TestCaching(t *testing.T) {
	type step struct {
		do        string // get, put2, delete, forget, advance4m/6m, innerPut2
		wantCred  *domain.Credential
		wantCode  domain.ErrorCode
		wantReads int64 // reads of the inner store so far
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"a second read within the TTL is served from memory", []step{
			{do: "get", wantCred: &v1, wantReads: 1},
			{do: "get", wantCred: &v1, wantReads: 1},
			{do: "advance4m", wantReads: 1},
			{do: "get", wantCred: &v1, wantReads: 1},
		}},
		{"after the TTL the store is read again", []step{
			{do: "get", wantCred: &v1, wantReads: 1},
			{do: "advance6m"},
			{do: "get", wantCred: &v1, wantReads: 2},
		}},
		{"a rotation through the cache is seen at once", []step{
			{do: "get", wantCred: &v1, wantReads: 1},
			{do: "put2"},
			{do: "get", wantCred: &v2, wantReads: 2},
		}},
		{"a rotation elsewhere is seen within the TTL", []step{
			{do: "get", wantCred: &v1, wantReads: 1},
			{do: "innerPut2"},
			{do: "get", wantCred: &v1, wantReads: 1},
			{do: "advance6m"},
			{do: "get", wantCred: &v2, wantReads: 2},
		}},
		{"a rotation elsewhere is seen at once after Forget (Exchange rejected the cached one)", []step{
			{do: "get", wantCred: &v1, wantReads: 1},
			{do: "innerPut2"},
			{do: "forget"},
			{do: "get", wantCred: &v2, wantReads: 2},
			{do: "get", wantCred: &v2, wantReads: 2},
		}},
		{"a delete through the cache is seen at once", []step{
			{do: "get", wantCred: &v1, wantReads: 1},
			{do: "delete"},
			{do: "get", wantCode: domain.CodeNotFound, wantReads: 2},
			{do: "get", wantCode: domain.CodeNotFound, wantReads: 3}, // errors are not cached
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inner := &counting{SecretStore: newInner(t)}
			if err := inner.PutCredential(ctx, "acme", v1); err != nil {
				t.Fatal(err)
			}
			clock := storetest.NewClock(storetest.Start)
			c := New(inner, 5*time.Minute, clock)
			for i, st := range tc.steps {
				var err error
				var got domain.Credential
				switch st.do {
				case "get":
					got, err = c.GetCredential(ctx, "acme")
				case "put2":
					err = c.PutCredential(ctx, "acme", v2)
				case "innerPut2":
					err = inner.PutCredential(ctx, "acme", v2)
				case "delete":
					err = c.DeleteCredential(ctx, "acme")
				case "forget":
					c.Forget("acme")
				case "advance4m":
					clock.Advance(4 * time.Minute)
				case "advance6m":
					clock.Advance(6 * time.Minute)
				}
				if st.wantCode != "" {
					if domain.ErrorCodeOf(err) != st.wantCode {
						t.Fatalf("step %d (%s): error %v, want %s", i, st.do, err, st.wantCode)
					}
				} else if err != nil {
					t.Fatalf("step %d (%s): %v", i, st.do, err)
				}
				if st.wantCred != nil && !reflect.DeepEqual(got, *st.wantCred) {
					t.Fatalf("step %d: got %s, want %s", i, got, *st.wantCred)
				}
				if st.wantReads != 0 && inner.gets.Load() != st.wantReads {
					t.Fatalf("step %d (%s): %d reads of the store, want %d", i, st.do, inner.gets.Load(), st.wantReads)
				}
			}
		})
	}
}

func TestTenantsAreCachedApart(t *testing.T) {
	inner := newInner(t)
	c := New(inner, time.Minute, storetest.NewClock(storetest.Start))
	inner.PutCredential(ctx, "acme", v1)
	inner.PutCredential(ctx, "globex", v2)
	for id, want := range map[string]domain.Credential{"acme": v1, "globex": v2} {
		for range 2 {
			got, err := c.GetCredential(ctx, id)
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("%s: %s, %v; want its own credential", id, got, err)
			}
		}
	}
}

// slowInner lets a test hold a read inside the store.
type slowInner struct {
	domain.SecretStore
	entered, release chan struct{}
}

func (s *slowInner) GetCredential(ctx context.Context, id string) (domain.Credential, error) {
	c, err := s.SecretStore.GetCredential(ctx, id)
	s.entered <- struct{}{}
	<-s.release
	return c, err
}

// A read that began before a rotation must not cache the old credential
// after the rotation invalidated it.
func TestReadRacingARotationDoesNotCacheTheOldValue(t *testing.T) {
	base := newInner(t)
	base.PutCredential(ctx, "acme", v1)
	slow := &slowInner{SecretStore: base, entered: make(chan struct{}), release: make(chan struct{})}
	c := New(slow, time.Hour, storetest.NewClock(storetest.Start))
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.GetCredential(ctx, "acme") // reads v1, then waits
	}()
	within(t, slow.entered, "the first read never reached the store")
	if err := c.PutCredential(ctx, "acme", v2); err != nil {
		t.Fatal(err)
	}
	close(slow.release)
	within(t, done, "the first read did not return")
	go func() { <-slow.entered }() // the next read goes to the store again
	got, err := c.GetCredential(ctx, "acme")
	if err != nil || !reflect.DeepEqual(got, v2) {
		t.Fatalf("after the rotation: %s, %v; want the new credential", got, err)
	}
}

// within waits for ch, failing the test after a deadline instead of
// hanging go test when the cache never gets there.
func within(t *testing.T, ch <-chan struct{}, msg string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal(msg)
	}
}

// gated holds every read until released.
type gated struct {
	counting
	entered chan struct{}
	release chan struct{}
}

func (g *gated) GetCredential(ctx context.Context, id string) (domain.Credential, error) {
	g.entered <- struct{}{}
	<-g.release
	return g.counting.GetCredential(ctx, id)
}

// Concurrent misses of one tenant share one read (a sync worker starts a
// hundred syncs of a tenant at once); a read that began before an
// invalidation is not handed to a caller after it.
func TestConcurrentMissesShareOneRead(t *testing.T) {
	inner := newInner(t)
	if err := inner.PutCredential(ctx, "acme", v1); err != nil {
		t.Fatal(err)
	}
	// In a synctest bubble, synctest.Wait returns once every caller is
	// blocked (on the shared read, or on a read of its own were misses
	// not shared): no sleep guessing how long they take to get there.
	synctest.Test(t, func(t *testing.T) {
		g := &gated{counting: counting{SecretStore: inner}, entered: make(chan struct{}, 100), release: make(chan struct{})}
		c := New(g, 0, nil)
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() {
				if got, err := c.GetCredential(ctx, "acme"); err != nil || got != v1 {
					t.Errorf("got %v, %v", got.Fingerprint(), err)
				}
			})
		}
		<-g.entered
		synctest.Wait()
		close(g.release)
		wg.Wait()
		if n := g.gets.Load(); n != 1 {
			t.Fatalf("50 concurrent misses read the store %d times, want 1", n)
		}
	})
	g := &gated{counting: counting{SecretStore: inner}, entered: make(chan struct{}, 100)}
	c := New(g, 0, nil)

	// An invalidation while a read is in flight: the next caller reads anew.
	g.release = make(chan struct{})
	c.Forget("acme")
	first := make(chan domain.Credential)
	go func() { cred, _ := c.GetCredential(ctx, "acme"); first <- cred }()
	<-g.entered
	if err := inner.PutCredential(ctx, "acme", v2); err != nil {
		t.Fatal(err)
	}
	c.Forget("acme")
	second := make(chan domain.Credential)
	go func() { cred, _ := c.GetCredential(ctx, "acme"); second <- cred }()
	<-g.entered // the second caller did not join the first read
	close(g.release)
	<-first
	if got := <-second; got != v2 {
		t.Fatalf("after the invalidation: %v, want the new credential", got.Fingerprint())
	}
}
