package ewssim_test

import (
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
)

// Raw SOAP helpers: the conformance tests speak EWS on the wire, with
// hand-built envelopes shaped like the Microsoft samples.

const (
	svcUser = "svc@contoso.com"
	svcPass = "s3cret-pass"
)

func envelope(header, body string) string {
	return `<?xml version="1.0" encoding="utf-8"?>` +
		`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" ` +
		`xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types" ` +
		`xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages">` +
		`<soap:Header><t:RequestServerVersion Version="Exchange2016"/>` + header + `</soap:Header>` +
		`<soap:Body>` + body + `</soap:Body></soap:Envelope>`
}

func impersonate(addr string) string {
	return `<t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>` + addr +
		`</t:PrimarySmtpAddress></t:ConnectingSID></t:ExchangeImpersonation>`
}

// dist is a DistinguishedFolderId, with a Mailbox for delegate access.
func dist(id, mailbox string) string {
	if mailbox == "" {
		return `<t:DistinguishedFolderId Id="` + id + `"/>`
	}
	return `<t:DistinguishedFolderId Id="` + id + `"><t:Mailbox><t:EmailAddress>` + mailbox +
		`</t:EmailAddress></t:Mailbox></t:DistinguishedFolderId>`
}

func syncItemsBody(folder, state string, max int) string {
	st := ""
	if state != "" {
		st = `<m:SyncState>` + state + `</m:SyncState>`
	}
	return `<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape>` +
		`<m:SyncFolderId>` + folder + `</m:SyncFolderId>` + st +
		fmt.Sprintf(`<m:MaxChangesReturned>%d</m:MaxChangesReturned></m:SyncFolderItems>`, max)
}

func getItemBody(ids ...string) string {
	var b strings.Builder
	b.WriteString(`<m:GetItem><m:ItemShape><t:BaseShape>Default</t:BaseShape></m:ItemShape><m:ItemIds>`)
	for _, id := range ids {
		b.WriteString(`<t:ItemId Id="` + id + `"/>`)
	}
	b.WriteString(`</m:ItemIds></m:GetItem>`)
	return b.String()
}

// testEnv is a simulator behind an httptest server, with one account.
type testEnv struct {
	sim        *ewssim.Sim
	srv        *httptest.Server
	rec        *recorder
	user, pass string
}

func newEnv(t *testing.T, opts ewssim.Options, mailboxes ...string) *testEnv {
	t.Helper()
	sim := ewssim.New(opts)
	for _, m := range mailboxes {
		if err := sim.AddMailbox(m, strings.Split(m, "@")[0]); err != nil {
			t.Fatal(err)
		}
	}
	if err := sim.AddAccount(ewssim.Account{Username: svcUser, Password: svcPass, ImpersonateAll: true}); err != nil {
		t.Fatal(err)
	}
	for _, m := range mailboxes {
		if err := sim.GrantDelegate(svcUser, m, ""); err != nil {
			t.Fatal(err)
		}
	}
	return newEnvFor(t, sim, svcUser, svcPass)
}

// newEnvFor serves an existing simulator; calls use user and pass.
func newEnvFor(t *testing.T, sim *ewssim.Sim, user, pass string) *testEnv {
	t.Helper()
	srv := httptest.NewUnstartedServer(sim.Handler())
	srv.Config.ConnContext = ewssim.ConnContext
	srv.Start()
	t.Cleanup(srv.Close)
	// httptest's client has no timeout: a simulator that never answers
	// must fail the test, not hang go test.
	srv.Client().Timeout = 30 * time.Second
	return &testEnv{sim: sim, srv: srv, user: user, pass: pass}
}

// call posts a SOAP request with Basic auth and returns status and body.
func (e *testEnv) call(t *testing.T, header, body string) (int, []byte) {
	t.Helper()
	return e.callAs(t, e.user, e.pass, header, body)
}

func (e *testEnv) callAs(t *testing.T, user, pass, header, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+ewssim.EWSPath, strings.NewReader(envelope(header, body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.SetBasicAuth(user, pass)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if e.rec != nil {
		e.rec.save(out, resp.StatusCode)
	}
	return resp.StatusCode, out
}

// recorder keeps one example of each distinct response shape (operation
// and response codes) for the schema validation test.
type recorder struct {
	mu    sync.Mutex
	files map[string][]byte
	label string // when set, names the next response instead of its shape
}

func (r *recorder) save(response []byte, status int) {
	if status != http.StatusOK && status != http.StatusInternalServerError {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	key := shapeKey(response)
	if r.label != "" {
		key = r.label + "-" + key
	}
	if _, ok := r.files[key]; !ok {
		r.files[key] = append([]byte(nil), response...)
	}
}

// has reports whether a recorded shape mentions element.
func (r *recorder) has(element string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k := range r.files {
		if strings.Contains(k, element) {
			return true
		}
	}
	return false
}

// shapeKey names a message by its body element and response codes.
func shapeKey(doc []byte) string {
	d := xml.NewDecoder(strings.NewReader(string(doc)))
	var parts []string
	depth := 0
	inCode := false
	for {
		tok, err := d.Token()
		if err != nil {
			break
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 3 {
				parts = append(parts, t.Name.Local)
			}
			inCode = t.Name.Local == "ResponseCode"
		case xml.CharData:
			if inCode {
				parts = append(parts, string(t))
			}
		case xml.EndElement:
			depth--
			inCode = false
		}
	}
	return strings.Join(parts, "-")
}

// soapHeader is the envelope header every response shares (a constant in
// the simulator).
var soapHeader = regexp.MustCompile(`<s:Header>.*?</s:Header>`)

// writeTo writes the recorded messages round-robin into dirs, so they can
// be validated in parallel. The header, identical in every response, is
// kept in the first file only: each element costs one xmllint run over the
// whole schema.
func (r *recorder) writeTo(t *testing.T, dirs ...string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for name, b := range r.files {
		if n > 0 {
			b = soapHeader.ReplaceAll(b, nil)
		}
		name = strings.Map(func(c rune) rune {
			if c == '/' || c == ' ' || c == ':' {
				return '_'
			}
			return c
		}, name)
		if len(name) > 150 {
			name = name[:150]
		}
		dir := dirs[n%len(dirs)]
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%03d-%s.xml", n, name)), b, 0o600); err != nil {
			t.Fatal(err)
		}
		n++
	}
	return n
}

// --- response decoding for assertions ---

type idXML struct {
	ID        string `xml:"Id,attr"`
	ChangeKey string `xml:"ChangeKey,attr"`
}

type changeXML struct {
	XMLName xml.Name
	Item    *struct {
		ItemID idXML `xml:"ItemId"`
	} `xml:",any"`
	ItemID *idXML `xml:"ItemId"`
	IsRead *bool  `xml:"IsRead"`
}

// change is one SyncFolderItems change: kind and item id.
type change struct {
	Kind, ID, ChangeKey string
}

type responseMessage struct {
	XMLName      xml.Name
	Class        string `xml:"ResponseClass,attr"`
	Code         string `xml:"ResponseCode"`
	SyncState    string `xml:"SyncState"`
	IncludesLast bool   `xml:"IncludesLastItemInRange"`
	Changes      struct {
		Changes []changeXML `xml:",any"`
	} `xml:"Changes"`
	Items struct {
		Items []struct {
			XMLName xml.Name
			ItemID  idXML  `xml:"ItemId"`
			Subject string `xml:"Subject"`
		} `xml:",any"`
	} `xml:"Items"`
	RootFolder struct {
		Offset       int  `xml:"IndexedPagingOffset,attr"`
		Total        int  `xml:"TotalItemsInView,attr"`
		IncludesLast bool `xml:"IncludesLastItemInRange,attr"`
		Items        struct {
			Items []struct {
				XMLName xml.Name
				ItemID  idXML  `xml:"ItemId"`
				Subject string `xml:"Subject"`
			} `xml:",any"`
		} `xml:"Items"`
	} `xml:"RootFolder"`
}

func (m responseMessage) changes() []change {
	var out []change
	for _, c := range m.Changes.Changes {
		ch := change{Kind: c.XMLName.Local}
		switch {
		case c.ItemID != nil:
			ch.ID, ch.ChangeKey = c.ItemID.ID, c.ItemID.ChangeKey
		case c.Item != nil:
			ch.ID, ch.ChangeKey = c.Item.ItemID.ID, c.Item.ItemID.ChangeKey
		}
		out = append(out, ch)
	}
	return out
}

type soapResponse struct {
	Body struct {
		Op struct {
			XMLName  xml.Name
			Messages struct {
				Messages []responseMessage `xml:",any"`
			} `xml:"ResponseMessages"`
		} `xml:",any"`
		Fault *struct {
			Code   string `xml:"faultcode"`
			String string `xml:"faultstring"`
			Detail struct {
				ResponseCode string `xml:"ResponseCode"`
				BackOff      string `xml:"MessageXml>Value"`
			} `xml:"detail"`
		} `xml:"Fault"`
	} `xml:"Body"`
}

func decode(t *testing.T, b []byte) soapResponse {
	t.Helper()
	var r soapResponse
	if err := xml.Unmarshal(b, &r); err != nil {
		t.Fatalf("response does not decode: %v\n%s", err, b)
	}
	return r
}

// messages decodes a 200 response and returns its response messages.
func messages(t *testing.T, status int, b []byte) []responseMessage {
	t.Helper()
	if status != http.StatusOK {
		t.Fatalf("status %d, want 200:\n%s", status, b)
	}
	return decode(t, b).Body.Op.Messages.Messages
}

// one decodes a single-message response.
func one(t *testing.T, status int, b []byte) responseMessage {
	t.Helper()
	ms := messages(t, status, b)
	if len(ms) != 1 {
		t.Fatalf("got %d response messages, want 1:\n%s", len(ms), b)
	}
	return ms[0]
}

// one posts a request and decodes its single response message.
func (e *testEnv) one(t *testing.T, header, body string) responseMessage {
	t.Helper()
	status, b := e.call(t, header, body)
	return one(t, status, b)
}

// fault decodes a SOAP fault response (HTTP 500).
func fault(t *testing.T, status int, b []byte) (code, backOff string) {
	t.Helper()
	if status != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500 with a SOAP fault:\n%s", status, b)
	}
	f := decode(t, b).Body.Fault
	if f == nil {
		t.Fatalf("no SOAP fault in:\n%s", b)
	}
	return f.Detail.ResponseCode, f.Detail.BackOff
}

// syncAll pages SyncFolderItems from state until IncludesLastItemInRange
// and returns the changes, the final state and the number of calls.
func (e *testEnv) syncAll(t *testing.T, header, folder, state string, max int) ([]change, string, int) {
	t.Helper()
	var all []change
	for calls := 1; ; calls++ {
		m := e.one(t, header, syncItemsBody(folder, state, max))
		if m.Code != "NoError" {
			t.Fatalf("SyncFolderItems answered %s", m.Code)
		}
		chs := m.changes()
		if len(chs) > max {
			t.Fatalf("got %d changes with MaxChangesReturned %d", len(chs), max)
		}
		all = append(all, chs...)
		state = m.SyncState
		if m.IncludesLast {
			return all, state, calls
		}
		if calls > 100000 {
			t.Fatal("sync does not end")
		}
	}
}
