package api

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/local/boltstore"
)

// TestMailboxListingWithADamagedRecord: one mailbox record that does not
// decode no longer turns the listing into a 500. The listing answers 200
// with every mailbox, the damaged one as status damaged with what to do;
// its feed still reads; verify checks the others; removing and adding it
// again mends it.
func TestMailboxListingWithADamagedRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mailbridge.db")
	secrets := openSecrets(t)
	open := func() *boltstore.Store {
		st, err := boltstore.Open(path, boltstore.Options{Clock: fixedClock{testNow}})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	st := open()
	e := newEnvOn(t, st, secrets)
	e.onboard("contoso", basicCred("svc", "Damaged-pw-1"), "ann@contoso.com", "bob@contoso.com", "cy@contoso.com")
	st.Close()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("t/contoso")).Bucket([]byte("mailboxes")).Put([]byte("bob@contoso.com"), []byte("{\"status\":\x00\xff"))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	st = open()
	t.Cleanup(func() { st.Close() })
	e = newEnvOn(t, st, secrets)

	list := func(query string) []map[string]any {
		t.Helper()
		var out []map[string]any
		for _, m := range e.must(req{method: "GET", path: "/tenants/contoso/mailboxes" + query}, 200)["mailboxes"].([]any) {
			out = append(out, m.(map[string]any))
		}
		return out
	}
	all := list("")
	if len(all) != 3 {
		t.Fatalf("listed %d mailboxes, want 3: %v", len(all), all)
	}
	for _, m := range all {
		switch m["address"] {
		case "bob@contoso.com":
			if m["status"] != "damaged" || !strings.Contains(m["lastError"].(string), "damaged") || m["hint"] != domain.DamagedMailboxHint {
				t.Errorf("damaged mailbox listed as %v", m)
			}
		default:
			if m["status"] == "damaged" {
				t.Errorf("good mailbox listed as %v", m)
			}
		}
	}
	// One at a time, the pages step over the damaged record.
	var paged []string
	cursor := ""
	for range 5 {
		page := e.must(req{method: "GET", path: "/tenants/contoso/mailboxes?limit=1" + cursor}, 200)
		for _, m := range page["mailboxes"].([]any) {
			paged = append(paged, m.(map[string]any)["address"].(string))
		}
		next, _ := page["nextCursor"].(string)
		if next == "" {
			break
		}
		cursor = "&cursor=" + next
	}
	if strings.Join(paged, ",") != "ann@contoso.com,bob@contoso.com,cy@contoso.com" {
		t.Errorf("pages of one list %v", paged)
	}
	if d := list("?status=damaged"); len(d) != 1 || d[0]["address"] != "bob@contoso.com" {
		t.Errorf("status=damaged lists %v", d)
	}
	e.must(req{method: "GET", path: "/tenants/contoso/mailboxes/bob@contoso.com/changes"}, 200)

	// verify reports the damaged one as it is and checks the others.
	rep := e.must(req{method: "POST", path: "/tenants/contoso/verify", body: `{}`}, 200)
	if n := len(rep["mailboxes"].([]any)); n != 3 {
		t.Errorf("verify reports %d mailboxes, want 3: %v", n, rep)
	}
	for _, r := range rep["mailboxes"].([]any) {
		r := r.(map[string]any)
		want := "ok"
		if r["mailbox"] == "bob@contoso.com" {
			want = "damaged"
		}
		if r["status"] != want {
			t.Errorf("verify reports %v, want status %s", r, want)
		}
	}
	for _, c := range e.checker.callsFor("contoso") {
		if c.Mailbox == "bob@contoso.com" {
			t.Errorf("verify checked the damaged mailbox's access")
		}
	}

	// The hint's remedy.
	e.must(req{method: "DELETE", path: "/tenants/contoso/mailboxes/bob@contoso.com"}, 204)
	e.addMailboxes("contoso", "bob@contoso.com")
	for _, m := range list("") {
		if m["status"] == "damaged" {
			t.Errorf("still damaged after removing and adding: %v", m)
		}
	}
}
