package api

import (
	"os"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestVersionHeader: every answer, errors included, says the API version,
// which is infra/openapi.yaml's info.version.
func TestVersionHeader(t *testing.T) {
	raw, err := os.ReadFile(openAPIPath)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Info struct{ Version string } `yaml:"info"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Info.Version != Version {
		t.Fatalf("infra/openapi.yaml info.version %q, api.Version %q: bump both together", doc.Info.Version, Version)
	}
	e := newEnv(t)
	e.onboard("contoso", basicCred("svc", "Version-pw-1"))
	for _, r := range []req{
		{method: "GET", path: "/tenants/contoso"},
		{method: "GET", path: "/tenants/nobody-here"},
		{method: "PUT", path: "/tenants/contoso"},
		{method: "GET", path: "/nowhere"},
		{method: "GET", path: "/tenants/../tenants"},
		{method: "GET", path: "/v1/tenants/contoso"},
	} {
		if w := e.do(r); w.Header().Get("Mailbridge-Version") != Version {
			t.Errorf("%s %s (%d): Mailbridge-Version %q, want %q", r.method, r.path, w.Code, w.Header().Get("Mailbridge-Version"), Version)
		}
	}
}

// TestVersionPrefix: /v1 before a route is the route.
func TestVersionPrefix(t *testing.T) {
	e := newEnv(t)
	e.onboard("contoso", basicCred("svc", "Version-pw-2"), "ann@contoso.com")
	for _, p := range []string{"/tenants/contoso", "/tenants/contoso/mailboxes?limit=1", "/tenants?limit=5", "/tenants/contoso/changes"} {
		plain, aliased := e.do(req{method: "GET", path: p}), e.do(req{method: "GET", path: "/v1" + p})
		if plain.Code != 200 || aliased.Code != plain.Code || aliased.Body.String() != plain.Body.String() {
			t.Errorf("GET /v1%s = %d %s; GET %s = %d %s", p, aliased.Code, aliased.Body, p, plain.Code, plain.Body)
		}
	}
	e.must(req{method: "POST", path: "/v1/tenants/contoso/verify"}, 200)
	for _, p := range []string{"/v1", "/v1/", "/v1/v1/tenants/contoso", "/v2/tenants/contoso", "/v1tenants/contoso"} {
		if w := e.do(req{method: "GET", path: p}); w.Code != 404 && w.Code != 400 {
			t.Errorf("GET %s = %d, want 404 (or 400 for an unclean path)", p, w.Code)
		}
	}
}
