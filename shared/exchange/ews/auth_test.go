package ews

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/mailbridge/mailbridge/shared/testsupport/secretscan"
)

const (
	testPassword = "Pa55w0rd!Secret"
	testSecret   = "client~secret~VALUE~12345"
)

func TestBasicAuthHeaderSent(t *testing.T) {
	srv := newCaptureServer(t, 200, readFixture(t, "responses/syncfolderitems-all-kinds.xml"))
	c := newTestClient(t, srv.URL, func(c *Config) { c.Auth = BasicAuth(`CONTOSO\svc`, testPassword) })
	if err := syncInbox(c); err != nil {
		t.Fatal(err)
	}
	r, _ := http.NewRequest("GET", "/", nil)
	r.Header = srv.last(t).header
	user, pass, ok := r.BasicAuth()
	if !ok || user != `CONTOSO\svc` || pass != testPassword {
		t.Errorf("basic auth = %q %q %v", user, pass, ok)
	}
}

func TestAuthenticatorsHideSecrets(t *testing.T) {
	oa, err := OAuthClientSecret("https://login.microsoftonline.com", "contoso.onmicrosoft.com", "app-id", testSecret)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM := newTestCert(t)
	oc, err := OAuthCertificate("", "contoso.onmicrosoft.com", "app-id", certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []Authenticator{BasicAuth("svc", testPassword), NTLMAuth("svc", testPassword, "CONTOSO"), oa, oc} {
		for _, s := range []string{a.String(), fmt.Sprintf("%v", a), fmt.Sprintf("%+v", a), fmt.Sprintf("%#v", a)} {
			for _, secret := range []string{testPassword, testSecret, "PRIVATE KEY"} {
				if strings.Contains(s, secret) {
					t.Errorf("%T formats as %q, which contains a secret", a, s)
				}
			}
		}
	}
}

func TestOAuthConstructorErrors(t *testing.T) {
	certPEM, keyPEM := newTestCert(t)
	tests := []struct {
		name string
		make func() error
		want string
	}{
		{"http authority", func() error {
			_, err := OAuthClientSecret("http://login.example", "t", "app", testSecret)
			return err
		}, "https URL"},
		{"empty secret", func() error { _, err := OAuthClientSecret("", "t", "app", ""); return err }, "secret is empty"},
		{"empty client id", func() error { _, err := OAuthClientSecret("", "t", "", testSecret); return err }, "client id"},
		{"tenant with slash", func() error { _, err := OAuthClientSecret("", "t/../x", "app", testSecret); return err }, "tenant"},
		{"key without cert", func() error { _, err := OAuthCertificate("", "t", "app", nil, keyPEM); return err }, "PEM certificate"},
		{"garbage key", func() error {
			_, err := OAuthCertificate("", "t", "app", certPEM, []byte("-----BEGIN PRIVATE KEY-----\nnot-a-key-"+testSecret+"\n-----END PRIVATE KEY-----\n"))
			return err
		}, "PEM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.make()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), testSecret) || strings.Contains(err.Error(), "PRIVATE KEY") {
				t.Errorf("secret in error: %v", err)
			}
		})
	}
}

// --- NTLM -------------------------------------------------------------------

// ntlmServer speaks the server side of the three NTLM legs and records
// what it saw. It checks message types and the user name, not the NTLMv2
// proof (the simulator does that).
type ntlmServer struct {
	*httptest.Server
	mu     sync.Mutex
	legs   []string // "anonymous", "negotiate", "authenticate"
	user   string
	authz  []string
	protos []string // r.Proto of each request
}

func newNTLMServer(t *testing.T, body []byte) *ntlmServer {
	return startNTLMServer(t, body, false)
}

// startNTLMServer serves the NTLM legs, over TLS offering HTTP/2 when h2.
func startNTLMServer(t *testing.T, body []byte, h2 bool) *ntlmServer {
	s := &ntlmServer{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.protos = append(s.protos, r.Proto)
		h := r.Header.Get("Authorization")
		s.authz = append(s.authz, h)
		if h == "" {
			s.legs = append(s.legs, "anonymous")
			w.Header().Set("WWW-Authenticate", "NTLM")
			w.WriteHeader(401)
			return
		}
		msg, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(h, "NTLM "))
		if err != nil || !strings.HasPrefix(h, "NTLM ") || len(msg) < 12 || string(msg[:8]) != "NTLMSSP\x00" {
			w.WriteHeader(400)
			return
		}
		switch binary.LittleEndian.Uint32(msg[8:12]) {
		case 1:
			s.legs = append(s.legs, "negotiate")
			w.Header().Set("WWW-Authenticate", "NTLM "+base64.StdEncoding.EncodeToString(ntlmChallenge()))
			w.WriteHeader(401)
		case 3:
			s.legs = append(s.legs, "authenticate")
			s.user = ntlmField(msg, 36) // UserNameFields
			_, _ = w.Write(body)
		default:
			w.WriteHeader(400)
		}
	}))
	if h2 {
		s.EnableHTTP2 = true
		s.StartTLS()
	} else {
		s.Start()
	}
	t.Cleanup(s.Close)
	return s
}

// ntlmChallenge is a minimal CHALLENGE_MESSAGE: Unicode, NTLM, extended
// session security, target info holding only MsvAvEOL.
func ntlmChallenge() []byte {
	var b bytes.Buffer
	b.WriteString("NTLMSSP\x00")
	le := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	le(uint32(2))
	le([]uint16{0, 0}) // TargetName len, max
	le(uint32(48))     // offset
	le(uint32(0x00000001 | 0x00000200 | 0x00080000 | 0x00800000))
	b.WriteString("\x01\x02\x03\x04\x05\x06\x07\x08") // server challenge
	b.Write(make([]byte, 8))
	le([]uint16{4, 4}) // TargetInfo len, max
	le(uint32(48))
	b.Write([]byte{0, 0, 0, 0}) // MsvAvEOL
	return b.Bytes()
}

// ntlmField reads a UTF-16LE string field whose descriptor is at off.
func ntlmField(msg []byte, off int) string {
	if len(msg) < off+8 {
		return ""
	}
	l := int(binary.LittleEndian.Uint16(msg[off:]))
	o := int(binary.LittleEndian.Uint32(msg[off+4:]))
	if o+l > len(msg) || l%2 != 0 {
		return ""
	}
	u := make([]uint16, l/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(msg[o+2*i:])
	}
	return string(utf16.Decode(u))
}

func TestNTLMHandshake(t *testing.T) {
	srv := newNTLMServer(t, readFixture(t, "responses/syncfolderitems-all-kinds.xml"))
	c := newTestClient(t, srv.URL, func(c *Config) { c.Auth = NTLMAuth("svc", testPassword, "CONTOSO") })
	if err := syncInbox(c); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(srv.legs, ","); got != "anonymous,negotiate,authenticate" {
		t.Errorf("legs = %s", got)
	}
	if srv.user != "svc" {
		t.Errorf("user in AUTHENTICATE = %q", srv.user)
	}
	for _, h := range srv.authz {
		if strings.HasPrefix(h, "Basic") || strings.Contains(h, testPassword) {
			t.Errorf("credentials sent in the clear: %q", h)
		}
	}
}

// TestNTLMStaysOnHTTP1 gives the client a transport that negotiates
// HTTP/2 with a server offering it: NTLM must still use HTTP/1.1, as
// HTTP/2 would multiplex calls on the connection NTLM authenticated.
func TestNTLMStaysOnHTTP1(t *testing.T) {
	srv := startNTLMServer(t, readFixture(t, "responses/syncfolderitems-all-kinds.xml"), true)
	// The caller's transport itself speaks HTTP/2 to this server.
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Proto != "HTTP/2.0" {
		t.Fatalf("the test server answered %s, want HTTP/2.0 (no HTTP/2 to refuse)", resp.Proto)
	}
	srv.protos = nil
	c := newTestClient(t, srv.URL, func(c *Config) {
		c.Auth = NTLMAuth("svc", testPassword, "CONTOSO")
		c.HTTPClient = srv.Client()
	})
	if err := syncInbox(c); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(srv.protos, ","); got != "HTTP/1.1,HTTP/1.1,HTTP/1.1" {
		t.Errorf("NTLM legs sent as %s, want HTTP/1.1 for all three", got)
	}
}

// TestNTLMCallsWaitForAConnection: with every connection busy, another
// call waits for one and gives up with its context, as a transient error
// (not an auth failure), without sending anything.
func TestNTLMCallsWaitForAConnection(t *testing.T) {
	body := readFixture(t, "responses/syncfolderitems-all-kinds.xml")
	holding := make(chan struct{})
	unblock := make(chan struct{})
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		h := r.Header.Get("Authorization")
		switch {
		case h == "":
			w.Header().Set("WWW-Authenticate", "NTLM")
			w.WriteHeader(401)
		case strings.HasPrefix(h, "NTLM TlRMTVNTUAABAAAA"): // NEGOTIATE_MESSAGE
			w.Header().Set("WWW-Authenticate", "NTLM "+base64.StdEncoding.EncodeToString(ntlmChallenge()))
			w.WriteHeader(401)
		default: // AUTHENTICATE_MESSAGE: keep the connection busy until told
			close(holding)
			<-unblock
			_, _ = w.Write(body)
		}
	}))
	defer srv.Close()
	release := sync.OnceFunc(func() { close(unblock) })
	defer release() // before Close, which waits for the held handler
	c := newTestClient(t, srv.URL, func(c *Config) {
		c.Auth = NTLMAuth("svc", testPassword, "CONTOSO")
		c.NTLMConnections = 1
	})
	first := make(chan error, 1)
	go func() { first <- syncInbox(c) }()
	select {
	case <-holding:
	case err := <-first:
		t.Fatalf("the first call ended before holding the connection: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the first call never reached the AUTHENTICATE leg")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := c.SyncFolderItems(ctx, imp, inbox, "", 100)
	if Classify(err) != ClassTransient || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("waiting call: %v (class %s), want a transient deadline error", err, Classify(err))
	}
	if n := requests.Load(); n != 3 {
		t.Errorf("server saw %d requests, want the first call's 3 legs only", n)
	}
	release()
	if err := <-first; err != nil {
		t.Errorf("the call holding the connection: %v", err)
	}
}

func TestNTLMRejected(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", "NTLM")
		w.WriteHeader(401)
	}))
	defer srv.Close()
	err := syncInbox(newTestClient(t, srv.URL, func(c *Config) { c.Auth = NTLMAuth("svc", testPassword, "") }))
	if Classify(err) != ClassAuth || strings.Contains(err.Error(), testPassword) {
		t.Fatalf("err = %v, class %s", err, Classify(err))
	}
}

// --- OAuth ------------------------------------------------------------------

// tokenServer is an Entra-like authority over TLS: OpenID metadata and a
// token endpoint, plus the EWS endpoint that checks the bearer token.
type tokenServer struct {
	*httptest.Server
	mu        sync.Mutex
	issued    int
	expiresIn int
	reject    bool
	forms     []url.Values
	bearers   []string
	certKey   *rsa.PublicKey // set for certificate tests: assertions are verified
	ewsBody   []byte
	assertErr error
}

const testTenant = "contoso-tenant"

func newTokenServer(t *testing.T) *tokenServer {
	ts := &tokenServer{expiresIn: 3600, ewsBody: readFixture(t, "responses/syncfolderitems-all-kinds.xml")}
	ts.Server = httptest.NewTLSServer(http.HandlerFunc(ts.serve))
	t.Cleanup(ts.Close)
	return ts
}

func (ts *tokenServer) serve(w http.ResponseWriter, r *http.Request) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	base := ts.URL + "/" + testTenant
	switch r.URL.Path {
	case "/" + testTenant + "/v2.0/.well-known/openid-configuration":
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{
			"authorization_endpoint": base + "/oauth2/v2.0/authorize",
			"token_endpoint":         base + "/oauth2/v2.0/token",
			"issuer":                 base + "/v2.0",
		})
	case "/" + testTenant + "/oauth2/v2.0/token":
		_ = r.ParseForm()
		ts.forms = append(ts.forms, r.PostForm)
		w.Header().Set("Content-Type", "application/json")
		if ts.reject {
			w.WriteHeader(401)
			_, _ = w.Write([]byte(`{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.","error_codes":[7000215]}`))
			return
		}
		if ts.certKey != nil {
			ts.assertErr = verifyAssertion(r.PostForm.Get("client_assertion"), ts.certKey)
		}
		ts.issued++
		_ = json.NewEncoder(w).Encode(map[string]any{
			"token_type": "Bearer", "expires_in": ts.expiresIn, "ext_expires_in": ts.expiresIn,
			"access_token": fmt.Sprintf("token-%d", ts.issued),
		})
	case "/EWS/Exchange.asmx":
		ts.bearers = append(ts.bearers, r.Header.Get("Authorization"))
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer token-") {
			w.WriteHeader(401)
			return
		}
		_, _ = w.Write(ts.ewsBody)
	default:
		http.NotFound(w, r)
	}
}

// secretAuth authenticates with testSecret against ts.
func (ts *tokenServer) secretAuth(t *testing.T) Authenticator {
	t.Helper()
	a, err := OAuthClientSecret(ts.URL, testTenant, "app-id", testSecret)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func (ts *tokenServer) client(t *testing.T, a Authenticator, trace *Tracer) *Client {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(ts.Certificate())
	c, err := New(Config{URL: ts.URL + "/EWS/Exchange.asmx", Auth: a, RootCAs: pool, Trace: trace, URLGuard: loopbackGuard})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// verifyAssertion checks the client assertion JWT is signed by the
// certificate's key (PS256 or RS256).
func verifyAssertion(jwt string, pub *rsa.PublicKey) error {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return errors.New("client_assertion is not a JWT")
	}
	var hdr struct {
		Alg string `json:"alg"`
	}
	h, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil || json.Unmarshal(h, &hdr) != nil {
		return errors.New("bad JWT header")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	switch hdr.Alg {
	case "PS256":
		return rsa.VerifyPSS(pub, crypto.SHA256, sum[:], sig, nil)
	case "RS256":
		return rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig)
	}
	return fmt.Errorf("unexpected alg %q", hdr.Alg)
}

func TestOAuthClientSecret(t *testing.T) {
	ts := newTokenServer(t)
	a := ts.secretAuth(t)
	traceDir := t.TempDir()
	secretscan.WatchDir(t, secretscan.Traces, traceDir) // the package scan reads the trace files
	tr, err := NewTracer(traceDir)
	if err != nil {
		t.Fatal(err)
	}
	c := ts.client(t, a, tr)
	for range 3 {
		if err := syncInbox(c); err != nil {
			t.Fatal(err)
		}
	}
	if ts.issued != 1 {
		t.Errorf("token endpoint called %d times for 3 calls; the token should be cached", ts.issued)
	}
	f := ts.forms[0]
	if f.Get("grant_type") != "client_credentials" || f.Get("client_id") != "app-id" || f.Get("client_secret") != testSecret ||
		!strings.Contains(f.Get("scope"), DefaultScope) {
		t.Errorf("token request form = %v", f)
	}
	for _, b := range ts.bearers {
		if b != "Bearer token-1" {
			t.Errorf("EWS saw Authorization %q", b)
		}
	}
	assertNoSecretInDir(t, traceDir, testSecret, "token-1")
}

func TestOAuthTokenRefreshedNearExpiry(t *testing.T) {
	ts := newTokenServer(t)
	// MSAL treats a token expiring within 5 minutes as expired, so a
	// 2-minute token is fetched again for every call.
	ts.expiresIn = 120
	c := ts.client(t, ts.secretAuth(t), nil)
	for range 2 {
		if err := syncInbox(c); err != nil {
			t.Fatal(err)
		}
	}
	if ts.issued != 2 {
		t.Errorf("token endpoint called %d times, want 2 (token near expiry must not be reused)", ts.issued)
	}
	if ts.bearers[1] != "Bearer token-2" {
		t.Errorf("second call used %q", ts.bearers[1])
	}
}

func TestOAuthCertificate(t *testing.T) {
	ts := newTokenServer(t)
	certPEM, keyPEM := newTestCert(t)
	block, _ := pem.Decode(certPEM)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	ts.certKey = cert.PublicKey.(*rsa.PublicKey)
	a, err := OAuthCertificate(ts.URL, testTenant, "app-id", certPEM, keyPEM, "https://outlook.office365.com/.default")
	if err != nil {
		t.Fatal(err)
	}
	traceDir := t.TempDir()
	secretscan.WatchDir(t, secretscan.Traces, traceDir) // the package scan reads the trace files
	tr, _ := NewTracer(traceDir)
	c := ts.client(t, a, tr)
	for range 2 {
		if err := syncInbox(c); err != nil {
			t.Fatal(err)
		}
	}
	if ts.issued != 1 {
		t.Errorf("token endpoint called %d times, want 1", ts.issued)
	}
	f := ts.forms[0]
	if f.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" || f.Get("client_secret") != "" {
		t.Errorf("token request form = %v", f)
	}
	if ts.assertErr != nil {
		t.Errorf("client assertion not signed by the certificate's key: %v", ts.assertErr)
	}
	keyBody := strings.Split(string(keyPEM), "\n")[1] // a line of the key's base64
	assertNoSecretInDir(t, traceDir, keyBody, f.Get("client_assertion"))
}

func TestOAuthRejectedIsAuthFailure(t *testing.T) {
	ts := newTokenServer(t)
	ts.reject = true
	a := ts.secretAuth(t)
	traceDir := t.TempDir()
	secretscan.WatchDir(t, secretscan.Traces, traceDir) // the package scan reads the trace files
	tr, _ := NewTracer(traceDir)
	err := syncInbox(ts.client(t, a, tr))
	if Classify(err) != ClassAuth || !errors.Is(err, ErrAuthFailed) {
		t.Fatalf("err = %v, class %s", err, Classify(err))
	}
	if !strings.Contains(err.Error(), "AADSTS7000215") {
		t.Errorf("error should carry Entra's reason: %v", err)
	}
	if strings.Contains(err.Error(), testSecret) {
		t.Errorf("secret in error: %v", err)
	}
	if len(ts.bearers) != 0 {
		t.Errorf("EWS was called without a token")
	}
	assertNoSecretInDir(t, traceDir, testSecret)
}

func TestOAuthTokenEndpointDownIsTransient(t *testing.T) {
	ts := newTokenServer(t)
	c := ts.client(t, ts.secretAuth(t), nil)
	ts.Close()
	err := syncInbox(c)
	if Classify(err) != ClassTransient || strings.Contains(err.Error(), testSecret) {
		t.Fatalf("err = %v, class %s", err, Classify(err))
	}
}

func TestTraceRedactsAndRecords(t *testing.T) {
	srv := newCaptureServer(t, 200, readFixture(t, "responses/syncfolderitems-all-kinds.xml"))
	srv.header.Set("Set-Cookie", "exchangecookie=abc123secretcookie")
	dir := t.TempDir()
	secretscan.WatchDir(t, secretscan.Traces, dir) // the package scan reads the trace files
	tr, err := NewTracer(dir)
	if err != nil {
		t.Fatal(err)
	}
	// A caller-supplied transport (the client wraps a clone of it with
	// Auth): the trace must still not show the Authorization header.
	hc := &http.Client{Transport: &http.Transport{}}
	c := newTestClient(t, srv.URL, func(c *Config) { c.Trace = tr; c.HTTPClient = hc; c.Auth = BasicAuth("svc", testPassword) })
	if err := syncInbox(c); err != nil {
		t.Fatal(err)
	}
	for _, suffix := range []string{".request.xml", ".response.xml", ".meta.txt"} {
		b, err := os.ReadFile(filepath.Join(dir, "000001-SyncFolderItems"+suffix))
		if err != nil {
			t.Fatal(err)
		}
		if len(b) == 0 {
			t.Errorf("%s is empty", suffix)
		}
	}
	meta, _ := os.ReadFile(filepath.Join(dir, "000001-SyncFolderItems.meta.txt"))
	if strings.Contains(string(meta), "error:") {
		t.Errorf("a successful call is traced with an error line:\n%s", meta)
	}
	if !strings.Contains(string(meta), "Set-Cookie: [REDACTED]") || !strings.Contains(string(meta), "X-Anchormailbox: anna@contoso.com") || !strings.Contains(string(meta), "status: 200") {
		t.Errorf("meta:\n%s", meta)
	}
	// The saved response decodes with the same decoder ewsctl uses.
	resp, _ := os.ReadFile(filepath.Join(dir, "000001-SyncFolderItems.response.xml"))
	if d, err := DecodeResponse(resp); err != nil || len(d.Changes) != 6 {
		t.Errorf("trace response does not decode: %v", err)
	}
	assertNoSecretInDir(t, dir, testPassword, "abc123secretcookie", base64.StdEncoding.EncodeToString([]byte("svc:"+testPassword)))
	// A second tracer on the same directory continues the numbering.
	tr2, _ := NewTracer(dir)
	c2 := newTestClient(t, srv.URL, func(c *Config) { c.Trace = tr2 })
	_ = syncInbox(c2)
	if _, err := os.Stat(filepath.Join(dir, "000002-SyncFolderItems.meta.txt")); err != nil {
		t.Errorf("second tracer overwrote or misnumbered: %v", err)
	}
}

func TestWriteHeadersRedacts(t *testing.T) {
	var b bytes.Buffer
	writeHeaders(&b, "h", http.Header{"Authorization": {"Basic c3ZjOnB3"}, "Proxy-Authorization": {"Bearer abc"}, "X-Other": {"ok"}})
	out := b.String()
	if strings.Contains(out, "c3ZjOnB3") || strings.Contains(out, "abc") || !strings.Contains(out, "X-Other: ok") {
		t.Errorf("headers:\n%s", out)
	}
}

func assertNoSecretInDir(t *testing.T, dir string, secrets ...string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no trace files in %s (%v): nothing to check for secrets", dir, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range secrets {
			if s != "" && bytes.Contains(b, []byte(s)) {
				t.Errorf("%s contains a secret (%.12q...)", filepath.Base(f), s)
			}
		}
	}
}

// newTestCert makes a self-signed RSA certificate and its PKCS#8 key.
func newTestCert(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mailbridge-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk})
}

func TestOAuthConcurrentCalls(t *testing.T) {
	ts := newTokenServer(t)
	c := ts.client(t, ts.secretAuth(t), nil)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() { errs <- syncInbox(c) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	ts.mu.Lock()
	first := ts.issued
	ts.mu.Unlock()
	// Concurrent first calls may each fetch a token; after that the cache
	// serves everyone.
	if err := syncInbox(c); err != nil {
		t.Fatal(err)
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.issued != first || first < 1 || first > 8 {
		t.Errorf("tokens issued: %d during the burst, %d after one more call", first, ts.issued)
	}
}
