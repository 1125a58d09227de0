package app_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
)

// auditCalls records AppendAudit calls and can refuse them.
type auditCalls struct {
	store domain.AuditStore
	fail  error
	mu    sync.Mutex
	sizes []int
}

func (a *auditCalls) AppendAudit(ctx context.Context, es ...domain.AuditEntry) error {
	a.mu.Lock()
	a.sizes = append(a.sizes, len(es))
	a.mu.Unlock()
	if a.fail != nil {
		return a.fail
	}
	return a.store.AppendAudit(ctx, es...)
}

func (a *auditCalls) ListAudit(ctx context.Context, tenantID string, q domain.AuditQuery) ([]domain.AuditEntry, string, error) {
	return a.store.ListAudit(ctx, tenantID, q)
}

func TestBatchWorkerWritesTheBatchAuditInOneCall(t *testing.T) {
	boxes := []string{"a@acme.com", "b@acme.com", "c@acme.com", "d@acme.com"}
	batch := func() []app.BatchMessage {
		var msgs []app.BatchMessage
		for _, m := range boxes {
			msgs = append(msgs, jobMsg(m, m, ""))
		}
		// A refused job is audited too (tenant isolation).
		return append(msgs, jobMsg("stranger", "z@globex.com", ""))
	}
	all := append(slices.Clone(boxes), "stranger")
	for _, tc := range []struct {
		name       string
		audit      func(e *env) *auditCalls // nil: no audit store configured
		wantFailed []string
		wantListed []string
	}{
		{"entries written once, messages acknowledged",
			func(e *env) *auditCalls { return &auditCalls{store: e.store} }, nil, append(slices.Clone(boxes), "z@globex.com")},
		{"audit write fails: the whole batch comes back",
			func(e *env) *auditCalls { return &auditCalls{store: e.store, fail: errors.New("DynamoDB unavailable")} }, all, nil},
		{"no audit store: the whole batch comes back", nil, all, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.addTenant("acme", domain.AccessImpersonation, nil, boxes...)
			e.syncer.DeferAudit = true
			w := &app.BatchWorker{Syncer: e.syncer, Log: quiet}
			var calls *auditCalls
			if tc.audit != nil {
				calls = tc.audit(e)
				w.Audit = calls
			}
			res := w.Process(context.Background(), batch())
			slices.Sort(res.Failed)
			want := slices.Clone(tc.wantFailed)
			slices.Sort(want)
			if !slices.Equal(res.Failed, want) {
				t.Errorf("failed = %v, want %v", res.Failed, want)
			}
			if res.Stats.AuditFailed != (len(want) > 0) {
				t.Errorf("stats.AuditFailed = %v", res.Stats.AuditFailed)
			}
			if calls != nil && !slices.Equal(calls.sizes, []int{5}) {
				t.Errorf("AppendAudit calls of sizes %v, want one call of 5 entries", calls.sizes)
			}
			got, _, err := e.bolt.ListAudit(context.Background(), "acme", domain.AuditQuery{Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			var listed []string
			for _, a := range got {
				listed = append(listed, a.Mailbox)
			}
			slices.Sort(listed)
			if !slices.Equal(listed, tc.wantListed) {
				t.Errorf("audit trail lists %v, want %v", listed, tc.wantListed)
			}
		})
	}
}

// A Syncer that writes its own entries (the local stack's) still audits
// every job, and leaves nothing for a caller.
func TestSyncerWritesItsAuditUnlessDeferred(t *testing.T) {
	e := newEnv(t)
	e.addTenant("acme", domain.AccessImpersonation, nil, mbx)
	res := e.mustSync("acme", mbx)
	if len(res.Audit) != 0 {
		t.Errorf("result carries %d audit entries, want them written", len(res.Audit))
	}
	got, _, err := e.bolt.ListAudit(context.Background(), "acme", domain.AuditQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Mailbox != mbx || got[0].Operation != "sync" {
		t.Errorf("audit = %+v, want one sync entry for %s", got, mbx)
	}
}
