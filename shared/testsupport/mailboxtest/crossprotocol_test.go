package mailboxtest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// TestProtocolsIndistinguishable: the same mailbox read over EWS and over
// Graph gives the same feed items, every message, event and contact
// property included.
func TestProtocolsIndistinguishable(t *testing.T) {
	n := CompareProtocols(t, Options{ItemsPerMailbox: 200})
	if n < 200 {
		t.Fatalf("compared only %d items", n)
	}
	fmt.Printf("cross-protocol item contract: %d items equal over EWS and Graph\n", n)
}

// TestProtocolsIndistinguishableHTML: for a tenant with bodyFormat html,
// both protocols give the same HTML bodies, of messages and of events
// (and everything else).
func TestProtocolsIndistinguishableHTML(t *testing.T) {
	o := Options{ItemsPerMailbox: 200, BodyFormat: domain.BodyFormatHTML}
	if n := CompareProtocols(t, o); n < 200 {
		t.Fatalf("compared only %d items", n)
	}
	h := NewHarness(t, Graph(t, o))
	m := h.Env.Mailboxes[0]
	h.MustSync(m)
	html := map[domain.ItemKind]int{}
	for _, c := range h.Feed(m) {
		if c.Item != nil && (c.Item.Kind == domain.KindMessage || c.Item.Kind == domain.KindCalendar) && c.Item.Body != "" {
			if c.Item.BodyType != domain.BodyFormatHTML || !strings.HasPrefix(c.Item.Body, "<html>") {
				t.Fatalf("a %s body of an html tenant: %q (%s)", c.Item.Kind, c.Item.Body, c.Item.BodyType)
			}
			html[c.Item.Kind]++
		}
	}
	if html[domain.KindMessage] == 0 || html[domain.KindCalendar] == 0 {
		t.Fatalf("bodies by kind: %v", html)
	}
}
