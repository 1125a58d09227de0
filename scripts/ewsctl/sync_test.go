package main

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
)

var authKinds = []string{"basic", "ntlm", "oauth-secret", "oauth-cert"}

// TestProbeAndSyncEveryAuthAndMode is the must-show: probe and sync
// work against the simulator under both access modes and all auth kinds.
// Impersonation uses a mailbox in the scope, delegate access one outside
// it that is shared with the account, so each mode is really the one used.
func TestProbeAndSyncEveryAuthAndMode(t *testing.T) {
	d := testDemo(t)
	modes := []struct {
		mode    string
		mailbox string
	}{
		{"impersonation", mbInScope},
		{"delegate", mbDelegateOnly},
	}
	for _, kind := range authKinds {
		for _, m := range modes {
			t.Run(kind+"/"+m.mode, func(t *testing.T) {
				args, env := d.authArgs(kind)
				args = append(args, "--mailbox", m.mailbox, "--mode", m.mode)

				p := runCLI(t, env, append([]string{"probe", "--json"}, args...)...)
				if p.code != exitOK {
					t.Fatalf("probe exit %d\nstdout: %s\nstderr: %s", p.code, p.stdout, p.stderr)
				}
				rep := decodeJSON[domain.AccessReport](t, p.stdout)
				if rep.Status != domain.MailboxOK || string(rep.Mode) != m.mode || len(rep.ReadableFolders) != 4 || rep.ServerVersion == "" {
					t.Errorf("probe report %+v", rep)
				}

				s := runCLI(t, env, append([]string{"sync"}, args...)...)
				if s.code != exitOK {
					t.Fatalf("sync exit %d\nstderr: %s", s.code, s.stderr)
				}
				checkFullSync(t, d.sim, m.mailbox, s.stdout)
				if !strings.Contains(s.stderr, "done:") {
					t.Errorf("no progress summary on stderr: %s", s.stderr)
				}
				noSecrets(t, p.stdout, p.stderr, s.stdout, s.stderr)
			})
		}
	}
}

// checkFullSync compares sync's JSON lines with the simulator's content:
// every item exactly once, as a create with its current ChangeKey and its
// properties fetched.
func checkFullSync(t *testing.T, sim *ewssim.Sim, mailbox, stdout string) {
	t.Helper()
	want := map[string]string{}
	for _, f := range []string{"inbox", "sentitems", "calendar", "contacts"} {
		refs, err := sim.ListItems(mailbox, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range refs {
			want[r.ID] = r.ChangeKey
		}
	}
	if len(want) == 0 {
		t.Fatal("the demo mailbox is empty")
	}
	seen := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(stdout))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := decodeJSON[changeLine](t, sc.Text())
		if line.Mailbox != mailbox || line.Kind != domain.ChangeCreate || line.Folder == "" {
			t.Errorf("unexpected change %s", sc.Text())
		}
		if seen[line.ItemID] {
			t.Errorf("item %s printed twice", line.ItemID)
		}
		seen[line.ItemID] = true
		ck, ok := want[line.ItemID]
		if !ok {
			t.Errorf("item %s is not in %s", line.ItemID, mailbox)
			continue
		}
		if line.ChangeKey != ck {
			t.Errorf("item %s: changeKey %s, want %s", line.ItemID, line.ChangeKey, ck)
		}
		if line.Item == nil || (line.Item.Subject == "" && line.Item.DisplayName == "") {
			t.Errorf("item %s printed without its properties: %s", line.ItemID, sc.Text())
		}
	}
	if len(seen) != len(want) {
		t.Errorf("sync printed %d items, the mailbox holds %d", len(seen), len(want))
	}
}

// TestSyncPagesAndTraces: a small page size makes the sync page through
// every folder, and --trace leaves request/response files that decode and
// hold no password.
func TestSyncPagesAndTraces(t *testing.T) {
	d := testDemo(t)
	args, env := d.authArgs("basic")
	dir := t.TempDir()
	res := runCLI(t, env, append([]string{"sync", "--page-size", "3", "--trace", dir, "--mailbox", mbInScope}, args...)...)
	if res.code != exitOK {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
	checkFullSync(t, d.sim, mbInScope, res.stdout)
	if !strings.Contains(res.stderr, "Inbox:") || !strings.Contains(res.stderr, "pages") {
		t.Errorf("no per-folder progress: %s", res.stderr)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*SyncFolderItems.response.xml"))
	if len(files) < 4 {
		t.Fatalf("%d SyncFolderItems responses traced, want one per page", len(files))
	}
	dec := runCLI(t, nil, "decode", files[0])
	if dec.code != exitOK || !strings.Contains(dec.stdout, `"operation": "SyncFolderItems"`) {
		t.Errorf("decoding a trace file: exit %d, %s %s", dec.code, dec.stdout, dec.stderr)
	}
	all, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, f := range all {
		b, _ := os.ReadFile(f)
		noSecrets(t, string(b))
	}
}

// TestSyncWaitsOutThrottling: the command owns its retries and waits as
// long as ErrorServerBusy asks.
func TestSyncWaitsOutThrottling(t *testing.T) {
	d := testDemo(t)
	d.sim.InjectFault(ewssim.Fault{Op: "SyncFolderItems", Mailbox: mbThrottled, Kind: ewssim.FaultSOAP, Code: "ErrorServerBusy", BackOff: 20 * time.Millisecond, Count: 2})
	args, env := d.authArgs("basic")
	res := runCLI(t, env, append([]string{"sync", "--mailbox", mbThrottled}, args...)...)
	if res.code != exitOK {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
	checkFullSync(t, d.sim, mbThrottled, res.stdout)
	if got := strings.Count(res.stderr, "throttled (ErrorServerBusy), waiting 20ms"); got != 2 {
		t.Errorf("%d throttle waits reported, want 2:\n%s", got, res.stderr)
	}
}

// TestSyncProblems: unreadable folders are reported and skipped; a
// mailbox-level refusal fails the command with a pointer to probe.
func TestSyncProblems(t *testing.T) {
	d := testDemo(t)
	args, env := d.authArgs("basic")
	t.Run("folder delegate", func(t *testing.T) {
		res := runCLI(t, env, append([]string{"sync", "--mailbox", mbFolderDel, "--mode", "folder-delegate"}, args...)...)
		if res.code != exitOK {
			t.Fatalf("exit %d: %s", res.code, res.stderr)
		}
		for _, want := range []string{"Sent Items: not readable (ErrorAccessDenied)", "Contacts: not readable", "unreadable folders:"} {
			if !strings.Contains(res.stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, res.stderr)
			}
		}
		for _, line := range strings.Split(strings.TrimSpace(res.stdout), "\n") {
			c := decodeJSON[changeLine](t, line)
			if c.Folder != "Inbox" && c.Folder != "Calendar" {
				t.Errorf("change from an unshared folder: %s", line)
			}
		}
	})
	t.Run("out of scope", func(t *testing.T) {
		res := runCLI(t, env, append([]string{"sync", "--mailbox", mbNoAccess}, args...)...)
		if res.code != exitFailed || res.stdout != "" {
			t.Fatalf("exit %d, stdout %q", res.code, res.stdout)
		}
		want := "ewsctl sync: SyncFolderHierarchy failed: out_of_scope (ErrorImpersonateUserDenied); run 'ewsctl probe' with the same flags for a diagnosis and a fix\n"
		if res.stderr != want {
			t.Errorf("stderr %q, want %q", res.stderr, want)
		}
	})
}
