package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/local/boltstore"
	"github.com/mailbridge/mailbridge/shared/local/filesecrets"
	"github.com/mailbridge/mailbridge/shared/platform/urlguard"
	"github.com/mailbridge/mailbridge/shared/testsupport/golden"
	"github.com/mailbridge/mailbridge/shared/testsupport/secretscan"
)

// --- what the whole suite saw, for the secret scan and OpenAPI check in TestMain ---

var seen struct {
	sync.Mutex
	responses map[string]map[int]bool // route pattern -> statuses answered
}

// noteSecret registers a credential a test uses with the package's secret
// scan (secretscan.Main also harvests the literals in these files).
func noteSecret(c domain.Credential) { secretscan.Register(c) }

func noteResponse(pattern string, status int) {
	seen.Lock()
	defer seen.Unlock()
	if seen.responses == nil {
		seen.responses = map[string]map[int]bool{}
	}
	if seen.responses[pattern] == nil {
		seen.responses[pattern] = map[int]bool{}
	}
	seen.responses[pattern][status] = true
}

// logSink collects log output and forwards it to the suite's record.
type logSink struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logSink) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	secretscan.Capture(secretscan.Logs, "API log", p)
	return l.buf.Write(p)
}

func (l *logSink) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// --- test doubles for what has no embedded adapter in this package ---

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

var testNow = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

// faultySecrets wraps the embedded secret store (filesecrets) so a test
// can make one write or one delete fail, like an outage mid-operation.
type faultySecrets struct {
	domain.SecretStore
	mu      sync.Mutex
	failPut error
	failDel error
}

func (f *faultySecrets) PutCredential(ctx context.Context, id string, c domain.Credential) error {
	f.mu.Lock()
	err := f.failPut
	f.mu.Unlock()
	if err != nil {
		return err
	}
	return f.SecretStore.PutCredential(ctx, id, c)
}

func (f *faultySecrets) DeleteCredential(ctx context.Context, id string) error {
	f.mu.Lock()
	err := f.failDel
	f.failDel = nil // fail once
	f.mu.Unlock()
	if err != nil {
		return err
	}
	return f.SecretStore.DeleteCredential(ctx, id)
}

func (f *faultySecrets) get(id string) (domain.Credential, bool) {
	c, err := f.SecretStore.GetCredential(context.Background(), id)
	return c, err == nil
}

func openSecrets(t testing.TB) *filesecrets.Store {
	t.Helper()
	dir := t.TempDir()
	key := filepath.Join(dir, "key")
	if err := os.WriteFile(key, bytes.Repeat([]byte{0x42}, 32), 0o600); err != nil {
		t.Fatal(err)
	}
	// The file is encrypted: the scan proves no form of a secret is in it.
	secretscan.WatchFile(t, filepath.Join(dir, "secrets.json"))
	fs, err := filesecrets.Open(filesecrets.Options{Path: filepath.Join(dir, "secrets.json"), KeyFile: key})
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

// fakeChecker answers access checks from a table keyed by address; it
// records what it was asked, to prove which tenant's credential was used.
type fakeChecker struct {
	mu       sync.Mutex
	reports  map[string]domain.AccessReport
	errs     map[string]error
	block    map[string]bool // answer only when ctx ends
	calls    []checkCall
	inFlight int
	maxSeen  int
}

// panicMailbox makes the fake checker panic, as a bug in a checker would.
const panicMailbox = "panic@contoso.com"

type checkCall struct {
	Tenant, Mailbox string
	// Key is the credential's MemoryKey, not its Fingerprint: the
	// fingerprint is derived from no secret, so two credentials of one
	// user name (a rotated password, two tenants' "svc") share it.
	Key string
}

// used reports whether the check was made with cred.
func (c checkCall) used(cred domain.Credential) bool { return c.Key == cred.MemoryKey() }

func (f *fakeChecker) CheckAccess(ctx context.Context, t domain.Tenant, m domain.Mailbox, c domain.Credential) (domain.AccessReport, error) {
	f.mu.Lock()
	f.calls = append(f.calls, checkCall{t.ID, m.Address, c.MemoryKey()})
	f.inFlight++
	f.maxSeen = max(f.maxSeen, f.inFlight)
	rep, ok := f.reports[m.Address]
	err := f.errs[m.Address]
	block := f.block[m.Address]
	f.mu.Unlock()
	if block {
		// A bound, so a verify without a time limit fails the test
		// instead of hanging it.
		select {
		case <-ctx.Done():
			err = ctx.Err()
		case <-time.After(10 * time.Second):
			err = errors.New("fakeChecker: the check's context never ended")
		}
	}
	if m.Address == panicMailbox {
		panic("checker bug")
	}
	time.Sleep(time.Millisecond) // let concurrent checks overlap
	f.mu.Lock()
	f.inFlight--
	f.mu.Unlock()
	if err != nil {
		return domain.AccessReport{}, err
	}
	if !ok {
		return domain.AccessReport{Mailbox: m.Address, Status: domain.MailboxOK, Mode: t.AccessMode}, nil
	}
	return rep, nil
}

func (f *fakeChecker) callsFor(tenant string) []checkCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []checkCall
	for _, c := range f.calls {
		if c.Tenant == tenant {
			out = append(out, c)
		}
	}
	return out
}

// testDNS is the injected resolver of the URL policy.
type testDNS map[string]string

func (d testDNS) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	a, ok := d[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return []netip.Addr{netip.MustParseAddr(a)}, nil
}

var dns = testDNS{
	"mail.contoso.com":       "52.96.10.1",
	"mail.globex.com":        "52.96.20.1",
	"login.example.com":      "20.190.1.1",
	"internal.contoso.com":   "10.1.2.3",
	"metadata.attacker.test": "169.254.169.254",
	"rebind.attacker.test":   "127.0.0.1",
}

// --- the environment every handler test runs in ---

type env struct {
	t       testing.TB
	store   domain.Store
	secrets *faultySecrets
	checker *fakeChecker
	srv     *server
	h       http.Handler
	logs    *logSink
	quiet   bool // fuzzing: record nothing for the suite-wide checks
	// noValidate turns off checking every answer against
	// infra/openapi.yaml's response schemas (openapi_validate_test.go); on
	// by default, off for fuzzing (quiet).
	noValidate bool
}

type envOption func(*Deps)

// newEnv serves the API over the embedded adapters: the bolt store and the
// encrypted file secret store, in a temporary directory.
func newEnv(t testing.TB, opts ...envOption) *env {
	t.Helper()
	return newEnvOn(t, openStore(t, boltstore.Options{Clock: fixedClock{testNow}}), openSecrets(t), opts...)
}

// openStore opens a bolt store in a temporary directory, closed when the
// test ends.
func openStore(t testing.TB, opts boltstore.Options) *boltstore.Store {
	t.Helper()
	path := filepath.Join(t.TempDir(), "mailbridge.db")
	st, err := boltstore.Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	secretscan.WatchFile(t, path)
	return st
}

func newEnvOn(t testing.TB, st domain.Store, secrets domain.SecretStore, opts ...envOption) *env {
	t.Helper()
	e := &env{
		t:       t,
		store:   st,
		secrets: &faultySecrets{SecretStore: secrets},
		checker: &fakeChecker{reports: map[string]domain.AccessReport{}, errs: map[string]error{}, block: map[string]bool{}},
		logs:    &logSink{},
	}
	d := Deps{
		Store:     st,
		Secrets:   e.secrets,
		Checker:   e.checker,
		Clock:     fixedClock{testNow},
		Logger:    slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		URLPolicy: urlguard.Policy{Resolver: dns},
		// The room meeting routes, answering everything before Exchange.
		RoomCalendar: unreachableRooms{},
		// The content routes are served: a hostile input must be refused
		// before the fake checker would be asked (content_test.go).
		Content: e.checker,
	}
	for _, o := range opts {
		o(&d)
	}
	e.h = New(d)
	e.srv = e.h.(*server)
	return e
}

type req struct {
	method, path, body string
	header             map[string]string
}

// do serves one request and records the answer for the suite-wide checks.
func (e *env) do(r req) *httptest.ResponseRecorder {
	e.t.Helper()
	hr := httptest.NewRequest(r.method, "http://api.test"+r.path, strings.NewReader(r.body))
	if r.body != "" {
		hr.Header.Set("Content-Type", "application/json")
	}
	for k, v := range r.header {
		if v == "" {
			hr.Header.Del(k)
		} else {
			hr.Header.Set(k, v)
		}
	}
	_, pattern := e.srv.mux.Handler(hr)
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, hr)
	e.note(pattern, w.Code, w.Header(), w.Body.Bytes())
	if !e.quiet && !e.noValidate {
		// A route's answer against its operation's schemas; an answer to
		// a path or method no operation names against the Error schema
		// (openapicheck.Validate tells them apart).
		checkResponse(e.t, hr, w)
	}
	return w
}

func (e *env) note(pattern string, status int, h http.Header, body []byte) {
	if e.quiet {
		return
	}
	var b bytes.Buffer
	_ = h.Write(&b)
	b.Write(body)
	secretscan.Capture(secretscan.Answers, "answer of "+pattern, b.Bytes())
	if slices.ContainsFunc(slices.Concat(routes, itemRoutes, availabilityRoutes(nil), roomRoutes(nil), peopleRoutes(nil), calendarRoutes(nil), roomMeetingRoutes(nil), contentRoutes(nil)), func(rt route) bool { return rt.method+" "+rt.path == pattern }) {
		noteResponse(pattern, status)
	}
}

func (e *env) must(r req, status int) map[string]any {
	e.t.Helper()
	w := e.do(r)
	if w.Code != status {
		e.t.Fatalf("%s %s = %d, want %d: %s", r.method, r.path, w.Code, status, w.Body)
	}
	var out map[string]any
	if w.Body.Len() > 0 {
		if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
			e.t.Fatalf("%s %s: answer is not JSON: %v: %s", r.method, r.path, err, w.Body)
		}
	}
	return out
}

func basicCred(user, pw string) domain.Credential {
	c := domain.Credential{Kind: domain.AuthBasic, Username: user, Password: pw}
	noteSecret(c)
	return c
}

func tenantBody(id, ewsURL string, c domain.Credential, extra string) string {
	cb, _ := domain.MarshalCredential(c)
	return fmt.Sprintf(`{"id":%q,"displayName":"%s Inc","ewsUrl":%q,"accessMode":"impersonation","allowFallback":true,"credentials":%s%s}`,
		id, id, ewsURL, cb, extra)
}

// onboard creates a tenant with the given mailboxes through the API.
func (e *env) onboard(id string, c domain.Credential, mailboxes ...string) {
	e.t.Helper()
	e.must(req{method: "POST", path: "/tenants", body: tenantBody(id, "https://mail."+strings.Split(id, "-")[0]+".com/EWS/Exchange.asmx", c, "")}, 201)
	if len(mailboxes) > 0 {
		e.addMailboxes(id, mailboxes...)
	}
}

// synced ends the initial sync of mailboxes added through the API, as the
// syncer does once it has synced every folder (tests that write changes
// straight into the store and read the tenant feed).
func (e *env) synced(id string, addrs ...string) {
	e.t.Helper()
	for _, a := range addrs {
		if _, err := e.store.MarkMailboxSynced(context.Background(), id, a); err != nil {
			e.t.Fatal(err)
		}
	}
}

func (e *env) addMailboxes(id string, addrs ...string) map[string]any {
	e.t.Helper()
	var items []string
	for _, a := range addrs {
		items = append(items, fmt.Sprintf(`{"address":%q}`, a))
	}
	return e.must(req{method: "POST", path: "/tenants/" + id + "/mailboxes", body: `{"mailboxes":[` + strings.Join(items, ",") + `]}`}, 200)
}

// snapshot is everything the store and secret store hold that the API can
// change, to assert that refused requests changed nothing.
func (e *env) snapshot() string {
	e.t.Helper()
	return e.snapshotBut()
}

// snapshotBut is snapshot without the audit entries whose operation
// starts with one of ops: a read that is audited changes nothing else.
func (e *env) snapshotBut(ops ...string) string {
	e.t.Helper()
	ts, _, err := e.store.ListTenants(context.Background(), "", 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	var b strings.Builder
	for _, t := range ts {
		b.WriteString(e.tenantSnapshot(t.ID, ops...))
	}
	return b.String()
}

// tenantSnapshot is one tenant's record, mailboxes, audit trail and secret.
func (e *env) tenantSnapshot(id string, skipOps ...string) string {
	e.t.Helper()
	ctx := context.Background()
	var b strings.Builder
	t, err := e.store.GetTenant(ctx, id)
	if err != nil && !domain.IsNotFound(err) {
		e.t.Fatal(err)
	}
	tj, _ := json.Marshal(t)
	b.Write(tj)
	ms, _, err := e.store.ListMailboxes(ctx, id, domain.MailboxQuery{Limit: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	mj, _ := json.Marshal(ms)
	b.Write(mj)
	as, _, err := e.store.ListAudit(ctx, id, domain.AuditQuery{Limit: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	var kept []domain.AuditEntry // nil when empty, as before
	for _, a := range as {
		if !slices.ContainsFunc(skipOps, func(op string) bool { return strings.HasPrefix(a.Operation, op) }) {
			kept = append(kept, a)
		}
	}
	aj, _ := json.Marshal(kept)
	b.Write(aj)
	if c, ok := e.secrets.get(id); ok {
		// MemoryKey, which changes with the password (the fingerprint
		// does not); it is random per process and means nothing outside.
		fmt.Fprintf(&b, "secret=%s;", c.MemoryKey())
	}
	return b.String()
}

func sortedKeys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// goldenAnswer compares a JSON answer, indented for review, with testdata/name.
func goldenAnswer(t *testing.T, name string, got []byte) {
	t.Helper()
	var ind bytes.Buffer
	if err := json.Indent(&ind, got, "", "  "); err != nil {
		t.Fatalf("answer is not JSON: %v", err)
	}
	golden.Check(t, filepath.Join("testdata", name), ind.Bytes())
}
