package api

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/aws/dynamostore"
	"github.com/mailbridge/mailbridge/shared/aws/smsecrets"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/local/boltstore"
	"github.com/mailbridge/mailbridge/shared/testsupport/dynamotable"
	"github.com/mailbridge/mailbridge/shared/testsupport/secretscan"
	"github.com/mailbridge/mailbridge/shared/testsupport/standin"
)

// hostileGroups is every group of hostile inputs the suite sends.
func hostileGroups() []struct {
	name  string
	cases []hostileCase
} {
	return []struct {
		name  string
		cases []hostileCase
	}{
		{"classic", hostileCases()},
		{"strict", hostileStrictCases()},
		{"graph", hostileGraphCases()},
		{"more", hostileMoreCases()},
		{"rooms", hostileRoomCases()},
	}
}

// hostileKey identifies an input by what is sent, so the count is of
// distinct inputs, not of names: the same request under two names counts
// once.
func hostileKey(r req) string {
	var hs []string
	for k, v := range r.header {
		hs = append(hs, http.CanonicalHeaderKey(k)+"="+v)
	}
	sort.Strings(hs)
	return r.method + " " + r.path + "\x00" + r.body + "\x00" + strings.Join(hs, "\x00")
}

// hostileTally records, for TestMain's summary, each input sent and over
// which transports, and the inputs that were accepted (anything but a
// JSON 4xx naming the problem with nothing stored).
var hostileTally struct {
	sync.Mutex
	over     map[string]map[string]bool // input key -> transports it was refused over
	accepted map[string]string          // input key -> what went wrong
}

func tallyHostile(key, transport, problem string) {
	hostileTally.Lock()
	defer hostileTally.Unlock()
	if hostileTally.over == nil {
		hostileTally.over = map[string]map[string]bool{}
		hostileTally.accepted = map[string]string{}
	}
	if hostileTally.over[key] == nil {
		hostileTally.over[key] = map[string]bool{}
	}
	hostileTally.over[key][transport] = true
	if problem != "" {
		hostileTally.accepted[key] = problem
	}
}

// hostileSummary is the line make test prints: inputs refused over both
// transports, and how many were accepted anywhere.
func hostileSummary() string {
	hostileTally.Lock()
	defer hostileTally.Unlock()
	if len(hostileTally.over) == 0 {
		return ""
	}
	both, races := 0, 0
	for k, ts := range hostileTally.over {
		if ts["http"] && ts["apigw"] {
			both++
		}
		if strings.HasPrefix(k, "race: ") {
			races++
		}
	}
	return fmt.Sprintf("hostile-input suite: %d distinct inputs (%d requests, %d in concurrency races; %d sent both over HTTP and through the API Gateway adapter, on bolt and DynamoDB Local), %d accepted",
		len(hostileTally.over), len(hostileTally.over)-races, races, both, len(hostileTally.accepted))
}

// storeDump is everything a store holds, to prove a refused input stored
// nothing: the raw bolt file or every item of the DynamoDB table, plus the
// secret of every tenant id the inputs name.
type storeDump func() string

// hostileBoltEnv serves the API over bolt and the file secret store.
func hostileBoltEnv(t *testing.T) (*env, storeDump) {
	path := filepath.Join(t.TempDir(), "mailbridge.db")
	st, err := boltstore.Open(path, boltstore.Options{Clock: fixedClock{testNow}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	secretscan.WatchFile(t, path)
	e := newEnvOn(t, st, openSecrets(t))
	return e, func() string {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return string(raw) + secretsDump(e)
	}
}

// hostileAWSEnv serves the API over DynamoDB Local and moto's Secrets Manager.
func hostileAWSEnv(t *testing.T) (*env, storeDump) {
	cfg := standin.AWSConfig()
	client := dynamostore.NewClient(cfg, standin.DynamoDB(t))
	_, table := dynamotable.New(t, client, "mailbridge-hostile")
	st, err := dynamostore.New(client, dynamostore.Options{Table: table, Clock: fixedClock{testNow}})
	if err != nil {
		t.Fatal(err)
	}
	sec, err := smsecrets.New(smsecrets.NewClient(cfg, standin.Moto(t)), smsecrets.Options{Stage: fmt.Sprintf("hostile%d", time.Now().UnixNano())})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvOn(t, st, sec)
	return e, func() string {
		d, err := dynamotable.Dump(context.Background(), client, table)
		if err != nil {
			t.Fatal(err)
		}
		return d + secretsDump(e)
	}
}

// hostileIDs are the tenant ids hostile inputs name; a refused create
// must leave no secret under any of them.
var hostileIDs = func() []string {
	ids := map[string]bool{"contoso": true, "nosuchco": true}
	re := regexp.MustCompile(`"id":"([a-z0-9-]{3,63})"`)
	for _, g := range hostileGroups() {
		for _, tc := range g.cases {
			for _, m := range re.FindAllStringSubmatch(tc.r.body, -1) {
				ids[m[1]] = true
			}
		}
	}
	return sortedKeys(ids)
}()

func secretsDump(e *env) string {
	var b strings.Builder
	for _, id := range hostileIDs {
		if c, ok := e.secrets.get(id); ok {
			fmt.Fprintf(&b, "\nsecret %s=%s", id, c.MemoryKey())
		}
	}
	return b.String()
}

// TestHostileSuite sends every hostile input over a real HTTP server
// (wrapped as the local run wraps it) and as an API Gateway event, on the
// bolt store and on DynamoDB Local: each must get a JSON 4xx whose error
// names the field or the reason, store nothing (the whole store and the
// secrets compared after each input) and never reach Exchange.
func TestHostileSuite(t *testing.T) {
	noteSecret(domain.Credential{Password: "Hostile-pw-42", ClientSecret: "Hostile-secret-1", KeyPEM: "Hostile-key-1"})
	noteSecret(domain.Credential{Password: "Hostile-pw-43", ClientSecret: "Hostile-graph-secret"})
	noteSecret(domain.Credential{Password: "Hostile-pw-42\xc3"})
	noteSecret(domain.Credential{Password: "987654321"})
	groups := hostileGroups()
	seenKeys := map[string]string{}
	n := 0
	for _, g := range groups {
		for _, tc := range g.cases {
			k := hostileKey(tc.r)
			if prev, dup := seenKeys[k]; dup {
				t.Errorf("%s/%s repeats the input of %s", g.name, tc.name, prev)
			}
			seenKeys[k] = g.name + "/" + tc.name
			n++
		}
	}
	if n < 250 {
		t.Fatalf("only %d hostile inputs, want at least 250", n)
	}
	for _, st := range []struct {
		name string
		open func(*testing.T) (*env, storeDump)
	}{{"bolt", hostileBoltEnv}, {"dynamodb", hostileAWSEnv}} {
		t.Run(st.name, func(t *testing.T) {
			e, dump := st.open(t)
			e.onboard("contoso", basicCred("svc", "Hostile-setup-pw"), "alice@contoso.com")
			// Reading a feed the first time may stamp its generation:
			// do it before the baseline.
			e.must(req{method: "GET", path: "/tenants/contoso/changes"}, 200)
			e.must(req{method: "GET", path: "/tenants/contoso/mailboxes/alice@contoso.com/changes"}, 200)
			srv := httptest.NewUnstartedServer(e.h)
			srv.Listener = JSONErrorListener(srv.Listener)
			srv.Start()
			defer srv.Close()
			before := dump()
			checks := len(e.checker.callsFor("contoso"))
			for _, g := range groups {
				for _, tc := range g.cases {
					for _, transport := range []string{"http", "apigw"} {
						t.Run(transport+"/"+g.name+"/"+tc.name, func(t *testing.T) {
							var status int
							var body []byte
							if transport == "http" {
								status, body = sendHTTP(t, e, srv.Listener.Addr().String(), tc.r)
							} else {
								resp := e.doEvent(t, tc.r)
								status, body = resp.StatusCode, []byte(resp.Body)
							}
							problem := judgeHostile(tc, status, body)
							if after := dump(); after != before {
								problem += "; it changed what is stored: " + firstDiff(before, after)
								before = after // report each change once
							}
							if problem == "" && len(e.checker.callsFor("contoso")) != checks {
								problem = "it reached Exchange"
								checks = len(e.checker.callsFor("contoso"))
							}
							tallyHostile(hostileKey(tc.r), transport, problem)
							if problem != "" {
								t.Errorf("%s (answer %d: %s)", problem, status, body)
							}
						})
					}
				}
			}
		})
	}
}

// judgeHostile returns what is wrong with an answer to a hostile input, or "".
func judgeHostile(tc hostileCase, status int, body []byte) string {
	if status != tc.status {
		return fmt.Sprintf("status %d, want %d", status, tc.status)
	}
	var eb errorBody
	if err := json.Unmarshal(body, &eb); err != nil || eb.Error.Code == "" || eb.Error.Message == "" {
		return "the answer is not a JSON error"
	}
	if tc.field != "" && eb.Error.Field != tc.field {
		return fmt.Sprintf("the error names field %q, want %q", eb.Error.Field, tc.field)
	}
	if tc.field == "" && tc.msg == "" && len(eb.Error.Message) < 10 {
		return "the error message names nothing"
	}
	if !strings.Contains(eb.Error.Message, tc.msg) {
		return fmt.Sprintf("the message %q does not mention %q", eb.Error.Message, tc.msg)
	}
	return ""
}

// sendHTTP sends r over the wire. A header value with a control character
// cannot be put on the wire by any HTTP/1.1 client (it would end the
// header), so such inputs reach the handler directly, as from a front end
// that passes them.
func sendHTTP(t *testing.T, e *env, addr string, r req) (int, []byte) {
	for _, v := range r.header {
		if strings.ContainsFunc(v, func(c rune) bool { return c < 0x20 || c == 0x7f }) {
			w := e.do(r)
			return w.Code, w.Body.Bytes()
		}
	}
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: api.test\r\nConnection: close\r\n", r.method, r.path)
	hs := map[string]string{}
	if r.body != "" {
		hs["Content-Type"] = "application/json"
	}
	for k, v := range r.header {
		hs[http.CanonicalHeaderKey(k)] = v
	}
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range hs {
			if !yield(k) {
				return
			}
		}
	}) {
		if hs[k] != "" {
			fmt.Fprintf(&b, "%s: %s\r\n", k, hs[k])
		}
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n", len(r.body))
	// Written while the answer is read: the server may answer (413) and
	// close before taking the whole body.
	go func() { _, _ = io.WriteString(c, b.String()+r.body) }()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json: %s", ct, body)
	}
	e.note("", resp.StatusCode, resp.Header, body)
	return resp.StatusCode, body
}

// firstDiff shows where two dumps first differ.
func firstDiff(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	from := max(0, i-80)
	return fmt.Sprintf("at byte %d: %q became %q", i, a[from:min(len(a), i+80)], b[from:min(len(b), i+80)])
}
