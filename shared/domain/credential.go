package domain

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// Credential is a tenant's secret: the service account password or the Entra
// app's client secret / certificate. It lives only in a SecretStore.
//
// String, GoString and MarshalText-free formatting redact it, so an
// accidental %v or log line cannot leak it; use json.Marshal(c.Raw()) only
// in the secret adapters.
type Credential struct {
	Kind AuthKind `json:"kind"`
	// Basic and NTLM
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	Domain   string `json:"domain,omitempty"` // NTLM domain, optional
	// OAuth app-only (Entra ID)
	EntraTenant  string `json:"entraTenant,omitempty"` // directory (tenant) id or domain
	ClientID     string `json:"clientId,omitempty"`
	ClientSecret string `json:"clientSecret,omitempty"`
	CertPEM      string `json:"certPem,omitempty"` // certificate credential: public cert
	KeyPEM       string `json:"keyPem,omitempty"`  // and its private key
	// TokenURL overrides the Entra authority (tests and sovereign clouds).
	Authority string `json:"authority,omitempty"`
}

// String redacts the secret parts.
func (c Credential) String() string {
	return "Credential{kind=" + string(c.Kind) + ", fingerprint=" + c.Fingerprint() + "}"
}

// GoString redacts too (%#v).
func (c Credential) GoString() string { return c.String() }

// Fingerprint is a short, stable identifier of the account or app the
// credential authenticates as (kind, user, domain, Entra tenant, client id,
// certificate, authority). It is derived from no secret: it is stored in
// the main store and shown by the API, and a hash of a password could be
// brute-forced offline. So rotating only the password or client secret
// keeps the fingerprint; MemoryKey tells such credentials apart in memory.
func (c Credential) Fingerprint() string {
	id := c
	id.Password, id.ClientSecret, id.KeyPEM = "", "", ""
	b, _ := json.Marshal(rawCredential(id))
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:8])
}

// processKey keys MemoryKey; it is random per process and never leaves it.
var processKey = func() []byte {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		panic("domain: no randomness for the credential memory key: " + err.Error())
	}
	return k
}()

// MemoryKey identifies the whole credential, secrets included, for
// in-memory use only (client caches, "did it rotate?"): an HMAC under a
// per-process random key, so it means nothing outside this process and
// must never be stored or logged.
func (c Credential) MemoryKey() string {
	b, _ := json.Marshal(rawCredential(c))
	m := hmac.New(sha256.New, processKey)
	m.Write(b)
	return hex.EncodeToString(m.Sum(nil))
}

// SecretValues lists the secret strings in c, for leak checks in tests.
func (c Credential) SecretValues() []string {
	var out []string
	for _, s := range []string{c.Password, c.ClientSecret, c.KeyPEM} {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// rawCredential has no String method, so it marshals with the secrets.
type rawCredential Credential

// MarshalCredential encodes c with its secrets, for secret adapters only.
func MarshalCredential(c Credential) ([]byte, error) { return json.Marshal(rawCredential(c)) }

// UnmarshalCredential decodes what MarshalCredential wrote.
func UnmarshalCredential(b []byte) (Credential, error) {
	var r rawCredential
	err := json.Unmarshal(b, &r)
	return Credential(r), err
}

// Validate checks that c has what its Kind needs.
func (c Credential) Validate() *Error {
	switch c.Kind {
	case AuthBasic, AuthNTLM:
		if c.Username == "" {
			return Invalid("credentials.username", "username is required for %s auth", c.Kind)
		}
		if c.Password == "" {
			return Invalid("credentials.password", "password is required for %s auth", c.Kind)
		}
	case AuthOAuthSecret:
		if err := c.validateOAuthIDs(); err != nil {
			return err
		}
		if c.ClientSecret == "" {
			return Invalid("credentials.clientSecret", "clientSecret is required for oauth_secret auth")
		}
	case AuthOAuthCert:
		if err := c.validateOAuthIDs(); err != nil {
			return err
		}
		if c.CertPEM == "" {
			return Invalid("credentials.certPem", "certPem and keyPem are required for oauth_cert auth (certPem is missing)")
		}
		if c.KeyPEM == "" {
			return Invalid("credentials.keyPem", "certPem and keyPem are required for oauth_cert auth (keyPem is missing)")
		}
	default:
		return Invalid("credentials.kind", "kind must be one of basic, ntlm, oauth_secret, oauth_cert")
	}
	return nil
}

// validateOAuthIDs names the missing one of entraTenant and clientId.
func (c Credential) validateOAuthIDs() *Error {
	if c.EntraTenant == "" {
		return Invalid("credentials.entraTenant", "entraTenant and clientId are required for oauth auth (entraTenant is missing)")
	}
	if c.ClientID == "" {
		return Invalid("credentials.clientId", "entraTenant and clientId are required for oauth auth (clientId is missing)")
	}
	return nil
}
