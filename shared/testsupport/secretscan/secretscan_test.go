package secretscan

import (
	"encoding/base64"
	"net/url"
	"slices"
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

// TestScanFindsEachFormInEachSink plants one form of a registered
// credential in one sink at a time (raw, base64 of user:password,
// URL-encoded, UTF-16LE; in logs, answers, stores, traces) and expects the
// package scan to report exactly that, naming the form and the sink but
// never the value; with nothing planted it reports no hit.
func TestScanFindsEachFormInEachSink(t *testing.T) {
	c := domain.Credential{Kind: domain.AuthBasic, Username: "svc-scan", Password: "Planted pw/7+&é"}
	le := func(s string) string {
		var b []byte
		for _, u := range utf16.Encode([]rune(s)) {
			b = append(b, byte(u), byte(u>>8))
		}
		return string(b)
	}
	forms := []struct{ name, planted, want string }{
		{"raw", c.Password, "raw"},
		{"base64 of user:password", "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("svc-scan:"+c.Password)), "(id:secret)"},
		{"URL-encoded", "password=" + url.QueryEscape(c.Password), "url query"},
		{"UTF-16LE", "\xff\xfe" + le(c.Password), "utf-16le"},
	}
	clean := `{"level":"INFO","msg":"onboarded","user":"svc-scan","credential":"sha256:0a1b2c3d"}`
	for _, f := range forms {
		for _, sink := range []string{Logs, Answers, Stores, Traces} {
			t.Run(f.name+" in "+sink, func(t *testing.T) {
				r := &registry{}
				r.register(c)
				r.capture(Logs, "clean log", []byte(clean))
				r.capture(sink, "planted", []byte(clean+f.planted+clean))
				rep := r.scan()
				if len(rep.Hits) == 0 {
					t.Fatalf("no hit for %q", f.planted)
				}
				// Several forms can match one planting (unpadded base64
				// is a prefix of padded): one must be the form planted.
				if !slices.ContainsFunc(rep.Hits, func(h string) bool {
					return strings.HasPrefix(h, sink+" (planted)") && strings.Contains(h, f.want+" at byte")
				}) {
					t.Errorf("hits %q, want one in %s naming the form %s", rep.Hits, sink, f.want)
				}
				for _, hit := range rep.Hits {
					if strings.Contains(hit, c.Password) {
						t.Errorf("the report quotes the secret: %q", hit)
					}
				}
				if s := rep.Summary("pkg"); !strings.Contains(s, "secret scan: pkg: 1 credentials × ") || strings.HasSuffix(s, ": 0 hits") {
					t.Errorf("summary %q", s)
				}
			})
		}
	}
	r := &registry{}
	r.register(c)
	r.capture(Logs, "clean", []byte(clean))
	if rep := r.scan(); len(rep.Hits) != 0 || !strings.HasSuffix(rep.Summary("pkg"), ": 0 hits") {
		t.Fatalf("clean text: %v %s", rep.Hits, rep.Summary("pkg"))
	}
}

// TestFinishFailsTheRunOnAHit: Main's last step turns a passing run into a
// failing one when a credential was captured, and prints the summary.
func TestFinishFailsTheRunOnAHit(t *testing.T) {
	saved := suite
	defer func() { suite = saved }()
	suite = &registry{}
	Register(domain.Credential{Kind: domain.AuthBasic, Username: "svc", Password: "Finish-pw-31"})
	Capture(Answers, "GET /x", []byte(`{"error":"bad password Finish-pw-31"}`))
	var out, errOut strings.Builder
	if code := finish(0, &out, &errOut); code != 1 {
		t.Fatalf("exit code %d, want 1", code)
	}
	if !strings.Contains(out.String(), "secret scan: shared/testsupport/secretscan: ") || !strings.Contains(errOut.String(), "answers (GET /x) holds a credential as raw") {
		t.Fatalf("out %q, err %q", out.String(), errOut.String())
	}
	suite = &registry{}
	Register(domain.Credential{Kind: domain.AuthBasic, Username: "svc", Password: "Finish-pw-31"})
	Capture(Answers, "GET /x", []byte(`{"error":"bad password"}`))
	out.Reset()
	if code := finish(0, &out, &errOut); code != 0 || !strings.HasSuffix(strings.TrimSpace(out.String()), ": 0 hits") {
		t.Fatalf("clean run: code %d, %q", code, out.String())
	}
}

// TestHarvest finds the credentials written as literals in a package's
// test files: struct literals (with literals or constants) and JSON
// request bodies, with their users, and constants named as secrets.
func TestHarvest(t *testing.T) {
	creds, err := Harvest("testdata/harvest")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range creds {
		got = append(got, c.Username+"|"+c.ClientID+"|"+strings.Join(c.SecretValues(), ","))
	}
	slices.Sort(got)
	want := []string{"svc-const||Const-pw-4", "svc-json||Json-pw-3", "svc||Struct-pw-1", "|app|Struct-secret-2", "||Const-pw-4", "||Prod-secret-5"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("harvested %q, want %q (short placeholders and names that are no secret's skipped)", got, want)
	}
}
