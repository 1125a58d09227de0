package ews

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"

	"github.com/mailbridge/mailbridge/shared/platform/redact"
)

// Authenticator adds credentials to requests. Implementations must keep
// secrets out of String() and out of every error they return.
type Authenticator interface {
	// RoundTripper wraps base (the client's TLS-verifying transport) so
	// every request sent through it is authenticated. Authenticators that
	// fetch tokens reach the token endpoint through base too.
	RoundTripper(base http.RoundTripper) http.RoundTripper
	// String names the method and the account, never the secret.
	String() string
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// --- Basic ------------------------------------------------------------------

type basicAuth struct{ user, pass string }

// BasicAuth sends HTTP Basic credentials (Exchange on-premises only;
// Exchange Online turned Basic off in 2022).
func BasicAuth(user, pass string) Authenticator { return &basicAuth{user: user, pass: pass} }

func (a *basicAuth) String() string             { return "basic(" + a.user + ")" }
func (a *basicAuth) GoString() string           { return a.String() }
func (a *basicAuth) redactor() *redact.Redactor { return redact.New([]string{a.pass}, a.user) }
func (a *basicAuth) RoundTripper(base http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		r = r.Clone(r.Context())
		r.SetBasicAuth(a.user, a.pass)
		return base.RoundTrip(r)
	})
}

// --- OAuth 2.0 app-only (Entra ID) -----------------------------------------

// DefaultAuthority is Entra ID's public cloud.
const DefaultAuthority = "https://login.microsoftonline.com"

// DefaultScope is the Exchange Online EWS scope for app-only tokens.
const DefaultScope = "https://outlook.office365.com/.default"

type oauthAuth struct {
	kind      string // "oauth-secret" or "oauth-cert"
	authority string // including the tenant
	clientID  string
	cred      confidential.Credential
	scopes    []string
	discovery bool
	red       *redact.Redactor // the secrets, and the tokens obtained with them

	mu  sync.Mutex
	cca *confidential.Client // built on first RoundTripper call
}

// OAuthClientSecret authenticates as an Entra app with a client secret
// (client credentials grant). authority defaults to DefaultAuthority and
// scopes to DefaultScope. Tokens are cached by MSAL and reused until
// shortly before they expire.
func OAuthClientSecret(authority, tenant, clientID, secret string, scopes ...string) (Authenticator, error) {
	if secret == "" {
		return nil, errors.New("ews: OAuth client secret is empty")
	}
	cred, err := confidential.NewCredFromSecret(secret)
	if err != nil {
		return nil, errors.New("ews: OAuth client secret rejected by MSAL")
	}
	return newOAuth("oauth-secret", authority, tenant, clientID, cred, []string{secret}, scopes)
}

// OAuthCertificate authenticates as an Entra app with a certificate
// credential. certPEM holds the certificate (chain), keyPEM its private
// key (PKCS#1 or PKCS#8, unencrypted).
func OAuthCertificate(authority, tenant, clientID string, certPEM, keyPEM []byte, scopes ...string) (Authenticator, error) {
	pemData := append(append([]byte{}, certPEM...), '\n')
	pemData = append(pemData, keyPEM...)
	certs, key, err := confidential.CertFromPEM(pemData, "")
	if err != nil || len(certs) == 0 || key == nil {
		// MSAL's message can quote the PEM; keep it out.
		return nil, errors.New("ews: OAuth certificate: need a PEM certificate and an unencrypted PEM private key")
	}
	cred, err := confidential.NewCredFromCert(certs, key)
	if err != nil {
		return nil, errors.New("ews: OAuth certificate: MSAL rejected the certificate/key pair")
	}
	return newOAuth("oauth-cert", authority, tenant, clientID, cred, []string{string(keyPEM)}, scopes)
}

func newOAuth(kind, authority, tenant, clientID string, cred confidential.Credential, secrets, scopes []string) (*oauthAuth, error) {
	if authority == "" {
		authority = DefaultAuthority
	}
	u, err := url.Parse(authority)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
		return nil, fmt.Errorf("ews: OAuth authority %q must be an https URL", authority)
	}
	if clientID == "" {
		return nil, errors.New("ews: OAuth client id is empty")
	}
	full := strings.TrimRight(u.String(), "/")
	if tenant != "" {
		if strings.ContainsAny(tenant, "/?#@ ") {
			return nil, fmt.Errorf("ews: OAuth tenant %q is not a tenant id or domain", tenant)
		}
		full += "/" + tenant
	}
	if len(scopes) == 0 {
		scopes = []string{DefaultScope}
	}
	a := &oauthAuth{
		kind: kind, authority: full, clientID: clientID, cred: cred, scopes: scopes,
		red: redact.New(secrets, clientID),
		// Instance discovery asks Microsoft about the authority; a custom
		// authority (a test token endpoint, a sovereign cloud proxy) must
		// be used as given.
		discovery: u.Host == "login.microsoftonline.com",
	}
	// Build once now so a bad authority fails here, not on the first call.
	if _, err := a.client(http.DefaultTransport); err != nil {
		return nil, err
	}
	a.cca = nil
	return a, nil
}

func (a *oauthAuth) String() string             { return a.kind + "(" + a.clientID + ")" }
func (a *oauthAuth) GoString() string           { return a.String() }
func (a *oauthAuth) redactor() *redact.Redactor { return a.red }

func (a *oauthAuth) client(base http.RoundTripper) (*confidential.Client, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cca != nil {
		return a.cca, nil
	}
	cca, err := confidential.New(a.authority, a.clientID, a.cred,
		confidential.WithHTTPClient(&http.Client{Transport: base, Timeout: 30 * time.Second}),
		confidential.WithInstanceDiscovery(a.discovery))
	if err != nil {
		return nil, fmt.Errorf("ews: OAuth authority %q: %s", a.authority, a.red.String(err.Error()))
	}
	a.cca = &cca
	return a.cca, nil
}

// RoundTripper gets a token (from MSAL's cache while it is valid) and
// sends it as a Bearer token. One Authenticator should back one Client:
// the token cache lives with the first transport it was given.
func (a *oauthAuth) RoundTripper(base http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		cca, err := a.client(base)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrAuthFailed, err)
		}
		tok, err := a.token(r.Context(), cca)
		if err != nil {
			return nil, err
		}
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", "Bearer "+tok)
		return base.RoundTrip(r)
	})
}

func (a *oauthAuth) token(ctx context.Context, cca *confidential.Client) (string, error) {
	res, err := cca.AcquireTokenByCredential(ctx, a.scopes)
	if err == nil {
		// A proxy or server may echo the token back in an error.
		a.red.Learn(res.AccessToken)
		return res.AccessToken, nil
	}
	// MSAL's text spans lines and quotes the token endpoint's JSON answer
	// (no secrets there, but scrub anyway); keep it to one line.
	msg := a.red.Clean(err.Error(), 400)
	var ce msalerrors.CallErr
	if errors.As(err, &ce) && ce.Resp != nil && ce.Resp.StatusCode >= 400 && ce.Resp.StatusCode < 500 {
		// The token endpoint said no: wrong secret, app, tenant or scope.
		return "", fmt.Errorf("%w: token endpoint refused the %s credentials: %s", ErrAuthFailed, a.kind, msg)
	}
	// Unreachable or failing token endpoint: worth retrying later.
	return "", &tokenUnavailableError{msg: "token endpoint unavailable: " + msg, cause: err}
}

// tokenUnavailableError is a token fetch that failed for reasons other
// than the credentials; Classify treats it as transient.
type tokenUnavailableError struct {
	msg   string
	cause error
}

func (e *tokenUnavailableError) Error() string { return e.msg }
func (e *tokenUnavailableError) Unwrap() error { return e.cause }
