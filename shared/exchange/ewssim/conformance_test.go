package ewssim_test

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
)

func TestFullSyncPagedYieldsExactlyTheMailboxItems(t *testing.T) {
	sim := ewssim.New(ewssim.Options{})
	ds, err := sim.Generate(ewssim.GenOptions{Mailboxes: 2, ItemsPerMailbox: 150, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	env := newEnvFor(t, sim, ds.Account.Username, ds.Account.Password)
	mbx := ds.Mailboxes[1]
	for _, folder := range []string{"inbox", "sentitems", "calendar", "contacts"} {
		want, err := sim.ListItems(mbx, folder)
		if err != nil {
			t.Fatal(err)
		}
		if len(want) < 8 {
			t.Fatalf("dataset too small: %d items in %s", len(want), folder)
		}
		for _, pageSize := range []int{1, 7, 512} {
			t.Run(folder+"/max="+strconv.Itoa(pageSize), func(t *testing.T) {
				changes, _, calls := env.syncAll(t, impersonate(mbx), dist(folder, ""), "", pageSize)
				got := make([]ewssim.ItemRef, 0, len(changes))
				for _, c := range changes {
					if c.Kind != "Create" {
						t.Errorf("initial sync reported %s for %s, want Create", c.Kind, c.ID)
					}
					got = append(got, ewssim.ItemRef{ID: c.ID, ChangeKey: c.ChangeKey})
				}
				sortRefs(got)
				sortRefs(want)
				if !slices.Equal(got, want) {
					t.Fatalf("synced %d items, mailbox has %d (or ids/change keys differ)", len(got), len(want))
				}
				if wantCalls := (len(want) + pageSize - 1) / pageSize; calls != max(wantCalls, 1) {
					t.Errorf("took %d calls, want %d", calls, wantCalls)
				}
			})
		}
	}
}

func sortRefs(r []ewssim.ItemRef) {
	slices.SortFunc(r, func(a, b ewssim.ItemRef) int {
		if a.ID < b.ID {
			return -1
		}
		if a.ID > b.ID {
			return 1
		}
		return 0
	})
}

func TestChangeBetweenSyncsAppearsOnce(t *testing.T) {
	const mbx = "alice@contoso.com"
	msg := ewssim.Item{Kind: ewssim.KindMessage, Subject: "hello"}
	tests := []struct {
		name   string
		change func(t *testing.T, sim *ewssim.Sim, existing string) string // returns the id to expect
		want   string                                                      // change kind, "" = no change
	}{
		{"created", func(t *testing.T, sim *ewssim.Sim, _ string) string {
			ref, err := sim.AddItem(mbx, "inbox", msg)
			must(t, err)
			return ref.ID
		}, "Create"},
		{"created then updated is one Create", func(t *testing.T, sim *ewssim.Sim, _ string) string {
			ref, err := sim.AddItem(mbx, "inbox", msg)
			must(t, err)
			_, err = sim.UpdateItem(ref.ID, func(it *ewssim.Item) { it.Subject = "changed" })
			must(t, err)
			return ref.ID
		}, "Create"},
		{"created then deleted is nothing", func(t *testing.T, sim *ewssim.Sim, _ string) string {
			ref, err := sim.AddItem(mbx, "inbox", msg)
			must(t, err)
			must(t, sim.DeleteItem(ref.ID))
			return ""
		}, ""},
		{"updated twice is one Update", func(t *testing.T, sim *ewssim.Sim, id string) string {
			for _, s := range []string{"one", "two"} {
				_, err := sim.UpdateItem(id, func(it *ewssim.Item) { it.Subject = s })
				must(t, err)
			}
			return id
		}, "Update"},
		{"read flag only", func(t *testing.T, sim *ewssim.Sim, id string) string {
			_, err := sim.SetRead(id, true)
			must(t, err)
			return id
		}, "ReadFlagChange"},
		{"read flag and subject is an Update", func(t *testing.T, sim *ewssim.Sim, id string) string {
			_, err := sim.SetRead(id, true)
			must(t, err)
			_, err = sim.UpdateItem(id, func(it *ewssim.Item) { it.Subject = "x" })
			must(t, err)
			return id
		}, "Update"},
		{"deleted", func(t *testing.T, sim *ewssim.Sim, id string) string {
			must(t, sim.DeleteItem(id))
			return id
		}, "Delete"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t, ewssim.Options{}, mbx)
			existing, err := env.sim.AddItem(mbx, "inbox", msg)
			must(t, err)
			_, state, _ := env.syncAll(t, impersonate(mbx), dist("inbox", ""), "", 10)

			wantID := tc.change(t, env.sim, existing.ID)
			changes, state2, _ := env.syncAll(t, impersonate(mbx), dist("inbox", ""), state, 10)
			if tc.want == "" {
				if len(changes) != 0 {
					t.Fatalf("got changes %v, want none", changes)
				}
			} else {
				if len(changes) != 1 || changes[0].Kind != tc.want || changes[0].ID != wantID {
					t.Fatalf("got %v, want one %s of %s", changes, tc.want, wantID)
				}
				if tc.want != "Delete" {
					_, ref, err := env.sim.GetItem(wantID)
					must(t, err)
					if changes[0].ChangeKey != ref.ChangeKey {
						t.Errorf("change key %s, want current %s", changes[0].ChangeKey, ref.ChangeKey)
					}
					if tc.want == "Update" && ref.ChangeKey == existing.ChangeKey {
						t.Error("an update did not bump the ChangeKey")
					}
				}
			}
			// The next sync reports nothing and keeps the state.
			again, state3, _ := env.syncAll(t, impersonate(mbx), dist("inbox", ""), state2, 10)
			if len(again) != 0 {
				t.Errorf("second sync repeated %v", again)
			}
			if state3 != state2 {
				t.Error("SyncState changed although nothing changed")
			}
		})
	}
}

func TestInvalidatedSyncStateAnswersErrorInvalidSyncStateData(t *testing.T) {
	const mbx = "alice@contoso.com"
	tests := []struct {
		name       string
		invalidate func(t *testing.T, env *testEnv, state string) string // returns the state to send
	}{
		{"mutation API", func(t *testing.T, env *testEnv, state string) string {
			must(t, env.sim.InvalidateSyncStates(mbx, "inbox"))
			return state
		}},
		{"whole mailbox", func(t *testing.T, env *testEnv, state string) string {
			must(t, env.sim.InvalidateSyncStates(mbx, ""))
			return state
		}},
		{"injected fault", func(t *testing.T, env *testEnv, state string) string {
			env.sim.InjectFault(ewssim.Fault{Op: "GetFolder", Mailbox: mbx, Kind: ewssim.FaultInvalidateSyncState, Count: 1})
			env.call(t, impersonate(mbx), `<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds>`+dist("inbox", "")+`</m:FolderIds></m:GetFolder>`)
			return state
		}},
		{"edited state", func(t *testing.T, env *testEnv, state string) string {
			b := []byte(state)
			b[10] ^= 1
			return string(b)
		}},
		{"state of another folder", func(t *testing.T, env *testEnv, _ string) string {
			_, s, _ := env.syncAll(t, impersonate(mbx), dist("calendar", ""), "", 10)
			return s
		}},
		{"garbage", func(t *testing.T, env *testEnv, _ string) string { return "not-a-state" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t, ewssim.Options{}, mbx)
			_, err := env.sim.AddItem(mbx, "inbox", ewssim.Item{Subject: "a"})
			must(t, err)
			_, state, _ := env.syncAll(t, impersonate(mbx), dist("inbox", ""), "", 10)
			old := tc.invalidate(t, env, state)
			m := env.one(t, impersonate(mbx), syncItemsBody(dist("inbox", ""), old, 10))
			if m.Class != "Error" || m.Code != "ErrorInvalidSyncStateData" {
				t.Fatalf("got %s %s, want Error ErrorInvalidSyncStateData", m.Class, m.Code)
			}
			// Resyncing from scratch works and yields the item again.
			changes, _, _ := env.syncAll(t, impersonate(mbx), dist("inbox", ""), "", 10)
			if len(changes) != 1 || changes[0].Kind != "Create" {
				t.Fatalf("resync got %v, want one Create", changes)
			}
		})
	}
}

func TestThrottlingIsPerBudgetOwner(t *testing.T) {
	mailboxes := []string{"m1@contoso.com", "m2@contoso.com", "m3@contoso.com", "m4@contoso.com", "m5@contoso.com", "m6@contoso.com"}
	const budget = 3
	tests := []struct {
		name          string
		header        func(i int) string
		folder        func(i int) string
		wantOK        int
		wantThrottled int
		owner         string
	}{
		{"delegate: every mailbox shares the account's budget",
			func(int) string { return "" },
			func(i int) string { return dist("inbox", mailboxes[i]) },
			budget, len(mailboxes) - budget, "account:" + svcUser},
		{"impersonation: each mailbox has its own budget",
			func(i int) string { return impersonate(mailboxes[i]) },
			func(int) string { return dist("inbox", "") },
			len(mailboxes), 0, "mailbox:m1@contoso.com"},
		{"impersonation: one mailbox's budget is bounded",
			func(int) string { return impersonate(mailboxes[0]) },
			func(int) string { return dist("inbox", "") },
			budget, len(mailboxes) - budget, "mailbox:m1@contoso.com"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// The latency keeps every call in flight while the others arrive.
			env := newEnv(t, ewssim.Options{MaxConcurrency: budget, Latency: 800 * time.Millisecond, BackOff: 2500 * time.Millisecond}, mailboxes...)
			var wg sync.WaitGroup
			var mu sync.Mutex
			ok, throttled := 0, 0
			for i := range mailboxes {
				wg.Add(1)
				go func() {
					defer wg.Done()
					status, body := env.call(t, tc.header(i), syncItemsBody(tc.folder(i), "", 10))
					mu.Lock()
					defer mu.Unlock()
					if status == http.StatusOK {
						ok++
						return
					}
					code, backOff := fault(t, status, body)
					if code != "ErrorServerBusy" || backOff != "2500" {
						t.Errorf("got fault %s with BackOffMilliseconds %q, want ErrorServerBusy 2500", code, backOff)
					}
					throttled++
				}()
			}
			wg.Wait()
			if ok != tc.wantOK || throttled != tc.wantThrottled {
				t.Fatalf("%d succeeded and %d were throttled, want %d and %d", ok, throttled, tc.wantOK, tc.wantThrottled)
			}
			st := env.sim.Stats()
			if st.Throttled != int64(tc.wantThrottled) {
				t.Errorf("Stats.Throttled = %d, want %d", st.Throttled, tc.wantThrottled)
			}
			if peak := st.PeakConcurrency[tc.owner]; peak > budget || peak < 1 {
				t.Errorf("peak concurrency of %s = %d, want 1..%d", tc.owner, peak, budget)
			}
			if st.Calls["SyncFolderItems"] != int64(len(mailboxes)) {
				t.Errorf("Stats.Calls[SyncFolderItems] = %d, want %d", st.Calls["SyncFolderItems"], len(mailboxes))
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// An item changed while a paged sync is in progress is still reported as a
// Create in that sync (never as an Update of an item the client has not
// seen), and the sync ends with every item at its current ChangeKey.
func TestChangesDuringAPagedSync(t *testing.T) {
	const mbx = "alice@contoso.com"
	env := newEnv(t, ewssim.Options{}, mbx)
	var refs []ewssim.ItemRef
	for i := range 20 {
		ref, err := env.sim.AddItem(mbx, "inbox", ewssim.Item{Subject: strconv.Itoa(i)})
		must(t, err)
		refs = append(refs, ref)
	}
	first := env.one(t, impersonate(mbx), syncItemsBody(dist("inbox", ""), "", 7))
	if first.IncludesLast || len(first.changes()) != 7 {
		t.Fatalf("first page: %d changes, last=%v", len(first.changes()), first.IncludesLast)
	}
	// Change one item the client has and one it has not seen yet.
	for _, id := range []string{refs[0].ID, refs[19].ID} {
		_, err := env.sim.UpdateItem(id, func(it *ewssim.Item) { it.Subject += " edited" })
		must(t, err)
	}
	rest, _, _ := env.syncAll(t, impersonate(mbx), dist("inbox", ""), first.SyncState, 7)
	latest := map[string]string{}
	seen := map[string]int{}
	for _, c := range append(first.changes(), rest...) {
		seen[c.ID]++
		if c.Kind != "Create" {
			t.Errorf("%s for %s during the first sync, want Create", c.Kind, c.ID)
		}
		latest[c.ID] = c.ChangeKey
	}
	current, err := env.sim.ListItems(mbx, "inbox")
	must(t, err)
	if len(latest) != len(current) {
		t.Fatalf("sync saw %d items, folder has %d", len(latest), len(current))
	}
	for _, ref := range current {
		if latest[ref.ID] != ref.ChangeKey {
			t.Errorf("item %s ends at ChangeKey %s, current is %s", ref.ID, latest[ref.ID], ref.ChangeKey)
		}
	}
	if seen[refs[19].ID] != 1 {
		t.Errorf("the item changed before it was reported was reported %d times, want once", seen[refs[19].ID])
	}
}

// Mutations and syncs running at the same time leave a state that an
// incremental sync follows exactly: replaying its changes over the first
// snapshot gives the folder's final contents.
func TestConcurrentMutationsAndIncrementalSync(t *testing.T) {
	const mbx = "alice@contoso.com"
	env := newEnv(t, ewssim.Options{}, mbx)
	have := map[string]string{} // id -> change key, the client's copy
	apply := func(chs []change) {
		for _, c := range chs {
			switch c.Kind {
			case "Delete":
				delete(have, c.ID)
			default:
				have[c.ID] = c.ChangeKey
			}
		}
	}
	chs, state, _ := env.syncAll(t, impersonate(mbx), dist("inbox", ""), "", 5)
	apply(chs)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []string
			for i := range 60 {
				switch {
				case i%5 == 4 && len(mine) > 0:
					if err := env.sim.DeleteItem(mine[0]); err != nil {
						t.Error(err)
					}
					mine = mine[1:]
				case i%3 == 2 && len(mine) > 0:
					if _, err := env.sim.SetRead(mine[len(mine)-1], true); err != nil {
						t.Error(err)
					}
				default:
					ref, err := env.sim.AddItem(mbx, "inbox", ewssim.Item{Subject: fmt.Sprint(w, "-", i)})
					if err != nil {
						t.Error(err)
						return
					}
					mine = append(mine, ref.ID)
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
		}
		chs, state, _ = env.syncAll(t, impersonate(mbx), dist("inbox", ""), state, 5)
		apply(chs)
	}
	chs, _, _ = env.syncAll(t, impersonate(mbx), dist("inbox", ""), state, 5)
	apply(chs)
	want, err := env.sim.ListItems(mbx, "inbox")
	must(t, err)
	if len(have) != len(want) {
		t.Fatalf("client has %d items, folder has %d", len(have), len(want))
	}
	for _, r := range want {
		if have[r.ID] != r.ChangeKey {
			t.Fatalf("item %s: client has ChangeKey %q, current is %q", r.ID, have[r.ID], r.ChangeKey)
		}
	}
}

// Options.MaxConcurrentSyncCalls bounds sync operations separately, like
// Exchange Online's ConcurrentSyncCalls: other operations still run.
func TestConcurrentSyncCallsHaveTheirOwnBudget(t *testing.T) {
	const mbx = "alice@contoso.com"
	env := newEnv(t, ewssim.Options{MaxConcurrentSyncCalls: 2, Latency: 800 * time.Millisecond, BackOff: 5 * time.Second}, mbx)
	getFolder := `<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds>` + dist("inbox", "") + `</m:FolderIds></m:GetFolder>`
	bodies := []string{syncItemsBody(dist("inbox", ""), "", 10), syncItemsBody(dist("inbox", ""), "", 10), syncItemsBody(dist("inbox", ""), "", 10),
		syncItemsBody(dist("calendar", ""), "", 10), getFolder, getFolder}
	var wg sync.WaitGroup
	var mu sync.Mutex
	busy := map[string]int{}
	for _, body := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, b := env.call(t, impersonate(mbx), body)
			mu.Lock()
			defer mu.Unlock()
			op := "sync"
			if strings.Contains(body, "GetFolder") {
				op = "other"
			}
			if status != http.StatusOK {
				if code, backOff := fault(t, status, b); code != "ErrorServerBusy" || backOff != "5000" {
					t.Errorf("fault %s %s", code, backOff)
				}
				busy[op]++
			}
		}()
	}
	wg.Wait()
	if busy["sync"] != 2 || busy["other"] != 0 {
		t.Fatalf("throttled %v, want 2 of 4 sync calls and no other call", busy)
	}
	if peak := env.sim.Stats().PeakConcurrency["mailbox:"+mbx+"#sync"]; peak != 2 {
		t.Errorf("peak sync concurrency %d, want 2", peak)
	}
}

// An item sent as a Create on one page of a paged round and deleted before
// the round's next page must come back as a Delete on that page, or the
// client keeps a ghost (found as a rare failure of the concurrent test
// above; this is its deterministic form).
func TestDeleteAfterCreateOnAnEarlierPageOfTheRound(t *testing.T) {
	const mbx = "alice@contoso.com"
	env := newEnv(t, ewssim.Options{}, mbx)
	_, state, _ := env.syncAll(t, impersonate(mbx), dist("inbox", ""), "", 512)
	x, err := env.sim.AddItem(mbx, "inbox", ewssim.Item{Subject: "x"})
	must(t, err)
	_, err = env.sim.AddItem(mbx, "inbox", ewssim.Item{Subject: "y"})
	must(t, err)

	first := env.one(t, impersonate(mbx), syncItemsBody(dist("inbox", ""), state, 1))
	if chs := first.changes(); len(chs) != 1 || chs[0].Kind != "Create" || chs[0].ID != x.ID || first.IncludesLast {
		t.Fatalf("first page = %+v (last %v), want only x's Create", chs, first.IncludesLast)
	}
	must(t, env.sim.DeleteItem(x.ID))
	rest, _, _ := env.syncAll(t, impersonate(mbx), dist("inbox", ""), first.SyncState, 1)
	deleted := false
	for _, c := range rest {
		if c.Kind == "Delete" && c.ID == x.ID {
			deleted = true
		}
	}
	if !deleted {
		t.Fatalf("x was sent, then deleted, but the rest of the round %+v has no Delete for it", rest)
	}
}
