package api

import (
	"encoding/json"
	"log/slog"
	"testing"
)

// FuzzCreateTenant: whatever the body, POST /tenants answers 201 or a 4xx
// JSON error, never a 5xx, and stores a tenant only when it answers 201.
func FuzzCreateTenant(f *testing.F) {
	for _, tc := range hostileCases() {
		if tc.r.method == "POST" && tc.r.path == "/tenants" && len(tc.r.body) < 4096 {
			f.Add(tc.r.body)
		}
	}
	f.Add(createWith(""))
	f.Add(createWith(`,"folders":["all"],"accessMode":"delegate","maxConcurrentJobs":27`))
	// Millions of inputs: keep neither logs nor answers.
	e := newEnv(f, func(d *Deps) { d.Logger = slog.New(slog.DiscardHandler) })
	e.quiet = true
	f.Fuzz(func(t *testing.T, body string) {
		e.t = t // the env's helpers report to this input's test
		before := e.snapshot()
		w := e.do(req{method: "POST", path: "/tenants", body: body})
		switch {
		case w.Code == 201:
			var v tenantView
			if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil || v.ID == "" {
				t.Fatalf("201 without a tenant: %s", w.Body)
			}
			e.must(req{method: "DELETE", path: "/tenants/" + v.ID}, 204)
		case w.Code >= 400 && w.Code < 500:
			var eb errorBody
			if err := json.Unmarshal(w.Body.Bytes(), &eb); err != nil || eb.Error.Message == "" {
				t.Fatalf("%d without a JSON error: %s", w.Code, w.Body)
			}
			if after := e.snapshot(); after != before {
				t.Fatalf("a refused create changed the store: %s", body)
			}
		default:
			t.Fatalf("status %d for %q: %s", w.Code, body, w.Body)
		}
	})
}
