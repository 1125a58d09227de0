package mailboxtest

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// TestFeedItemSize measures what a stored feed entry weighs on a
// generated mailbox (the simulators' mix of mail, calendar and contacts,
// with the fuller item model) and prints the p50, p99 and largest size,
// the figure docs/items.md states, for text and for HTML bodies. It fails
// when the p99 outgrows 4 KB: bodies are cut to 1 KB, attachments are not
// copied into the feed.
func TestFeedItemSize(t *testing.T) {
	for _, format := range []string{domain.BodyFormatText, domain.BodyFormatHTML} {
		h := NewHarness(t, EWS(t, Options{ItemsPerMailbox: 2000, BodyFormat: format}))
		m := h.Env.Mailboxes[0]
		h.MustSync(m)
		var sizes []int
		for _, c := range h.Feed(m) {
			b, err := json.Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			sizes = append(sizes, len(b))
		}
		if len(sizes) < 2000 {
			t.Fatalf("only %d feed entries", len(sizes))
		}
		slices.Sort(sizes)
		p := func(q float64) int { return sizes[int(q*float64(len(sizes)-1))] }
		fmt.Printf("feed item size: p50 %d B, p99 %d B, max %d B over %d entries (simulator dataset, EWS, %s bodies)\n", p(0.5), p(0.99), sizes[len(sizes)-1], len(sizes), format)
		if p(0.99) > 4096 {
			t.Errorf("p99 feed entry is %d bytes with %s bodies", p(0.99), format)
		}
	}
}
