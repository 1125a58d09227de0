package app

import (
	"strings"
	"testing"

	"github.com/mailbridge/mailbridge/shared/domain"
)

func TestNormalizeAddress(t *testing.T) {
	tests := []struct {
		in, want string // want "" = refused
	}{
		{"Alice@Contoso.com", "alice@contoso.com"},
		{"first.last+tag@mail.contoso.co.uk", "first.last+tag@mail.contoso.co.uk"},
		{"o'brien@contoso.com", "o'brien@contoso.com"},
		{"room-1_a@xn--mnchen-3ya.de", "room-1_a@xn--mnchen-3ya.de"},
		{"", ""},
		{"alice", ""},
		{"alice@", ""},
		{"@contoso.com", ""},
		{"alice@localhost", ""},
		{"Alice <alice@contoso.com>", ""},
		{"<alice@contoso.com>", ""},
		{`"a b"@contoso.com`, ""},
		{"a..b@contoso.com", ""},
		{".a@contoso.com", ""},
		{"a/b@contoso.com", ""},
		{"a@contoso..com", ""},
		{"a@-contoso.com", ""},
		{"a@contoso_x.com", ""},
		{"a@[10.0.0.1]", ""},
		{"alice@münchen.de", ""},
		{"bob\r\n@contoso.com", ""},
		{"a'; DROP TABLE t;--@contoso.com", ""},
		{"<x>@contoso.com", ""},
		{strings.Repeat("a", 65) + "@contoso.com", ""},
		{"a@" + strings.Repeat("b", 250) + ".com", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := NormalizeAddress("address", tt.in)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("accepted as %q", got)
				}
				if err.Field != "address" {
					t.Fatalf("field %q", err.Field)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("= %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestValidateTenantID(t *testing.T) {
	for _, ok := range []string{"abc", "contoso", "contoso-eu-1", "0ab", strings.Repeat("a", 63)} {
		if err := ValidateTenantID(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "ab", "-abc", "Contoso", "con_toso", "con.toso", "../x", "a b c", strings.Repeat("a", 64), "abc\n"} {
		if err := ValidateTenantID(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestNormalizeFolders(t *testing.T) {
	got, err := normalizeFolders([]string{"inbox", "calendar", "inbox"})
	if err != nil || strings.Join(got, ",") != "inbox,calendar" {
		t.Fatalf("= %v, %v", got, err)
	}
	if got, _ := normalizeFolders(nil); strings.Join(got, ",") != "inbox,sentitems,calendar,contacts" {
		t.Fatalf("default = %v", got)
	}
	for _, bad := range [][]string{{"all", "inbox"}, {"Inbox"}, {"junk"}} {
		if _, err := normalizeFolders(bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

// TestValidateCredentialSeparators: a credential field that would change
// meaning on the wire is refused, naming the field and never the value.
func TestValidateCredentialSeparators(t *testing.T) {
	tests := []struct {
		name  string
		c     domain.Credential
		field string // "" = accepted
	}{
		{"basic", domain.Credential{Kind: domain.AuthBasic, Username: "svc@contoso.com", Password: "p:w"}, ""},
		{"colon in a basic user name", domain.Credential{Kind: domain.AuthBasic, Username: "svc:admin", Password: "Sep-pw-1"}, "credentials.username"},
		{"colon in an NTLM user name", domain.Credential{Kind: domain.AuthNTLM, Username: "svc:x", Password: "Sep-pw-1"}, ""},
		{"NTLM domain", domain.Credential{Kind: domain.AuthNTLM, Username: "svc", Domain: "CONTOSO.LOCAL", Password: "Sep-pw-1"}, ""},
		{"backslash in an NTLM domain", domain.Credential{Kind: domain.AuthNTLM, Username: "svc", Domain: `CONTOSO\svc`, Password: "Sep-pw-1"}, "credentials.domain"},
		{"at sign in an NTLM domain", domain.Credential{Kind: domain.AuthNTLM, Username: "svc", Domain: "svc@contoso", Password: "Sep-pw-1"}, "credentials.domain"},
		{"missing entraTenant", domain.Credential{Kind: domain.AuthOAuthSecret, ClientID: "app", ClientSecret: "Sep-secret-1"}, "credentials.entraTenant"},
		{"missing keyPem", domain.Credential{Kind: domain.AuthOAuthCert, EntraTenant: "contoso.com", ClientID: "app", CertPEM: "-----BEGIN CERTIFICATE-----"}, "credentials.keyPem"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateCredential(tc.c)
			switch {
			case tc.field == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.field != "" && (err == nil || err.Field != tc.field):
				t.Fatalf("got %v, want an error naming %s", err, tc.field)
			case err != nil && strings.Contains(err.Message, "Sep-"):
				t.Fatalf("the error quotes a secret: %v", err)
			}
		})
	}
}

// TestValidateTextRefusesInvisibleFormatting: a display name must read as
// what it is: bidirectional overrides and zero-width characters are refused.
func TestValidateTextRefusesInvisibleFormatting(t *testing.T) {
	for _, s := range []string{"Contoso\u202etxt.exe", "Con\u200btoso", "\ufeffContoso", "Contoso\u2066x\u2069"} {
		if err := validateText("displayName", s, MaxDisplayNameLen); err == nil || !strings.Contains(err.Message, "invisible") {
			t.Errorf("%q: %v, want refused as invisible formatting", s, err)
		}
	}
	for _, s := range []string{"Contoso Ltd.", "Zürich AG", "東京", "Ünïcödé & Co"} {
		if err := validateText("displayName", s, MaxDisplayNameLen); err != nil {
			t.Errorf("%q refused: %v", s, err)
		}
	}
}
