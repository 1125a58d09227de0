// Package openapicheck validates HTTP answers against infra/openapi.yaml
// (kin-openapi): status, headers and JSON body against the operation's
// response schema, so an undeclared field (schemas with
// additionalProperties: false), a missing required one, a wrong type or an
// undocumented status fails the test that got it. shared/api's handler
// tests and scripts/local's HTTP tests share it.
package openapicheck

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// Spec is the document's path from the module root.
const Spec = "infra/openapi.yaml"

var loaded = sync.OnceValues(func() (*openapi3.T, error) {
	path, err := specPath()
	if err != nil {
		return nil, err
	}
	doc, err := openapi3.NewLoader().LoadFromFile(path)
	if err != nil {
		return nil, err
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, err
	}
	// Match on the path alone: tests serve on any host.
	doc.Servers = nil
	return doc, nil
})

var router = sync.OnceValues(func() (routers.Router, error) {
	doc, err := loaded()
	if err != nil {
		return nil, err
	}
	return legacy.NewRouter(doc)
})

// specPath finds infra/openapi.yaml above the working directory (tests run
// in their package's folder).
func specPath() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, Spec), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}

// Doc is the loaded, validated document.
func Doc() (*openapi3.T, error) { return loaded() }

// Operation is one method and path template of the document.
type Operation struct{ Method, Path string }

// Operations lists every operation of the document.
func Operations() ([]Operation, error) {
	doc, err := loaded()
	if err != nil {
		return nil, err
	}
	var out []Operation
	for _, path := range doc.Paths.InMatchingOrder() {
		for method := range doc.Paths.Value(path).Operations() {
			out = append(out, Operation{method, path})
		}
	}
	return out, nil
}

// Validate reports how one answer to hr departs from the document, or
// nil. An answer to a path the document does not describe is an error.
func Validate(hr *http.Request, status int, header http.Header, body []byte) error {
	r, err := router()
	if err != nil {
		return fmt.Errorf("%s: %w", Spec, err)
	}
	// /v1 is an alias of every route (shared/api/version.go); the document
	// names the routes without it.
	if p := hr.URL.Path; p == "/v1" || strings.HasPrefix(p, "/v1/") {
		hr = hr.Clone(hr.Context())
		hr.URL.Path = strings.TrimPrefix(p, "/v1")
		hr.URL.RawPath = ""
	}
	route, params, err := r.FindRoute(hr)
	if err != nil {
		switch {
		case status >= 300 && status < 400:
			// net/http's redirect to the cleaned path (a path with ".."
			// or "//"): no API answer, nothing to match.
			return nil
		case status >= 400:
			// A path no operation names (a hostile one, say): the answer
			// must still be the documented error.
			return ValidateError(body)
		}
		return fmt.Errorf("%s %s answered %d but no operation in %s names it: %w", hr.Method, hr.URL.Path, status, Spec, err)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: hr, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}},
		Status:  status,
		Header:  header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		return fmt.Errorf("%s %s answered %d, which does not match %s: %w\nbody: %.500s", hr.Method, hr.URL.Path, status, Spec, err, body)
	}
	return nil
}

// Check fails t if the answer departs from the document.
func Check(t testing.TB, hr *http.Request, status int, header http.Header, body []byte) {
	t.Helper()
	if err := Validate(hr, status, header, body); err != nil {
		t.Fatal(err)
	}
}

// Client is an HTTP client whose every answer is validated; a mismatch
// fails t (with Errorf: the client may serve another goroutine).
func Client(t testing.TB) *http.Client {
	return &http.Client{Transport: transport{t: t, next: http.DefaultTransport}}
}

type transport struct {
	t    testing.TB
	next http.RoundTripper
}

func (tr transport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := tr.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err := Validate(req, resp.StatusCode, resp.Header, body); err != nil {
		tr.t.Errorf("%v", err)
	}
	return resp, nil
}

// ValidateError reports how an error body departs from the document's
// Error schema: for answers no operation documents (an unknown path, a
// method the path does not serve).
func ValidateError(body []byte) error {
	doc, err := loaded()
	if err != nil {
		return fmt.Errorf("%s: %w", Spec, err)
	}
	ref := doc.Components.Schemas["Error"]
	if ref == nil || ref.Value == nil {
		return fmt.Errorf("%s: no Error schema", Spec)
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("error answer is not JSON: %w: %.200s", err, body)
	}
	if err := ref.Value.VisitJSON(v); err != nil {
		return fmt.Errorf("error answer does not match %s's Error schema: %w\nbody: %.500s", Spec, err, body)
	}
	return nil
}
