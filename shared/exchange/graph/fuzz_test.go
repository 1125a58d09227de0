package graph

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzDeltaPage feeds arbitrary bodies to the delta page decoder. It must
// never panic; it returns either a page whose links are on the endpoint
// and whose items and removals all have ids, or an *Error.
func FuzzDeltaPage(f *testing.F) {
	for _, dir := range []string{"responses", "broken", "errors"} {
		files, _ := filepath.Glob(filepath.Join("testdata", dir, "*"))
		for _, file := range files {
			f.Add(readFile(f, strings.TrimPrefix(file, "testdata/")))
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		rec := &recorder{answers: []canned{answer(200, body)}}
		c := newTestClient(t, rec)
		p, err := c.MessagesDelta(bg, "u", "f", MessagesDeltaOptions{})
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || Classify(err) == ClassNone {
				t.Fatalf("untyped error %T: %v", err, err)
			}
			return
		}
		if (p.NextLink == "") == (p.DeltaLink == "") {
			t.Fatalf("page with links %q / %q", p.NextLink, p.DeltaLink)
		}
		for _, l := range []string{p.NextLink, p.DeltaLink} {
			if l != "" && !strings.HasPrefix(strings.ToLower(l), "https://graph.microsoft.com/") {
				t.Fatalf("foreign link accepted: %q", l)
			}
		}
		for _, m := range p.Items {
			if m.ID == "" {
				t.Fatal("item without id")
			}
		}
		for _, r := range p.Removed {
			if r.ID == "" {
				t.Fatal("removal without id")
			}
		}
	})
}
