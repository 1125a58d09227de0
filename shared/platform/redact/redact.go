// Package redact is the one scrubber of credentials from text that leaves
// the Exchange layer: error messages, stored lastError and verify details,
// log lines and traces.
//
// A server or proxy may echo what it was sent (an Authorization header in a
// SOAP faultstring, a token in a Graph error message), and it echoes it in
// whatever form it travelled: base64 of user:password, an NTLM message, a
// bearer token, URL-encoded or JSON-escaped. So a Redactor removes each
// known secret in every encoded form (Forms), and on top of that any value
// that looks like a credential whatever it is (an Authorization header
// value, a JWT, a client_secret= parameter), and bounds the text: nothing a
// server wrote is stored or returned unbounded.
package redact

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"html"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// Placeholder stands where a credential was.
const Placeholder = "[REDACTED]"

// Bounds for text from a server that is stored or returned.
const (
	// MaxDetail bounds a stored lastError or an access report's detail.
	MaxDetail = 500
	// MaxCode bounds a code (a response code, an HTTP status).
	MaxCode = 100
)

// minSecret is the shortest value scrubbed by value: shorter ones would
// blank out ordinary words (the patterns still catch them in headers).
const minSecret = 4

// Forms is every form in which secret travels on the wire or into text:
// raw, base64 (standard and URL alphabets, padded or not, at any alignment
// inside a longer base64 string), URL-, JSON-, HTML/XML-escaped, hex and
// UTF-16 (LE and BE). For each id in ids (a user name, DOMAIN\user, a
// client id), the forms of "id:secret" too, the way HTTP Basic (and
// client_secret_basic) carry it.
func Forms(secret string, ids ...string) []string {
	if len(secret) < minSecret {
		return nil
	}
	var out []string
	add := func(s string) {
		if len(s) >= minSecret && !contains(out, s) {
			out = append(out, s)
		}
	}
	bases := []string{secret}
	for _, id := range ids {
		if id != "" {
			bases = append(bases, id+":"+secret)
		}
	}
	for _, b := range bases {
		add(b)
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			add(enc.EncodeToString([]byte(b)))
		}
	}
	// The secret inside a longer base64 string (user:secret with a user we
	// were not told of, a JSON body, an NTLM blob): what it encodes to at
	// each of the three byte alignments, without the characters it shares
	// with its neighbours.
	for off := range 3 {
		pad := strings.Repeat("\x00", off)
		for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
			e := enc.EncodeToString([]byte(pad + secret))
			start := (off*8 + 5) / 6 // first character fully inside secret
			end := ((off + len(secret)) * 8) / 6
			if end-start >= 6 {
				add(e[start:end])
			}
		}
	}
	add(url.QueryEscape(secret))
	add(url.PathEscape(secret))
	add(jsonEscaped(secret))
	add(html.EscapeString(secret))
	add(xmlNamed.Replace(secret))
	add(hex.EncodeToString([]byte(secret)))
	add(strings.ToUpper(hex.EncodeToString([]byte(secret))))
	le, be := utf16Forms(secret)
	add(le)
	add(be)
	return out
}

// xmlNamed escapes with XML's named entities (html.EscapeString uses
// numeric ones for quotes).
var xmlNamed = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;")

func jsonEscaped(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

func utf16Forms(s string) (le, be string) {
	u := utf16.Encode([]rune(s))
	l, b := make([]byte, 0, 2*len(u)), make([]byte, 0, 2*len(u))
	for _, c := range u {
		l = append(l, byte(c), byte(c>>8))
		b = append(b, byte(c>>8), byte(c))
	}
	return string(l), string(b)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// CredentialForms is Forms of each secret of c, with the identities it is
// sent under (user, DOMAIN\user, user@domain, client id).
func CredentialForms(c domain.Credential) []string {
	ids := credentialIDs(c)
	var out []string
	for _, s := range c.SecretValues() {
		out = append(out, Forms(s, ids...)...)
	}
	return out
}

func credentialIDs(c domain.Credential) []string {
	var ids []string
	if c.Username != "" {
		ids = append(ids, c.Username)
		if c.Domain != "" {
			ids = append(ids, c.Domain+`\`+c.Username, c.Username+"@"+c.Domain)
		}
	}
	if c.ClientID != "" {
		ids = append(ids, c.ClientID)
	}
	return ids
}

// Redactor scrubs a fixed set of secrets, plus tokens learnt while it is in
// use, from text. The zero value and nil scrub by pattern only. Safe for
// concurrent use.
type Redactor struct {
	mu      sync.RWMutex
	needles []string   // longest first, so a form is not half-replaced by a shorter one
	learnt  [][]string // Forms of recent tokens, a bounded window
	tokens  []string   // those tokens, to skip one learnt already
}

// New scrubs secrets (each in all its Forms, and paired with ids).
func New(secrets []string, ids ...string) *Redactor {
	r := &Redactor{}
	for _, s := range secrets {
		r.needles = append(r.needles, Forms(s, ids...)...)
	}
	sortLongestFirst(r.needles)
	return r
}

// ForCredential scrubs every secret of c.
func ForCredential(c domain.Credential) *Redactor {
	return New(c.SecretValues(), credentialIDs(c)...)
}

// maxLearnt bounds the tokens remembered: they rotate hourly, and only
// recent ones can be echoed.
const maxLearnt = 8

// Learn adds a secret obtained at run time (an access token) to what r
// scrubs.
func (r *Redactor) Learn(secret string) {
	if r == nil || len(secret) < minSecret {
		return
	}
	r.mu.RLock()
	known := contains(r.tokens, secret)
	r.mu.RUnlock()
	if known {
		return
	}
	forms := Forms(secret)
	sortLongestFirst(forms)
	r.mu.Lock()
	defer r.mu.Unlock()
	if contains(r.tokens, secret) {
		return
	}
	if len(r.tokens) >= maxLearnt {
		r.tokens, r.learnt = r.tokens[1:], r.learnt[1:]
	}
	r.tokens, r.learnt = append(r.tokens, secret), append(r.learnt, forms)
}

// String removes every known secret form and every credential-shaped value
// from s. It does not bound s; Clean does.
func (r *Redactor) String(s string) string {
	if s == "" {
		return s
	}
	if r != nil {
		r.mu.RLock()
		needles, learnt := r.needles, r.learnt
		r.mu.RUnlock()
		for _, forms := range learnt {
			for _, n := range forms {
				s = replaceForm(s, n)
			}
		}
		for _, n := range needles {
			s = replaceForm(s, n)
		}
	}
	return Patterns(s)
}

// Clean is String, flattened to one line and bounded to max bytes: the
// form for text from a server that is stored, returned or logged.
func (r *Redactor) Clean(s string, max int) string {
	return Bound(r.String(s), max)
}

// Error is err with its text scrubbed; errors.Is and errors.As still see
// the original chain, whose own text this package never prints.
func (r *Redactor) Error(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	clean := r.String(msg)
	if clean == msg {
		return err
	}
	return &scrubbed{msg: clean, cause: err}
}

type scrubbed struct {
	msg   string
	cause error
}

func (e *scrubbed) Error() string { return e.msg }
func (e *scrubbed) Unwrap() error { return e.cause }

// Text scrubs credential-shaped values from s and bounds it, for text with
// no known secrets at hand.
func Text(s string, max int) string { return Bound(Patterns(s), max) }

// Err is (*Redactor)(nil).Error: pattern-only scrubbing of an error.
func Err(err error) error { return (*Redactor)(nil).Error(err) }

// replaceForm replaces each occurrence of form in s. A form that is base64
// takes the whole base64 run around it, so no fragment of the encoded
// secret (or of what was encoded with it) is left.
func replaceForm(s, form string) string {
	if !strings.Contains(s, form) {
		return s
	}
	if !isB64Run(form) {
		return strings.ReplaceAll(s, form, Placeholder)
	}
	var b strings.Builder
	for {
		i := strings.Index(s, form)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		start, end := i, i+len(form)
		for start > 0 && isB64Char(s[start-1]) {
			start--
		}
		for end < len(s) && isB64Char(s[end]) {
			end++
		}
		b.WriteString(s[:start])
		b.WriteString(Placeholder)
		s = s[end:]
	}
}

func isB64Char(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '-' || c == '_' || c == '='
}

func isB64Run(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isB64Char(s[i]) {
			return false
		}
	}
	return true
}

func sortLongestFirst(list []string) {
	for i := 1; i < len(list); i++ {
		for j := i; j > 0 && len(list[j]) > len(list[j-1]); j-- {
			list[j], list[j-1] = list[j-1], list[j]
		}
	}
}

var (
	// An HTTP auth scheme and its credentials, wherever they appear: an
	// echoed Authorization header, a WWW-Authenticate challenge carrying
	// an NTLM message, a log line. The value is long enough to be a
	// credential, not a word of prose ("Basic authentication").
	authValue = regexp.MustCompile(`(?i)\b(Basic|Bearer|NTLM|Negotiate|Digest|PoP|DPoP)(\s+|%20|\+)([A-Za-z0-9+/_.~%-]*[0-9+/=_.~%-][A-Za-z0-9+/_.~%-]*={0,2}|[A-Za-z]{16,}={0,2})`)
	// A header or parameter that holds a credential, named: its value.
	namedValue = regexp.MustCompile(`(?i)\b(authorization|proxy-authorization|x-ms-token|cookie|set-cookie|client_secret|client_assertion|access_token|refresh_token|id_token|password|passwd)("?\s*[:=]\s*"?|%3[Aa]|%3[Dd])([^\s"'&<>,;})\]]+)`)
	// A JSON Web Token (three base64url segments, the first a JSON object).
	jwt = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*`)
	// An NTLM message, base64 of "NTLMSSP\0", with or without a scheme.
	ntlmMsg = regexp.MustCompile(`TlRMTVNTUA[A-Za-z0-9+/=_-]*`)
)

// Patterns scrubs values that look like credentials whatever secret they
// hold: auth header values, named credential parameters, JWTs, NTLM
// messages.
func Patterns(s string) string {
	if s == "" {
		return s
	}
	s = jwt.ReplaceAllString(s, Placeholder)
	s = ntlmMsg.ReplaceAllString(s, Placeholder)
	s = authValue.ReplaceAllStringFunc(s, func(m string) string {
		sub := authValue.FindStringSubmatch(m)
		if sub[3] == Placeholder || strings.HasPrefix(sub[3], "[") {
			return m
		}
		return sub[1] + " " + Placeholder
	})
	s = namedValue.ReplaceAllStringFunc(s, func(m string) string {
		sub := namedValue.FindStringSubmatch(m)
		v := sub[3]
		if strings.HasPrefix(v, "[REDACTED]") {
			return m
		}
		// "Authorization: Basic xyz" was handled above, scheme kept.
		if authValue.MatchString(v) || isScheme(v) {
			return m
		}
		return sub[1] + sub[2] + Placeholder
	})
	return s
}

func isScheme(v string) bool {
	switch strings.ToLower(v) {
	case "basic", "bearer", "ntlm", "negotiate", "digest", "pop", "dpop":
		return true
	}
	return false
}

// Bound flattens s to one line of valid UTF-8 and cuts it to at most max
// bytes (plus an ellipsis).
func Bound(s string, max int) string {
	if max <= 0 {
		max = MaxDetail
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// IsRedacted reports whether err's text was scrubbed by a Redactor.
func IsRedacted(err error) bool {
	var s *scrubbed
	return errors.As(err, &s)
}
