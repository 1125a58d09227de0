// Package secretscan finds a credential in captured text (logs, API
// answers, stored records) in any form it travels in, for leak checks
// across a test suite. It derives the forms on its own, independently of
// the production scrubber (shared/platform/redact), so it can judge it.
package secretscan

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"sort"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// Form is one encoded form of one secret.
type Form struct {
	Name  string // how it is encoded, e.g. "base64(user:secret)"
	Value string
}

// Forms lists every encoded form of the secret values of c: raw, base64 of
// the secret and of user:secret (for each name the account goes by; std
// and URL alphabets, padded and not), URL-encoded, JSON-escaped, UTF-16LE
// and UTF-16BE.
func Forms(c domain.Credential) []Form {
	var ids []string
	for _, id := range []string{c.Username, c.ClientID} {
		if id != "" {
			ids = append(ids, id)
		}
	}
	if c.Domain != "" && c.Username != "" {
		ids = append(ids, c.Domain+`\`+c.Username, c.Username+"@"+c.Domain)
	}
	var out []Form
	seen := map[string]bool{}
	add := func(name, v string) {
		if len(v) >= 4 && !seen[v] {
			seen[v] = true
			out = append(out, Form{name, v})
		}
	}
	for _, s := range c.SecretValues() {
		add("raw", s)
		pairs := map[string]string{"secret": s}
		for _, id := range ids {
			pairs["id:secret"] = id + ":" + s
			addBase64(add, pairs)
		}
		addBase64(add, map[string]string{"secret": s})
		add("url query", url.QueryEscape(s))
		add("url path", url.PathEscape(s))
		j, _ := json.Marshal(s)
		add("json", string(j[1:len(j)-1]))
		le, be := utf16Bytes(s)
		add("utf-16le", le)
		add("utf-16be", be)
	}
	return out
}

func addBase64(add func(string, string), bases map[string]string) {
	encs := map[string]*base64.Encoding{"std": base64.StdEncoding, "raw std": base64.RawStdEncoding, "url": base64.URLEncoding, "raw url": base64.RawURLEncoding}
	for what, b := range bases {
		for name, enc := range encs {
			add("base64 "+name+"("+what+")", enc.EncodeToString([]byte(b)))
		}
	}
}

func utf16Bytes(s string) (le, be string) {
	var l, b []byte
	for _, c := range utf16.Encode([]rune(s)) {
		l = append(l, byte(c), byte(c>>8))
		b = append(b, byte(c>>8), byte(c))
	}
	return string(l), string(b)
}

// Hit is a form found in text.
type Hit struct {
	Form Form
	At   int
}

// Find returns every form of every credential in creds that text holds,
// plus every extra literal (a token a test saw on the wire).
func Find(text string, creds []domain.Credential, extra ...string) []Hit {
	var hits []Hit
	for _, c := range creds {
		for _, f := range Forms(c) {
			if i := strings.Index(text, f.Value); i >= 0 {
				hits = append(hits, Hit{f, i})
			}
		}
	}
	for _, x := range extra {
		for _, f := range Forms(domain.Credential{Password: x}) {
			if i := strings.Index(text, f.Value); i >= 0 {
				hits = append(hits, Hit{Form{"seen on the wire, " + f.Name, f.Value}, i})
			}
		}
	}
	sort.Slice(hits, func(i, j int) bool { return hits[i].At < hits[j].At })
	return hits
}

// NoLeak fails t when text holds any form of any credential or extra
// literal. The report names the form and the place, never the value.
func NoLeak(t testing.TB, what, text string, creds []domain.Credential, extra ...string) {
	t.Helper()
	for _, h := range Find(text, creds, extra...) {
		t.Errorf("%s holds a credential as %s at byte %d: ...%s...", what, h.Form.Name, h.At, context(text, h))
	}
}

// context shows the text around a hit with the hit itself masked.
func context(text string, h Hit) string {
	from, to := max(0, h.At-30), min(len(text), h.At+len(h.Form.Value)+30)
	return strings.ReplaceAll(text[from:to], h.Form.Value, "<HIT>")
}
