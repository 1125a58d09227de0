package app_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
	"github.com/mailbridge/mailbridge/shared/local/dirarchive"
	"github.com/mailbridge/mailbridge/shared/testsupport/mailboxtest"
)

// recordingArchive is the directory archive, counting the writes each key
// gets and failing the next failPuts puts (an S3 outage).
type recordingArchive struct {
	*dirarchive.Store
	mu       sync.Mutex
	puts     map[string]int
	failPuts int
}

func (a *recordingArchive) Put(ctx context.Context, key string, mime []byte) error {
	a.mu.Lock()
	if a.failPuts > 0 {
		a.failPuts--
		a.mu.Unlock()
		return errors.New("archive unavailable")
	}
	a.puts[key]++
	a.mu.Unlock()
	return a.Store.Put(ctx, key, mime)
}

func (a *recordingArchive) read(t *testing.T, key string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(a.Dir, filepath.FromSlash(key)))
	if err != nil {
		t.Fatalf("archive object %s: %v", key, err)
	}
	return b
}

// countingContent counts the MIME reads the sync makes.
type countingContent struct {
	domain.ContentConnector
	mu    sync.Mutex
	reads int
}

func (c *countingContent) ConnectContent(ctx context.Context, t domain.Tenant, cred domain.Credential) (domain.ContentReader, error) {
	r, err := c.ContentConnector.ConnectContent(ctx, t, cred)
	return countingReader{r, c}, err
}

func (c *countingContent) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reads
}

type countingReader struct {
	domain.ContentReader
	c *countingContent
}

func (r countingReader) StreamMIME(ctx context.Context, m domain.MailboxRef, itemID string, max int64, sink domain.ContentSink) error {
	r.c.mu.Lock()
	r.c.reads++
	r.c.mu.Unlock()
	return r.ContentReader.StreamMIME(ctx, m, itemID, max, sink)
}

// crashingApply fails ApplyChanges while fail is set: a crash after the
// archive writes and before the page (and its feed entries) is stored.
type crashingApply struct {
	domain.Store
	fail bool
}

func (s *crashingApply) ApplyChanges(ctx context.Context, tenantID, mailbox string, changes []domain.ItemChange) (int, error) {
	if s.fail {
		return 0, errors.New("store unavailable")
	}
	return s.Store.ApplyChanges(ctx, tenantID, mailbox, changes)
}

// TestArchiveExport turns archive export on for a tenant and syncs new
// mail, on both protocols: each new message's MIME is written once,
// byte-equal to what Exchange serves, under the key its feed entry names;
// older mail, events and a redelivered job write nothing; a failed put
// and a crash between the archive and the feed lose nothing.
func TestArchiveExport(t *testing.T) {
	for _, proto := range []struct {
		name string
		env  func(testing.TB, mailboxtest.Options) mailboxtest.Env
	}{{"ews", mailboxtest.EWS}, {"graph", mailboxtest.Graph}} {
		t.Run(proto.name, func(t *testing.T) {
			ctx := context.Background()
			env := proto.env(t, mailboxtest.Options{ItemsPerMailbox: 12})
			h, arch, content := archiveHarness(t, env)
			m := env.Mailboxes[0]
			h.MustSync(m) // the initial sync, archive off
			if len(arch.puts) != 0 {
				t.Fatalf("archive off: %d objects written", len(arch.puts))
			}

			// Archive on from now: what arrives later is archived.
			tn, err := h.Store.GetTenant(ctx, env.Tenant.ID)
			if err != nil {
				t.Fatal(err)
			}
			since := time.Now().UTC().Truncate(time.Second)
			tn.Archive = domain.ArchiveSettings{Enabled: true, Since: since}
			if err := h.Store.UpdateTenant(ctx, tn); err != nil {
				t.Fatal(err)
			}
			var fresh []string
			for i, subj := range []string{"Invoice 1", "Invoice 2", "Contract"} {
				ref, err := env.Sim.AddItem(m, "inbox", ewssim.Item{Subject: subj, Received: since.Add(time.Duration(i+1) * time.Minute)})
				if err != nil {
					t.Fatal(err)
				}
				fresh = append(fresh, ref.ID)
			}
			old, err := env.Sim.AddItem(m, "inbox", ewssim.Item{Subject: "Backdated", Received: since.Add(-time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := env.Sim.AddItem(m, "calendar", ewssim.Item{Kind: ewssim.KindCalendar, Subject: "Review", Start: since.Add(time.Hour), End: since.Add(2 * time.Hour)}); err != nil {
				t.Fatal(err)
			}

			// An archive outage, then a crash before the page is stored:
			// each leaves the job to its redelivery, with nothing in the feed.
			before := len(h.Feed(m))
			arch.failPuts = 1
			if _, err := h.Sync(m); err == nil {
				t.Fatal("a sync whose archive write failed succeeded")
			}
			fs := &crashingApply{Store: h.Store, fail: true}
			h.Syncer.Store = fs
			if _, err := h.Sync(m); err == nil {
				t.Fatal("a sync whose store failed succeeded")
			}
			if n := len(h.Feed(m)); n != before {
				t.Fatalf("failed syncs appended %d feed entries", n-before)
			}
			fs.fail = false
			reads := content.count()
			res := h.MustSync(m) // the redelivery
			h.Syncer.Store = h.Store

			// Each new message once, byte-equal, named by its feed entry.
			keyOf := map[string]string{}
			for _, c := range h.Feed(m)[before:] {
				if c.Item != nil {
					keyOf[c.ItemID] = c.Item.ArchiveKey
				}
			}
			for _, simID := range fresh {
				id := h.ID(simID)
				want := domain.ArchiveKey(env.Tenant.ID, m, id)
				if keyOf[id] != want {
					t.Errorf("feed entry of %s names archive key %q, want %q", simID, keyOf[id], want)
				}
				mime, err := env.Sim.MIMEOf(simID)
				if err != nil {
					t.Fatal(err)
				}
				if got := arch.read(t, want); !bytes.Equal(got, mime) {
					t.Errorf("archived MIME of %s differs from Exchange's: %d bytes, want %d", simID, len(got), len(mime))
				}
				if arch.puts[want] != 1 {
					t.Errorf("%s was written %d times, want once", simID, arch.puts[want])
				}
			}
			if len(arch.puts) != len(fresh) {
				t.Errorf("%d objects written, want %d (the backdated message and the event are not archived)", len(arch.puts), len(fresh))
			}
			if k := keyOf[h.ID(old.ID)]; k != "" {
				t.Errorf("the message received before archive was turned on names %q", k)
			}
			if res.Archived != 0 || content.count() != reads {
				t.Errorf("the redelivery after the crash archived %d messages and read %d MIMEs; want none (the objects were there)", res.Archived, content.count()-reads)
			}

			// A redelivered job writes nothing; an update of an archived
			// message reads nothing from Exchange and still names its key.
			total := len(arch.puts)
			h.MustSync(m)
			if _, err := env.Sim.UpdateItem(fresh[0], func(it *ewssim.Item) { it.Subject = "Invoice 1 (paid)" }); err != nil {
				t.Fatal(err)
			}
			reads = content.count()
			h.MustSync(m)
			for k, n := range arch.puts {
				if n != 1 {
					t.Errorf("%s written %d times", k, n)
				}
			}
			if len(arch.puts) != total {
				t.Errorf("later syncs wrote %d more objects", len(arch.puts)-total)
			}
			feed := h.Feed(m)
			last := feed[len(feed)-1]
			if last.Item == nil || last.Item.ArchiveKey != domain.ArchiveKey(env.Tenant.ID, m, h.ID(fresh[0])) {
				t.Errorf("the update's feed entry does not name the archive key: %+v", last.Item)
			}
			if n := content.count() - reads; n != 0 {
				t.Errorf("the redelivery and the update read %d MIMEs from Exchange, want none", n)
			}
		})
	}
}

// TestArchiveOffWritesNothing: a tenant without archive export gets no
// object and no key, however much new mail arrives.
func TestArchiveOffWritesNothing(t *testing.T) {
	env := mailboxtest.EWS(t, mailboxtest.Options{ItemsPerMailbox: 12})
	h, arch, _ := archiveHarness(t, env)
	m := env.Mailboxes[0]
	h.MustSync(m)
	if _, err := env.Sim.AddItem(m, "inbox", ewssim.Item{Subject: "New", Received: time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
	h.MustSync(m)
	if len(arch.puts) != 0 {
		t.Fatalf("%d objects written for a tenant without archive", len(arch.puts))
	}
	for _, c := range h.Feed(m) {
		if c.Item != nil && (c.Item.ArchiveKey != "" || c.Item.ArchiveSkipped != "") {
			t.Fatalf("feed entry names an archive: %+v", c.Item)
		}
	}
}

// TestArchiveTooLargeIsMarked: a message over the archive's limit is not
// archived, and its feed entry says so instead of naming a key.
func TestArchiveTooLargeIsMarked(t *testing.T) {
	ctx := context.Background()
	env := mailboxtest.EWS(t, mailboxtest.Options{ItemsPerMailbox: 12})
	h, arch, _ := archiveHarness(t, env)
	h.Syncer.ArchiveMaxBytes = 64
	m := env.Mailboxes[0]
	h.MustSync(m)
	tn, err := h.Store.GetTenant(ctx, env.Tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	tn.Archive = domain.ArchiveSettings{Enabled: true, Since: time.Now().UTC().Add(-time.Minute)}
	if err := h.Store.UpdateTenant(ctx, tn); err != nil {
		t.Fatal(err)
	}
	ref, err := env.Sim.AddItem(m, "inbox", ewssim.Item{Subject: "Scanned contract", Received: time.Now().UTC()})
	if err != nil {
		t.Fatal(err)
	}
	h.MustSync(m)
	feed := h.Feed(m)
	last := feed[len(feed)-1]
	if last.ItemID != ref.ID || last.Item.ArchiveSkipped != domain.ArchiveSkippedTooLarge || last.Item.ArchiveKey != "" {
		t.Fatalf("feed entry %s: archiveKey %q archiveSkipped %q; want skipped tooLarge", last.ItemID, last.Item.ArchiveKey, last.Item.ArchiveSkipped)
	}
	if len(arch.puts) != 0 {
		t.Fatalf("%d objects written", len(arch.puts))
	}
}

// TestArchiveThrottledMIMEReadComesBack: Exchange throttling the MIME
// read asks for the job again after its back-off, with nothing stored;
// the job that comes back archives the message once and stores it.
func TestArchiveThrottledMIMEReadComesBack(t *testing.T) {
	ctx := context.Background()
	env := mailboxtest.EWS(t, mailboxtest.Options{ItemsPerMailbox: 12})
	h, arch, content := archiveHarness(t, env)
	m := env.Mailboxes[0]
	h.MustSync(m)
	tn, err := h.Store.GetTenant(ctx, env.Tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	since := time.Now().UTC().Add(-time.Minute)
	tn.Archive = domain.ArchiveSettings{Enabled: true, Since: since}
	if err := h.Store.UpdateTenant(ctx, tn); err != nil {
		t.Fatal(err)
	}
	ref, err := env.Sim.AddItem(m, "inbox", ewssim.Item{Subject: "Board minutes", Received: since.Add(30 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	before := len(h.Feed(m))
	// The page's GetItem passes; the MIME read (the next GetItem) is
	// throttled once.
	env.Sim.InjectFault(ewssim.Fault{Op: "GetItem", Mailbox: m, Skip: 1, Count: 1, Kind: ewssim.FaultSOAP, Code: "ErrorServerBusy", BackOff: 2 * time.Second})
	_, err = h.Sync(m)
	var later *app.RetryLater
	if !errors.As(err, &later) || later.After < 2*time.Second {
		t.Fatalf("throttled MIME read: %v; want a retry after the back-off", err)
	}
	if n := len(h.Feed(m)) - before; n != 0 || len(arch.puts) != 0 || content.count() != 1 {
		t.Fatalf("the throttled job appended %d entries, wrote %d objects and read %d MIMEs; want none, none and the throttled one", n, len(arch.puts), content.count())
	}
	h.MustSync(m)
	key := domain.ArchiveKey(env.Tenant.ID, m, ref.ID)
	feed := h.Feed(m)
	if last := feed[len(feed)-1]; last.ItemID != ref.ID || last.Item.ArchiveKey != key || arch.puts[key] != 1 {
		t.Fatalf("after the retry: entry %s names %q, %d writes; want %q written once", last.ItemID, last.Item.ArchiveKey, arch.puts[key], key)
	}
}

// archiveHarness is a harness whose syncer archives to a fresh directory
// through a recordingArchive and reads content through a countingContent.
func archiveHarness(t *testing.T, env mailboxtest.Env) (*mailboxtest.Harness, *recordingArchive, *countingContent) {
	t.Helper()
	h := mailboxtest.NewHarness(t, env)
	dir, err := dirarchive.New(filepath.Join(t.TempDir(), "archive"))
	if err != nil {
		t.Fatal(err)
	}
	arch := &recordingArchive{Store: dir, puts: map[string]int{}}
	content := &countingContent{ContentConnector: env.Content}
	h.Syncer.Archive, h.Syncer.Content = arch, content
	return h, arch, content
}
