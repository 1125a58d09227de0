package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// raceSender sends requests concurrently over one transport: a real HTTP
// server, or API Gateway events through LambdaHandler.
type raceSender struct {
	e         *env
	transport string
	url       string
}

func newRaceSender(t *testing.T, e *env, transport string) raceSender {
	s := raceSender{e: e, transport: transport}
	if transport == "http" {
		srv := httptest.NewServer(e.h)
		t.Cleanup(srv.Close)
		s.url = srv.URL
	}
	return s
}

// send is safe from any goroutine: it reports failures as a status 0.
func (s raceSender) send(t *testing.T, r req) (int, []byte) {
	if s.transport == "apigw" {
		resp, err := LambdaHandler(s.e.h)(context.Background(), apigwEvent(t, r))
		if err != nil {
			return 0, []byte(err.Error())
		}
		s.e.note("", resp.StatusCode, resp.MultiValueHeaders, []byte(resp.Body))
		return resp.StatusCode, []byte(resp.Body)
	}
	hr, err := http.NewRequest(r.method, s.url+r.path, strings.NewReader(r.body))
	if err != nil {
		return 0, []byte(err.Error())
	}
	if r.body != "" {
		hr.Header.Set("Content-Type", "application/json")
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	s.e.note("", resp.StatusCode, resp.Header, body)
	return resp.StatusCode, body
}

type raceResult struct {
	r      req
	status int
	body   []byte
}

// all sends every request at once and returns the answers in order.
func (s raceSender) all(t *testing.T, rs []req) []raceResult {
	out := make([]raceResult, len(rs))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, r := range rs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			st, b := s.send(t, r)
			out[i] = raceResult{r, st, b}
		}()
	}
	close(start)
	wg.Wait()
	return out
}

// errorField is the field a JSON error answer names, or "" if the body is
// not a JSON error.
func errorField(body []byte) (field string, ok bool) {
	var eb errorBody
	if err := json.Unmarshal(body, &eb); err != nil || eb.Error.Code == "" || eb.Error.Message == "" {
		return "", false
	}
	return eb.Error.Field, true
}

// TestHostileRaces runs concurrent requests that contend for one thing,
// over HTTP and API Gateway, on bolt and DynamoDB Local, and asserts the
// outcome the OpenAPI document promises: one winner, the others a JSON
// 409 or 404 naming why, and the store holding exactly the winner's work.
func TestHostileRaces(t *testing.T) {
	for _, st := range []struct {
		name string
		open func(*testing.T) (*env, storeDump)
	}{{"bolt", hostileBoltEnv}, {"dynamodb", hostileAWSEnv}} {
		for _, transport := range []string{"http", "apigw"} {
			t.Run(st.name+"/"+transport, func(t *testing.T) {
				e, _ := st.open(t)
				s := newRaceSender(t, e, transport)
				for round := range 3 {
					raceKeyReuse(t, e, s, round)
					raceSameVersionPatch(t, e, s, round)
					raceMailboxDelete(t, e, s, round)
					raceCreateVersusDelete(t, e, s, round)
				}
			})
		}
	}
}

// raceKeyReuse: one Idempotency-Key, six bodies naming six tenants, sent
// at once. Exactly one create wins (201); the others answer 409 naming
// the Idempotency-Key, and none of their tenants or secrets is stored.
func raceKeyReuse(t *testing.T, e *env, s raceSender, round int) {
	key := fmt.Sprintf("race-key-%d", round)
	var rs []req
	var ids []string
	for i := range 6 {
		id := fmt.Sprintf("racer%d-%d", round, i)
		ids = append(ids, id)
		cred := basicCred("svc", fmt.Sprintf("Race-key-pw-%d-%d", round, i))
		rs = append(rs, req{method: "POST", path: "/tenants", header: map[string]string{"Idempotency-Key": key},
			body: tenantBody(id, "https://mail.contoso.com/EWS/Exchange.asmx", cred, "")})
	}
	res := s.all(t, rs)
	winners := 0
	for i, a := range res {
		problem := ""
		switch a.status {
		case 201:
			winners++
		case 409:
			if f, ok := errorField(a.body); !ok || f != "Idempotency-Key" {
				problem = fmt.Sprintf("409 not naming the Idempotency-Key: %s", a.body)
			}
		default:
			problem = fmt.Sprintf("status %d: %s", a.status, a.body)
		}
		stored := e.tenantStored(ids[i])
		if stored != (a.status == 201) {
			problem += fmt.Sprintf("; answered %d but the tenant stored is %v", a.status, stored)
		}
		tallyHostile(fmt.Sprintf("race: key reuse, request %d", i), s.transport, problem)
		if problem != "" {
			t.Errorf("round %d, key reuse, body %d: %s", round, i, problem)
		}
	}
	if winners != 1 {
		t.Errorf("round %d: %d creates won one Idempotency-Key, want 1", round, winners)
	}
	for _, id := range ids {
		if e.tenantStored(id) {
			e.must(req{method: "DELETE", path: "/tenants/" + id}, 204)
		}
	}
}

// raceSameVersionPatch: six PATCHes carrying the same version, at once.
// Exactly one applies (200); the others answer 409 (read the tenant
// again and retry) and change nothing.
func raceSameVersionPatch(t *testing.T, e *env, s raceSender, round int) {
	id := fmt.Sprintf("contoso-patch%d", round)
	e.onboard(id, basicCred("svc", fmt.Sprintf("Race-patch-pw-%d", round)))
	v := e.must(req{method: "GET", path: "/tenants/" + id}, 200)["version"].(float64)
	var rs []req
	for i := range 6 {
		rs = append(rs, req{method: "PATCH", path: "/tenants/" + id,
			body: fmt.Sprintf(`{"displayName":"Name %d-%d","version":%d}`, round, i, int64(v))})
	}
	res := s.all(t, rs)
	winner := ""
	for i, a := range res {
		problem := ""
		switch a.status {
		case 200:
			if winner != "" {
				problem = "a second PATCH of the same version applied"
			}
			winner = fmt.Sprintf("Name %d-%d", round, i)
		case 409:
			// The loser learns the tenant changed and what to do.
			if _, ok := errorField(a.body); !ok || !strings.Contains(string(a.body), "read it again and retry") {
				problem = fmt.Sprintf("409 not saying to read the tenant again: %s", a.body)
			}
		default:
			problem = fmt.Sprintf("status %d: %s", a.status, a.body)
		}
		tallyHostile(fmt.Sprintf("race: same-version patch, request %d", i), s.transport, problem)
		if problem != "" {
			t.Errorf("round %d, patch %d: %s", round, i, problem)
		}
	}
	got := e.must(req{method: "GET", path: "/tenants/" + id}, 200)
	if winner == "" || got["displayName"] != winner || got["version"].(float64) != v+1 {
		t.Errorf("round %d: stored %v / version %v, want the one winner %q at version %v", round, got["displayName"], got["version"], winner, v+1)
	}
	e.must(req{method: "DELETE", path: "/tenants/" + id}, 204)
}

// raceMailboxDelete: six DELETEs of one mailbox at once. One answers 204,
// the others 404 naming the mailbox; the tenant's other mailbox stays.
func raceMailboxDelete(t *testing.T, e *env, s raceSender, round int) {
	id := fmt.Sprintf("contoso-mb%d", round)
	e.onboard(id, basicCred("svc", fmt.Sprintf("Race-mb-pw-%d", round)), "gone@contoso.com", "kept@contoso.com")
	var rs []req
	for i := range 6 {
		// Six spellings of one address: the store folds case.
		addr := []string{"gone@contoso.com", "Gone@contoso.com", "GONE@contoso.com", "gone@Contoso.com", "gone@CONTOSO.COM", "gOne%40contoso.com"}[i]
		rs = append(rs, req{method: "DELETE", path: "/tenants/" + id + "/mailboxes/" + addr})
	}
	res := s.all(t, rs)
	deleted := 0
	for i, a := range res {
		problem := ""
		switch a.status {
		case 204:
			deleted++
		case 404:
			if _, ok := errorField(a.body); !ok || !strings.Contains(string(a.body), "gone@contoso.com") {
				problem = fmt.Sprintf("404 not naming the mailbox: %s", a.body)
			}
		default:
			problem = fmt.Sprintf("status %d: %s", a.status, a.body)
		}
		tallyHostile(fmt.Sprintf("race: mailbox delete, request %d", i), s.transport, problem)
		if problem != "" {
			t.Errorf("round %d, mailbox delete %d: %s", round, i, problem)
		}
	}
	if deleted != 1 {
		t.Errorf("round %d: %d deletes of one mailbox answered 204, want 1", round, deleted)
	}
	ms, _, err := e.store.ListMailboxes(context.Background(), id, domain.MailboxQuery{Limit: 10})
	if err != nil || len(ms) != 1 || ms[0].Address != "kept@contoso.com" {
		t.Errorf("round %d: mailboxes left %v (%v), want only kept@contoso.com", round, ms, err)
	}
	e.must(req{method: "DELETE", path: "/tenants/" + id}, 204)
}

// raceCreateVersusDelete: three creates and three deletes of one tenant
// at once. Whatever the interleaving, every answer is one the OpenAPI
// document lists (a 4xx or 5xx as a JSON error, never a 500), and the
// tenant is stored exactly when its secret is (TestCreateDeleteRace runs
// more rounds of the same over the recorder).
func raceCreateVersusDelete(t *testing.T, e *env, s raceSender, round int) {
	doc, _, err := parseOpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	const id = "contoso-cvd"
	body := tenantBody(id, "https://mail.contoso.com/EWS/Exchange.asmx", basicCred("svc", "Race-cvd-pw-1"), "")
	var rs []req
	for i := range 6 {
		if i%2 == 0 {
			rs = append(rs, req{method: "POST", path: "/tenants", body: body})
		} else {
			rs = append(rs, req{method: "DELETE", path: "/tenants/" + id})
		}
	}
	for i, a := range s.all(t, rs) {
		op := "POST /tenants"
		if a.r.method == "DELETE" {
			op = "DELETE /tenants/{id}"
		}
		problem := ""
		if !slices.Contains(doc[op], a.status) || a.status == http.StatusInternalServerError {
			problem = fmt.Sprintf("%s answered %d: %s", op, a.status, a.body)
		} else if _, ok := errorField(a.body); a.status >= 400 && !ok {
			problem = fmt.Sprintf("%s answered %d without a JSON error: %s", op, a.status, a.body)
		}
		tallyHostile(fmt.Sprintf("race: create versus delete, request %d", i), s.transport, problem)
		if problem != "" {
			t.Errorf("round %d: %s", round, problem)
		}
	}
	checkTenantSecret(t, e, id, fmt.Sprintf("round %d", round))
	if e.tenantStored(id) {
		e.must(req{method: "DELETE", path: "/tenants/" + id}, 204)
	}
}

// tenantStored reports whether the tenant's record or its secret is stored.
func (e *env) tenantStored(id string) bool {
	_, err := e.store.GetTenant(context.Background(), id)
	_, hasSecret := e.secrets.get(id)
	return err == nil || hasSecret
}
