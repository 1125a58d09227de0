package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailbridge/mailbridge/shared/testsupport/golden"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// TestProbeOutcomes runs probe on every demo mailbox kind. The JSON report
// and the exit code are what scripts rely on; the text output (the URL's
// random port replaced) is pinned by golden files.
func TestProbeOutcomes(t *testing.T) {
	d := testDemo(t)
	tests := []struct {
		name       string
		auth       string
		mailbox    string
		extra      []string
		env        map[string]string // overrides
		code       int
		status     domain.MailboxStatus
		mode       domain.AccessMode
		unreadable string
		hint       string
	}{
		{name: "ok", auth: "basic", mailbox: mbInScope, code: exitOK, status: domain.MailboxOK, mode: domain.AccessImpersonation},
		{name: "out-of-scope", auth: "ntlm", mailbox: mbNoAccess, code: exitFailed, status: domain.MailboxOutOfScope,
			mode: domain.AccessImpersonation, hint: "management scope"},
		{name: "not-found", auth: "basic", mailbox: unknownMailbox, code: exitFailed, status: domain.MailboxNotFound,
			mode: domain.AccessImpersonation, hint: "no mailbox nobody@contoso.com"},
		{name: "folder-delegate", auth: "basic", mailbox: mbFolderDel, extra: []string{"--mode", "folder-delegate"}, code: exitOK,
			status: domain.MailboxOK, mode: domain.AccessFolderDelegate, unreadable: "sentitems,contacts", hint: `"user0004@contoso.com:\Sent Items"`},
		{name: "fallback", auth: "basic", mailbox: mbDelegateOnly, extra: []string{"--fallback"}, code: exitOK,
			status: domain.MailboxOK, mode: domain.AccessDelegate, hint: "read with delegate access"},
		{name: "no-delegate-permission", auth: "basic", mailbox: mbNoAccess, extra: []string{"--mode", "delegate"}, code: exitFailed,
			status: domain.MailboxAccessDenied, mode: domain.AccessDelegate, unreadable: "inbox,sentitems,calendar,contacts", hint: "FullAccess"},
		{name: "wrong-password", auth: "basic", mailbox: mbInScope, env: map[string]string{envPassword: "Not-The-Passw0rd"}, code: exitFailed,
			status: domain.MailboxAuthFailed, mode: domain.AccessImpersonation, hint: "locked out"},
		{name: "wrong-secret", auth: "oauth-secret", mailbox: mbInScope, env: map[string]string{envClientSecret: "not-the-secret"}, code: exitFailed,
			status: domain.MailboxAuthFailed, mode: domain.AccessImpersonation, hint: "client secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args, env := d.authArgs(tt.auth)
			for k, v := range tt.env {
				env[k] = v
			}
			args = append(append(args, "--mailbox", tt.mailbox), tt.extra...)

			js := runCLI(t, env, append([]string{"probe", "--json"}, args...)...)
			if js.code != tt.code {
				t.Errorf("--json exit %d, want %d (stderr %s)", js.code, tt.code, js.stderr)
			}
			rep := decodeJSON[domain.AccessReport](t, js.stdout)
			if rep.Status != tt.status || rep.Mode != tt.mode || strings.Join(rep.UnreadableFolders, ",") != tt.unreadable {
				t.Errorf("report %+v", rep)
			}
			if !strings.Contains(rep.Hint, tt.hint) {
				t.Errorf("hint %q lacks %q", rep.Hint, tt.hint)
			}
			if rep.Status != domain.MailboxOK && rep.Hint == "" {
				t.Error("a problem without a hint")
			}

			txt := runCLI(t, env, append([]string{"probe"}, args...)...)
			if txt.code != tt.code {
				t.Errorf("text exit %d, want %d", txt.code, tt.code)
			}
			out := strings.ReplaceAll(txt.stdout, d.srv.EWSURL, "https://127.0.0.1:PORT/EWS/Exchange.asmx")
			golden.Check(t, filepath.Join("testdata", "probe", tt.name+".txt"), []byte(out))
			noSecrets(t, js.stdout, js.stderr, txt.stdout, txt.stderr)
			for _, v := range tt.env {
				if strings.Contains(js.stdout+js.stderr+txt.stdout+txt.stderr, v) {
					t.Errorf("a secret from the environment is echoed")
				}
			}
		})
	}
}

// TestUsageErrors: bad command lines exit 2 with one clear message,
// change nothing and never echo a password.
func TestUsageErrors(t *testing.T) {
	const pw = "Flag-Passw0rd-Secret"
	url := "https://mail.contoso.com/EWS/Exchange.asmx"
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"no command", nil, nil, "usage: ewsctl <command>"},
		{"unknown command", []string{"frobnicate"}, nil, `unknown command "frobnicate"`},
		{"probe without url", []string{"probe", "--mailbox", "a@contoso.com"}, nil, "--url is required"},
		{"probe url not http", []string{"probe", "--url", "ftp://mail.contoso.com/ews", "--mailbox", "a@contoso.com"}, nil, "--url must be an absolute https URL"},
		{"url with credentials", []string{"probe", "--url", "https://svc:" + pw + "@mail.contoso.com/EWS/Exchange.asmx", "--mailbox", "a@contoso.com"}, nil, "must not contain credentials"},
		{"probe without mailbox", []string{"probe", "--url", url}, nil, "--mailbox is required"},
		{"bad mailbox", []string{"probe", "--url", url, "--mailbox", "not-an-address"}, nil, `--mailbox "not-an-address" is not an SMTP address`},
		{"bad mode", []string{"probe", "--url", url, "--mailbox", "a@contoso.com", "--mode", "sudo"}, nil, "--mode must be impersonation, delegate or folder-delegate"},
		{"bad auth", []string{"probe", "--url", url, "--mailbox", "a@contoso.com", "--auth", "kerberos", "--password", pw}, nil, "--auth must be basic, ntlm or oauth"},
		{"bad version", []string{"probe", "--url", url, "--mailbox", "a@contoso.com", "--version", "Exchange2003"}, nil, `--version "Exchange2003" is not an Exchange version`},
		{"basic without username", []string{"probe", "--url", url, "--mailbox", "a@contoso.com"}, map[string]string{envPassword: pw}, "--username is required for --auth basic"},
		{"basic without password", []string{"probe", "--url", url, "--mailbox", "a@contoso.com", "--username", "svc"}, nil, "a password is required for --auth basic: set EWS_PASSWORD"},
		{"oauth with password", []string{"probe", "--url", url, "--mailbox", "a@contoso.com", "--auth", "oauth", "--password", pw}, nil, "--username and --password belong to --auth basic or ntlm"},
		{"oauth without ids", []string{"probe", "--url", url, "--mailbox", "a@contoso.com", "--auth", "oauth"}, nil, "--tenant-id and --client-id are required"},
		{"oauth without credential", []string{"probe", "--url", url, "--mailbox", "a@contoso.com", "--auth", "oauth", "--tenant-id", "t", "--client-id", "c"}, nil, "needs a client secret"},
		{"oauth secret and cert", []string{"probe", "--url", url, "--mailbox", "a@contoso.com", "--auth", "oauth", "--tenant-id", "t", "--client-id", "c", "--cert", "c.pem", "--key", "k.pem", "--client-secret", pw}, nil, "give either a client secret or --cert/--key, not both"},
		{"cert without key", []string{"probe", "--url", url, "--mailbox", "a@contoso.com", "--auth", "oauth", "--tenant-id", "t", "--client-id", "c", "--cert", "c.pem"}, nil, "--cert and --key go together"},
		{"http authority", []string{"probe", "--url", url, "--mailbox", "a@contoso.com", "--auth", "oauth", "--tenant-id", "t", "--client-id", "c", "--authority", "http://login.example"}, map[string]string{envClientSecret: pw}, "--authority must be an https URL"},
		{"missing ca file", []string{"probe", "--url", url, "--mailbox", "a@contoso.com", "--username", "svc", "--password", pw, "--ca-file", "/nonexistent/ca.pem"}, nil, "--ca-file: open /nonexistent/ca.pem"},
		{"unknown flag", []string{"probe", "--colour"}, nil, "flag provided but not defined: -colour"},
		{"extra argument", []string{"sync", "--url", url, "extra"}, nil, `unexpected argument "extra"`},
		{"page size", []string{"sync", "--page-size", "513"}, nil, "--page-size must be between 1 and 512"},
		{"decode without file", []string{"decode"}, nil, "need exactly one FILE"},
		{"sim bad mailboxes", []string{"sim", "--mailboxes", "0"}, nil, "--mailboxes must be between 1 and 100000"},
		{"sim dir without tls", []string{"sim", "--dir", "/tmp/x"}, nil, "--dir is only used with --tls"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := runCLI(t, tt.env, tt.args...)
			if res.code != exitUsage {
				t.Errorf("exit %d, want %d; stderr %s", res.code, exitUsage, res.stderr)
			}
			if !strings.Contains(res.stderr, tt.want) {
				t.Errorf("stderr %q lacks %q", res.stderr, tt.want)
			}
			if res.stdout != "" {
				t.Errorf("stdout %q, want nothing", res.stdout)
			}
			if strings.Contains(res.stderr, pw) {
				t.Errorf("password echoed: %s", res.stderr)
			}
		})
	}
}
