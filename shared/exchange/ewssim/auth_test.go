package ewssim_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	ntlmssp "github.com/Azure/go-ntlmssp"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"

	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
)

const (
	tenant   = "contoso-tenant"
	clientID = "6f3c1b2a-8d4e-4f10-9a7b-0c1d2e3f4a5b"
	secret   = "app-secret-value"
)

// newCert makes an RSA key and a self-signed certificate, as an admin
// would upload to the app registration.
func newCert(t *testing.T) (*x509.Certificate, *rsa.PrivateKey, string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	must(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mailbridge-app"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	must(t, err)
	cert, err := x509.ParseCertificate(der)
	must(t, err)
	return cert, key, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// oauthEnv is a TLS simulator with an app registration (secret and cert).
type oauthEnv struct {
	sim  *ewssim.Sim
	srv  *ewssim.Server
	cert *x509.Certificate
	key  *rsa.PrivateKey
}

func newOAuthEnv(t *testing.T) *oauthEnv {
	t.Helper()
	sim := ewssim.New(ewssim.Options{})
	must(t, sim.AddMailbox("alice@contoso.com", "Alice"))
	cert, key, certPEM := newCert(t)
	must(t, sim.AddAccount(ewssim.Account{Tenant: tenant, ClientID: clientID, ClientSecret: secret, CertPEM: certPEM,
		ImpersonationScope: []string{"alice@contoso.com"}}))
	srv, err := sim.Start(true)
	must(t, err)
	t.Cleanup(func() { srv.Close() })
	return &oauthEnv{sim: sim, srv: srv, cert: cert, key: key}
}

// ewsWithToken calls GetFolder on alice's inbox (impersonated) with a token.
func (e *oauthEnv) ewsWithToken(t *testing.T, token string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.srv.EWSURL, strings.NewReader(envelope(impersonate("alice@contoso.com"),
		`<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds>`+dist("inbox", "")+`</m:FolderIds></m:GetFolder>`)))
	must(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := e.srv.Client().Do(req)
	must(t, err)
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

func (e *oauthEnv) msal(t *testing.T, cred confidential.Credential) (string, error) {
	t.Helper()
	app, err := confidential.New(e.srv.Authority(tenant), clientID, cred,
		confidential.WithHTTPClient(e.srv.Client()), confidential.WithInstanceDiscovery(false))
	must(t, err)
	res, err := app.AcquireTokenByCredential(context.Background(), []string{ewssim.DefaultScope})
	return res.AccessToken, err
}

func TestMSALGetsATokenThatEWSAccepts(t *testing.T) {
	env := newOAuthEnv(t)
	otherCert, otherKey, _ := newCert(t)
	secretCred, err := confidential.NewCredFromSecret(secret)
	must(t, err)
	wrongSecret, err := confidential.NewCredFromSecret("not-the-secret")
	must(t, err)
	certCred, err := confidential.NewCredFromCert([]*x509.Certificate{env.cert}, env.key)
	must(t, err)
	wrongKey, err := confidential.NewCredFromCert([]*x509.Certificate{otherCert}, otherKey)
	must(t, err)
	tests := []struct {
		name   string
		cred   confidential.Credential
		wantOK bool
	}{
		{"client secret", secretCred, true},
		{"wrong client secret", wrongSecret, false},
		{"certificate (PS256 assertion)", certCred, true},
		{"unregistered certificate", wrongKey, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := env.msal(t, tc.cred)
			if !tc.wantOK {
				if err == nil {
					t.Fatal("MSAL got a token with bad credentials")
				}
				return
			}
			must(t, err)
			if got := env.ewsWithToken(t, tok); got != http.StatusOK {
				t.Fatalf("EWS answered %d to the issued token", got)
			}
		})
	}
	if got := env.ewsWithToken(t, "forged-token"); got != http.StatusUnauthorized {
		t.Errorf("EWS answered %d to an unknown bearer token, want 401", got)
	}
}

// assertion builds a client_assertion like MSAL's, with RS256 or PS256.
func assertion(t *testing.T, key *rsa.PrivateKey, alg string, claims map[string]any) string {
	t.Helper()
	hdr, _ := json.Marshal(map[string]any{"alg": alg, "typ": "JWT"})
	body, _ := json.Marshal(claims)
	signing := base64.RawURLEncoding.EncodeToString(hdr) + "." + base64.RawURLEncoding.EncodeToString(body)
	digest := sha256.Sum256([]byte(signing))
	var sig []byte
	var err error
	if alg == "PS256" {
		sig, err = rsa.SignPSS(rand.Reader, key, crypto.SHA256, digest[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	} else {
		sig, err = rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	}
	must(t, err)
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func TestTokenEndpointChecksTheClientAssertion(t *testing.T) {
	env := newOAuthEnv(t)
	tokenURL := env.srv.Authority(tenant) + "/oauth2/v2.0/token"
	now := time.Now()
	good := func() map[string]any {
		return map[string]any{"aud": tokenURL, "iss": clientID, "sub": clientID, "exp": now.Add(5 * time.Minute).Unix(), "nbf": now.Unix(), "jti": "1"}
	}
	with := func(k string, v any) map[string]any { c := good(); c[k] = v; return c }
	tests := []struct {
		name      string
		alg       string
		claims    map[string]any
		form      func(url.Values)
		wantError string // "" = token issued
	}{
		{"RS256", "RS256", good(), nil, ""},
		{"PS256", "PS256", good(), nil, ""},
		{"wrong audience", "RS256", with("aud", "https://login.microsoftonline.com/x/oauth2/v2.0/token"), nil, "invalid_client"},
		{"wrong issuer", "RS256", with("iss", "someone-else"), nil, "invalid_client"},
		{"expired", "RS256", with("exp", now.Add(-time.Hour).Unix()), nil, "invalid_client"},
		{"not yet valid", "RS256", with("nbf", now.Add(time.Hour).Unix()), nil, "invalid_client"},
		{"HS256 is refused", "HS256", good(), nil, "invalid_client"},
		{"unknown client", "RS256", good(), func(v url.Values) { v.Set("client_id", "nope") }, "unauthorized_client"},
		{"wrong tenant path", "RS256", good(), func(v url.Values) { v.Set("tenant-path", "other") }, "unauthorized_client"},
		{"scope without /.default", "RS256", good(), func(v url.Values) { v.Set("scope", "EWS.AccessAsUser.All") }, "invalid_scope"},
		{"password grant", "RS256", good(), func(v url.Values) { v.Set("grant_type", "password") }, "unsupported_grant_type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			form := url.Values{
				"grant_type":            {"client_credentials"},
				"client_id":             {clientID},
				"scope":                 {ewssim.DefaultScope},
				"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
				"client_assertion":      {assertion(t, env.key, tc.alg, tc.claims)},
			}
			target := tokenURL
			if tc.form != nil {
				tc.form(form)
			}
			if p := form.Get("tenant-path"); p != "" {
				target = env.srv.Authority(p) + "/oauth2/v2.0/token"
				form.Del("tenant-path")
			}
			resp, err := env.srv.Client().PostForm(target, form)
			must(t, err)
			defer resp.Body.Close()
			var out struct {
				AccessToken string `json:"access_token"`
				Error       string `json:"error"`
				Description string `json:"error_description"`
			}
			must(t, json.NewDecoder(resp.Body).Decode(&out))
			if tc.wantError == "" {
				if out.AccessToken == "" {
					t.Fatalf("no token: %s %s", out.Error, out.Description)
				}
				if got := env.ewsWithToken(t, out.AccessToken); got != http.StatusOK {
					t.Fatalf("EWS answered %d", got)
				}
				return
			}
			if out.Error != tc.wantError || out.AccessToken != "" {
				t.Fatalf("got error %q (%s), want %q", out.Error, out.Description, tc.wantError)
			}
			if !strings.HasPrefix(out.Description, "AADSTS") {
				t.Errorf("description %q is not AADSTS-shaped", out.Description)
			}
		})
	}
}

func TestTokensExpire(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	sim := ewssim.New(ewssim.Options{Clock: clock, TokenLifetime: time.Hour})
	must(t, sim.AddMailbox("alice@contoso.com", "Alice"))
	must(t, sim.AddAccount(ewssim.Account{ClientID: clientID, ClientSecret: secret, ImpersonateAll: true}))
	srv, err := sim.Start(false)
	must(t, err)
	defer srv.Close()
	env := &oauthEnv{sim: sim, srv: srv}
	resp, err := srv.Client().PostForm(srv.Authority(tenant)+"/oauth2/v2.0/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret}, "scope": {ewssim.DefaultScope}})
	must(t, err)
	var out struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	must(t, json.NewDecoder(resp.Body).Decode(&out))
	resp.Body.Close()
	if out.ExpiresIn != 3600 {
		t.Errorf("expires_in = %d, want 3600", out.ExpiresIn)
	}
	if got := env.ewsWithToken(t, out.AccessToken); got != http.StatusOK {
		t.Fatalf("fresh token: status %d", got)
	}
	clock.advance(time.Hour)
	if got := env.ewsWithToken(t, out.AccessToken); got != http.StatusUnauthorized {
		t.Fatalf("expired token: status %d, want 401", got)
	}
}

type fakeClock struct{ t time.Time }

func (c *fakeClock) Now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func TestBasicAuth(t *testing.T) {
	env := newEnv(t, ewssim.Options{}, "alice@contoso.com")
	body := `<m:ResolveNames><m:UnresolvedEntry>alice</m:UnresolvedEntry></m:ResolveNames>`
	tests := []struct {
		name, user, pass string
		want             int
	}{
		{"right password", svcUser, svcPass, http.StatusOK},
		{"username is case-insensitive", strings.ToUpper(svcUser), svcPass, http.StatusOK},
		{"wrong password", svcUser, "guess", http.StatusUnauthorized},
		{"unknown user", "eve@contoso.com", svcPass, http.StatusUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got, _ := env.callAs(t, tc.user, tc.pass, "", body); got != tc.want {
				t.Fatalf("status %d, want %d", got, tc.want)
			}
		})
	}
	resp, err := env.srv.Client().Post(env.srv.URL+ewssim.EWSPath, "text/xml", strings.NewReader(envelope("", body)))
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || len(resp.Header.Values("WWW-Authenticate")) == 0 {
		t.Fatalf("no credentials: status %d, WWW-Authenticate %v", resp.StatusCode, resp.Header.Values("WWW-Authenticate"))
	}
}

func TestNTLMHandshakeVerifiesThePassword(t *testing.T) {
	sim := ewssim.New(ewssim.Options{})
	must(t, sim.AddMailbox("alice@contoso.com", "Alice"))
	must(t, sim.AddAccount(ewssim.Account{Username: `CONTOSO\svc-sync`, Password: "ntlm-pass", ImpersonateAll: true}))
	must(t, sim.AddAccount(ewssim.Account{Username: "upn-svc@contoso.com", Password: "upn-pass", ImpersonateAll: true}))
	srv, err := sim.Start(true)
	must(t, err)
	defer srv.Close()
	tests := []struct {
		name, user, pass string
		want             int
	}{
		{"domain user", `CONTOSO\svc-sync`, "ntlm-pass", http.StatusOK},
		{"domain is case-insensitive", `contoso\SVC-SYNC`, "ntlm-pass", http.StatusOK},
		{"UPN", "upn-svc@contoso.com", "upn-pass", http.StatusOK},
		{"wrong password", `CONTOSO\svc-sync`, "wrong", http.StatusUnauthorized},
		{"unknown user", `CONTOSO\eve`, "ntlm-pass", http.StatusUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			base := srv.Client()
			client := &http.Client{Transport: ntlmssp.Negotiator{RoundTripper: base.Transport}, Timeout: base.Timeout}
			for i := range 2 { // the second call reuses the authenticated connection
				req, err := http.NewRequest(http.MethodPost, srv.EWSURL, strings.NewReader(envelope(impersonate("alice@contoso.com"),
					`<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds>`+dist("inbox", "")+`</m:FolderIds></m:GetFolder>`)))
				must(t, err)
				req.SetBasicAuth(tc.user, tc.pass) // the Negotiator turns these into NTLM
				resp, err := client.Do(req)
				must(t, err)
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != tc.want {
					t.Fatalf("call %d: status %d, want %d", i+1, resp.StatusCode, tc.want)
				}
			}
		})
	}
	if st := sim.Stats(); st.AuthFailures < 2 {
		t.Errorf("AuthFailures = %d, want the two bad logins counted", st.AuthFailures)
	}
}

// TestNTLMAuthenticatesTheConnection runs the handshake by hand over one
// kept-alive connection: after it, the same connection needs no
// credentials, a new connection does, and a wrong password is refused.
func TestNTLMAuthenticatesTheConnection(t *testing.T) {
	sim := ewssim.New(ewssim.Options{})
	must(t, sim.AddMailbox("alice@contoso.com", "Alice"))
	must(t, sim.AddAccount(ewssim.Account{Username: `CONTOSO\svc`, Password: "pw", ImpersonateAll: true}))
	srv, err := sim.Start(false)
	must(t, err)
	defer srv.Close()
	body := envelope(impersonate("alice@contoso.com"), `<m:ResolveNames><m:UnresolvedEntry>alice</m:UnresolvedEntry></m:ResolveNames>`)
	post := func(c *http.Client, authz string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, srv.EWSURL, strings.NewReader(body))
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		resp, err := c.Do(req)
		must(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	handshake := func(c *http.Client, password string) int {
		neg, err := ntlmssp.NewNegotiateMessage("", "")
		must(t, err)
		resp := post(c, "NTLM "+base64.StdEncoding.EncodeToString(neg))
		challenge, ok := strings.CutPrefix(resp.Header.Get("WWW-Authenticate"), "NTLM ")
		if resp.StatusCode != http.StatusUnauthorized || !ok {
			t.Fatalf("negotiate: status %d, WWW-Authenticate %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
		raw, err := base64.StdEncoding.DecodeString(challenge)
		must(t, err)
		auth, err := ntlmssp.NewAuthenticateMessage(raw, `CONTOSO\svc`, password, nil)
		must(t, err)
		return post(c, "NTLM "+base64.StdEncoding.EncodeToString(auth)).StatusCode
	}
	oneConn := func() *http.Client {
		c := srv.Client()
		c.Transport.(*http.Transport).MaxConnsPerHost = 1
		return c
	}

	c := oneConn()
	if got := handshake(c, "pw"); got != http.StatusOK {
		t.Fatalf("handshake: status %d", got)
	}
	if got := post(c, "").StatusCode; got != http.StatusOK {
		t.Fatalf("same connection without credentials: status %d, want 200", got)
	}
	if got := post(oneConn(), "").StatusCode; got != http.StatusUnauthorized {
		t.Fatalf("a new connection without credentials: status %d, want 401", got)
	}
	bad := oneConn()
	if got := handshake(bad, "wrong"); got != http.StatusUnauthorized {
		t.Fatalf("wrong password: status %d, want 401", got)
	}
	if got := post(bad, "").StatusCode; got != http.StatusUnauthorized {
		t.Fatalf("after a failed handshake: status %d, want 401", got)
	}
}
