package golden

import (
	"os"
	"path/filepath"
	"testing"
)

// recorder captures failures so Check's own verdicts can be asserted.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Errorf(string, ...any) { r.failed = true }
func (r *recorder) Fatalf(string, ...any) { r.failed = true }
func (r *recorder) Helper()               {}

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "answer.json")
	if err := os.WriteFile(path, []byte("{\n  \"a\": 1\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		path     string
		v        any
		wantFail bool
	}{
		{"equal", path, map[string]int{"a": 1}, false},
		{"different", path, map[string]int{"a": 2}, true},
		{"missing file", filepath.Join(dir, "none.json"), 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &recorder{TB: t}
			JSON(r, tc.path, tc.v)
			if r.failed != tc.wantFail {
				t.Fatalf("failed = %v, want %v", r.failed, tc.wantFail)
			}
		})
	}
}
