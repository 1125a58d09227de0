package app

import (
	"strings"
	"testing"
)

// FuzzNormalizeAddress: an accepted address is lower-case, stable under
// normalization, and free of anything that could break a SOAP body, a
// header or a storage key.
func FuzzNormalizeAddress(f *testing.F) {
	for _, s := range []string{"Alice@Contoso.com", "a'b@c.de", "<x>@y.z", "a@b", "bob\r\n@c.com", `"q"@c.com`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := NormalizeAddress("address", s)
		if err != nil {
			if err.Field != "address" || err.Message == "" {
				t.Fatalf("error without field or message: %+v", err)
			}
			return
		}
		if got != strings.ToLower(got) || len(got) > MaxAddressLen {
			t.Fatalf("%q normalized to %q", s, got)
		}
		if again, err := NormalizeAddress("address", got); err != nil || again != got {
			t.Fatalf("%q is not stable: %q, %v", got, again, err)
		}
		if strings.ContainsAny(got, "<>\"\r\n\t /\\()[],;:") || strings.Count(got, "@") != 1 {
			t.Fatalf("%q accepted with unsafe characters", got)
		}
	})
}
