package graphsim_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
	"github.com/mailbridge/mailbridge/shared/exchange/graphsim"
)

const (
	tenant   = "contoso-tenant"
	clientID = "11111111-2222-3333-4444-555555555555"
	secret   = "graph-secret"
	alice    = "alice@contoso.com"
	bob      = "bob@contoso.com"
	carol    = "carol@contoso.com" // outside the app's scope
)

// env is a simulator with three mailboxes behind an httptest server and
// an app scoped to alice and bob.
type env struct {
	t     *testing.T
	sim   *ewssim.Sim
	graph *graphsim.Server
	srv   *httptest.Server
	token string
}

func newEnv(t *testing.T, opts graphsim.Options) *env {
	t.Helper()
	sim := ewssim.New(ewssim.Options{Seed: 1})
	for _, m := range []struct{ addr, name string }{{alice, "Alice Park"}, {bob, "Bob Welker"}, {carol, "Carol Gross"}} {
		if err := sim.AddMailbox(m.addr, m.name); err != nil {
			t.Fatal(err)
		}
	}
	if err := sim.AddAccount(ewssim.Account{Tenant: tenant, ClientID: clientID, ClientSecret: secret, ImpersonationScope: []string{alice, bob}}); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, sim: sim, graph: graphsim.New(sim, opts)}
	e.srv = httptest.NewServer(e.graph.Handler())
	t.Cleanup(e.srv.Close)
	e.token = e.tokenFor(graphScope)
	return e
}

const graphScope = "https://graph.microsoft.com/.default"

// tokenFor asks the simulator's token endpoint for an app-only token.
func (e *env) tokenFor(scope string) string {
	e.t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret}, "scope": {scope}}
	resp, err := http.PostForm(e.srv.URL+"/"+tenant+"/oauth2/v2.0/token", form)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		e.t.Fatalf("token: status %d, %v", resp.StatusCode, err)
	}
	return tok.AccessToken
}

// response is a decoded Graph answer.
type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

func (r response) errorCode() string {
	if e, ok := r.body["error"].(map[string]any); ok {
		code, _ := e["code"].(string)
		return code
	}
	return ""
}

func (r response) values() []map[string]any {
	var out []map[string]any
	for _, v := range r.body["value"].([]any) {
		out = append(out, v.(map[string]any))
	}
	return out
}

// do sends a request with the env's token (token "" sends none) and
// checks what every Graph answer carries.
func (e *env) do(method, path string, body any, hdr ...string) response {
	return e.doToken(e.token, method, path, body, hdr...)
}

func (e *env) doToken(token, method, path string, body any, hdr ...string) response {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	u := path
	if !strings.HasPrefix(u, "http") {
		u = e.srv.URL + "/v1.0" + path
	}
	req, _ := http.NewRequest(method, u, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := response{status: resp.StatusCode, header: resp.Header, raw: raw}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			e.t.Fatalf("%s %s: body is not JSON: %s", method, path, raw)
		}
	}
	if resp.Header.Get("request-id") == "" || resp.Header.Get("client-request-id") == "" {
		e.t.Errorf("%s %s: answer lacks request-id or client-request-id", method, path)
	}
	if r.status >= 400 {
		checkErrorBody(e.t, r)
	}
	return r
}

// checkErrorBody asserts Graph's error shape.
func checkErrorBody(t *testing.T, r response) {
	t.Helper()
	e, ok := r.body["error"].(map[string]any)
	if !ok {
		t.Fatalf("status %d without an error object: %s", r.status, r.raw)
	}
	inner, _ := e["innerError"].(map[string]any)
	if e["code"] == "" || e["message"] == "" || inner["request-id"] != r.header.Get("request-id") || inner["date"] == nil || inner["client-request-id"] == nil {
		t.Errorf("malformed error body: %s", r.raw)
	}
}

// deltaRound follows nextLinks from start to the deltaLink and returns
// every entry, the number of pages and the deltaLink.
func (e *env) deltaRound(start string, hdr ...string) ([]map[string]any, int, string) {
	e.t.Helper()
	var all []map[string]any
	link := start
	for pages := 1; ; pages++ {
		r := e.do("GET", link, nil, hdr...)
		if r.status != http.StatusOK {
			e.t.Fatalf("GET %s: %d %s", link, r.status, r.raw)
		}
		all = append(all, r.values()...)
		if d, ok := r.body["@odata.deltaLink"].(string); ok {
			return all, pages, d
		}
		next, ok := r.body["@odata.nextLink"].(string)
		if !ok {
			e.t.Fatalf("page without nextLink or deltaLink: %s", r.raw)
		}
		link = next
	}
}

func byID(entries []map[string]any) map[string]map[string]any {
	m := make(map[string]map[string]any, len(entries))
	for _, x := range entries {
		m[x["id"].(string)] = x
	}
	return m
}

func isRemoved(x map[string]any) bool {
	r, ok := x["@removed"].(map[string]any)
	return ok && r["reason"] == "deleted"
}

func (e *env) graphID(ewsID string) string {
	e.t.Helper()
	id, err := e.sim.ImmutableID(ewsID)
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

func (e *env) addMessage(mailbox, folder, subject string) ewssim.ItemRef {
	e.t.Helper()
	ref, err := e.sim.AddItem(mailbox, folder, ewssim.Item{Kind: ewssim.KindMessage, Subject: subject, Body: "body of " + subject,
		From: ewssim.Address{Name: "Bob", Email: bob}, To: []ewssim.Address{{Name: "Alice", Email: alice}}})
	if err != nil {
		e.t.Fatal(err)
	}
	return ref
}

func newServer(t *testing.T, g *graphsim.Server) *httptest.Server {
	srv := httptest.NewServer(g.Handler())
	t.Cleanup(srv.Close)
	return srv
}

// tokenFrom gets a Graph token for an account's app.
func tokenFrom(t *testing.T, base string, a ewssim.Account) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {a.ClientID}, "client_secret": {a.ClientSecret}, "scope": {graphScope}}
	resp, err := http.PostForm(base+"/"+a.Tenant+"/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("token: status %d, %v", resp.StatusCode, err)
	}
	return tok.AccessToken
}

// moveOccurrence makes the occurrence of the series (by Graph id) that
// starts at original an exception, in the shared model (as an EWS
// client's UpdateItem on the occurrence does).
func (e *env) moveOccurrence(t *testing.T, seriesID string, original time.Time, x ewssim.Exception) {
	t.Helper()
	v, err := e.sim.ItemByImmutableID(seriesID)
	if err == nil {
		err = e.sim.SetOccurrence(v.ID, original, x)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// deleteOccurrence deletes the occurrence of the series (by Graph id)
// that starts at original, in the shared model.
func (e *env) deleteOccurrence(t *testing.T, seriesID string, original time.Time) {
	t.Helper()
	v, err := e.sim.ItemByImmutableID(seriesID)
	if err == nil {
		err = e.sim.DeleteOccurrence(v.ID, original)
	}
	if err != nil {
		t.Fatal(err)
	}
}
