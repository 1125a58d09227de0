package ewssim_test

import (
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"testing"

	ntlmssp "github.com/Azure/go-ntlmssp"

	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
)

// TestNTLMHandshakeStartingWithGET: some clients run the NTLM handshake
// with GET /EWS/Exchange.asmx before they POST, as IIS allows. Each step
// may be a GET or a POST; the connection is then authenticated, and an
// authenticated GET gets Exchange's service page, never 405.
func TestNTLMHandshakeStartingWithGET(t *testing.T) {
	sim := ewssim.New(ewssim.Options{})
	must(t, sim.AddMailbox("alice@contoso.com", "Alice"))
	must(t, sim.AddAccount(ewssim.Account{Username: `CONTOSO\svc`, Password: "pw", ImpersonateAll: true}))
	srv, err := sim.Start(false)
	must(t, err)
	defer srv.Close()
	soap := envelope(impersonate("alice@contoso.com"), `<m:ResolveNames><m:UnresolvedEntry>alice</m:UnresolvedEntry></m:ResolveNames>`)
	do := func(c *http.Client, method, authz string) (*http.Response, string) {
		var body io.Reader
		if method == http.MethodPost {
			body = strings.NewReader(soap)
		}
		req, _ := http.NewRequest(method, srv.EWSURL, body)
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		resp, err := c.Do(req)
		must(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
	oneConn := func() *http.Client {
		c := srv.Client()
		c.Transport.(*http.Transport).MaxConnsPerHost = 1
		return c
	}
	for _, tc := range []struct {
		name, negotiate, authenticate string
	}{
		{"GET then GET", http.MethodGet, http.MethodGet},
		{"GET then POST", http.MethodGet, http.MethodPost},
		{"HEAD then POST", http.MethodHead, http.MethodPost},
		{"POST then GET", http.MethodPost, http.MethodGet},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := oneConn()
			resp, _ := do(c, tc.negotiate, "")
			if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(strings.Join(resp.Header.Values("WWW-Authenticate"), ","), "NTLM") {
				t.Fatalf("%s without credentials: status %d, WWW-Authenticate %q; want 401 offering NTLM", tc.negotiate, resp.StatusCode, resp.Header.Values("WWW-Authenticate"))
			}
			neg, err := ntlmssp.NewNegotiateMessage("", "")
			must(t, err)
			resp, _ = do(c, tc.negotiate, "NTLM "+base64.StdEncoding.EncodeToString(neg))
			challenge, ok := strings.CutPrefix(resp.Header.Get("WWW-Authenticate"), "NTLM ")
			if resp.StatusCode != http.StatusUnauthorized || !ok {
				t.Fatalf("negotiate over %s: status %d, WWW-Authenticate %q", tc.negotiate, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
			}
			raw, err := base64.StdEncoding.DecodeString(challenge)
			must(t, err)
			auth, err := ntlmssp.NewAuthenticateMessage(raw, `CONTOSO\svc`, "pw", nil)
			must(t, err)
			resp, body := do(c, tc.authenticate, "NTLM "+base64.StdEncoding.EncodeToString(auth))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("authenticate over %s: status %d", tc.authenticate, resp.StatusCode)
			}
			if tc.authenticate == http.MethodGet && (!strings.Contains(body, "You have created a service") || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html")) {
				t.Errorf("authenticated GET answered %q (%s), want the service page", body, resp.Header.Get("Content-Type"))
			}
			// The connection is authenticated: SOAP and GET work without credentials.
			if resp, body := do(c, http.MethodPost, ""); resp.StatusCode != http.StatusOK || !strings.Contains(body, "ResolveNamesResponse") {
				t.Errorf("POST on the authenticated connection: status %d\n%s", resp.StatusCode, body)
			}
			if resp, _ := do(c, http.MethodGet, ""); resp.StatusCode != http.StatusOK {
				t.Errorf("GET on the authenticated connection: status %d", resp.StatusCode)
			}
		})
	}
	t.Run("wrong password over GET", func(t *testing.T) {
		c := oneConn()
		neg, _ := ntlmssp.NewNegotiateMessage("", "")
		resp, _ := do(c, http.MethodGet, "NTLM "+base64.StdEncoding.EncodeToString(neg))
		challenge, _ := strings.CutPrefix(resp.Header.Get("WWW-Authenticate"), "NTLM ")
		raw, _ := base64.StdEncoding.DecodeString(challenge)
		auth, err := ntlmssp.NewAuthenticateMessage(raw, `CONTOSO\svc`, "wrong", nil)
		must(t, err)
		if resp, _ := do(c, http.MethodGet, "NTLM "+base64.StdEncoding.EncodeToString(auth)); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("status %d, want 401", resp.StatusCode)
		}
		if resp, _ := do(c, http.MethodPost, ""); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("POST after the failed handshake: status %d, want 401", resp.StatusCode)
		}
	})
	t.Run("other methods", func(t *testing.T) {
		resp, _ := do(oneConn(), http.MethodPut, "")
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD, POST" {
			t.Errorf("PUT: status %d Allow %q, want 405 with GET, HEAD, POST", resp.StatusCode, resp.Header.Get("Allow"))
		}
	})
}
