package secretscan

import (
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// TestFindsPlanted plants each form of a credential in otherwise clean
// text and expects the scan to find it, so a silent scan means something.
func TestFindsPlanted(t *testing.T) {
	c := domain.Credential{Kind: domain.AuthNTLM, Username: "svc", Domain: "ACME", Password: `p@ss w"rd/9+`}
	le := func(s string) string {
		var b []byte
		for _, u := range utf16.Encode([]rune(s)) {
			b = append(b, byte(u), byte(u>>8))
		}
		return string(b)
	}
	planted := map[string]string{
		"raw":               c.Password,
		"basic header":      "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("svc:"+c.Password)),
		"domain basic":      base64.RawURLEncoding.EncodeToString([]byte(`ACME\svc:` + c.Password)),
		"url-encoded":       "password=" + url.QueryEscape(c.Password),
		"json-escaped":      `{"password":"p@ss w\"rd/9+"}`,
		"utf-16le":          "\x01\x02" + le(c.Password),
		"base64 of secret":  base64.StdEncoding.EncodeToString([]byte(c.Password)),
		"json in a message": `"error":"bad` + strings.ReplaceAll(c.Password, `"`, `\"`) + `"`,
	}
	for name, text := range planted {
		t.Run(name, func(t *testing.T) {
			if len(Find("clean text before. "+text+" and after", []domain.Credential{c})) == 0 {
				t.Fatalf("no hit in %q", text)
			}
		})
	}
	if hits := Find("nothing secret here: svc ACME", []domain.Credential{c}); len(hits) != 0 {
		t.Fatalf("hits in clean text: %v", hits)
	}
	if hits := Find("token seen: abcd-efgh-1234", nil, "abcd-efgh-1234"); len(hits) == 0 {
		t.Fatal("an extra literal was not found")
	}
	var ft fakeT
	NoLeak(&ft, "planted", planted["basic header"], []domain.Credential{c})
	if !ft.failed || strings.Contains(ft.msg, c.Password) {
		t.Fatalf("NoLeak: failed=%v, message %q must name the form, not the value", ft.failed, ft.msg)
	}
}

type fakeT struct {
	testing.TB
	failed bool
	msg    string
}

func (f *fakeT) Helper() {}
func (f *fakeT) Errorf(format string, args ...any) {
	f.failed = true
	f.msg += format
	for _, a := range args {
		if s, ok := a.(string); ok {
			f.msg += s
		}
	}
}
