package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// apigwEvent starts from aws-lambda-go's sample REST API proxy event
// (testdata/apigw-request.json, copied from its events/testdata) and
// replaces the method, path, query, headers and body.
func apigwEvent(t *testing.T, r req) events.APIGatewayProxyRequest {
	t.Helper()
	raw, err := os.ReadFile("testdata/apigw-request.json")
	if err != nil {
		t.Fatal(err)
	}
	var e events.APIGatewayProxyRequest
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatal(err)
	}
	p, rawQuery, _ := strings.Cut(r.path, "?")
	e.HTTPMethod = r.method
	e.RequestContext.HTTPMethod = r.method
	e.Path = p
	e.RequestContext.Path = "/" + e.RequestContext.Stage + p
	e.PathParameters = map[string]string{"proxy": strings.TrimPrefix(p, "/")}
	e.QueryStringParameters = nil
	e.MultiValueQueryStringParameters = nil
	if rawQuery != "" {
		// API Gateway hands over decoded values; a malformed escape
		// reaches the function as the literal text.
		e.MultiValueQueryStringParameters = map[string][]string{}
		e.QueryStringParameters = map[string]string{}
		for _, kv := range strings.Split(rawQuery, "&") {
			k, v, _ := strings.Cut(kv, "=")
			if dv, err := url.QueryUnescape(v); err == nil {
				v = dv
			}
			e.MultiValueQueryStringParameters[k] = append(e.MultiValueQueryStringParameters[k], v)
			e.QueryStringParameters[k] = v
		}
	}
	e.Body = r.body
	setHeader := func(k, v string) {
		for hk := range e.Headers {
			if strings.EqualFold(hk, k) {
				delete(e.Headers, hk)
				delete(e.MultiValueHeaders, hk)
			}
		}
		if v != "" {
			e.Headers[k] = v
			e.MultiValueHeaders[k] = []string{v}
		}
	}
	if r.body == "" {
		setHeader("Content-Type", "")
	}
	for k, v := range r.header {
		setHeader(k, v)
	}
	return e
}

// doEvent serves one API Gateway event through LambdaHandler.
func (e *env) doEvent(t *testing.T, r req) events.APIGatewayProxyResponse {
	t.Helper()
	ev := apigwEvent(t, r)
	resp, err := LambdaHandler(e.h)(context.Background(), ev)
	if err != nil {
		t.Fatalf("handler error: %v", err)
	}
	hr, rerr := requestFromEvent(context.Background(), ev)
	pattern := ""
	if rerr == nil {
		_, pattern = e.srv.mux.Handler(hr)
	}
	e.note(pattern, resp.StatusCode, resp.MultiValueHeaders, []byte(resp.Body))
	return resp
}

func TestLambdaAdapter(t *testing.T) {
	e := newEnv(t)
	cred := basicCred("svc", "Lambda-pw-9")

	// Create: the sample's request id becomes ours, the body is decoded.
	resp := e.doEvent(t, req{method: "POST", path: "/tenants", body: tenantBody("contoso", "https://mail.contoso.com/EWS/Exchange.asmx", cred, ""),
		header: map[string]string{"X-Request-Id": "client-chosen"}})
	if resp.StatusCode != 201 {
		t.Fatalf("create = %d %s", resp.StatusCode, resp.Body)
	}
	if got := resp.MultiValueHeaders["X-Request-Id"]; len(got) != 1 || got[0] != "deef4878-7910-11e6-8f14-25afc3e9ae33" {
		t.Fatalf("X-Request-Id = %v, want API Gateway's request id", got)
	}
	if ct := resp.MultiValueHeaders["Content-Type"]; len(ct) != 1 || ct[0] != "application/json" || resp.IsBase64Encoded {
		t.Fatalf("content type %v, base64 %v", ct, resp.IsBase64Encoded)
	}

	// A base64 body (binary media types) decodes the same.
	ev := apigwEvent(t, req{method: "POST", path: "/tenants/contoso/mailboxes", body: `{"mailboxes":[{"address":"alice@contoso.com"},{"address":"bob@contoso.com"}]}`})
	ev.Body = base64.StdEncoding.EncodeToString([]byte(ev.Body))
	ev.IsBase64Encoded = true
	out, err := LambdaHandler(e.h)(context.Background(), ev)
	if err != nil || out.StatusCode != 200 || !strings.Contains(out.Body, `"added":2`) {
		t.Fatalf("base64 bulk add = %d %s %v", out.StatusCode, out.Body, err)
	}

	// An encoded address in the path, as REST APIs deliver it.
	if r := e.doEvent(t, req{method: "DELETE", path: "/tenants/contoso/mailboxes/bob%40contoso.com"}); r.StatusCode != 204 || r.Body != "" {
		t.Fatalf("delete = %d %q", r.StatusCode, r.Body)
	}

	// Query parameters arrive as maps.
	r := e.doEvent(t, req{method: "GET", path: "/tenants/contoso/mailboxes?status=pending&limit=5"})
	if r.StatusCode != 200 || !strings.Contains(r.Body, "alice@contoso.com") || strings.Contains(r.Body, "bob@contoso.com") {
		t.Fatalf("list = %d %s", r.StatusCode, r.Body)
	}

	r = e.doEvent(t, req{method: "GET", path: "/tenants/contoso"})
	if r.StatusCode != 200 || !strings.Contains(r.Body, cred.Fingerprint()) || strings.Contains(r.Body, cred.Password) {
		t.Fatalf("get = %d %s", r.StatusCode, r.Body)
	}

	// Broken events get JSON errors, not a Lambda failure.
	bad := apigwEvent(t, req{method: "GET", path: "/tenants/contoso"})
	bad.Body, bad.IsBase64Encoded = "%%%", true
	if out, err := LambdaHandler(e.h)(context.Background(), bad); err != nil || out.StatusCode != 400 || !strings.Contains(out.Body, "base64") {
		t.Fatalf("bad base64 = %d %s %v", out.StatusCode, out.Body, err)
	}
	bad = apigwEvent(t, req{method: "GET", path: "/tenants/con%zztoso"})
	if out, err := LambdaHandler(e.h)(context.Background(), bad); err != nil || out.StatusCode != 400 {
		t.Fatalf("bad path escape = %d %s %v", out.StatusCode, out.Body, err)
	}
	if r := e.doEvent(t, req{method: "GET", path: "/nowhere"}); r.StatusCode != 404 {
		t.Fatalf("unknown route = %d", r.StatusCode)
	}
}

// TestCallerTenants restricts IAM callers (API Gateway's userArn) to tenants.
func TestCallerTenants(t *testing.T) {
	const (
		operator   = "arn:aws:sts::123456789012:assumed-role/mailbridge-operator/ops"
		contosoApp = "arn:aws:sts::123456789012:assumed-role/contoso-app/session-1"
	)
	e := newEnv(t, func(d *Deps) {
		d.CallerTenants = map[string][]string{operator: {"*"}, "arn:aws:sts::123456789012:assumed-role/contoso-app/*": {"contoso"}}
	})
	as := func(caller string, r req) events.APIGatewayProxyResponse {
		ev := apigwEvent(t, r)
		ev.RequestContext.Identity.UserArn = caller
		resp, err := LambdaHandler(e.h)(context.Background(), ev)
		if err != nil {
			t.Fatal(err)
		}
		hr, _ := requestFromEvent(context.Background(), ev)
		_, pattern := e.srv.mux.Handler(hr)
		e.note(pattern, resp.StatusCode, resp.MultiValueHeaders, []byte(resp.Body))
		return resp
	}
	for _, id := range []string{"contoso", "globex"} {
		r := as(operator, req{method: "POST", path: "/tenants", body: tenantBody(id, "https://mail."+id+".com/EWS/Exchange.asmx", basicCred("svc", "Caller-pw-"+id), "")})
		if r.StatusCode != 201 {
			t.Fatalf("operator create %s = %d %s", id, r.StatusCode, r.Body)
		}
	}
	tests := []struct {
		caller string
		r      req
		want   int
	}{
		{contosoApp, req{method: "GET", path: "/tenants/contoso"}, 200},
		{contosoApp, req{method: "GET", path: "/tenants/globex"}, 403},
		{contosoApp, req{method: "POST", path: "/tenants/globex/verify"}, 403},
		{contosoApp, req{method: "GET", path: "/tenants/globex/audit"}, 403},
		{contosoApp, req{method: "DELETE", path: "/tenants/globex"}, 403},
		{contosoApp, req{method: "POST", path: "/tenants", body: tenantBody("evilco", "https://mail.contoso.com/", basicCred("svc", "Caller-pw-x"), "")}, 403},
		{"arn:aws:iam::123456789012:user/stranger", req{method: "GET", path: "/tenants/contoso"}, 403},
		{"", req{method: "GET", path: "/tenants/contoso"}, 403},
		{"arn:aws:sts::123456789012:assumed-role/contoso-app-evil/s", req{method: "GET", path: "/tenants/contoso"}, 403},
		{"arn:aws:sts::123456789012:assumed-role/contoso-app/session-2", req{method: "GET", path: "/tenants/contoso"}, 200},
		{operator, req{method: "GET", path: "/tenants/globex"}, 200},
	}
	for _, tc := range tests {
		if r := as(tc.caller, tc.r); r.StatusCode != tc.want {
			t.Errorf("%s %s as %q = %d, want %d: %s", tc.r.method, tc.r.path, tc.caller, r.StatusCode, tc.want, r.Body)
		}
	}
}
