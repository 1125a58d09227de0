package storeplan

import (
	"strings"
	"testing"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// TestFeedCursors: a feed cursor has the API's one format, reads back to
// its position only in its own feed (tenant, mailbox, generation) and up
// to the head, and a cursor of the earlier "<position>.<check>" form a
// reader may have kept still reads.
func TestFeedCursors(t *testing.T) {
	const gen = "gen-1"
	c := EncodeFeedCursor("acme", "a@acme.example", gen, 42)
	if !strings.HasPrefix(c, "ey") || strings.Count(c, ".") != 1 {
		t.Fatalf("cursor %q is not <base64url JSON>.<check>", c)
	}
	if pos, err := DecodeFeedCursor(c, "acme", "a@acme.example", gen, 42); err != nil || pos != 42 {
		t.Fatalf("own cursor: %d, %v", pos, err)
	}
	legacy := "42." + legacyCheck("acme", FeedName("a@acme.example"), gen, 42)
	if pos, err := DecodeFeedCursor(legacy, "acme", "a@acme.example", gen, 50); err != nil || pos != 42 {
		t.Fatalf("earlier form: %d, %v", pos, err)
	}
	payload, check, _ := strings.Cut(c, ".")
	for name, tc := range map[string]struct {
		c, tenant, mailbox, gen string
		head                    uint64
	}{
		"another tenant":             {c, "globex", "a@acme.example", gen, 100},
		"another mailbox":            {c, "acme", "b@acme.example", gen, 100},
		"the tenant feed":            {c, "acme", "", gen, 100},
		"another generation":         {c, "acme", "a@acme.example", "gen-2", 100},
		"past the head":              {c, "acme", "a@acme.example", gen, 41},
		"edited payload":             {"eyJwIjo0M30." + check, "acme", "a@acme.example", gen, 100},
		"edited check":               {payload + ".AAAA" + check[4:], "acme", "a@acme.example", gen, 100},
		"bare number":                {"42", "acme", "a@acme.example", gen, 100},
		"earlier form, other feed":   {legacy, "acme", "b@acme.example", gen, 100},
		"earlier form, leading zero": {"042." + legacyCheck("acme", FeedName("a@acme.example"), gen, 42), "acme", "a@acme.example", gen, 100},
		"no position":                {noPositionCursor(), "acme", "a@acme.example", gen, 100},
		"garbage":                    {"garbage", "acme", "a@acme.example", gen, 100},
		"no generation yet":          {c, "acme", "a@acme.example", "", 100},
	} {
		_, err := DecodeFeedCursor(tc.c, tc.tenant, tc.mailbox, tc.gen, tc.head)
		if domain.ErrorCodeOf(err) != domain.CodeInvalid || !strings.Contains(err.Error(), "without a cursor") {
			t.Errorf("%s: %v; want invalid, saying to read again without a cursor", name, err)
		}
	}
	if pos, err := DecodeFeedCursor("", "acme", "", gen, 7); err != nil || pos != 0 {
		t.Fatalf(`"" = %d, %v; want the start`, pos, err)
	}
}

// noPositionCursor is a cursor of the feed's format and scope whose
// payload has no position.
func noPositionCursor() string {
	return domain.EncodeCursor(feedScope("acme", "a@acme.example", "gen-1"), map[string]any{"q": 1})
}
