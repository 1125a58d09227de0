package config_test

import (
	"errors"
	"flag"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/platform/config"
)

// check runs read against a Reader holding X=value (unset when value is
// "<unset>") and compares the result, or the refusal's message.
func check[T comparable](t *testing.T, value string, read func(*config.Reader) T, want T, wantErr string) {
	t.Helper()
	vars := map[string]string{}
	if value != "<unset>" {
		vars["X"] = value
	}
	r := config.New(config.Map(vars))
	got := read(r)
	err := r.Err()
	if wantErr != "" {
		if err == nil || err.Error() != wantErr {
			t.Fatalf("X=%q: err %v, want %q", value, err, wantErr)
		}
		return
	}
	if err != nil {
		t.Fatalf("X=%q: %v", value, err)
	}
	if got != want {
		t.Fatalf("X=%q: got %v, want %v", value, got, want)
	}
}

func TestString(t *testing.T) {
	for _, tc := range []struct{ value, want string }{
		{"<unset>", "def"}, {"", "def"}, {"abc", "abc"}, {" spaced ", " spaced "},
	} {
		t.Run(tc.value, func(t *testing.T) {
			check(t, tc.value, func(r *config.Reader) string { return r.String("X", "def") }, tc.want, "")
		})
	}
}

func TestRequired(t *testing.T) {
	for _, tc := range []struct{ value, want, err string }{
		{"<unset>", "", "X is not set"}, {"", "", "X is not set"}, {"t", "t", ""},
	} {
		t.Run(tc.value, func(t *testing.T) {
			check(t, tc.value, func(r *config.Reader) string { return r.Required("X") }, tc.want, tc.err)
		})
	}
}

func TestInt(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  int
		err   string
	}{
		{"<unset>", 7, ""},
		{"", 7, ""},
		{"1", 1, ""},
		{"50", 50, ""},
		{"0", 0, `X="0": must be between 1 and 50`},
		{"-3", 0, `X="-3": must be between 1 and 50`},
		{"51", 0, `X="51": must be between 1 and 50`},
		{"x", 0, `X="x": not an integer`},
		{"1.5", 0, `X="1.5": not an integer`},
		{" 12", 0, `X=" 12": not an integer`},
		{"99999999999999999999", 0, `X="99999999999999999999": not an integer`},
	} {
		t.Run(tc.value, func(t *testing.T) {
			check(t, tc.value, func(r *config.Reader) int { return r.Int("X", 7, 1, 50) }, tc.want, tc.err)
		})
	}
}

func TestDuration(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  time.Duration
		err   string
	}{
		{"<unset>", time.Minute, ""},
		{"90s", 90 * time.Second, ""},
		{"1h", time.Hour, ""},
		{"0s", 0, `X="0s": must be between 1s and 1h0m0s`},
		{"2h", 0, `X="2h": must be between 1s and 1h0m0s`},
		{"30", 0, `X="30": not a duration (such as 90s, 20m or 1h30m)`},
		{"soon", 0, `X="soon": not a duration (such as 90s, 20m or 1h30m)`},
	} {
		t.Run(tc.value, func(t *testing.T) {
			check(t, tc.value, func(r *config.Reader) time.Duration { return r.Duration("X", time.Minute, time.Second, time.Hour) }, tc.want, tc.err)
		})
	}
}

func TestBool(t *testing.T) {
	for _, tc := range []struct {
		value     string
		want      bool
		err       string
		defaultTo bool
	}{
		{"<unset>", true, "", true},
		{"true", true, "", false},
		{"1", true, "", false},
		{"FALSE", false, "", true},
		{"0", false, "", true},
		{"yes", false, `X="yes": must be true or false`, false},
		{"on", false, `X="on": must be true or false`, false},
	} {
		t.Run(tc.value, func(t *testing.T) {
			check(t, tc.value, func(r *config.Reader) bool { return r.Bool("X", tc.defaultTo) }, tc.want, tc.err)
		})
	}
}

func TestEnum(t *testing.T) {
	for _, tc := range []struct{ value, want, err string }{
		{"<unset>", "impersonation", ""},
		{"delegate", "delegate", ""},
		{"Delegate", "", `X="Delegate": must be one of impersonation, delegate`},
		{"magic", "", `X="magic": must be one of impersonation, delegate`},
	} {
		t.Run(tc.value, func(t *testing.T) {
			check(t, tc.value, func(r *config.Reader) string { return r.Enum("X", "impersonation", "impersonation", "delegate") }, tc.want, tc.err)
		})
	}
}

func TestURL(t *testing.T) {
	const q = "https://sqs.us-east-1.amazonaws.com/123456789012/mailbridge-dev-sync-jobs.fifo"
	for _, tc := range []struct{ value, want, err string }{
		{"<unset>", "", ""},
		{q, q, ""},
		{"http://127.0.0.1:4566/000000000000/q", "http://127.0.0.1:4566/000000000000/q", ""},
		{"sqs.us-east-1.amazonaws.com/q", "", `X="sqs.us-east-1.amazonaws.com/q": must be an absolute https or http URL`},
		{"ftp://host/q", "", `X="ftp://host/q": must be an absolute https or http URL`},
		{"https://", "", `X="https://": must be an absolute https or http URL`},
		{"https://u:p@host/q", "", `X="https://u:p@host/q": must not hold credentials`},
		{"https://host/%zz", "", `X="https://host/%zz": must be an absolute https or http URL`},
	} {
		t.Run(tc.value, func(t *testing.T) {
			check(t, tc.value, func(r *config.Reader) string { return r.URL("X", "", "https", "http") }, tc.want, tc.err)
		})
	}
	t.Run("required", func(t *testing.T) {
		check(t, "<unset>", func(r *config.Reader) string { return r.RequiredURL("X", "https") }, "", "X is not set")
		check(t, "nope", func(r *config.Reader) string { return r.RequiredURL("X", "https") }, "", `X="nope": must be an absolute https URL`)
		check(t, q, func(r *config.Reader) string { return r.RequiredURL("X", "https") }, q, "")
	})
}

func TestList(t *testing.T) {
	for _, tc := range []struct{ value, want, err string }{
		{"<unset>", "a|b", ""},
		{"x", "x", ""},
		{"x, y ,z", "x|y|z", ""},
		{"x,,y", "", `X="x,,y": item 2 is empty`},
		{"x,", "", `X="x,": item 2 is empty`},
		{" , ", "", `X=" , ": item 1 is empty`},
	} {
		t.Run(tc.value, func(t *testing.T) {
			check(t, tc.value, func(r *config.Reader) string { return strings.Join(r.List("X", []string{"a", "b"}), "|") }, tc.want, tc.err)
		})
	}
}

func TestParse(t *testing.T) {
	even := func(s string) (int, error) {
		n, err := strconv.Atoi(s)
		if err != nil || n%2 != 0 {
			return 0, errors.New("must be an even number")
		}
		return n, nil
	}
	for _, tc := range []struct {
		value string
		want  int
		err   string
	}{
		{"<unset>", 2, ""}, {"4", 4, ""}, {"3", 0, `X="3": must be an even number`},
	} {
		t.Run(tc.value, func(t *testing.T) {
			check(t, tc.value, func(r *config.Reader) int { return config.Parse(r, "X", 2, even) }, tc.want, tc.err)
		})
	}
	for _, tc := range []struct {
		value string
		want  int
		err   string
	}{
		{"<unset>", 0, "X is not set"}, {"", 0, "X is not set"}, {"4", 4, ""}, {"3", 0, `X="3": must be an even number`},
	} {
		t.Run("required "+tc.value, func(t *testing.T) {
			check(t, tc.value, func(r *config.Reader) int { return config.ParseRequired(r, "X", even) }, tc.want, tc.err)
		})
	}
}

// Every refusal is reported, in order, on one line; a refused setting
// yields its default, never a half-parsed value.
func TestErrCollectsEveryRefusal(t *testing.T) {
	r := config.New(config.Map(map[string]string{"A": "x", "C": "0", "D": "9"}))
	if got := r.Int("A", 5, 1, 10); got != 5 {
		t.Errorf("refused A read as %d", got)
	}
	r.Required("B")
	r.Int("C", 1, 1, 10)
	r.Int("D", 1, 1, 10)
	err := r.Err()
	var es config.Errors
	if !errors.As(err, &es) || len(es) != 3 {
		t.Fatalf("err %v, want three refusals", err)
	}
	if want := `A="x": not an integer; B is not set; C="0": must be between 1 and 10`; err.Error() != want {
		t.Fatalf("message %q, want %q", err.Error(), want)
	}
	if es[0].Name != "A" || es[0].Value != "x" {
		t.Fatalf("first refusal %+v", es[0])
	}
	if config.New(config.Map(nil)).Err() != nil {
		t.Fatal("a Reader that refused nothing must return a nil error")
	}
}

func TestEnvReadsTheProcessEnvironment(t *testing.T) {
	t.Setenv("MB_CONFIG_TEST", "12")
	r := config.Env()
	if got := r.Int("MB_CONFIG_TEST", 1, 1, 20); got != 12 || r.Err() != nil {
		t.Fatalf("got %d, err %v", got, r.Err())
	}
}

// Flags checks a parsed command line with the same parsers: a flag reads
// as its value, given or default, named with its dashes.
func TestFlags(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Int("workers", 16, "")
	fs.Duration("spread", 20*time.Second, "")
	fs.String("mode", "impersonation", "")
	if err := fs.Parse([]string{"--workers", "0"}); err != nil {
		t.Fatal(err)
	}
	r := config.New(config.Flags(fs))
	r.Int("--workers", 16, 1, 1024)
	if got := r.Duration("--spread", 0, 0, time.Minute); got != 20*time.Second {
		t.Errorf("--spread read as %v, want its default", got)
	}
	if got := r.Enum("--mode", "", "impersonation", "delegate"); got != "impersonation" {
		t.Errorf("--mode read as %q", got)
	}
	if got := r.String("--no-such-flag", "d"); got != "d" {
		t.Errorf("an undefined flag read as %q", got)
	}
	if err := r.Err(); err == nil || err.Error() != `--workers="0": must be between 1 and 1024` {
		t.Fatalf("err %v", err)
	}
}
