package calendarwriterfn

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/aws/sfnretry"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ewsmailbox"
	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
	"github.com/mailbridge/mailbridge/shared/local/boltstore"
	"github.com/mailbridge/mailbridge/shared/platform/urlguard"
	"github.com/mailbridge/mailbridge/shared/testsupport/secretscan"
	"github.com/mailbridge/mailbridge/shared/testsupport/standin"
	"github.com/mailbridge/mailbridge/shared/testsupport/storetest"
)

// The state machine tests run infra/calendar-retry.asl.json for real with
// aws-local-stepfunctions (Node): its Wait reads retryAt, its Task is this
// Lambda's handler (served over HTTP to the Node process) and its Choice
// loops on the answer. Behind the handler are the real use case, the
// embedded store and the EWS simulator. The writer's clock runs ten days
// behind the real one, so every retryAt it computes lies in the real past
// and the Wait states pass at once, reading the real TimestampPath.

const localSFN = "aws-local-stepfunctions@3.0.0"

// nodeModules returns the node_modules holding aws-local-stepfunctions,
// installing it next to asl-validator (scripts/asl-validate.sh) on first use.
func nodeModules(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatal("node is needed to run the state machine locally (Node 20+)")
	}
	prefix, err := filepath.Abs(filepath.Join("..", "..", "..", ".standins", "node"))
	if err != nil {
		t.Fatal(err)
	}
	mods := filepath.Join(prefix, "node_modules")
	if _, err := os.Stat(filepath.Join(mods, "aws-local-stepfunctions", "package.json")); err != nil {
		out, err := exec.Command("npm", "install", "--prefix", prefix, "--no-audit", "--no-fund", "--loglevel=error", localSFN).CombinedOutput()
		if err != nil {
			t.Fatalf("npm install %s: %v\n%s", localSFN, err, out)
		}
	}
	return mods
}

type sfnEnv struct {
	sim   *ewssim.Sim
	clock *storetest.Clock
	w     *app.CalendarWrites
	url   string // the writer, as the state machine's Task calls it

	mu          sync.Mutex
	calls       []domain.CalendarRetry
	beforeRetry func(e *sfnEnv)
}

type retryCapture struct{ got []domain.CalendarRetry }

func (r *retryCapture) ScheduleRetry(_ context.Context, c domain.CalendarRetry) error {
	r.got = append(r.got, c)
	return nil
}

func newSFNEnv(t *testing.T, now time.Time) *sfnEnv {
	t.Helper()
	sim := ewssim.New(ewssim.Options{})
	if err := sim.AddMailbox("ann@contoso.com", "Ann"); err != nil {
		t.Fatal(err)
	}
	if err := sim.AddAccount(ewssim.Account{Username: "svc@contoso.com", Password: "pw-123456", ImpersonationScope: []string{"ann@contoso.com"}}); err != nil {
		t.Fatal(err)
	}
	ewsURL := standin.EWS(t, sim)

	ctx := context.Background()
	clock := storetest.NewClock(now)
	dbPath := filepath.Join(t.TempDir(), "store.db")
	secretscan.WatchFile(t, dbPath) // read when the test ends, for the secret scan
	bs, err := boltstore.Open(dbPath, boltstore.Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bs.Close() })
	if err := bs.CreateTenant(ctx, domain.Tenant{ID: "acme", EWSURL: ewsURL, ExchangeVersion: "Exchange2016",
		AuthKind: domain.AuthBasic, AccessMode: domain.AccessImpersonation, Status: domain.TenantActive}); err != nil {
		t.Fatal(err)
	}
	if err := bs.AddMailbox(ctx, domain.Mailbox{TenantID: "acme", Address: "ann@contoso.com", Status: domain.MailboxOK}); err != nil {
		t.Fatal(err)
	}
	secrets := &memSecrets{c: domain.Credential{Kind: domain.AuthBasic, Username: "svc@contoso.com", Password: "pw-123456"}}
	e := &sfnEnv{sim: sim, clock: clock, w: &app.CalendarWrites{
		Store: bs, Secrets: secrets, Calendars: ewsmailbox.NewCalendarConnector(ewsmailbox.Options{URLGuard: &urlguard.Policy{DevLoopback: true}}),
		Retries: &retryCapture{}, Clock: clock, Log: quiet,
	}}
	h := handler(e.w, nil, nil, quiet)
	lambda := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var in domain.CalendarRetry
		_ = json.Unmarshal(raw, &in)
		e.mu.Lock()
		if e.beforeRetry != nil {
			e.beforeRetry(e)
			e.beforeRetry = nil
		}
		e.calls = append(e.calls, in)
		// The attempt happens when the Wait ends: at retryAt.
		e.clock.Advance(in.RetryAt.Sub(e.clock.Now()))
		e.mu.Unlock()
		out, err := h(r.Context(), raw)
		if err != nil {
			w.WriteHeader(http.StatusInternalServerError)
			_ = json.NewEncoder(w).Encode(map[string]string{"errorType": "CalendarWriterError", "errorMessage": err.Error()})
			return
		}
		_ = json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(lambda.Close)
	e.url = lambda.URL
	return e
}

// memSecrets holds the one tenant's credential.
type memSecrets struct{ c domain.Credential }

func (s *memSecrets) PutCredential(context.Context, string, domain.Credential) error { return nil }
func (s *memSecrets) GetCredential(_ context.Context, id string) (domain.Credential, error) {
	if id != "acme" {
		return domain.Credential{}, domain.ErrNotFound
	}
	return s.c, nil
}
func (s *memSecrets) DeleteCredential(context.Context, string) error { return nil }

type execution struct {
	Status string            `json:"status"`
	Output app.AttemptResult `json:"output"`
	Error  string            `json:"error"`
	Cause  string            `json:"cause"`
}

type job struct {
	Input  sfnretry.Input `json:"input"`
	Writer string         `json:"writer"`
}

// runExecutions runs the state machine once per job in one Node process
// (starting Node is the slow part).
func runExecutions(t *testing.T, jobs []job) []execution {
	t.Helper()
	mods := nodeModules(t)
	in, _ := json.Marshal(jobs)
	cmd := exec.Command("node", filepath.Join("testdata", "run-state-machine.mjs"), mods, filepath.Join("..", "..", "..", "infra", "calendar-retry.asl.json"))
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	var exs []execution
	if err := json.Unmarshal(out, &exs); err != nil || len(exs) != len(jobs) {
		t.Fatalf("driver output %q (%v)\n%s", out, err, stderr.String())
	}
	return exs
}

// TestStateMachineLoop makes each write's first attempt as the queue
// would, starts the state machine on the input shared/sfnretry would start
// it with, and checks where the Wait → WriteEvent → Outcome loop ends.
func TestStateMachineLoop(t *testing.T) {
	now := time.Now().UTC().Add(-10 * 24 * time.Hour).Truncate(time.Second)
	h := time.Hour
	cases := []struct {
		name        string
		setup       func(e *sfnEnv)
		beforeRetry func(e *sfnEnv) // once, before the first retry
		startIn     time.Duration
		retries     []time.Duration // when each retry runs, after the first failure
		status      string
		error       string // of a failed execution
		cause       string
	}{
		{name: "fails twice, then written", startIn: 10 * h,
			setup: func(e *sfnEnv) {
				e.sim.InjectFault(ewssim.Fault{Op: "CreateItem", Kind: ewssim.FaultSOAP, Code: "ErrorMailboxStoreUnavailable", Count: 2})
			},
			retries: []time.Duration{5 * h, 7*h + 30*time.Minute}, status: "SUCCEEDED"},
		{name: "every attempt throttled: three retries, then gave up", startIn: 96 * h,
			setup: func(e *sfnEnv) {
				e.sim.InjectFault(ewssim.Fault{Op: "FindItem", Kind: ewssim.FaultSOAP, Code: "ErrorServerBusy", BackOff: time.Second})
			},
			retries: []time.Duration{24 * h, 48 * h, 72 * h}, status: "FAILED", error: "CalendarWriteGaveUp", cause: "three retries"},
		{name: "impersonation scope withdrawn before the retry", startIn: 96 * h,
			setup: func(e *sfnEnv) {
				e.sim.InjectFault(ewssim.Fault{Op: "FindItem", Kind: ewssim.FaultSOAP, Code: "ErrorServerBusy", BackOff: time.Second, Count: 1})
			},
			beforeRetry: func(e *sfnEnv) { _ = e.sim.SetImpersonationScope("svc@contoso.com", nil, false) },
			retries:     []time.Duration{24 * h}, status: "FAILED", error: "CalendarWriteGaveUp", cause: "out_of_scope (ErrorImpersonateUserDenied)"},
	}
	envs := make([]*sfnEnv, len(cases))
	jobs := make([]job, len(cases))
	for i, tc := range cases {
		e := newSFNEnv(t, now)
		tc.setup(e)
		e.beforeRetry = tc.beforeRetry
		start := now.Add(tc.startIn)
		req := domain.WriteRequest{ID: fmt.Sprintf("req-%d", i), TenantID: "acme", Mailbox: "ann@contoso.com", ClientEventID: "trip-1", Op: domain.WriteUpsert,
			Event: &domain.EventSpec{Subject: "Flight to Oslo", Start: start, End: start.Add(2 * time.Hour)}, RequestedAt: now}
		first, err := e.w.HandleQueued(context.Background(), req)
		if err != nil || first.Outcome != app.OutcomeRetry {
			t.Fatalf("%s: first attempt %+v, %v; want a retry", tc.name, first, err)
		}
		envs[i] = e
		jobs[i] = job{Input: sfnretry.Input{Request: req, RetriesDone: first.RetriesDone, RetryAt: first.RetryAt.Format(time.RFC3339)}, Writer: e.url}
	}
	exs := runExecutions(t, jobs)
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, ex := envs[i], exs[i]
			if ex.Status != tc.status || ex.Error != tc.error || !strings.Contains(ex.Cause, tc.cause) {
				t.Errorf("execution %+v, want %s %s mentioning %q", ex, tc.status, tc.error, tc.cause)
			}
			if len(e.calls) != len(tc.retries) {
				t.Fatalf("the state machine invoked the writer %d times, want %d", len(e.calls), len(tc.retries))
			}
			for n, c := range e.calls {
				if c.RetriesDone != n+1 || !c.RetryAt.Equal(now.Add(tc.retries[n])) {
					t.Errorf("invocation %d: retry %d at +%v, want retry %d at +%v", n, c.RetriesDone, c.RetryAt.Sub(now), n+1, tc.retries[n])
				}
			}
			refs, _ := e.sim.ListItems("ann@contoso.com", "calendar")
			if written := tc.status == "SUCCEEDED"; written != (len(refs) == 1) || len(refs) > 1 {
				t.Errorf("calendar holds %d items after a %s execution", len(refs), ex.Status)
			}
			if tc.status == "SUCCEEDED" && (ex.Output.Outcome != app.OutcomeWritten || ex.Output.Result != domain.EventCreated) {
				t.Errorf("output %+v", ex.Output)
			}
		})
	}
}
