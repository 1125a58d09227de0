package secretscan

import (
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// A package's suite-wide scan: its tests register the credentials they use
// (Register; Main also harvests every credential literal in the package's
// test files) and hand over what they produce: log lines (Logger, Writer),
// API answers (Capture) and stored records (WatchFile, WatchStore, read
// when the test that made them ends). Main runs the tests, then looks for
// every form of every credential in all of it.

// Sink kinds, as the summary counts them.
const (
	Logs    = "logs"
	Answers = "answers"
	Stores  = "stores"
	Traces  = "traces"
)

// registry is what one test binary registered; the package keeps one.
type registry struct {
	mu     sync.Mutex
	creds  map[string]domain.Credential // by MemoryKey-free identity: the secret values
	chunks []chunk
	bytes  map[string]int
}

type chunk struct {
	sink, what string
	text       string
}

var suite = &registry{}

// Register adds credentials the package's tests use.
func Register(creds ...domain.Credential) { suite.register(creds...) }

func (r *registry) register(creds ...domain.Credential) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.creds == nil {
		r.creds = map[string]domain.Credential{}
	}
	for _, c := range creds {
		if len(c.SecretValues()) == 0 {
			continue
		}
		r.creds[strings.Join(append(c.SecretValues(), c.Username, c.Domain, c.ClientID), "\x00")] = c
	}
}

// Capture records text a test produced under a sink kind (Logs, Answers,
// Stores, Traces); what names where it came from in a report.
func Capture(sink, what string, b []byte) { suite.capture(sink, what, b) }

func (r *registry) capture(sink, what string, b []byte) {
	if len(b) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.bytes == nil {
		r.bytes = map[string]int{}
	}
	r.chunks = append(r.chunks, chunk{sink, what, string(b)})
	r.bytes[sink] += len(b)
}

// Writer captures everything written to it under sink.
func Writer(sink, what string) io.Writer { return writer{sink, what} }

type writer struct{ sink, what string }

func (w writer) Write(p []byte) (int, error) {
	Capture(w.sink, w.what, p)
	return len(p), nil
}

// Logger is a debug-level JSON logger whose every line is captured: tests
// that used to discard their logs use it, so what they log is scanned.
func Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(Writer(Logs, "log"), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// WatchFile reads the file when the test ends (a store's database file, an
// encrypted secrets file) and captures it under Stores. A file that is
// gone by then is skipped.
func WatchFile(t testing.TB, path string) {
	t.Cleanup(func() {
		if b, err := os.ReadFile(path); err == nil {
			Capture(Stores, filepath.Base(path), b)
		}
	})
}

// WatchDir reads every file under dir when the test ends and captures it
// under sink: a directory of EWS wire traces (Traces), a data directory.
func WatchDir(t testing.TB, sink, dir string) {
	t.Cleanup(func() {
		_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			if b, err := os.ReadFile(path); err == nil {
				Capture(sink, filepath.Base(path), b)
			}
			return nil
		})
	})
}

// WatchStore calls dump when the test ends and captures what it returns
// under Stores: every record of a store with no file (a DynamoDB table).
// Register it after the store's own clean-up, so it runs first.
func WatchStore(t testing.TB, what string, dump func() (string, error)) {
	t.Cleanup(func() {
		s, err := dump()
		if err != nil {
			t.Errorf("secretscan: dumping %s: %v", what, err)
			return
		}
		Capture(Stores, what, []byte(s))
	})
}

// Report is the outcome of a scan.
type Report struct {
	Credentials, Forms int
	Bytes              map[string]int
	Hits               []string // each names the form, sink and place, never the value
}

func (r Report) total() int {
	n := 0
	for _, b := range r.Bytes {
		n += b
	}
	return n
}

// Summary is the line make test prints.
func (r Report) Summary(pkg string) string {
	var parts []string
	for _, s := range []string{Logs, Answers, Stores, Traces} {
		if r.Bytes[s] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", s, r.Bytes[s]))
		}
	}
	return fmt.Sprintf("secret scan: %s: %d credentials × %d forms over %d bytes (%s): %d hits",
		pkg, r.Credentials, r.Forms, r.total(), strings.Join(parts, ", "), len(r.Hits))
}

// scan looks for every form of every registered credential in everything
// captured.
func (r *registry) scan() Report {
	r.mu.Lock()
	defer r.mu.Unlock()
	rep := Report{Credentials: len(r.creds), Bytes: map[string]int{}}
	for k, v := range r.bytes {
		rep.Bytes[k] = v
	}
	var creds []domain.Credential
	for _, c := range r.creds {
		creds = append(creds, c)
	}
	m := newMatcher(creds)
	rep.Forms = len(m.forms)
	for _, c := range r.chunks {
		for _, h := range m.find(c.text) {
			rep.Hits = append(rep.Hits, fmt.Sprintf("%s (%s) holds a credential as %s at byte %d: ...%s...",
				c.sink, c.what, h.Form.Name, h.At, context(c.text, h)))
		}
	}
	sort.Strings(rep.Hits)
	return rep
}

// matcher finds many forms in a long text in one pass: forms are indexed
// by their first four bytes (every form has at least four).
type matcher struct {
	forms []Form
	by    map[[4]byte][]int
	// first2 marks the forms' first two bytes: most positions (the zero
	// pages of a store file, ordinary text) are passed over without a
	// map lookup.
	first2 [1 << 16]bool
}

func newMatcher(creds []domain.Credential) *matcher {
	m := &matcher{by: map[[4]byte][]int{}}
	seen := map[string]bool{}
	for _, c := range creds {
		for _, f := range Forms(c) {
			if seen[f.Value] {
				continue
			}
			seen[f.Value] = true
			m.forms = append(m.forms, f)
			k := [4]byte([]byte(f.Value[:4]))
			m.by[k] = append(m.by[k], len(m.forms)-1)
			m.first2[int(f.Value[0])<<8|int(f.Value[1])] = true
		}
	}
	return m
}

func (m *matcher) find(text string) []Hit {
	var hits []Hit
	found := map[int]bool{}
	for i := 0; i+4 <= len(text); i++ {
		if !m.first2[int(text[i])<<8|int(text[i+1])] {
			continue
		}
		idx, ok := m.by[[4]byte([]byte(text[i:i+4]))]
		if !ok {
			continue
		}
		for _, fi := range idx {
			if !found[fi] && strings.HasPrefix(text[i:], m.forms[fi].Value) {
				found[fi] = true
				hits = append(hits, Hit{m.forms[fi], i})
			}
		}
	}
	return hits
}

// ChildEnv, set to "1" in the environment of a test binary re-run as a
// child process (functions/internal/starttest), turns Main into m.Run.
const ChildEnv = "SECRETSCAN_CHILD"

// Main runs the package's tests, then the scan, and exits: it fails the
// run on a hit, naming each (form, sink, place; never the value), and
// prints the summary line make test shows. after runs once the tests are
// done (stopping the stand-ins, for example).
func Main(m *testing.M, after ...func()) {
	if os.Getenv(ChildEnv) == "1" {
		// A child process exits from main (os.Exit): a tee would lose
		// what it has not passed on, and the parent scans.
		os.Exit(m.Run())
	}
	restore := CaptureStderr()
	code := m.Run()
	for _, f := range after {
		f()
	}
	restore()
	os.Exit(Finish(code))
}

// CaptureStderr tees the process's standard error (where a logger built
// on os.Stderr, slog's default and the log package write) into the
// package's logs, until the returned function is called.
func CaptureStderr() (restore func()) {
	orig := os.Stderr
	r, w, err := os.Pipe()
	if err != nil {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 64<<10)
		for {
			n, err := r.Read(buf)
			if n > 0 {
				_, _ = orig.Write(buf[:n])
				Capture(Logs, "stderr", buf[:n])
			}
			if err != nil {
				return
			}
		}
	}()
	os.Stderr = w
	log.SetOutput(w)
	return func() {
		os.Stderr = orig
		log.SetOutput(orig)
		_ = w.Close()
		<-done
		_ = r.Close()
	}
}

// Finish is Main's last step, for a TestMain that does more after the
// tests: it scans, reports, and returns the exit code (1 on a hit).
func Finish(code int) int { return finish(code, os.Stdout, os.Stderr) }

// finish harvests the package's credential literals, scans and reports;
// it returns the exit code.
func finish(code int, out, errOut io.Writer) int {
	creds, err := Harvest(".")
	if err != nil {
		fmt.Fprintln(errOut, "secret scan:", err)
		return 1
	}
	suite.register(creds...)
	rep := suite.scan()
	for _, h := range rep.Hits {
		fmt.Fprintln(errOut, "FAIL: secret scan:", h)
	}
	fmt.Fprintln(out, rep.Summary(packagePath()))
	if len(rep.Hits) > 0 {
		return 1
	}
	return code
}

// packagePath is the package's path in its module (tests run in its folder).
func packagePath() string {
	wd, err := os.Getwd()
	if err != nil {
		return "?"
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			rel, _ := filepath.Rel(dir, wd)
			return filepath.ToSlash(rel)
		}
		if filepath.Dir(dir) == dir {
			return filepath.Base(wd)
		}
	}
}
