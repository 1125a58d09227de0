package graph

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"

	"github.com/mailbridge/mailbridge/shared/platform/redact"
)

// DefaultAuthority is Entra ID's public cloud.
const DefaultAuthority = "https://login.microsoftonline.com"

// DefaultScope is the app-only scope for Microsoft Graph.
const DefaultScope = "https://graph.microsoft.com/.default"

// Authenticator supplies bearer tokens. Implementations keep secrets out of
// String() and out of every error they return.
type Authenticator interface {
	// Token returns an access token for Graph, from a cache while valid.
	Token(ctx context.Context) (string, error)
	// String names the method and the app, never the secret.
	String() string
}

// OAuthConfig names the Entra app and where to get its tokens.
type OAuthConfig struct {
	// Authority is the Entra endpoint without the tenant; default
	// DefaultAuthority. National clouds and the simulator override it.
	Authority string
	Tenant    string // tenant id or domain
	ClientID  string
	Scopes    []string // default DefaultScope
	// Transport reaches the token endpoint; default http.DefaultTransport.
	Transport http.RoundTripper
}

type oauthAuth struct {
	kind     string // "oauth-secret" or "oauth-cert"
	clientID string
	scopes   []string
	red      *redact.Redactor
	cca      confidential.Client
}

// OAuthClientSecret authenticates as an Entra app with a client secret
// (client credentials grant).
func OAuthClientSecret(cfg OAuthConfig, secret string) (Authenticator, error) {
	if secret == "" {
		return nil, errors.New("graph: OAuth client secret is empty")
	}
	cred, err := confidential.NewCredFromSecret(secret)
	if err != nil {
		return nil, errors.New("graph: OAuth client secret rejected by MSAL")
	}
	return newOAuth("oauth-secret", cfg, cred, []string{secret})
}

// OAuthCertificate authenticates as an Entra app with a certificate
// credential. certPEM holds the certificate (chain), keyPEM its private
// key (PKCS#1 or PKCS#8, unencrypted).
func OAuthCertificate(cfg OAuthConfig, certPEM, keyPEM []byte) (Authenticator, error) {
	pemData := append(append([]byte{}, certPEM...), '\n')
	pemData = append(pemData, keyPEM...)
	certs, key, err := confidential.CertFromPEM(pemData, "")
	if err != nil || len(certs) == 0 || key == nil {
		// MSAL's message can quote the PEM; keep it out.
		return nil, errors.New("graph: OAuth certificate: need a PEM certificate and an unencrypted PEM private key")
	}
	cred, err := confidential.NewCredFromCert(certs, key)
	if err != nil {
		return nil, errors.New("graph: OAuth certificate: MSAL rejected the certificate/key pair")
	}
	return newOAuth("oauth-cert", cfg, cred, []string{string(keyPEM)})
}

func newOAuth(kind string, cfg OAuthConfig, cred confidential.Credential, secrets []string) (*oauthAuth, error) {
	authority := cfg.Authority
	if authority == "" {
		authority = DefaultAuthority
	}
	u, err := url.Parse(authority)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
		return nil, fmt.Errorf("graph: OAuth authority %q must be an https URL", authority)
	}
	if cfg.ClientID == "" {
		return nil, errors.New("graph: OAuth client id is empty")
	}
	if cfg.Tenant == "" || strings.ContainsAny(cfg.Tenant, "/?#@% ") {
		return nil, fmt.Errorf("graph: OAuth tenant %q is not a tenant id or domain", cfg.Tenant)
	}
	full := strings.TrimRight(u.String(), "/") + "/" + cfg.Tenant
	scopes := cfg.Scopes
	if len(scopes) == 0 {
		scopes = []string{DefaultScope}
	}
	rt := cfg.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	red := redact.New(secrets, cfg.ClientID)
	cca, err := confidential.New(full, cfg.ClientID, cred,
		confidential.WithHTTPClient(&http.Client{Transport: rt, Timeout: 30 * time.Second}),
		// Instance discovery asks Microsoft about the authority; a national
		// cloud's or the simulator's authority is used as given.
		confidential.WithInstanceDiscovery(u.Host == "login.microsoftonline.com"))
	if err != nil {
		return nil, fmt.Errorf("graph: OAuth authority %q: %s", full, red.String(err.Error()))
	}
	return &oauthAuth{kind: kind, clientID: cfg.ClientID, scopes: scopes, red: red, cca: cca}, nil
}

func (a *oauthAuth) String() string             { return a.kind + "(" + a.clientID + ")" }
func (a *oauthAuth) GoString() string           { return a.String() }
func (a *oauthAuth) redactor() *redact.Redactor { return a.red }

func (a *oauthAuth) Token(ctx context.Context) (string, error) {
	res, err := a.cca.AcquireTokenByCredential(ctx, a.scopes)
	if err == nil {
		return res.AccessToken, nil
	}
	// MSAL's text spans lines and quotes the token endpoint's JSON answer
	// (no secrets there, but scrub anyway).
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

type staticToken struct{ tok string }

// StaticToken always supplies tok: for tests, the simulator and tools that
// got a token elsewhere.
func StaticToken(tok string) Authenticator { return &staticToken{tok: tok} }

func (s *staticToken) Token(context.Context) (string, error) {
	if s.tok == "" {
		return "", fmt.Errorf("%w: empty static token", ErrAuthFailed)
	}
	return s.tok, nil
}
func (s *staticToken) String() string             { return "static-token" }
func (s *staticToken) GoString() string           { return s.String() }
func (s *staticToken) redactor() *redact.Redactor { return redact.New([]string{s.tok}) }
