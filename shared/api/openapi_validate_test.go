package api

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mailbridge/mailbridge/shared/testsupport/openapicheck"
)

// Response validation against infra/openapi.yaml (kin-openapi,
// shared/testsupport/openapicheck): every env (but fuzzing's quiet ones)
// checks every answer's status, headers and JSON body
// against the operation's response schema, so a field the document does
// not declare (schemas with additionalProperties: false), a missing
// required one or a wrong type fails the test that got it.

// checkResponse validates one answer to hr.
func checkResponse(t testing.TB, hr *http.Request, w *httptest.ResponseRecorder) {
	t.Helper()
	openapicheck.Check(t, hr, w.Code, w.Header(), w.Body.Bytes())
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
		{"a conforming page", 200, `{"items":[{"id":"a","changeKey":"k","itemKind":"message","subject":"hi"}],"feedCursor":"","initialSync":false}`, true},
		{"an undeclared field", 200, `{"items":[],"feedCursor":"","initialSync":false,"extra":1}`, false},
		{"an item with an undeclared field", 200, `{"items":[{"id":"a","changeKey":"k","itemKind":"message","colour":"red"}],"feedCursor":"","initialSync":false}`, false},
		{"feedCursor missing", 200, `{"items":[],"initialSync":false}`, false},
		{"an unknown kind", 200, `{"items":[{"id":"a","changeKey":"k","itemKind":"task"}],"feedCursor":"","initialSync":false}`, false},
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

func (f *fakeT) Fatal(args ...any) {
	f.failed = true
	f.msg = fmt.Sprint(args...)
	panic("fatal")
}

func (f *fakeT) Fatalf(format string, args ...any) {
	f.failed = true
	f.msg = format
	panic("fatal")
}
