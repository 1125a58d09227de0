package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// testFeedRetention: changes older than the retention may be dropped, but
// a reader is never silently skipped past a dropped change. A store either
// still returns everything after a cursor, or refuses the cursor with
// CodeGone; a reader that keeps up never sees Gone, however quiet the feed.
func testFeedRetention(t *testing.T, setup setupFunc) {
	past := SuiteFeedRetention + 24*time.Hour

	t.Run("a reader that keeps up reads on, however quiet the feed", func(t *testing.T) {
		s, clock := setup(t)
		apply(t, s, "acme", ann, create("a1", "k1"))
		_, end := readAll(t, s, domain.FeedQuery{TenantID: "acme"}, 10)
		_, mend := readAll(t, s, domain.FeedQuery{TenantID: "acme", Mailbox: ann}, 10)
		clock.Advance(past) // nothing new for longer than the retention
		for _, q := range []domain.FeedQuery{{TenantID: "acme", Cursor: end}, {TenantID: "acme", Mailbox: ann, Cursor: mend}} {
			got, _ := readAll(t, s, q, 10)
			if len(got) != 0 {
				t.Fatalf("%+v: %v, want nothing new", q, summary(got))
			}
		}
		apply(t, s, "acme", ann, create("a2", "k1"))
		for _, q := range []domain.FeedQuery{{TenantID: "acme", Cursor: end}, {TenantID: "acme", Mailbox: ann, Cursor: mend}} {
			got, _ := readAll(t, s, q, 10)
			if !slices.Equal(summary(got), []string{ann + " create a2 k1"}) {
				t.Fatalf("%+v after a quiet spell: %v, want the new change", q, summary(got))
			}
		}
	})

	t.Run("a reader that fell behind is refused or gets every change", func(t *testing.T) {
		s, clock := setup(t)
		apply(t, s, "acme", ann, create("a1", "k1"))
		apply(t, s, "acme", bob, create("b1", "k1"))
		feed, _ := readAll(t, s, domain.FeedQuery{TenantID: "acme"}, 10)
		mfeed, _ := readAll(t, s, domain.FeedQuery{TenantID: "acme", Mailbox: ann}, 10)
		apply(t, s, "acme", ann, create("a2", "k1")) // not read before it expires
		clock.Advance(past)
		apply(t, s, "acme", ann, create("a3", "k1"))
		apply(t, s, "acme", bob, create("b2", "k1"))
		for _, tc := range []struct {
			q    domain.FeedQuery
			want []string // everything after the cursor
		}{
			{domain.FeedQuery{TenantID: "acme", Cursor: feed[0].Seq}, []string{bob + " create b1 k1", ann + " create a2 k1", ann + " create a3 k1", bob + " create b2 k1"}},
			{domain.FeedQuery{TenantID: "acme", Mailbox: ann, Cursor: mfeed[0].Seq}, []string{ann + " create a2 k1", ann + " create a3 k1"}},
		} {
			tc.q.Limit = 100
			got, _, err := s.ReadFeed(ctx, tc.q)
			if domain.ErrorCodeOf(err) == domain.CodeGone {
				continue
			}
			must(t, err)
			if !slices.Equal(summary(got), tc.want) {
				t.Fatalf("%+v: %v, want Gone or every change after the cursor %v", tc.q, summary(got), tc.want)
			}
		}
	})

	t.Run("reading from the start returns the changes still kept, in order", func(t *testing.T) {
		s, clock := setup(t)
		apply(t, s, "acme", ann, create("a1", "k1"), create("a2", "k1"))
		clock.Advance(past)
		apply(t, s, "acme", ann, create("a3", "k1"))
		apply(t, s, "acme", bob, create("b1", "k1"))
		for _, tc := range []struct {
			q     domain.FeedQuery
			all   []string // every change made, oldest first
			young int      // how many of the last must be kept; older ones may be
		}{
			{domain.FeedQuery{TenantID: "acme"}, []string{ann + " create a1 k1", ann + " create a2 k1", ann + " create a3 k1", bob + " create b1 k1"}, 2},
			{domain.FeedQuery{TenantID: "acme", Mailbox: ann}, []string{ann + " create a1 k1", ann + " create a2 k1", ann + " create a3 k1"}, 1},
		} {
			got, _ := readAll(t, s, tc.q, 1)
			sum := summary(got)
			if len(sum) < tc.young || !slices.Equal(sum, tc.all[len(tc.all)-len(sum):]) {
				t.Fatalf("%+v: %v, want a suffix of %v holding the %d kept changes", tc.q, sum, tc.all, tc.young)
			}
		}
	})

	t.Run("changes within the retention stay", func(t *testing.T) {
		s, clock := setup(t)
		apply(t, s, "acme", ann, create("a1", "k1"))
		clock.Advance(SuiteFeedRetention - time.Hour)
		apply(t, s, "acme", ann, create("a2", "k1"))
		got, _ := readAll(t, s, domain.FeedQuery{TenantID: "acme"}, 10)
		if !slices.Equal(summary(got), []string{ann + " create a1 k1", ann + " create a2 k1"}) {
			t.Fatalf("%v: a change younger than the retention was dropped", summary(got))
		}
	})
}
