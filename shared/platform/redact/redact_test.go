package redact

import (
	"encoding/base64"
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/mailbridge/mailbridge/shared/domain"
)

func TestRedactorEveryForm(t *testing.T) {
	c := domain.Credential{Kind: domain.AuthNTLM, Username: "svc", Domain: "ACME", Password: `Pa55:w/rd+"x`}
	r := ForCredential(c)
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	texts := map[string]string{
		"raw":              "login failed for " + c.Password,
		"basic header":     "echo: Authorization: Basic " + b64("svc:"+c.Password),
		"basic, no word":   "got " + b64("svc:"+c.Password) + " from you",
		"unknown user":     "got " + base64.RawURLEncoding.EncodeToString([]byte("someone-else:"+c.Password)),
		"domain user":      base64.URLEncoding.EncodeToString([]byte(`ACME\svc:` + c.Password)),
		"json escaped":     `{"pw":"Pa55:w/rd+\"x"}`,
		"url encoded":      "password%3D" + "Pa55%3Aw%2Frd%2B%22x",
		"utf-16le":         string([]byte{'P', 0, 'a', 0, '5', 0, '5', 0, ':', 0, 'w', 0, '/', 0, 'r', 0, 'd', 0, '+', 0, '"', 0, 'x', 0}),
		"xml escaped":      "<faultstring>Pa55:w/rd+&quot;x</faultstring>",
		"base64 of the pw": b64(c.Password),
	}
	for name, text := range texts {
		t.Run(name, func(t *testing.T) {
			got := r.String(text)
			if !strings.Contains(got, Placeholder) {
				t.Fatalf("nothing redacted in %q", got)
			}
			for _, f := range CredentialForms(c) {
				if strings.Contains(got, f) {
					t.Fatalf("%q still holds a form of the secret", got)
				}
			}
		})
	}
}

func TestPatterns(t *testing.T) {
	tests := []struct{ in, gone, kept string }{
		{"Authorization: Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA", "Authorization: Basic"},
		{"WWW-Authenticate: NTLM TlRMTVNTUAADAAAAGAAYAEgAAAA=", "TlRMTVNTUAAD", "NTLM"},
		{"proxy says Negotiate YIIGhgYGKwYBBQUCoIIGejCCBnagMDAuBgkqhkiC9xIBAgIGCSqGSIb3EgECAgYKKwYBBAGCNwICHgYKKwYBBAGCNwICCg==", "YIIGhg", "Negotiate"},
		{"bearer eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJ4In0.c2lnbmF0dXJl", "eyJ0eXAi", "bearer"},
		{"token eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJ4In0.c2ln in body", "eyJhdWQi", "in body"},
		{"Bearer opaque-token-1234567890", "opaque-token", "Bearer"},
		{"client_secret=abc~def&grant_type=client_credentials", "abc~def", "grant_type=client_credentials"},
		{`{"access_token":"0123456789abcdef"}`, "0123456789abcdef", "access_token"},
		{"Authorization: dXNlcjpwYXNz", "dXNlcjpwYXNz", "Authorization"},
		{"Basic authentication is disabled", "", "Basic authentication is disabled"},
		{"NTLM authentication failed", "", "NTLM authentication failed"},
	}
	for _, tt := range tests {
		got := Patterns(tt.in)
		if tt.gone != "" && strings.Contains(got, tt.gone) {
			t.Errorf("Patterns(%q) = %q, still holds %q", tt.in, got, tt.gone)
		}
		if !strings.Contains(got, tt.kept) {
			t.Errorf("Patterns(%q) = %q, lost %q", tt.in, got, tt.kept)
		}
	}
}

func TestLearnAndError(t *testing.T) {
	r := New(nil)
	r.Learn("tok-abcdefghijklmnop")
	err := r.Error(&fs.PathError{Op: "open", Path: "x tok-abcdefghijklmnop", Err: fs.ErrNotExist})
	if strings.Contains(err.Error(), "tok-abc") || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Error = %q (Is ErrNotExist %v)", err, errors.Is(err, fs.ErrNotExist))
	}
	for i := range 20 {
		r.Learn(strings.Repeat("x", 10) + string(rune('a'+i)))
	}
	if len(r.tokens) != maxLearnt {
		t.Fatalf("%d tokens remembered, want %d", len(r.tokens), maxLearnt)
	}
}

func TestBound(t *testing.T) {
	long := strings.Repeat("é", 1000) + "\nline two"
	got := Bound(long, 101)
	if len(got) > 104 || strings.Contains(got, "\n") || !strings.HasSuffix(got, "...") {
		t.Fatalf("Bound = %d bytes %q", len(got), got[:20])
	}
	if Bound("short  text\n", 100) != "short text" {
		t.Fatal("Bound flattens whitespace")
	}
}
