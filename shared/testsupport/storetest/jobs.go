package storetest

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// setupJobs is setup for a store that must also keep job progress.
func setupJobs(t *testing.T, setup setupFunc) (domain.Store, domain.JobProgressStore, *Clock) {
	t.Helper()
	s, clock := setup(t)
	jp, ok := s.(domain.JobProgressStore)
	if !ok {
		t.Fatalf("%T does not implement domain.JobProgressStore", s)
	}
	return s, jp, clock
}

// jobDone is the job's done set, sorted.
func jobDone(t *testing.T, jp domain.JobProgressStore, tenantID, jobID string) []string {
	t.Helper()
	done, err := jp.JobDone(ctx, tenantID, jobID)
	must(t, err)
	done = slices.Clone(done)
	slices.Sort(done)
	return done
}

func wantDone(t *testing.T, jp domain.JobProgressStore, tenantID, jobID string, want ...string) {
	t.Helper()
	if got := jobDone(t, jp, tenantID, jobID); !slices.Equal(got, want) {
		t.Fatalf("JobDone(%s, %s) = %q, want %q", tenantID, jobID, got, want)
	}
}

func testJobProgress(t *testing.T, setup setupFunc) {
	const ttl = time.Hour
	t.Run("a job never marked has nothing done", func(t *testing.T) {
		_, jp, _ := setupJobs(t, setup)
		wantDone(t, jp, "acme", "job-1")
	})
	t.Run("marks add up to the union", func(t *testing.T) {
		_, jp, _ := setupJobs(t, setup)
		must(t, jp.MarkJobDone(ctx, "acme", "job-1", []string{ann, bob}, ttl))
		must(t, jp.MarkJobDone(ctx, "acme", "job-1", []string{bob, "carl@acme.example"}, ttl))
		wantDone(t, jp, "acme", "job-1", ann, bob, "carl@acme.example")
	})
	t.Run("a mailbox marked twice is listed once", func(t *testing.T) {
		_, jp, _ := setupJobs(t, setup)
		must(t, jp.MarkJobDone(ctx, "acme", "job-1", []string{ann}, ttl))
		must(t, jp.MarkJobDone(ctx, "acme", "job-1", []string{ann}, ttl))
		must(t, jp.MarkJobDone(ctx, "acme", "job-1", []string{bob, bob}, ttl))
		wantDone(t, jp, "acme", "job-1", ann, bob)
	})
	t.Run("concurrent marks all land", func(t *testing.T) {
		_, jp, _ := setupJobs(t, setup)
		const writers = 8
		want := []string{"shared@acme.example"}
		errs := make(chan error, writers)
		var wg sync.WaitGroup
		for i := range writers {
			box := fmt.Sprintf("user%d@acme.example", i)
			want = append(want, box)
			wg.Go(func() {
				errs <- jp.MarkJobDone(ctx, "acme", "job-1", []string{box, "shared@acme.example"}, ttl)
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			must(t, err)
		}
		slices.Sort(want)
		wantDone(t, jp, "acme", "job-1", want...)
	})
	t.Run("an empty mark stores nothing and keeps the expiry", func(t *testing.T) {
		_, jp, clock := setupJobs(t, setup)
		must(t, jp.MarkJobDone(ctx, "acme", "job-1", nil, ttl))
		wantDone(t, jp, "acme", "job-1")
		must(t, jp.MarkJobDone(ctx, "acme", "job-2", []string{ann}, ttl))
		clock.Advance(50 * time.Minute)
		must(t, jp.MarkJobDone(ctx, "acme", "job-2", []string{}, ttl))
		clock.Advance(10 * time.Minute)
		wantDone(t, jp, "acme", "job-2")
	})
	t.Run("progress expires after the ttl", func(t *testing.T) {
		_, jp, clock := setupJobs(t, setup)
		must(t, jp.MarkJobDone(ctx, "acme", "job-1", []string{ann}, ttl))
		clock.Advance(ttl - time.Second)
		wantDone(t, jp, "acme", "job-1", ann)
		clock.Advance(time.Second)
		wantDone(t, jp, "acme", "job-1")
	})
	t.Run("a mark moves the expiry of the whole set", func(t *testing.T) {
		_, jp, clock := setupJobs(t, setup)
		must(t, jp.MarkJobDone(ctx, "acme", "job-1", []string{ann}, ttl))
		clock.Advance(50 * time.Minute)
		must(t, jp.MarkJobDone(ctx, "acme", "job-1", []string{bob}, ttl))
		clock.Advance(50 * time.Minute)
		wantDone(t, jp, "acme", "job-1", ann, bob)
		clock.Advance(10 * time.Minute)
		wantDone(t, jp, "acme", "job-1")
	})
	t.Run("a mark after expiry starts afresh", func(t *testing.T) {
		_, jp, clock := setupJobs(t, setup)
		must(t, jp.MarkJobDone(ctx, "acme", "job-1", []string{ann}, ttl))
		must(t, jp.MarkJobDone(ctx, "acme", "job-2", []string{ann}, ttl))
		clock.Advance(ttl)
		must(t, jp.MarkJobDone(ctx, "acme", "job-1", []string{bob}, ttl))
		wantDone(t, jp, "acme", "job-1", bob)
		wantDone(t, jp, "acme", "job-2")
	})
	t.Run("jobs are separate per tenant and per id", func(t *testing.T) {
		_, jp, _ := setupJobs(t, setup)
		must(t, jp.MarkJobDone(ctx, "acme", "job-1", []string{ann}, ttl))
		must(t, jp.MarkJobDone(ctx, "other", "job-1", []string{bob}, ttl))
		must(t, jp.MarkJobDone(ctx, "acme", "job-10", []string{"carl@acme.example"}, ttl))
		wantDone(t, jp, "acme", "job-1", ann)
		wantDone(t, jp, "other", "job-1", bob)
		wantDone(t, jp, "acme", "job-10", "carl@acme.example")
		wantDone(t, jp, "acme", "job-2")
	})
	t.Run("PurgeTenant removes the tenant's progress only", func(t *testing.T) {
		s, jp, _ := setupJobs(t, setup)
		for _, id := range []string{"acme", "acme2"} { // acme2 shares a prefix
			must(t, s.CreateTenant(ctx, tenant(id)))
			must(t, jp.MarkJobDone(ctx, id, "job-1", []string{ann}, ttl))
		}
		must(t, s.PurgeTenant(ctx, "acme"))
		wantDone(t, jp, "acme", "job-1")
		wantDone(t, jp, "acme2", "job-1", ann)
	})
	t.Run("bad input is refused and stores nothing", func(t *testing.T) {
		_, jp, _ := setupJobs(t, setup)
		tooMany := make([]string, domain.MaxJobMailboxes+1)
		for i := range tooMany {
			tooMany[i] = fmt.Sprintf("user%d@acme.example", i)
		}
		tests := []struct {
			name      string
			tenantID  string
			jobID     string
			mailboxes []string
			ttl       time.Duration
			badKey    bool // JobDone refuses the (tenant, job) too
		}{
			{"no tenant", "", "job-1", []string{ann}, ttl, true},
			{"no job id", "acme", "", []string{ann}, ttl, true},
			{"job id too long", "acme", strings.Repeat("j", 2000), []string{ann}, ttl, true},
			{"an empty mailbox", "acme", "job-1", []string{ann, ""}, ttl, false},
			{"a mailbox too long", "acme", "job-1", []string{ann, strings.Repeat("a", 2000) + "@acme.example"}, ttl, false},
			{"more mailboxes than a job names", "acme", "job-1", tooMany, ttl, false},
			{"no ttl", "acme", "job-1", []string{ann}, 0, false},
			{"negative ttl", "acme", "job-1", []string{ann}, -time.Hour, false},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				wantCode(t, jp.MarkJobDone(ctx, tt.tenantID, tt.jobID, tt.mailboxes, tt.ttl), domain.CodeInvalid, "MarkJobDone")
				if tt.badKey {
					_, err := jp.JobDone(ctx, tt.tenantID, tt.jobID)
					wantCode(t, err, domain.CodeInvalid, "JobDone")
				}
				wantDone(t, jp, "acme", "job-1")
			})
		}
	})
}
