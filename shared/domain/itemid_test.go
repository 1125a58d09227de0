package domain

import (
	"strings"
	"testing"
)

func TestValidateItemID(t *testing.T) {
	cases := []struct {
		name, field, id string
		ok              bool
		says            string
	}{
		{"EWS id", "itemId", "AAMkADk0ZjU2+/Zm=", true, ""},
		{"Graph id", "itemId", "AAMkAGI2TG93AAA-_x=", true, ""},
		{"longest", "itemId", strings.Repeat("A", MaxItemIDLen), true, ""},
		{"empty", "itemId", "", false, "itemId must be an Exchange item id"},
		{"too long", "itemId", strings.Repeat("A", MaxItemIDLen+1), false, "1 to 1024 characters"},
		{"markup", "itemId", "<script>", false, "percent-encode"},
		{"path walk", "itemId", "../x", false, "itemId must be"},
		{"attachment", "attachmentId", "a b", false, "attachmentId must be an Exchange attachment id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateItemID(tc.field, tc.id)
			if tc.ok != (err == nil) {
				t.Fatalf("ValidateItemID(%q) = %v, want ok %v", tc.id, err, tc.ok)
			}
			if err != nil && (err.Field != tc.field || !strings.Contains(err.Message, tc.says)) {
				t.Errorf("error %+v: want field %q and a message saying %q", err, tc.field, tc.says)
			}
		})
	}
}
