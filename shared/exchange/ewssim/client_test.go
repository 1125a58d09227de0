package ewssim_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/exchange/ews"
	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
	"github.com/mailbridge/mailbridge/shared/platform/urlguard"
)

// Conformance through the real client (shared/ews): every auth kind and
// both access modes against a TLS simulator.

type clientEnv struct {
	sim     *ewssim.Sim
	srv     *ewssim.Server
	ds      ewssim.Dataset
	certPEM []byte
	keyPEM  []byte
}

func newClientEnv(t *testing.T, opts ewssim.Options) *clientEnv {
	t.Helper()
	sim := ewssim.New(opts)
	ds, err := sim.Generate(ewssim.GenOptions{Mailboxes: 3, ItemsPerMailbox: 120, Seed: 3})
	must(t, err)
	cert, key, certPEM := newCert(t)
	_ = cert
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	// The NTLM account is a down-level DOMAIN\user name; the OAuth app has
	// a certificate and no secret.
	must(t, sim.AddAccount(ewssim.Account{Username: `CONTOSO\svc-ntlm`, Password: "ntlm-pass", ImpersonateAll: true}))
	must(t, sim.AddAccount(ewssim.Account{Tenant: ewssim.DemoTenant, ClientID: "cert-app", CertPEM: certPEM, ImpersonateAll: true}))
	for _, m := range ds.Mailboxes {
		must(t, sim.GrantDelegate(`CONTOSO\svc-ntlm`, m, ""))
		must(t, sim.GrantDelegate("cert-app", m, ""))
	}
	srv, err := sim.Start(true)
	must(t, err)
	t.Cleanup(func() { srv.Close() })
	return &clientEnv{sim: sim, srv: srv, ds: ds, certPEM: []byte(certPEM), keyPEM: keyPEM}
}

func (e *clientEnv) auths(t *testing.T) map[string]ews.Authenticator {
	t.Helper()
	secret, err := ews.OAuthClientSecret(e.srv.URL, ewssim.DemoTenant, ewssim.DemoClientID, e.demoSecret())
	must(t, err)
	cert, err := ews.OAuthCertificate(e.srv.URL, ewssim.DemoTenant, "cert-app", e.certPEM, e.keyPEM)
	must(t, err)
	return map[string]ews.Authenticator{
		"basic":        ews.BasicAuth(e.ds.Account.Username, e.ds.Account.Password),
		"ntlm":         ews.NTLMAuth("svc-ntlm", "ntlm-pass", "CONTOSO"),
		"oauth-secret": secret,
		"oauth-cert":   cert,
	}
}

func (e *clientEnv) demoSecret() string { return e.ds.Account.ClientSecret }

func (e *clientEnv) client(t *testing.T, auth ews.Authenticator) *ews.Client {
	t.Helper()
	c, err := ews.New(ews.Config{URL: e.srv.EWSURL, Auth: auth, RootCAs: e.srv.CertPool(), URLGuard: &urlguard.Policy{DevLoopback: true}})
	must(t, err)
	return c
}

// fullSync pages SyncFolderItems through the client and returns the item
// ids it reported as created, and the final state.
func fullSync(t *testing.T, c *ews.Client, target ews.Target, folder, state string, max int) ([]ews.ItemChange, string) {
	t.Helper()
	var all []ews.ItemChange
	for range 10000 {
		res, err := c.SyncFolderItems(context.Background(), target, ews.FolderRef{Distinguished: folder}, state, max)
		must(t, err)
		all = append(all, res.Changes...)
		state = res.SyncState
		if res.IncludesLastItemInRange {
			return all, state
		}
	}
	t.Fatal("sync does not end")
	return nil, ""
}

func TestClientConformanceEveryAuthKindAndAccessMode(t *testing.T) {
	env := newClientEnv(t, ewssim.Options{})
	mbx := env.ds.Mailboxes[2]
	for name, auth := range env.auths(t) {
		for _, mode := range []ews.Mode{ews.ModeImpersonation, ews.ModeDelegate} {
			t.Run(name+"/"+string(mode), func(t *testing.T) {
				c := env.client(t, auth)
				target := ews.Target{Mailbox: mbx, Mode: mode}
				ctx := context.Background()

				h, err := c.SyncFolderHierarchy(ctx, target, "")
				must(t, err)
				if len(h.Changes) < 8 || !h.IncludesLastFolderInRange {
					t.Fatalf("hierarchy: %d changes", len(h.Changes))
				}

				want, err := env.sim.ListItems(mbx, "inbox")
				must(t, err)
				changes, state := fullSync(t, c, target, "inbox", "", 7)
				var got []ewssim.ItemRef
				for _, ch := range changes {
					if ch.Kind != ews.ChangeCreate {
						t.Fatalf("initial sync: %s %s", ch.Kind, ch.ItemID)
					}
					got = append(got, ewssim.ItemRef{ID: ch.ItemID, ChangeKey: ch.ChangeKey})
				}
				sortRefs(got)
				sortRefs(want)
				if !slices.Equal(got, want) {
					t.Fatalf("client synced %d items, the inbox has %d", len(got), len(want))
				}

				added, err := env.sim.AddItem(mbx, "inbox", ewssim.Item{Subject: "new via " + name})
				must(t, err)
				_, err = env.sim.UpdateItem(want[0].ID, func(it *ewssim.Item) { it.Subject = "edited via " + name })
				must(t, err)
				changes, _ = fullSync(t, c, target, "inbox", state, 7)
				kinds := map[string]ews.ChangeKind{}
				for _, ch := range changes {
					kinds[ch.ItemID] = ch.Kind
				}
				if len(changes) != 2 || kinds[added.ID] != ews.ChangeCreate || kinds[want[0].ID] != ews.ChangeUpdate {
					t.Fatalf("changes after one add and one edit: %+v", changes)
				}

				res, err := c.GetItem(ctx, target, []string{added.ID, "AAMkAGhvc3Q="}, ews.Shape{Base: "Default"})
				must(t, err)
				if len(res) != 2 || res[0].Err != nil || res[0].Item.Subject != "new via "+name || ews.Classify(res[1].Err) != ews.ClassPermanent && ews.Classify(res[1].Err) != ews.ClassItemNotFound {
					t.Fatalf("GetItem: %+v", res)
				}
			})
		}
	}
	if st := env.sim.Stats(); st.MissingAnchorMailbox != 0 {
		t.Errorf("%d impersonated calls came without X-AnchorMailbox", st.MissingAnchorMailbox)
	}
}

func TestClientClassifiesSimulatorErrors(t *testing.T) {
	env := newClientEnv(t, ewssim.Options{})
	mbx := env.ds.Mailboxes[0]
	ctx := context.Background()
	c := env.client(t, ews.BasicAuth(env.ds.Account.Username, env.ds.Account.Password))
	imp := ews.Target{Mailbox: mbx, Mode: ews.ModeImpersonation}

	_, state := fullSync(t, c, imp, "calendar", "", 512)
	must(t, env.sim.InvalidateSyncStates(mbx, "calendar"))
	_, err := c.SyncFolderItems(ctx, imp, ews.FolderRef{Distinguished: "calendar"}, state, 512)
	if ews.Classify(err) != ews.ClassSyncStateInvalid {
		t.Errorf("invalidated state: %v (%s)", err, ews.Classify(err))
	}

	must(t, env.sim.SetImpersonationScope(env.ds.Account.Username, []string{env.ds.Mailboxes[1]}, false))
	_, err = c.SyncFolderItems(ctx, imp, ews.FolderRef{Distinguished: "inbox"}, "", 10)
	if ews.Classify(err) != ews.ClassOutOfScope {
		t.Errorf("out of scope: %v (%s)", err, ews.Classify(err))
	}
	must(t, env.sim.RevokeDelegate(env.ds.Account.Username, mbx))
	_, err = c.SyncFolderItems(ctx, ews.Target{Mailbox: mbx, Mode: ews.ModeDelegate}, ews.FolderRef{Distinguished: "inbox"}, "", 10)
	if ews.Classify(err) != ews.ClassAccessDenied {
		t.Errorf("no delegate grant: %v (%s)", err, ews.Classify(err))
	}
	_, err = c.SyncFolderItems(ctx, ews.Target{Mailbox: "ghost@contoso.com", Mode: ews.ModeDelegate}, ews.FolderRef{Distinguished: "inbox"}, "", 10)
	if ews.Classify(err) != ews.ClassMailboxNotFound {
		t.Errorf("unknown mailbox: %v (%s)", err, ews.Classify(err))
	}
	bad := env.client(t, ews.BasicAuth(env.ds.Account.Username, "wrong"))
	_, err = bad.SyncFolderItems(ctx, ews.Target{Mailbox: env.ds.Mailboxes[1], Mode: ews.ModeImpersonation}, ews.FolderRef{Distinguished: "inbox"}, "", 10)
	if ews.Classify(err) != ews.ClassAuth {
		t.Errorf("wrong password: %v (%s)", err, ews.Classify(err))
	}
	env.sim.InjectFault(ewssim.Fault{Kind: ewssim.FaultHTTP503, RetryAfter: 20 * time.Second, Count: 1})
	_, err = c.SyncFolderItems(ctx, ews.Target{Mailbox: env.ds.Mailboxes[1], Mode: ews.ModeImpersonation}, ews.FolderRef{Distinguished: "inbox"}, "", 10)
	if ews.Classify(err) != ews.ClassThrottled || ews.RetryAfter(err) != 20*time.Second {
		t.Errorf("HTTP 503: %v (%s, retry after %s)", err, ews.Classify(err), ews.RetryAfter(err))
	}
}

func TestClientCalendarWrites(t *testing.T) {
	env := newClientEnv(t, ewssim.Options{})
	mbx := env.ds.Mailboxes[1]
	ctx := context.Background()
	c := env.client(t, ews.BasicAuth(env.ds.Account.Username, env.ds.Account.Password))
	target := ews.Target{Mailbox: mbx, Mode: ews.ModeImpersonation}
	marker := ews.ExtendedField{PropertySetID: "c11ff724-aa03-4555-9952-8fa248a11c3e", PropertyName: "MailbridgeEventId", PropertyType: "String"}
	start := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	ref, err := c.CreateItem(ctx, target, ews.FolderRef{Distinguished: "calendar"}, ews.CalendarEvent{
		Subject: "Trip: Oslo", Start: start, End: start.Add(2 * time.Hour), TimeZone: "W. Europe Standard Time", Location: "OSL",
		RequiredAttendees:  []ews.Mailbox{{EmailAddress: env.ds.Mailboxes[0]}},
		ExtendedProperties: []ews.ExtendedProperty{{Field: marker, Value: "evt-7"}},
	}, ews.SendToNone)
	must(t, err)
	got, err := c.GetItem(ctx, target, []string{ref.ID}, ews.Shape{Base: "Default", Extended: []ews.ExtendedField{marker}})
	must(t, err)
	it := got[0].Item
	if it == nil || it.Subject != "Trip: Oslo" || !it.Start.Equal(start) || len(it.ExtendedProperties) != 1 || it.ExtendedProperties[0].Value != "evt-7" {
		t.Fatalf("created item reads back as %+v", it)
	}
	subject := "Trip: Oslo (rebooked)"
	newRef, err := c.UpdateItem(ctx, target, ref, ews.CalendarUpdate{Subject: &subject}, ews.SendToNone, ews.NeverOverwrite)
	must(t, err)
	if newRef.ChangeKey == ref.ChangeKey {
		t.Error("UpdateItem did not change the ChangeKey")
	}
	_, err = c.UpdateItem(ctx, target, ref, ews.CalendarUpdate{Subject: &subject}, ews.SendToNone, ews.NeverOverwrite)
	if ews.Classify(err) != ews.ClassConflict {
		t.Fatalf("stale ChangeKey: %v (%s)", err, ews.Classify(err))
	}
	must(t, c.DeleteItem(ctx, target, newRef, ews.MoveToDeletedItems, ews.SendToNone))
	err = c.DeleteItem(ctx, target, newRef, ews.HardDelete, ews.SendToNone)
	var e *ews.Error
	if !errors.As(err, &e) || ews.Classify(err) != ews.ClassItemNotFound {
		t.Fatalf("deleting twice: %v (%s)", err, ews.Classify(err))
	}
}

func TestClientThrottlingPerBudgetOwner(t *testing.T) {
	env := newClientEnv(t, ewssim.Options{MaxConcurrency: 2, Latency: 800 * time.Millisecond, BackOff: 3 * time.Second})
	c := env.client(t, ews.BasicAuth(env.ds.Account.Username, env.ds.Account.Password))
	run := func(mode ews.Mode) (ok, throttled int) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		for _, m := range env.ds.Mailboxes { // 3 mailboxes, budget 2
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := c.SyncFolderItems(context.Background(), ews.Target{Mailbox: m, Mode: mode}, ews.FolderRef{Distinguished: "inbox"}, "", 5)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					ok++
				case ews.Classify(err) == ews.ClassThrottled && ews.RetryAfter(err) == 3*time.Second:
					throttled++
				default:
					t.Errorf("unexpected error: %v", err)
				}
			}()
		}
		wg.Wait()
		return ok, throttled
	}
	if ok, thr := run(ews.ModeDelegate); ok != 2 || thr != 1 {
		t.Errorf("delegate: %d ok, %d throttled; want 2 and 1 (one budget for the account)", ok, thr)
	}
	if ok, thr := run(ews.ModeImpersonation); ok != 3 || thr != 0 {
		t.Errorf("impersonation: %d ok, %d throttled; want 3 and 0 (a budget per mailbox)", ok, thr)
	}
}
