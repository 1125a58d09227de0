package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
)

const ann, bob = "ann@acme.example", "bob@acme.example"

func apply(t *testing.T, s domain.Store, tenantID, mbx string, changes ...domain.ItemChange) int {
	t.Helper()
	n, err := s.ApplyChanges(ctx, tenantID, mbx, changes)
	must(t, err)
	return n
}

func testApplyChanges(t *testing.T, setup setupFunc) {
	t.Run("each change is appended once; replays append nothing", func(t *testing.T) {
		s, _ := setup(t)
		steps := []struct {
			name    string
			changes []domain.ItemChange
			want    int
		}{
			{"three creates", []domain.ItemChange{create("i1", "c1"), create("i2", "c1"), create("i3", "c1")}, 3},
			{"replayed creates", []domain.ItemChange{create("i1", "c1"), create("i2", "c1"), create("i3", "c1")}, 0},
			{"an update with a new change key", []domain.ItemChange{update("i2", "c2")}, 1},
			{"the update replayed", []domain.ItemChange{update("i2", "c2")}, 0},
			{"a create whose key is stored", []domain.ItemChange{create("i2", "c2")}, 0},
			{"a delete", []domain.ItemChange{del("i3")}, 1},
			{"the delete replayed", []domain.ItemChange{del("i3")}, 0},
			{"a delete of an unknown item", []domain.ItemChange{del("never-seen")}, 0},
			{"the first create replayed after its delete", []domain.ItemChange{create("i3", "c1")}, 0},
			{"a re-create after the delete", []domain.ItemChange{create("i3", "c9")}, 1},
			{"create then update in one batch", []domain.ItemChange{create("i4", "c1"), update("i4", "c2")}, 2},
			{"that batch replayed", []domain.ItemChange{create("i4", "c1"), update("i4", "c2")}, 0},
			{"no changes", nil, 0},
		}
		for _, st := range steps {
			if got := apply(t, s, "acme", ann, st.changes...); got != st.want {
				t.Fatalf("%s: appended %d, want %d", st.name, got, st.want)
			}
		}
		feed, _ := readAll(t, s, domain.FeedQuery{TenantID: "acme"}, 100)
		want := []string{
			ann + " create i1 c1", ann + " create i2 c1", ann + " create i3 c1",
			ann + " update i2 c2", ann + " delete i3", ann + " create i3 c9",
			ann + " create i4 c1", ann + " update i4 c2",
		}
		if got := summary(feed); !slices.Equal(got, want) {
			t.Fatalf("feed:\n%v\nwant\n%v", got, want)
		}
	})
	t.Run("the stored state decides create or update", func(t *testing.T) {
		// After ErrorInvalidSyncStateData a folder is resynced from scratch
		// and EWS reports every item as created: only changed ones are news.
		s, _ := setup(t)
		apply(t, s, "acme", ann, create("i1", "c1"), create("i2", "c1"))
		n := apply(t, s, "acme", ann, create("i1", "c1"), create("i2", "c2"), update("i5", "c1"))
		if n != 2 {
			t.Fatalf("resync appended %d, want 2", n)
		}
		feed, _ := readAll(t, s, domain.FeedQuery{TenantID: "acme"}, 10)
		want := []string{ann + " create i1 c1", ann + " create i2 c1", ann + " update i2 c2", ann + " create i5 c1"}
		if got := summary(feed); !slices.Equal(got, want) {
			t.Fatalf("feed %v, want %v", got, want)
		}
	})
	t.Run("a move with an id that survives it is never a loss", func(t *testing.T) {
		// Graph's immutable ids: a message moved from inbox to archive is
		// removed from inbox's delta and upserted by archive's, in either
		// order, with its id (and possibly its change key) unchanged.
		in := func(c domain.ItemChange, folder string) domain.ItemChange {
			if c.Item != nil {
				it := *c.Item
				it.FolderID = folder
				c.Item = &it
			} else {
				c.FolderID = folder
			}
			return c
		}
		steps := []struct {
			name    string
			changes []domain.ItemChange
			want    int
		}{
			{"created in inbox", []domain.ItemChange{in(create("m1", "c1"), "inbox"), in(create("m2", "c1"), "inbox")}, 2},
			{"m1 seen in archive first", []domain.ItemChange{in(update("m1", "c2"), "archive")}, 1},
			{"then inbox's removal of m1 is no delete", []domain.ItemChange{in(del("m1"), "inbox")}, 0},
			{"inbox's removal of m2 comes first", []domain.ItemChange{in(del("m2"), "inbox")}, 1},
			{"then archive's m2 with the same key is a create", []domain.ItemChange{in(create("m2", "c1"), "archive")}, 1},
			{"which replays as nothing", []domain.ItemChange{in(create("m2", "c1"), "archive")}, 0},
			{"a delete from its own folder applies", []domain.ItemChange{in(del("m1"), "archive")}, 1},
		}
		s, _ := setup(t)
		for _, st := range steps {
			if got := apply(t, s, "acme", ann, st.changes...); got != st.want {
				t.Fatalf("%s: appended %d, want %d", st.name, got, st.want)
			}
		}
		feed, _ := readAll(t, s, domain.FeedQuery{TenantID: "acme"}, 100)
		want := []string{
			ann + " create m1 c1", ann + " create m2 c1", ann + " update m1 c2",
			ann + " delete m2", ann + " create m2 c1", ann + " delete m1",
		}
		if got := summary(feed); !slices.Equal(got, want) {
			t.Fatalf("feed:\n%v\nwant\n%v", got, want)
		}
	})
	t.Run("bad changes are refused and nothing is stored", func(t *testing.T) {
		noKey := create("i9", "")
		noItem := create("i9", "c1")
		noItem.Item = nil
		wrongID := create("i9", "c1")
		wrongID.Item = message("other", "c1")
		for _, tc := range []struct {
			name string
			c    domain.ItemChange
		}{
			{"empty item id", create("", "c1")},
			{"create without change key", noKey},
			{"create without item", noItem},
			{"item id differs from the change's", wrongID},
			{"unknown kind", domain.ItemChange{Kind: "move", ItemID: "i9"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				s, _ := setup(t)
				_, err := s.ApplyChanges(ctx, "acme", ann, []domain.ItemChange{create("ok", "c1"), tc.c})
				wantCode(t, err, domain.CodeInvalid, "ApplyChanges")
				if feed, _ := readAll(t, s, domain.FeedQuery{TenantID: "acme"}, 10); len(feed) != 0 {
					t.Fatalf("a refused batch stored %v", summary(feed))
				}
			})
		}
	})
	t.Run("a large batch is stored whole and in order", func(t *testing.T) {
		s, _ := setup(t)
		var changes []domain.ItemChange
		var want []string
		for i := 0; i < 250; i++ {
			id := fmt.Sprintf("item-%03d", i)
			changes = append(changes, create(id, "k1"))
			want = append(want, ann+" create "+id+" k1")
		}
		if n := apply(t, s, "acme", ann, changes...); n != 250 {
			t.Fatalf("appended %d, want 250", n)
		}
		feed, _ := readAll(t, s, domain.FeedQuery{TenantID: "acme", Mailbox: ann}, 64)
		if got := summary(feed); !slices.Equal(got, want) {
			t.Fatalf("mailbox feed has %d entries, want 250 in order", len(got))
		}
	})
}

func testReadFeed(t *testing.T, setup setupFunc) {
	s, clock := setup(t)
	apply(t, s, "acme", ann, create("a1", "k1"))
	clock.Advance(time.Second)
	apply(t, s, "acme", bob, create("b1", "k1"), create("b2", "k1"))
	apply(t, s, "acme", ann, update("a1", "k2"), del("a1"))
	apply(t, s, "acme", bob, del("b2"))
	apply(t, s, "other", ann, create("x1", "k1"))

	t.Run("tenant feed in write order, across mailboxes", func(t *testing.T) {
		for _, limit := range []int{1, 2, 100} {
			feed, _ := readAll(t, s, domain.FeedQuery{TenantID: "acme"}, limit)
			want := []string{ann + " create a1 k1", bob + " create b1 k1", bob + " create b2 k1",
				ann + " update a1 k2", ann + " delete a1", bob + " delete b2"}
			if got := summary(feed); !slices.Equal(got, want) {
				t.Fatalf("limit %d: %v\nwant %v", limit, got, want)
			}
		}
	})
	t.Run("mailbox feed holds only that mailbox", func(t *testing.T) {
		feed, _ := readAll(t, s, domain.FeedQuery{TenantID: "acme", Mailbox: bob}, 2)
		want := []string{bob + " create b1 k1", bob + " create b2 k1", bob + " delete b2"}
		if got := summary(feed); !slices.Equal(got, want) {
			t.Fatalf("%v, want %v", got, want)
		}
	})
	t.Run("other tenants are invisible", func(t *testing.T) {
		feed, _ := readAll(t, s, domain.FeedQuery{TenantID: "other"}, 10)
		if got := summary(feed); !slices.Equal(got, []string{ann + " create x1 k1"}) {
			t.Fatalf("other tenant's feed: %v", got)
		}
		feed, _ = readAll(t, s, domain.FeedQuery{TenantID: "nobody"}, 10)
		if len(feed) != 0 {
			t.Fatalf("unknown tenant's feed: %v", summary(feed))
		}
	})
	t.Run("entries carry the item, tenant, time and their own cursor", func(t *testing.T) {
		feed, _ := readAll(t, s, domain.FeedQuery{TenantID: "acme"}, 100)
		first := feed[0]
		if !reflect.DeepEqual(first.Item, message("a1", "k1")) {
			t.Fatalf("item = %+v\nwant %+v", first.Item, message("a1", "k1"))
		}
		if first.TenantID != "acme" || first.Mailbox != ann || !first.At.Equal(Start) {
			t.Fatalf("entry = %+v", first)
		}
		if feed[1].At.Equal(Start) {
			t.Fatalf("second entry's time %v ignores the clock", feed[1].At)
		}
		if feed[4].Kind != domain.ChangeDelete || feed[4].Item != nil {
			t.Fatalf("delete entry = %+v", feed[4])
		}
		// Each entry's cursor continues right after it.
		rest, _, err := s.ReadFeed(ctx, domain.FeedQuery{TenantID: "acme", Cursor: feed[2].Seq, Limit: 100})
		must(t, err)
		if got, want := summary(rest), summary(feed[3:]); !slices.Equal(got, want) {
			t.Fatalf("after entry 2: %v, want %v", got, want)
		}
	})
	t.Run("the end cursor waits for new changes", func(t *testing.T) {
		_, end := readAll(t, s, domain.FeedQuery{TenantID: "acme"}, 100)
		_, mend := readAll(t, s, domain.FeedQuery{TenantID: "acme", Mailbox: ann}, 100)
		apply(t, s, "acme", ann, create("a2", "k1"))
		for _, q := range []domain.FeedQuery{{TenantID: "acme", Cursor: end}, {TenantID: "acme", Mailbox: ann, Cursor: mend}} {
			got, _ := readAll(t, s, q, 100)
			if !slices.Equal(summary(got), []string{ann + " create a2 k1"}) {
				t.Fatalf("from the end cursor (%+v): %v", q, summary(got))
			}
		}
	})
	t.Run("a malformed cursor is bad input", func(t *testing.T) {
		for _, q := range []domain.FeedQuery{{TenantID: "acme", Cursor: "garbage!"}, {TenantID: "acme", Mailbox: ann, Cursor: "-5"},
			// A bare number past any head must not wrap around to the start.
			{TenantID: "acme", Cursor: "18446744073709551615"}, {TenantID: "acme", Mailbox: ann, Cursor: "18446744073709551615"},
			{TenantID: "acme", Cursor: "1"}, {TenantID: "acme", Cursor: "t1"}, {TenantID: "acme", Mailbox: ann, Cursor: "m1"}} {
			_, _, err := s.ReadFeed(ctx, q)
			wantCode(t, err, domain.CodeInvalid, "ReadFeed "+q.Cursor)
			checkCursorField(t, err)
		}
	})
	t.Run("a cursor is read only against the feed it came from", func(t *testing.T) {
		feed, tend := readAll(t, s, domain.FeedQuery{TenantID: "acme"}, 100)
		_, aend := readAll(t, s, domain.FeedQuery{TenantID: "acme", Mailbox: ann}, 100)
		_, oend := readAll(t, s, domain.FeedQuery{TenantID: "other"}, 100)
		mid := feed[1].Seq
		for _, tc := range []struct {
			name string
			q    domain.FeedQuery
		}{
			{"tenant cursor on a mailbox feed", domain.FeedQuery{TenantID: "acme", Mailbox: ann, Cursor: tend}},
			{"tenant cursor on another mailbox feed", domain.FeedQuery{TenantID: "acme", Mailbox: bob, Cursor: mid}},
			{"mailbox cursor on the tenant feed", domain.FeedQuery{TenantID: "acme", Cursor: aend}},
			{"mailbox cursor on another mailbox's feed", domain.FeedQuery{TenantID: "acme", Mailbox: bob, Cursor: aend}},
			{"another tenant's cursor", domain.FeedQuery{TenantID: "acme", Cursor: oend}},
			{"a cursor on another tenant", domain.FeedQuery{TenantID: "other", Cursor: tend}},
			{"a cursor on an unknown tenant", domain.FeedQuery{TenantID: "nobody", Cursor: tend}},
			{"a cursor with its position changed", domain.FeedQuery{TenantID: "acme", Cursor: shiftCursor(mid)}},
		} {
			_, _, err := s.ReadFeed(ctx, tc.q)
			wantCode(t, err, domain.CodeInvalid, tc.name)
			checkCursorField(t, err)
		}
		// Each cursor still works on its own feed.
		for _, q := range []domain.FeedQuery{{TenantID: "acme", Cursor: tend}, {TenantID: "acme", Mailbox: ann, Cursor: aend}, {TenantID: "other", Cursor: oend}} {
			if got, _ := readAll(t, s, q, 10); len(got) != 0 {
				t.Fatalf("%+v: %v, want nothing new", q, summary(got))
			}
		}
	})
}

// A feed emptied and started again (the tenant purged and onboarded anew)
// is another feed: cursors of the old one are refused, not read as
// positions of the new one (which would skip or repeat changes).
func testFeedRestart(t *testing.T, setup setupFunc) {
	s, _ := setup(t)
	apply(t, s, "acme", ann, create("a1", "k1"), create("a2", "k1"), create("a3", "k1"))
	_, tend := readAll(t, s, domain.FeedQuery{TenantID: "acme"}, 100)
	_, aend := readAll(t, s, domain.FeedQuery{TenantID: "acme", Mailbox: ann}, 100)
	first, _, err := s.ReadFeed(ctx, domain.FeedQuery{TenantID: "acme", Limit: 1})
	must(t, err)
	old := []domain.FeedQuery{{TenantID: "acme", Cursor: tend}, {TenantID: "acme", Mailbox: ann, Cursor: aend}, {TenantID: "acme", Cursor: first[0].Seq}}
	must(t, s.PurgeTenant(ctx, "acme"))
	for _, q := range old {
		_, _, err := s.ReadFeed(ctx, q)
		wantCode(t, err, domain.CodeInvalid, "old cursor on the emptied feed")
		checkCursorField(t, err)
	}
	apply(t, s, "acme", ann, create("b1", "k1"))
	for _, q := range old {
		_, _, err := s.ReadFeed(ctx, q)
		wantCode(t, err, domain.CodeInvalid, "old cursor on the new feed")
	}
	got, _ := readAll(t, s, domain.FeedQuery{TenantID: "acme"}, 10)
	if !slices.Equal(summary(got), []string{ann + " create b1 k1"}) {
		t.Fatalf("the new feed from the start: %v", summary(got))
	}
}

func checkCursorField(t *testing.T, err error) {
	t.Helper()
	var de *domain.Error
	if !errors.As(err, &de) || de.Field != "cursor" {
		t.Fatalf("error %v does not name the field cursor", err)
	}
}

// shiftCursor changes the position a cursor's leading digits name, keeping
// the rest: a forged cursor for another position.
func shiftCursor(c string) string {
	i := 0
	for i < len(c) && c[i] >= '0' && c[i] <= '9' {
		i++
	}
	if i == 0 {
		return "9" + c
	}
	d := c[i-1] - '0'
	return c[:i-1] + string(rune('0'+(d+1)%10)) + c[i:]
}

// testFeedConcurrency writes from many goroutines (different mailboxes of
// one tenant, plus two writers replaying the same mailbox's changes as a
// crashed-and-redelivered job would) while readers follow the tenant feed
// and one mailbox feed. Every change must be seen exactly once, in an order
// consistent with each writer's order.
func testFeedConcurrency(t *testing.T, setup setupFunc) {
	s, _ := setup(t)
	const writers, batches, perBatch = 4, 6, 3
	var wg sync.WaitGroup
	errs := make(chan error, writers+2)
	want := map[string]bool{}
	for w := 0; w < writers; w++ {
		mbx := fmt.Sprintf("user%d@acme.example", w)
		for b := 0; b < batches; b++ {
			for i := 0; i < perBatch; i++ {
				want[fmt.Sprintf("%s create m%d-%d k1", mbx, b, i)] = true
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := 0; b < batches; b++ {
				var cs []domain.ItemChange
				for i := 0; i < perBatch; i++ {
					cs = append(cs, create(fmt.Sprintf("m%d-%d", b, i), "k1"))
				}
				if _, err := s.ApplyChanges(ctx, "acme", mbx, cs); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	// Two overlapping deliveries of the same job for one more mailbox.
	const dup = "dup@acme.example"
	for b := 0; b < batches; b++ {
		want[fmt.Sprintf("%s create d%d k1", dup, b)] = true
	}
	for r := 0; r < 2; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := 0; b < batches; b++ {
				// A conflict with the twin is acceptable (the job would be
				// redelivered); a duplicate in the feed is not.
				if _, err := s.ApplyChanges(ctx, "acme", dup, []domain.ItemChange{create(fmt.Sprintf("d%d", b), "k1")}); err != nil && !domain.IsConflict(err) && domain.ErrorCodeOf(err) != domain.CodeUnavailable {
					errs <- err
					return
				}
			}
		}()
	}
	done := make(chan struct{})
	follow := func(q domain.FeedQuery, seen *[]domain.Change) func() {
		return func() {
			for {
				finished := false
				select {
				case <-done:
					finished = true
				default:
				}
				page, next, err := s.ReadFeed(ctx, domain.FeedQuery{TenantID: q.TenantID, Mailbox: q.Mailbox, Cursor: q.Cursor, Limit: 7})
				if err != nil {
					errs <- err
					return
				}
				*seen = append(*seen, page...)
				q.Cursor = next
				if finished && len(page) == 0 {
					return
				}
			}
		}
	}
	var tenantSeen, mailboxSeen []domain.Change
	var rg sync.WaitGroup
	rg.Add(2)
	go func() { defer rg.Done(); follow(domain.FeedQuery{TenantID: "acme"}, &tenantSeen)() }()
	go func() {
		defer rg.Done()
		follow(domain.FeedQuery{TenantID: "acme", Mailbox: "user1@acme.example"}, &mailboxSeen)()
	}()
	wg.Wait()
	close(done)
	rg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent use failed: %v", err)
	}
	// The dup mailbox may have stopped early on a conflict; finish it as a
	// redelivered job would, then read the rest.
	for b := 0; b < batches; b++ {
		apply(t, s, "acme", dup, create(fmt.Sprintf("d%d", b), "k1"))
	}
	rest, _, err := s.ReadFeed(ctx, domain.FeedQuery{TenantID: "acme", Cursor: lastCursor(tenantSeen), Limit: 1000})
	must(t, err)
	tenantSeen = append(tenantSeen, rest...)

	got := map[string]bool{}
	for _, line := range summary(tenantSeen) {
		if got[line] {
			t.Fatalf("tenant feed repeated %q", line)
		}
		got[line] = true
	}
	for line := range want {
		if !got[line] {
			t.Errorf("tenant feed never showed %q", line)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("tenant feed showed %d changes, want %d", len(got), len(want))
	}
	checkWriterOrder(t, tenantSeen)

	var mwant []string
	for b := 0; b < batches; b++ {
		for i := 0; i < perBatch; i++ {
			mwant = append(mwant, fmt.Sprintf("user1@acme.example create m%d-%d k1", b, i))
		}
	}
	if got := summary(mailboxSeen); !slices.Equal(got, mwant) {
		t.Fatalf("mailbox feed follower saw %v\nwant %v", got, mwant)
	}
}

func lastCursor(cs []domain.Change) string {
	if len(cs) == 0 {
		return ""
	}
	return cs[len(cs)-1].Seq
}

// checkWriterOrder asserts that each mailbox's changes appear in the order
// its writer made them (m0-0, m0-1, ..., m1-0, ...).
func checkWriterOrder(t *testing.T, cs []domain.Change) {
	t.Helper()
	last := map[string]string{}
	for _, c := range cs {
		if prev, ok := last[c.Mailbox]; ok && c.ItemID < prev {
			t.Fatalf("mailbox %s: %s after %s", c.Mailbox, c.ItemID, prev)
		}
		last[c.Mailbox] = c.ItemID
	}
}
