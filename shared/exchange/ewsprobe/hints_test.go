package ewsprobe

import (
	"crypto/x509"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ews"
)

// TestHintsWithoutASimulator covers answers the simulator does not give:
// Exchange Online refusing Basic, a token Exchange refuses (no
// full_access_as_app, or the app not on the EWS allow list) and TLS trust.
func TestHintsWithoutASimulator(t *testing.T) {
	const exo = "https://outlook.office365.com/EWS/Exchange.asmx"
	const onprem = "https://mail.contoso.com/EWS/Exchange.asmx"
	basic := domain.Credential{Kind: domain.AuthBasic, Username: "svc@contoso.com", Password: "pw-never-shown"}
	app := domain.Credential{Kind: domain.AuthOAuthSecret, EntraTenant: "contoso.onmicrosoft.com", ClientID: "app-123", ClientSecret: "s3cret-never-shown"}
	unknownCA := &ews.Error{Layer: ews.LayerTransport, Op: "GetFolder", Message: "request failed",
		Err: &url.Error{Op: "Post", URL: onprem, Err: x509.UnknownAuthorityError{}}}
	tests := []struct {
		name   string
		url    string
		cred   domain.Credential
		err    error
		status domain.MailboxStatus
		want   []string
	}{
		{"basic on Exchange Online", exo, basic, &ews.Error{Layer: ews.LayerTransport, HTTPStatus: 401}, domain.MailboxAuthFailed,
			[]string{"Basic and NTLM authentication off", "use oauth"}},
		{"basic on premises", onprem, basic, &ews.Error{Layer: ews.LayerTransport, HTTPStatus: 401}, domain.MailboxAuthFailed,
			[]string{"locked out", "Basic authentication is enabled on the EWS virtual directory"}},
		{"token refused by Exchange", exo, app, &ews.Error{Layer: ews.LayerTransport, HTTPStatus: 403}, domain.MailboxAuthFailed,
			[]string{"full_access_as_app", "EwsAllowList @{Add='app-123'}", "EwsApplicationAccessPolicy"}},
		{"token endpoint refused", exo, app, fmt.Errorf("ews GetFolder: %w: AADSTS700016: app not found", ews.ErrAuthFailed), domain.MailboxAuthFailed,
			[]string{`application (client) id "app-123"`}},
		{"untrusted certificate", onprem, basic, unknownCA, domain.MailboxError,
			[]string{"--ca-file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := check{url: tt.url, cred: tt.cred, mailbox: domain.Mailbox{Address: "anna@contoso.com"}}
			rep := c.failed(domain.AccessReport{Mode: domain.AccessImpersonation}, tt.err)
			if rep.Status != tt.status {
				t.Errorf("status %s, want %s", rep.Status, tt.status)
			}
			for _, w := range tt.want {
				if !strings.Contains(rep.Hint, w) {
					t.Errorf("hint %q lacks %q", rep.Hint, w)
				}
			}
			if strings.Contains(rep.Hint+rep.Detail, "never-shown") {
				t.Errorf("secret in report: %+v", rep)
			}
		})
	}
}
