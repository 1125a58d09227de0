package storetest

import (
	"reflect"
	"strings"
	"testing"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/testsupport/secretscan"
)

// Credentials of every kind, with distinctive secret values the leak checks
// look for.
func credentials() map[string]domain.Credential {
	return map[string]domain.Credential{
		"basic": {Kind: domain.AuthBasic, Username: "svc-sync@acme.example", Password: "pw-Basic-9f8e7d6c"},
		"ntlm":  {Kind: domain.AuthNTLM, Username: "svc-sync", Domain: "ACME", Password: "pw-Ntlm-5a4b3c2d"},
		"oauth_secret": {Kind: domain.AuthOAuthSecret, EntraTenant: "acme.onmicrosoft.com", ClientID: "11111111-2222-3333-4444-555555555555",
			ClientSecret: "cs-Oauth~0a1b2c3d4e5f", Authority: "https://login.example/"},
		"oauth_cert": {Kind: domain.AuthOAuthCert, EntraTenant: "acme.onmicrosoft.com", ClientID: "66666666-7777-8888-9999-000000000000",
			CertPEM: "-----BEGIN CERTIFICATE-----\nMIIBcert\n-----END CERTIFICATE-----\n",
			KeyPEM:  "-----BEGIN PRIVATE KEY-----\nMIIEkey-Secret-77aa88bb\n-----END PRIVATE KEY-----\n"},
	}
}

// NoSecretIn fails the test if text contains any secret value of creds.
func NoSecretIn(t testing.TB, what, text string, creds ...domain.Credential) {
	t.Helper()
	if hits := secretscan.Find(text, creds); len(hits) > 0 {
		t.Fatalf("%s contains a secret value as %s: %q", what, hits[0].Form.Name, text)
	}
}

// RunSecrets is the contract every domain.SecretStore adapter passes. Each
// call of newStore must return a store with no credentials in it.
func RunSecrets(t *testing.T, newStore func(t *testing.T) domain.SecretStore) {
	all := credentials()
	var allCreds []domain.Credential
	for _, c := range all {
		allCreds = append(allCreds, c)
	}
	t.Run("every kind round-trips", func(t *testing.T) {
		s := newStore(t)
		for name, c := range all {
			t.Run(name, func(t *testing.T) {
				tenantID := "tenant-" + strings.ReplaceAll(name, "_", "-")
				must(t, s.PutCredential(ctx, tenantID, c))
				got, err := s.GetCredential(ctx, tenantID)
				must(t, err)
				if !reflect.DeepEqual(got, c) {
					t.Fatalf("GetCredential = %s, want %s", got, c)
				}
			})
		}
	})
	t.Run("unknown tenant is not found", func(t *testing.T) {
		s := newStore(t)
		_, err := s.GetCredential(ctx, "nobody")
		wantCode(t, err, domain.CodeNotFound, "GetCredential")
		wantCode(t, s.DeleteCredential(ctx, "nobody"), domain.CodeNotFound, "DeleteCredential")
	})
	t.Run("put replaces; tenants are isolated", func(t *testing.T) {
		s := newStore(t)
		must(t, s.PutCredential(ctx, "acme", all["basic"]))
		must(t, s.PutCredential(ctx, "globex", all["ntlm"]))
		must(t, s.PutCredential(ctx, "acme", all["oauth_secret"]))
		got, err := s.GetCredential(ctx, "acme")
		must(t, err)
		if !reflect.DeepEqual(got, all["oauth_secret"]) {
			t.Fatalf("acme after replace = %s, want %s", got, all["oauth_secret"])
		}
		got, err = s.GetCredential(ctx, "globex")
		must(t, err)
		if !reflect.DeepEqual(got, all["ntlm"]) {
			t.Fatalf("globex = %s, want its own credential", got)
		}
	})
	t.Run("delete, then gone, then put again", func(t *testing.T) {
		s := newStore(t)
		must(t, s.PutCredential(ctx, "acme", all["basic"]))
		must(t, s.DeleteCredential(ctx, "acme"))
		_, err := s.GetCredential(ctx, "acme")
		wantCode(t, err, domain.CodeNotFound, "GetCredential after delete")
		wantCode(t, s.DeleteCredential(ctx, "acme"), domain.CodeNotFound, "second DeleteCredential")
		// Re-onboarding within the recovery window must work.
		must(t, s.PutCredential(ctx, "acme", all["ntlm"]))
		got, err := s.GetCredential(ctx, "acme")
		must(t, err)
		if !reflect.DeepEqual(got, all["ntlm"]) {
			t.Fatalf("after re-put = %s", got)
		}
	})
	t.Run("bad input is refused, changes nothing and echoes no secret", func(t *testing.T) {
		s := newStore(t)
		must(t, s.PutCredential(ctx, "acme", all["basic"]))
		noUser := all["basic"]
		noUser.Username = ""
		for _, tc := range []struct {
			name     string
			tenantID string
			c        domain.Credential
		}{
			{"incomplete credential", "acme", noUser},
			{"unknown kind", "acme", domain.Credential{Kind: "kerberos", Password: "pw-Kerb-1234abcd"}},
			{"empty tenant id", "", all["ntlm"]},
			{"tenant id with a path", "../acme", all["ntlm"]},
			{"tenant id with spaces", "acme corp", all["ntlm"]},
		} {
			t.Run(tc.name, func(t *testing.T) {
				err := s.PutCredential(ctx, tc.tenantID, tc.c)
				wantCode(t, err, domain.CodeInvalid, "PutCredential")
				NoSecretIn(t, "error", err.Error(), append(allCreds, tc.c)...)
				got, err := s.GetCredential(ctx, "acme")
				must(t, err)
				if !reflect.DeepEqual(got, all["basic"]) {
					t.Fatalf("a refused put changed acme's credential to %s", got)
				}
			})
		}
	})
}
