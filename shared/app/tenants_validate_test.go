package app

import (
	"strings"
	"testing"
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
