package graph

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/platform/redact"
)

const (
	testSecret = "s3cr3t~Client.Secret_Value-0123456789"
	testTenant = "contoso-tenant"
)

// tokenServer is an Entra-like authority over TLS (MSAL insists on https):
// OpenID metadata and a token endpoint. With echo set it answers errors
// quoting the secret back, as a hostile or buggy endpoint might.
type tokenServer struct {
	*httptest.Server
	mu     sync.Mutex
	forms  []url.Values
	issued int
	reject bool
	fail   bool
}

func newTokenServer(t *testing.T) *tokenServer {
	ts := &tokenServer{}
	ts.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ts.mu.Lock()
		defer ts.mu.Unlock()
		base := ts.URL + "/" + testTenant
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/" + testTenant + "/v2.0/.well-known/openid-configuration":
			_ = json.NewEncoder(w).Encode(map[string]string{
				"authorization_endpoint": base + "/oauth2/v2.0/authorize",
				"token_endpoint":         base + "/oauth2/v2.0/token",
				"issuer":                 base + "/v2.0",
			})
		case "/" + testTenant + "/oauth2/v2.0/token":
			_ = r.ParseForm()
			ts.forms = append(ts.forms, r.PostForm)
			switch {
			case ts.reject:
				w.WriteHeader(401)
				fmt.Fprintf(w, `{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided: %s / %s","error_codes":[7000215]}`,
					r.PostForm.Get("client_secret"), base64.StdEncoding.EncodeToString([]byte(r.PostForm.Get("client_secret"))))
				return
			case ts.fail:
				w.WriteHeader(503)
				return
			}
			ts.issued++
			_ = json.NewEncoder(w).Encode(map[string]any{
				"token_type": "Bearer", "expires_in": 3600, "ext_expires_in": 3600,
				"access_token": fmt.Sprintf("graph-token-%d-abcdefgh", ts.issued),
			})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(ts.Close)
	return ts
}

func (ts *tokenServer) config() OAuthConfig {
	return OAuthConfig{Authority: ts.URL, Tenant: testTenant, ClientID: "app-id", Transport: ts.Client().Transport}
}

// graphEcho is a Graph stand-in that answers 401 quoting the Authorization
// header it got, to prove the client scrubs bearer values from errors.
func graphEcho(t *testing.T, status int) (*httptest.Server, *[]string) {
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Authorization"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"error":{"code":"InvalidAuthenticationToken","message":"Token rejected: %s"}}`, r.Header.Get("Authorization"))
	}))
	t.Cleanup(srv.Close)
	return srv, &seen
}

func TestOAuthClientSecret(t *testing.T) {
	ts := newTokenServer(t)
	a, err := OAuthClientSecret(ts.config(), testSecret)
	if err != nil {
		t.Fatal(err)
	}
	srv, seen := graphEcho(t, 401)
	c := newTestClient(t, srv.Client().Transport, func(c *Config) { c.BaseURL = srv.URL + "/v1.0"; c.Auth = a })
	for range 2 {
		err := c.ProbeMailbox(bg, "u")
		if Classify(err) != ClassAuth {
			t.Fatalf("err = %v, class %s", err, Classify(err))
		}
		assertNoSecret(t, err.Error(), testSecret, "graph-token-1-abcdefgh")
	}
	if ts.issued != 1 {
		t.Errorf("token endpoint called %d times for 2 calls; MSAL should cache", ts.issued)
	}
	f := ts.forms[0]
	if f.Get("grant_type") != "client_credentials" || f.Get("client_id") != "app-id" || f.Get("client_secret") != testSecret ||
		!strings.Contains(f.Get("scope"), DefaultScope) {
		t.Errorf("token request form = %v", f)
	}
	if (*seen)[0] != "Bearer graph-token-1-abcdefgh" {
		t.Errorf("Graph saw %q", (*seen)[0])
	}
	assertNoSecret(t, a.String()+fmt.Sprintf("%v %#v %+v", a, a, a), testSecret)
}

func TestOAuthCertificate(t *testing.T) {
	ts := newTokenServer(t)
	certPEM, keyPEM := newTestCert(t)
	a, err := OAuthCertificate(ts.config(), certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := a.Token(bg)
	if err != nil || tok != "graph-token-1-abcdefgh" {
		t.Fatalf("token %q, %v", tok, err)
	}
	f := ts.forms[0]
	if f.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" || f.Get("client_assertion") == "" || f.Get("client_secret") != "" {
		t.Errorf("token request form = %v", f)
	}
	if _, err := OAuthCertificate(ts.config(), certPEM, []byte("not a key")); err == nil || strings.Contains(err.Error(), "not a key") {
		t.Errorf("bad key: %v", err)
	}
}

func TestOAuthFailures(t *testing.T) {
	tests := []struct {
		name  string
		setup func(*tokenServer)
		class Class
	}{
		{"secret rejected, echoed back by the endpoint", func(ts *tokenServer) { ts.reject = true }, ClassAuth},
		{"token endpoint down", func(ts *tokenServer) { ts.fail = true }, ClassTransient},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTokenServer(t)
			tc.setup(ts)
			a, err := OAuthClientSecret(ts.config(), testSecret)
			if err != nil {
				t.Fatal(err)
			}
			rec := &recorder{}
			c := newTestClient(t, rec, func(c *Config) { c.Auth = a })
			err = c.ProbeMailbox(bg, "u")
			if Classify(err) != tc.class {
				t.Fatalf("err = %v, class %s", err, Classify(err))
			}
			assertNoSecret(t, err.Error(), testSecret)
			if len(rec.reqs) != 0 {
				t.Error("a request went to Graph without a token")
			}
		})
	}
}

// TestNoSecretInErrors: transport errors that quote the secret or the
// bearer value (raw or base64) are scrubbed.
func TestNoSecretInErrors(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString([]byte(testToken))
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return nil, fmt.Errorf("proxy refused %s (%s) %s", r.Header.Get("Authorization"), b64, r.URL)
	})
	c := newTestClient(t, rt)
	err := c.ProbeMailbox(bg, "u")
	if err == nil {
		t.Fatal("no error")
	}
	assertNoSecret(t, err.Error(), testToken)
	if !strings.Contains(err.Error(), "[REDACTED]") {
		t.Errorf("err = %v", err)
	}
	// A 200 HTML body that echoes the token.
	rec := &recorder{answers: []canned{answer(200, []byte("token "+testToken+" rejected"), "Content-Type", "text/plain")}}
	c = newTestClient(t, rec)
	err = c.ProbeMailbox(bg, "u")
	assertNoSecret(t, err.Error(), testToken)
}

func assertNoSecret(t *testing.T, s string, secrets ...string) {
	t.Helper()
	for _, sec := range secrets {
		for _, form := range redact.Forms(sec) {
			if strings.Contains(s, form) {
				t.Errorf("text contains a secret form %.10q...: %s", form, s)
			}
		}
	}
}

func newTestCert(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mailbridge-graph-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk})
}
