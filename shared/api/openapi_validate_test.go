package api

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// Response validation against infra/openapi.yaml (kin-openapi): an env
// with validate set checks every answer's status, headers and JSON body
// against the operation's response schema, so a field the document does
// not declare (schemas with additionalProperties: false), a missing
// required one or a wrong type fails the test that got it.

var openAPIRouter = sync.OnceValues(func() (routers.Router, error) {
	doc, err := openapi3.NewLoader().LoadFromFile(openAPIPath)
	if err != nil {
		return nil, err
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, err
	}
	// Match on the path alone: tests serve on http://api.test.
	doc.Servers = nil
	return legacy.NewRouter(doc)
})

// checkResponse validates one answer to hr.
func checkResponse(t testing.TB, hr *http.Request, w *httptest.ResponseRecorder) {
	t.Helper()
	router, err := openAPIRouter()
	if err != nil {
		t.Fatalf("infra/openapi.yaml: %v", err)
	}
	route, params, err := router.FindRoute(hr)
	if err != nil {
		t.Fatalf("%s %s: no operation in infra/openapi.yaml: %v", hr.Method, hr.URL.Path, err)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: hr, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}},
		Status:  w.Code,
		Header:  w.Header(),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	in.SetBodyBytes(w.Body.Bytes())
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		body := w.Body.String()
		t.Fatalf("%s %s answered %d, which does not match infra/openapi.yaml: %v\nbody: %.500s", hr.Method, hr.URL.Path, w.Code, err, body)
	}
}

// The validator catches what it is for: an undeclared field, a missing
// required one, a status not documented.
func TestResponseValidatorCatchesMismatches(t *testing.T) {
	hr := httptest.NewRequest("GET", "http://api.test/tenants/contoso/mailboxes/alice@contoso.com/items", nil)
	for _, tc := range []struct {
		name   string
		status int
		body   string
		ok     bool
	}{
		{"a conforming page", 200, `{"items":[{"id":"a","changeKey":"k","kind":"message","subject":"hi"}],"feedCursor":""}`, true},
		{"an undeclared field", 200, `{"items":[],"feedCursor":"","extra":1}`, false},
		{"an item with an undeclared field", 200, `{"items":[{"id":"a","changeKey":"k","kind":"message","colour":"red"}],"feedCursor":""}`, false},
		{"feedCursor missing", 200, `{"items":[]}`, false},
		{"an unknown kind", 200, `{"items":[{"id":"a","changeKey":"k","kind":"task"}],"feedCursor":""}`, false},
		{"an undocumented status", 410, `{"error":{"code":"gone","message":"x"}}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(tc.status)
			io.Copy(w, bytes.NewBufferString(tc.body))
			ft := &fakeT{TB: t}
			func() {
				defer func() { _ = recover() }()
				checkResponse(ft, hr, w)
			}()
			if ft.failed == tc.ok {
				t.Fatalf("validator failed=%v for %s (%s)", ft.failed, tc.name, strings.TrimSpace(ft.msg))
			}
		})
	}
}

// fakeT records a Fatalf instead of ending the test.
type fakeT struct {
	testing.TB
	failed bool
	msg    string
}

func (f *fakeT) Helper() {}

func (f *fakeT) Fatalf(format string, args ...any) {
	f.failed = true
	f.msg = format
	panic("fatal")
}
