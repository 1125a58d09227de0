package domain

import (
	"strings"
	"testing"
)

func TestCredentialIdentifiers(t *testing.T) {
	base := Credential{Kind: AuthOAuthSecret, EntraTenant: "contoso", ClientID: "app-1", ClientSecret: "s3cret-one"}
	rotated := base
	rotated.ClientSecret = "s3cret-two"
	otherApp := base
	otherApp.ClientID = "app-2"

	t.Run("fingerprint ignores the secret", func(t *testing.T) {
		if base.Fingerprint() != rotated.Fingerprint() {
			t.Fatal("a secret rotation changed the stored fingerprint: it is derived from the secret")
		}
		if base.Fingerprint() == otherApp.Fingerprint() {
			t.Fatal("two apps share a fingerprint")
		}
	})
	t.Run("memory key sees the secret", func(t *testing.T) {
		if base.MemoryKey() == rotated.MemoryKey() {
			t.Fatal("a rotated credential has the same memory key: caches would reuse the old one")
		}
		same := base
		if base.MemoryKey() != same.MemoryKey() {
			t.Fatal("equal credentials have different memory keys: caches would never hit")
		}
	})
	t.Run("formatting redacts", func(t *testing.T) {
		for _, s := range []string{base.String(), base.GoString()} {
			if strings.Contains(s, "s3cret") {
				t.Fatalf("secret in %q", s)
			}
		}
	})
}
