package ewssim

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// The simulator is also an Entra-like authority, so MSAL's app-only flow
// (client secret or certificate assertion) runs end to end against it:
//
//	GET  /common/discovery/instance                  (instance discovery)
//	GET  /{tenant}/v2.0/.well-known/openid-configuration
//	POST /{tenant}/oauth2/v2.0/token                 (client_credentials)
//
// MSAL only talks to https authorities: serve the simulator with TLS.

// DefaultScope is the scope app-only EWS tokens are requested for.
const DefaultScope = "https://outlook.office365.com/.default"

func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Sim) serveInstanceDiscovery(w http.ResponseWriter, r *http.Request) {
	tenant := "common"
	if u, err := url.Parse(r.URL.Query().Get("authorization_endpoint")); err == nil {
		if first, _, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/"); first != "" {
			tenant = first
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"tenant_discovery_endpoint": baseURL(r) + "/" + tenant + "/v2.0/.well-known/openid-configuration",
		"api-version":               "1.1",
		"metadata": []map[string]any{{
			"preferred_network": r.Host,
			"preferred_cache":   r.Host,
			"aliases":           []string{r.Host},
		}},
	})
}

func (s *Sim) serveOpenID(w http.ResponseWriter, r *http.Request) {
	base := baseURL(r) + "/" + r.PathValue("tenant")
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                base + "/v2.0",
		"token_endpoint":                        base + "/oauth2/v2.0/token",
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"response_types_supported":              []string{"code", "id_token", "token"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"tenant_region_scope":                   "NA",
	})
}

// oauthError is an AADSTS-style error answer.
func oauthError(w http.ResponseWriter, status int, code string, aadsts int, desc string) {
	writeJSON(w, status, map[string]any{
		"error":             code,
		"error_description": fmt.Sprintf("AADSTS%d: %s", aadsts, desc),
		"error_codes":       []int{aadsts},
	})
}

const assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

func (s *Sim) serveToken(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must be application/x-www-form-urlencoded.")
		return
	}
	tenant := r.PathValue("tenant")
	if gt := r.PostForm.Get("grant_type"); gt != "client_credentials" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", 70003, "The app requested an unsupported grant type '"+gt+"'.")
		return
	}
	clientID, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		clientID, secret = u, p
	}
	s.mu.RLock()
	a := s.byClient[clientID]
	s.mu.RUnlock()
	if a == nil || (a.Tenant != "" && !strings.EqualFold(a.Tenant, tenant)) {
		s.stats.authFailure()
		oauthError(w, http.StatusBadRequest, "unauthorized_client", 700016, "Application with identifier '"+clientID+"' was not found in the directory '"+tenant+"'.")
		return
	}
	for _, sc := range strings.Fields(r.PostForm.Get("scope")) {
		if !strings.HasSuffix(sc, "/.default") && sc != "openid" && sc != "profile" && sc != "offline_access" {
			oauthError(w, http.StatusBadRequest, "invalid_scope", 1002012, "The provided value for scope "+sc+" is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.")
			return
		}
	}
	switch {
	case r.PostForm.Get("client_assertion") != "":
		if r.PostForm.Get("client_assertion_type") != assertionType {
			oauthError(w, http.StatusBadRequest, "invalid_request", 90002, "client_assertion_type must be "+assertionType+".")
			return
		}
		aud := baseURL(r) + r.URL.Path
		if err := verifyAssertion(r.PostForm.Get("client_assertion"), a, aud, s.clock.Now()); err != nil {
			s.stats.authFailure()
			oauthError(w, http.StatusUnauthorized, "invalid_client", 700027, "Client assertion failed signature validation or claims check: "+err.Error())
			return
		}
	case secret != "":
		if a.ClientSecret == "" || subtle.ConstantTimeCompare([]byte(secret), []byte(a.ClientSecret)) != 1 {
			s.stats.authFailure()
			oauthError(w, http.StatusUnauthorized, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.")
			return
		}
	default:
		s.stats.authFailure()
		oauthError(w, http.StatusUnauthorized, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
		return
	}
	life := s.opts.TokenLifetime
	now := s.clock.Now()
	tok := s.tokens.issue(a, now, now.Add(life), audienceOf(strings.Fields(r.PostForm.Get("scope"))))
	s.stats.token()
	secs := int(life / time.Second)
	writeJSON(w, http.StatusOK, map[string]any{
		"token_type":     "Bearer",
		"expires_in":     secs,
		"ext_expires_in": secs,
		"access_token":   tok,
	})
}

// clockSkew is the leeway for exp and nbf, as Entra allows.
const clockSkew = 5 * time.Minute

// verifyAssertion checks a client_assertion JWT: RS256 or PS256 signature
// by the registered certificate's key, the certificate thumbprint when
// given, aud = token endpoint, iss = sub = client id, exp and nbf.
func verifyAssertion(jwt string, a *account, aud string, now time.Time) error {
	if a.cert == nil {
		return errors.New("no certificate is registered for the application")
	}
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return errors.New("the assertion is not a compact JWS")
	}
	var hdr struct {
		Alg     string `json:"alg"`
		X5t     string `json:"x5t"`
		X5tS256 string `json:"x5t#S256"`
	}
	var claims struct {
		Aud string      `json:"aud"`
		Iss string      `json:"iss"`
		Sub string      `json:"sub"`
		Exp json.Number `json:"exp"`
		Nbf json.Number `json:"nbf"`
	}
	if err := decodeSegment(parts[0], &hdr); err != nil {
		return fmt.Errorf("header: %w", err)
	}
	if err := decodeSegment(parts[1], &claims); err != nil {
		return fmt.Errorf("claims: %w", err)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return errors.New("signature is not base64url")
	}
	pub, ok := a.cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return errors.New("the registered certificate has no RSA key")
	}
	if hdr.X5tS256 != "" {
		sum := sha256.Sum256(a.cert.Raw)
		if !thumbprintMatches(hdr.X5tS256, sum[:]) {
			return errors.New("x5t#S256 does not match the registered certificate")
		}
	} else if hdr.X5t != "" {
		sum := sha1.Sum(a.cert.Raw)
		if !thumbprintMatches(hdr.X5t, sum[:]) {
			return errors.New("x5t does not match the registered certificate")
		}
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	switch hdr.Alg {
	case "RS256":
		err = rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig)
	case "PS256":
		err = rsa.VerifyPSS(pub, crypto.SHA256, digest[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
	default:
		return fmt.Errorf("alg %q is not RS256 or PS256", hdr.Alg)
	}
	if err != nil {
		return errors.New("signature does not verify with the registered certificate")
	}
	if claims.Aud != aud {
		return fmt.Errorf("aud %q is not the token endpoint %q", claims.Aud, aud)
	}
	if claims.Iss != a.ClientID || claims.Sub != a.ClientID {
		return errors.New("iss and sub must be the client id")
	}
	exp, err := claims.Exp.Int64()
	if err != nil {
		return errors.New("exp is missing")
	}
	if now.After(time.Unix(exp, 0).Add(clockSkew)) {
		return errors.New("the assertion has expired")
	}
	if nbf, err := claims.Nbf.Int64(); err == nil && now.Add(clockSkew).Before(time.Unix(nbf, 0)) {
		return errors.New("the assertion is not valid yet")
	}
	return nil
}

func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return errors.New("not base64url")
	}
	return json.Unmarshal(b, v)
}

// thumbprintMatches accepts the standard and URL base64 alphabets (MSAL
// sends standard, RFC 7515 says base64url).
func thumbprintMatches(got string, want []byte) bool {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(got); err == nil {
			return subtle.ConstantTimeCompare(b, want) == 1
		}
	}
	return false
}
