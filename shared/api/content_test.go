package api

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ewsmailbox"
	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
	"github.com/mailbridge/mailbridge/shared/exchange/graphmailbox"
	"github.com/mailbridge/mailbridge/shared/exchange/graphsim"
	"github.com/mailbridge/mailbridge/shared/platform/urlguard"
)

const (
	contentMailbox = "ann@contoso.com"
	contentLimit   = 4096 // bytes: small, so one attachment and one MIME are over it
)

// contentEnv is the API over one simulated mailbox (the EWS simulator
// and its Graph front end, one store), with a tenant on the protocol
// given, synced once, so its items are in the store.
type contentEnv struct {
	*env
	sim    *ewssim.Sim
	tenant string
	// msg has a file, an inline image and an attached message; big has an
	// attachment over the limit; fresh was added after the sync.
	msg, big, fresh string
}

func newContentEnv(t *testing.T, proto domain.Protocol) *contentEnv {
	t.Helper()
	return newContentEnvOn(t, proto, newEnv)
}

func newContentEnvOn(t *testing.T, proto domain.Protocol, mk func(testing.TB, ...envOption) *env) *contentEnv {
	t.Helper()
	sim := ewssim.New(ewssim.Options{Seed: 11, MaxConcurrency: -1})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(sim.AddMailbox(contentMailbox, "Ann"))
	must(sim.AddAccount(ewssim.Account{Username: "svc@contoso.com", Password: "Content-pw-1", Tenant: "contoso.onmicrosoft.com",
		ClientID: "app-1", ClientSecret: "Content-secret-1", ImpersonateAll: true}))
	received := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	msg, err := sim.AddItem(contentMailbox, "inbox", ewssim.Item{Subject: "Quote Q4 ✓", Body: "Please find the quote attached.\nRegards",
		From: ewssim.Address{Name: "Bob", Email: "bob@fabrikam.com"}, To: []ewssim.Address{{Name: "Ann", Email: contentMailbox}}, Received: received})
	must(err)
	_, err = sim.AddAttachment(msg.ID, ewssim.Attachment{Name: "quote \"Q4\"/final.pdf", ContentType: "application/pdf", Content: []byte("%PDF-1.4 quote")})
	must(err)
	_, err = sim.AddAttachment(msg.ID, ewssim.Attachment{Name: "logo.png", ContentType: "image/png", ContentID: "logo@x", IsInline: true, Content: []byte{0x89, 'P', 'N', 'G'}})
	must(err)
	_, err = sim.AddAttachment(msg.ID, ewssim.Attachment{Name: "Fwd: terms", IsItem: true, Content: []byte("Subject: terms\r\n\r\nthe terms")})
	must(err)
	big, err := sim.AddItem(contentMailbox, "inbox", ewssim.Item{Subject: "Scan", Body: "scan attached", Received: received.Add(time.Minute)})
	must(err)
	_, err = sim.AddAttachment(big.ID, ewssim.Attachment{Name: "scan.tif", ContentType: "image/tiff", Content: bytes.Repeat([]byte{7}, contentLimit+1)})
	must(err)

	srv, err := graphsim.New(sim, graphsim.Options{Seed: 11}).Start(true)
	must(err)
	t.Cleanup(func() { _ = srv.Close() })
	policy := urlguard.Policy{DevLoopback: true}
	tr := policy.Transport()
	tr.TLSClientConfig = &tls.Config{RootCAs: srv.CertPool(), MinVersion: tls.VersionTLS12}
	opts := ewsmailbox.Options{URLGuard: &policy, HTTPClient: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
	graph := graphmailbox.NewConnector(graphmailbox.Options{URLGuard: &policy, RootCAs: srv.CertPool()})
	protocols := app.Protocols{
		EWS:   app.ProtocolAdapters{Connector: ewsmailbox.NewConnector(opts), Content: ewsmailbox.NewContentConnector(opts, contentLimit)},
		Graph: app.ProtocolAdapters{Connector: graph, Content: graph},
	}
	e := mk(t, func(d *Deps) {
		d.Content = protocols
		d.ContentMaxBytes = contentLimit
		d.URLPolicy = policy
	})

	ctx := context.Background()
	tn := domain.Tenant{ID: "contoso-" + string(proto), DisplayName: "Contoso", EWSURL: srv.EWSURL, GraphURL: srv.GraphURL, ExchangeVersion: "Exchange2016",
		Protocol: proto, IDFormat: domain.IDFormat(proto), AuthKind: domain.AuthBasic, AccessMode: domain.AccessImpersonation,
		Status: domain.TenantActive, CreatedAt: testNow, UpdatedAt: testNow}
	cred := basicCred("svc@contoso.com", "Content-pw-1")
	if proto == domain.ProtocolGraph {
		tn.AuthKind, tn.AccessMode = domain.AuthOAuthSecret, domain.AccessApplication
		cred = domain.Credential{Kind: domain.AuthOAuthSecret, EntraTenant: "contoso.onmicrosoft.com", ClientID: "app-1", ClientSecret: "Content-secret-1", Authority: srv.URL}
		noteSecret(cred)
	}
	must(e.store.CreateTenant(ctx, tn))
	must(e.secrets.PutCredential(ctx, tn.ID, cred))
	must(e.store.AddMailbox(ctx, domain.Mailbox{TenantID: tn.ID, Address: contentMailbox, Status: domain.MailboxPending, UpdatedAt: testNow}))
	syncer := &app.Syncer{Store: e.store, Secrets: e.secrets, Connector: protocols, Clock: fixedClock{testNow}}
	if res, err := syncer.SyncMailbox(ctx, domain.SyncJob{TenantID: tn.ID, Mailbox: contentMailbox, Tick: testNow}); err != nil {
		t.Fatalf("sync: %v (%+v)", err, res)
	}
	fresh, err := sim.AddItem(contentMailbox, "inbox", ewssim.Item{Subject: "after the sync"})
	must(err)

	ce := &contentEnv{env: e, sim: sim, tenant: tn.ID}
	// The feed's ids: EWS ids for an EWS tenant, immutable ids for Graph.
	ce.msg, ce.big, ce.fresh = ce.feedID(t, msg.ID), ce.feedID(t, big.ID), ce.feedID(t, fresh.ID)
	return ce
}

func (ce *contentEnv) feedID(t *testing.T, ewsID string) string {
	t.Helper()
	if !strings.HasSuffix(ce.tenant, "graph") {
		return ewsID
	}
	id, err := ce.sim.ImmutableID(ewsID)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (ce *contentEnv) itemPath(id string) string {
	return "/tenants/" + ce.tenant + "/mailboxes/" + contentMailbox + "/items/" + url.PathEscape(id)
}

// stored is the item as the listing has it.
func (ce *contentEnv) stored(t *testing.T, id string) map[string]any {
	t.Helper()
	page := ce.must(req{method: "GET", path: "/tenants/" + ce.tenant + "/mailboxes/" + contentMailbox + "/items?limit=1000"}, 200)
	for _, it := range page["items"].([]any) {
		if m := it.(map[string]any); m["id"] == id {
			return m
		}
	}
	t.Fatalf("item %s is not in the listing", id)
	return nil
}

// attachmentSummary is an attachment list without the ids (which differ
// between the protocols).
func attachmentSummary(list any) []string {
	var out []string
	for _, a := range list.([]any) {
		m := a.(map[string]any)
		out = append(out, strings.Join([]string{m["name"].(string), m["contentType"].(string), jsonString(m["size"]), jsonString(m["isInline"] == true), m["kind"].(string)}, " | "))
	}
	return out
}

func jsonString(v any) string { b, _ := json.Marshal(v); return string(b) }

// TestContentRoutesBothProtocols is the on-demand content contract, held
// over EWS and Graph against one simulated mailbox: the feed lists each
// message's attachments; the item route answers the body and the
// attachment list the same over both, the MIME as message/rfc822, and an
// attachment's bytes with its type and a safe file name; what is over the
// limit is 413, ids the mailbox did not sync or the item does not have are
// 404, and every read is audited.
func TestContentRoutesBothProtocols(t *testing.T) {
	wantAttachments := []string{
		`quote "Q4"/final.pdf | application/pdf | 14 | false | file`,
		`logo.png | image/png | 4 | true | file`,
		`Fwd: terms | message/rfc822 | 27 | false | item`,
	}
	for _, tc := range []struct {
		name  string
		proto domain.Protocol
		mk    func(testing.TB, ...envOption) *env
	}{{"ews", domain.ProtocolEWS, newEnv}, {"graph", domain.ProtocolGraph, newEnv}, {"ews-dynamodb", domain.ProtocolEWS, awsEnv}} {
		t.Run(tc.name, func(t *testing.T) {
			ce := newContentEnvOn(t, tc.proto, tc.mk)

			// The feed carries the attachment list (metadata only).
			fed := ce.stored(t, ce.msg)
			if got := attachmentSummary(fed["attachments"]); !slices.Equal(got, wantAttachments) {
				t.Errorf("feed attachments:\n%q\nwant\n%q", got, wantAttachments)
			}

			// The item with its body and attachment list.
			got := ce.must(req{method: "GET", path: ce.itemPath(ce.msg) + "?include=body,attachments"}, 200)
			item := got["item"].(map[string]any)
			if item["id"] != ce.msg || item["subject"] != "Quote Q4 ✓" {
				t.Errorf("item = %v", item)
			}
			body := got["body"].(map[string]any)
			if body["contentType"] != "text" || body["content"] != "Please find the quote attached.\nRegards" {
				t.Errorf("body = %v", body)
			}
			if as := attachmentSummary(item["attachments"]); !slices.Equal(as, wantAttachments) {
				t.Errorf("attachments:\n%q\nwant\n%q", as, wantAttachments)
			}
			if html := ce.must(req{method: "GET", path: ce.itemPath(ce.msg) + "?include=body&bodyType=html"}, 200)["body"].(map[string]any); html["contentType"] != "html" {
				t.Errorf("bodyType=html: %v", html)
			}
			if plain := ce.must(req{method: "GET", path: ce.itemPath(ce.msg)}, 200); plain["body"] != nil || plain["item"].(map[string]any)["attachments"] != nil {
				t.Errorf("no include: %v, want the item alone", plain)
			}

			// The MIME, as message/rfc822.
			w := ce.do(req{method: "GET", path: ce.itemPath(ce.msg) + "?include=mime"})
			want, err := ce.sim.MIMEOf(ce.msg)
			if err != nil {
				t.Fatal(err)
			}
			if w.Code != 200 || w.Header().Get("Content-Type") != "message/rfc822" || !bytes.Equal(w.Body.Bytes(), want) {
				t.Fatalf("MIME: %d %s, %d bytes (want %d): %.200s", w.Code, w.Header().Get("Content-Type"), w.Body.Len(), len(want), w.Body)
			}
			if cd := w.Header().Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment; filename=") || !strings.HasSuffix(cd, ".eml") && !strings.HasSuffix(cd, `.eml"`) {
				t.Errorf("MIME Content-Disposition %q", cd)
			}

			// Each attachment, streamed with its type and a safe name.
			for i, a := range fed["attachments"].([]any) {
				m := a.(map[string]any)
				w := ce.do(req{method: "GET", path: ce.itemPath(ce.msg) + "/attachments/" + url.PathEscape(m["id"].(string))})
				if w.Code != 200 || w.Header().Get("X-Content-Type-Options") != "nosniff" {
					t.Fatalf("attachment %d: %d %s", i, w.Code, w.Body)
				}
				wantBody := [][]byte{[]byte("%PDF-1.4 quote"), {0x89, 'P', 'N', 'G'}, []byte("Subject: terms\r\n\r\nthe terms")}[i]
				wantType := []string{"application/pdf", "image/png", "message/rfc822"}[i]
				if !bytes.Equal(w.Body.Bytes(), wantBody) || w.Header().Get("Content-Type") != wantType {
					t.Errorf("attachment %d: %s %q", i, w.Header().Get("Content-Type"), w.Body)
				}
				if i == 0 && w.Header().Get("Content-Disposition") != `attachment; filename="quote _Q4__final.pdf"` {
					t.Errorf("attachment 0 Content-Disposition %q, want the name without quotes and slashes", w.Header().Get("Content-Disposition"))
				}
			}

			// Over the limit: 413 JSON naming it, for an attachment and a MIME.
			bigAtt := ce.stored(t, ce.big)["attachments"].([]any)[0].(map[string]any)["id"].(string)
			for _, p := range []string{ce.itemPath(ce.big) + "/attachments/" + url.PathEscape(bigAtt), ce.itemPath(ce.big) + "?include=mime"} {
				w := ce.do(req{method: "GET", path: p})
				if w.Code != 413 || !strings.Contains(w.Body.String(), "4096") || !strings.Contains(w.Header().Get("Content-Type"), "json") {
					t.Errorf("GET %s over the limit: %d %s", p, w.Code, w.Body)
				}
			}

			// Not found: an item the mailbox did not sync (yet), an
			// attachment of another item, an unknown attachment.
			for _, p := range []string{
				ce.itemPath(ce.fresh),
				ce.itemPath(ce.msg) + "/attachments/" + url.PathEscape(bigAtt),
				ce.itemPath(ce.msg) + "/attachments/AAMkAGI2TG93AAA=",
				"/tenants/" + ce.tenant + "/mailboxes/bob@contoso.com/items/" + url.PathEscape(ce.msg),
			} {
				if w := ce.do(req{method: "GET", path: p}); w.Code != 404 || !strings.Contains(w.Body.String(), `"not_found"`) {
					t.Errorf("GET %s: %d %s, want 404", p, w.Code, w.Body)
				}
			}

			// Every read is audited: what, by whom, how it went.
			entries, _, err := ce.store.ListAudit(context.Background(), ce.tenant, domain.AuditQuery{Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			var ops []string
			for _, a := range entries {
				if strings.HasPrefix(a.Operation, "item.") || strings.HasPrefix(a.Operation, "attachment.") {
					ops = append(ops, a.Operation+" -> "+a.Result)
				}
			}
			for _, w := range []string{
				"item.read (include: body,attachments) by an unauthenticated caller -> ok, body 39 bytes",
				"item.mime by an unauthenticated caller -> ok, " + jsonString(len(want)) + " bytes",
				"attachment.read by an unauthenticated caller -> ok, 14 bytes",
				"attachment.read by an unauthenticated caller -> refused: the content is 4097 bytes, over the limit of 4096 bytes",
				"attachment.read by an unauthenticated caller -> failed: not found",
			} {
				if !slices.Contains(ops, w) {
					t.Errorf("no audit entry %q in\n%s", w, strings.Join(ops, "\n"))
				}
			}
		})
	}
}

var _ domain.ContentConnector = (*fakeChecker)(nil)

// ConnectContent records the call as a check does (hostile inputs must
// never get here) and fails.
func (f *fakeChecker) ConnectContent(_ context.Context, t domain.Tenant, _ domain.Credential) (domain.ContentReader, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, checkCall{Tenant: t.ID, Mailbox: "content"})
	return nil, &domain.AccessError{Kind: domain.AccessPermanent, Code: "FakeContent", Err: errors.New("the fake checker reads no content")}
}

// TestContentThroughAPIGateway: through the API Gateway adapter a binary
// answer comes base64-encoded with its headers; the content routes learn
// API Gateway's limit (a 413 names it), and any answer over it becomes a
// clear 413 instead of API Gateway's own 502.
func TestContentThroughAPIGateway(t *testing.T) {
	ce := newContentEnv(t, domain.ProtocolEWS)
	fed := ce.stored(t, ce.msg)
	aid := fed["attachments"].([]any)[0].(map[string]any)["id"].(string)
	resp := ce.doEvent(t, req{method: "GET", path: ce.itemPath(ce.msg) + "/attachments/" + url.PathEscape(aid)})
	if resp.StatusCode != 200 || !resp.IsBase64Encoded || resp.Body != "JVBERi0xLjQgcXVvdGU=" || resp.MultiValueHeaders["Content-Type"][0] != "application/pdf" {
		t.Errorf("attachment through API Gateway: %d base64 %v %q %v", resp.StatusCode, resp.IsBase64Encoded, resp.Body, resp.MultiValueHeaders)
	}

	r := httptestRequest(t)
	if got := contentRequest(r.WithContext(withResponseLimit(r.Context(), LambdaContentLimit))); got.Limit != LambdaContentLimit || !strings.Contains(got.LimitReason, "6 MB") {
		t.Errorf("content request behind API Gateway: limit %d (%q)", got.Limit, got.LimitReason)
	}
	if LambdaContentLimit/3*4+64<<10 > 6<<20 {
		t.Errorf("LambdaContentLimit %d does not fit API Gateway's 6 MB once base64-encoded", LambdaContentLimit)
	}

	big := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write(make([]byte, LambdaContentLimit+1))
	})
	out, err := LambdaHandler(big)(context.Background(), apigwEvent(t, req{method: "GET", path: "/x"}))
	if err != nil || out.StatusCode != 413 || !strings.Contains(out.Body, "6 MB") || out.IsBase64Encoded {
		t.Errorf("oversized answer through API Gateway: %d %v %.200s", out.StatusCode, err, out.Body)
	}
}

func httptestRequest(t *testing.T) *http.Request {
	t.Helper()
	r, err := http.NewRequest("GET", "http://api.test/tenants/contoso/mailboxes/ann@contoso.com/items/AAMk", nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// brokenContent opens its sink, writes part of the content, then fails,
// as a Graph stream that breaks off or runs past the limit does.
type brokenContent struct{}

func (brokenContent) ConnectContent(context.Context, domain.Tenant, domain.Credential) (domain.ContentReader, error) {
	return brokenContent{}, nil
}

func (brokenContent) ReadItem(context.Context, domain.MailboxRef, string, domain.ContentWant) (domain.ItemContent, error) {
	return domain.ItemContent{}, errors.New("not used")
}

func (brokenContent) StreamMIME(_ context.Context, _ domain.MailboxRef, _ string, max int64, sink domain.ContentSink) error {
	w, err := sink(domain.Attachment{ContentType: "message/rfc822"}, -1)
	if err != nil {
		return err
	}
	_, _ = w.Write([]byte("Subject: half"))
	return &domain.ContentTooLargeError{Size: -1, Limit: max}
}

func (b brokenContent) StreamAttachment(ctx context.Context, m domain.MailboxRef, id, _ string, max int64, sink domain.ContentSink) error {
	return b.StreamMIME(ctx, m, id, max, sink)
}

// TestContentBrokenMidStream: once the headers went out, a failure can no
// longer be a JSON error: over HTTP the connection is cut (the client sees
// a short body, never a complete answer), behind API Gateway (which
// buffers) the answer is a 502 JSON and none of the partial content.
func TestContentBrokenMidStream(t *testing.T) {
	e := newEnv(t, func(d *Deps) { d.Content = brokenContent{} })
	e.onboard("contoso", basicCred("svc", "Broken-pw-1"), "alice@contoso.com")
	item := domain.Item{ID: "AAMkA1", ChangeKey: "CK1", Kind: domain.KindMessage, Subject: "big"}
	if _, err := e.store.ApplyChanges(context.Background(), "contoso", "alice@contoso.com",
		[]domain.ItemChange{{Kind: domain.ChangeCreate, ItemID: item.ID, ChangeKey: item.ChangeKey, Item: &item}}); err != nil {
		t.Fatal(err)
	}
	path := "/tenants/contoso/mailboxes/alice@contoso.com/items/AAMkA1?include=mime"

	srv := httptest.NewServer(e.h)
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + path)
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err == nil {
		t.Errorf("the broken stream read as a complete answer (%d)", resp.StatusCode)
	}

	out := e.doEvent(t, req{method: "GET", path: path})
	if out.StatusCode != 502 || strings.Contains(out.Body, "half") || !strings.Contains(out.Body, `"upstream"`) {
		t.Errorf("through API Gateway: %d %s", out.StatusCode, out.Body)
	}
}
