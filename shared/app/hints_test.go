package app_test

import (
	"strings"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
)

const (
	exoURL    = "https://outlook.office365.com/EWS/Exchange.asmx"
	onpremURL = "https://mail.contoso.com/EWS/Exchange.asmx"
)

var (
	basicAccount = app.Account{Kind: domain.AuthBasic, Username: "svc@contoso.com"}
	appAccount   = app.Account{Kind: domain.AuthOAuthSecret, EntraTenant: "contoso.onmicrosoft.com", ClientID: "app-123"}
)

// TestHintsWithoutASimulator covers answers the simulator does not give:
// Exchange Online refusing Basic, a token Exchange refuses (no
// full_access_as_app, or the app not on the EWS allow list) and TLS trust.
func TestHintsWithoutASimulator(t *testing.T) {
	tests := []struct {
		name string
		f    app.HintFacts
		want []string
	}{
		{"basic on Exchange Online", app.HintFacts{Status: domain.MailboxAuthFailed, Kind: domain.AccessAuth, Code: "HTTP 401", URL: exoURL, Account: basicAccount},
			[]string{"Basic and NTLM authentication off", "use oauth"}},
		{"basic on premises", app.HintFacts{Status: domain.MailboxAuthFailed, Kind: domain.AccessAuth, Code: "HTTP 401", URL: onpremURL, Account: basicAccount},
			[]string{"locked out", "Basic authentication is enabled on the EWS virtual directory"}},
		{"token refused by Exchange", app.HintFacts{Status: domain.MailboxAuthFailed, Kind: domain.AccessAuth, Code: "HTTP 403", URL: exoURL, Account: appAccount},
			[]string{"full_access_as_app", "EwsAllowedAppIDs @{Add='app-123'}", "docs/graph.md"}},
		{"token endpoint refused", app.HintFacts{Status: domain.MailboxAuthFailed, Kind: domain.AccessAuth, Code: domain.AccessCodeTokenRefused, URL: exoURL, Account: appAccount},
			[]string{`application (client) id "app-123"`}},
		{"graph: no such mailbox", app.HintFacts{Status: domain.MailboxNotFound, Kind: domain.AccessMailboxNotFound, Code: "MailboxNotEnabledForRESTAPI", Protocol: domain.ProtocolGraph, Account: appAccount, TenantID: "contoso"},
			[]string{"Exchange Online has no mailbox anna@contoso.com", "only reachable over EWS", "DELETE /tenants/contoso/mailboxes/anna@contoso.com"}},
		{"graph: out of scope", app.HintFacts{Status: domain.MailboxOutOfScope, Kind: domain.AccessOutOfScope, Code: "ErrorAccessDenied", Protocol: domain.ProtocolGraph, Account: appAccount},
			[]string{"RBAC for Applications", "New-ManagementRoleAssignment -App app-123", "Test-ServicePrincipalAuthorization -Identity app-123 -Resource anna@contoso.com"}},
		{"graph: throttled", app.HintFacts{Status: domain.MailboxThrottled, Kind: domain.AccessThrottled, RetryAfter: 3e9, Protocol: domain.ProtocolGraph, Account: appAccount},
			[]string{"4 concurrent requests, 10,000 per 10 minutes", "after 3s"}},
		{"ews tenant on exchange online after the cutoff", app.HintFacts{Status: domain.MailboxError, Kind: domain.AccessPermanent, Code: app.CodeEWSRetired, URL: exoURL, Account: appAccount, TenantID: "contoso"},
			[]string{"2027-04-01", `PATCH /tenants/contoso {"protocol": "graph"}`}},
		{"untrusted certificate", app.HintFacts{Status: domain.MailboxError, Kind: domain.AccessTransient, Code: domain.AccessCodeTLSUnknownAuthority, URL: onpremURL, Account: basicAccount},
			[]string{"--ca-file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.f.Mailbox, tt.f.Mode = "anna@contoso.com", domain.AccessImpersonation
			h := app.Hint(tt.f)
			for _, w := range tt.want {
				if !strings.Contains(h, w) {
					t.Errorf("hint %q lacks %q", h, w)
				}
			}
		})
	}
}

// TestHintsCoverTheSyncOutcomes: the outcomes a sync records on a mailbox
// get hints with what the sync's own text said (the API calls that fix
// them), and no hint when there is nothing to fix.
func TestHintsCoverTheSyncOutcomes(t *testing.T) {
	base := app.HintFacts{Mailbox: "anna@contoso.com", TenantID: "contoso", URL: onpremURL, Account: basicAccount, Mode: domain.AccessImpersonation}
	tests := []struct {
		name string
		mod  func(*app.HintFacts)
		want []string
	}{
		{"ok", func(f *app.HintFacts) { f.Status = domain.MailboxOK }, nil},
		{"folders not shared", func(f *app.HintFacts) {
			f.Status, f.Mode, f.Unreadable = domain.MailboxOK, domain.AccessFolderDelegate, []string{"contacts", "Projects"}
		}, []string{`"anna@contoso.com:\Contacts"`, `"anna@contoso.com:\Projects"`, "synced from scratch once it is readable"}},
		{"nothing shared", func(f *app.HintFacts) {
			f.Status, f.Kind, f.Code, f.Unreadable = domain.MailboxAccessDenied, domain.AccessDenied, "ErrorAccessDenied", []string{"inbox"}
		}, []string{"FullAccess", "share each folder"}},
		{"credentials rejected", func(f *app.HintFacts) {
			f.Status, f.Kind, f.Code = domain.MailboxAuthFailed, domain.AccessAuth, "HTTP 401"
		},
			[]string{"PUT /tenants/contoso/credentials"}},
		{"no credentials stored", func(f *app.HintFacts) {
			f.Status, f.Kind, f.Code = domain.MailboxAuthFailed, domain.AccessAuth, domain.AccessCodeNoStoredCredentials
		}, []string{"No credentials are stored", "PUT /tenants/contoso/credentials"}},
		{"out of scope, no fallback", func(f *app.HintFacts) {
			f.Status, f.Kind, f.Code = domain.MailboxOutOfScope, domain.AccessOutOfScope, "ErrorImpersonateUserDenied"
		}, []string{"management scope", "allow fallback to delegate access"}},
		{"out of scope, fallback allowed", func(f *app.HintFacts) {
			f.Status, f.Kind, f.AllowFallback = domain.MailboxOutOfScope, domain.AccessOutOfScope, true
		}, []string{"management scope"}},
		{"no such mailbox", func(f *app.HintFacts) { f.Status, f.Kind = domain.MailboxNotFound, domain.AccessMailboxNotFound },
			[]string{"no mailbox anna@contoso.com", "DELETE /tenants/contoso/mailboxes/anna@contoso.com"}},
		{"refused", func(f *app.HintFacts) {
			f.Status, f.Kind, f.Code = domain.MailboxError, domain.AccessPermanent, "ErrorSchemaValidation"
		}, []string{"ErrorSchemaValidation", "POST /tenants/contoso/verify?mailbox=anna@contoso.com"}},
		{"throttled, delegate", func(f *app.HintFacts) {
			f.Status, f.Kind, f.Mode, f.RetryAfter = domain.MailboxThrottled, domain.AccessThrottled, domain.AccessDelegate, 5*time.Second
		}, []string{"service account's", "after 5s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := base
			tt.mod(&f)
			h := app.Hint(f)
			if tt.want == nil && h != "" {
				t.Errorf("hint %q for nothing to fix", h)
			}
			if tt.want != nil && h == "" {
				t.Error("no hint")
			}
			for _, w := range tt.want {
				if !strings.Contains(h, w) {
					t.Errorf("hint %q lacks %q", h, w)
				}
			}
			if tt.name == "out of scope, fallback allowed" && strings.Contains(h, "allow fallback") {
				t.Errorf("hint %q offers a fallback the tenant already allows", h)
			}
		})
	}
}

// TestHintNeverHoldsASecret: hints are built from names only; the account
// a credential becomes holds none of its secrets.
func TestHintNeverHoldsASecret(t *testing.T) {
	c := domain.Credential{Kind: domain.AuthNTLM, Username: "svc", Domain: "CONTOSO", Password: "pw-never-shown"}
	rep := domain.AccessReport{Mailbox: "anna@contoso.com", Status: domain.MailboxAuthFailed, ErrorKind: domain.AccessAuth, Code: "HTTP 401"}
	h := app.ReportHint(domain.Tenant{ID: "contoso", EWSURL: onpremURL}, domain.Mailbox{Address: "anna@contoso.com"}, c, rep)
	if strings.Contains(h, "pw-never-shown") || !strings.Contains(h, `CONTOSO\svc`) {
		t.Errorf("hint %q", h)
	}
}

// A verify report of a Graph tenant gets Graph's fixes: the hint follows
// the tenant's protocol, as the sync outcome's does.
func TestReportHintFollowsTheProtocol(t *testing.T) {
	rep := domain.AccessReport{Mailbox: "anna@contoso.com", Status: domain.MailboxOutOfScope, Mode: domain.AccessApplication,
		ErrorKind: domain.AccessOutOfScope, Code: "ErrorAccessDenied"}
	c := domain.Credential{Kind: domain.AuthOAuthSecret, EntraTenant: "contoso-tenant", ClientID: "app-1", ClientSecret: "s3cret-value"}
	graph := app.ReportHint(domain.Tenant{ID: "contoso", Protocol: domain.ProtocolGraph}, domain.Mailbox{Address: "anna@contoso.com"}, c, rep)
	if !strings.Contains(graph, "RBAC for Applications") || strings.Contains(graph, "EWS.AccessAsApp") {
		t.Errorf("Graph tenant's hint: %q", graph)
	}
	ews := app.ReportHint(domain.Tenant{ID: "contoso", EWSURL: "https://outlook.office365.com/EWS/Exchange.asmx"}, domain.Mailbox{Address: "anna@contoso.com"}, c, rep)
	if !strings.Contains(ews, "EWS.AccessAsApp") {
		t.Errorf("EWS tenant's hint: %q", ews)
	}
}

// TestProblem: a failed sync's lastError keeps the server's own code as
// it is, and says in words what a code of Mailbridge's own (or a bare
// HTTP status) means, quoting what answered instead of Exchange.
func TestProblem(t *testing.T) {
	tests := []struct {
		name string
		f    app.HintFacts
		want string
	}{
		{"server code as it is", app.HintFacts{Status: domain.MailboxThrottled, Kind: domain.AccessThrottled, Code: "ErrorServerBusy", RetryAfter: 5 * time.Second}, "ErrorServerBusy"},
		{"graph code as it is", app.HintFacts{Status: domain.MailboxOutOfScope, Kind: domain.AccessOutOfScope, Code: "ErrorAccessDenied", Protocol: domain.ProtocolGraph}, "ErrorAccessDenied"},
		{"an HTML page, with its title", app.HintFacts{Status: domain.MailboxError, Kind: domain.AccessPermanent, Code: domain.AccessCodeHTMLPage, Detail: `text/html, an HTML page titled "Sign in"`},
			`HTMLPage: Exchange answered with an HTML page (a login page or a proxy's error page), not SOAP (text/html, an HTML page titled "Sign in")`},
		{"graph names itself", app.HintFacts{Status: domain.MailboxError, Kind: domain.AccessTransient, Code: domain.AccessCodeTimeout, Protocol: domain.ProtocolGraph},
			"Timeout: Microsoft Graph did not answer in time"},
		{"a throttling status with its wait", app.HintFacts{Status: domain.MailboxThrottled, Kind: domain.AccessThrottled, Code: "HTTP 503", RetryAfter: 30 * time.Second},
			"HTTP 503: Exchange is unavailable (overloaded, restarting, or no healthy server behind a load balancer); it asked to wait 30s"},
		{"a status without a meaning of its own", app.HintFacts{Status: domain.MailboxError, Kind: domain.AccessPermanent, Code: "HTTP 418"},
			"HTTP 418: Exchange answered with an unexpected HTTP status"},
		{"nothing named, temporary", app.HintFacts{Status: domain.MailboxError, Kind: domain.AccessTransient}, "ExchangeUnreachable: no usable answer from Exchange"},
		{"nothing named, nothing failed", app.HintFacts{Status: domain.MailboxOK}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := app.Problem(tt.f); got != tt.want {
				t.Errorf("Problem = %q, want %q", got, tt.want)
			}
		})
	}
}
