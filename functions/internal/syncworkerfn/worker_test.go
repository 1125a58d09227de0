package syncworkerfn

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ewsmailbox"
	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
	"github.com/mailbridge/mailbridge/shared/local/boltstore"
	"github.com/mailbridge/mailbridge/shared/platform/urlguard"
	"github.com/mailbridge/mailbridge/shared/testsupport/secretscan"
	"github.com/mailbridge/mailbridge/shared/testsupport/standin"
	"github.com/mailbridge/mailbridge/shared/testsupport/storetest"
)

// oneSecret is a SecretStore holding one tenant's credential.
type oneSecret struct{ c domain.Credential }

func (s oneSecret) GetCredential(context.Context, string) (domain.Credential, error) { return s.c, nil }
func (oneSecret) PutCredential(context.Context, string, domain.Credential) error     { return nil }
func (oneSecret) DeleteCredential(context.Context, string) error                     { return nil }

// The Lambda's wiring audits every job of a batch, through the batch
// worker's single write, against the EWS simulator.
func TestWorkerAuditsEveryJob(t *testing.T) {
	ctx := context.Background()
	clock := storetest.NewClock(time.Now().UTC())
	dbPath := filepath.Join(t.TempDir(), "store.db")
	secretscan.WatchFile(t, dbPath) // read when the test ends, for the secret scan
	store, err := boltstore.Open(dbPath, boltstore.Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	_, ds, tenant := simTenant(t, 7, 3, 5)
	if err := store.CreateTenant(ctx, tenant); err != nil {
		t.Fatal(err)
	}
	var msgs []app.BatchMessage
	for _, mb := range ds.Mailboxes {
		if err := store.AddMailbox(ctx, domain.Mailbox{TenantID: "acme", Address: mb, Status: domain.MailboxPending}); err != nil {
			t.Fatal(err)
		}
		body, _ := json.Marshal(domain.SyncJob{TenantID: "acme", Mailbox: mb, Tick: clock.Now()})
		msgs = append(msgs, app.BatchMessage{ID: mb, Body: body, ReceiptHandle: "rh-" + mb})
	}
	secrets := oneSecret{domain.Credential{Kind: domain.AuthBasic, Username: ds.Account.Username, Password: ds.Account.Password}}
	secretscan.Register(secrets.c) // generated: Harvest cannot see it
	w := newWorker(store, secrets, ewsmailbox.NewConnector(ewsmailbox.Options{URLGuard: &urlguard.Policy{DevLoopback: true}}), nil, clock, secretscan.Logger(), 0, nil)

	res := w.Process(ctx, msgs)
	if len(res.Failed) != 0 || res.Stats.Succeeded != 3 {
		t.Fatalf("batch: %+v", res)
	}
	audit, _, err := store.ListAudit(ctx, "acme", domain.AuditQuery{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	var audited []string
	for _, e := range audit {
		audited = append(audited, e.Mailbox)
	}
	slices.Sort(audited)
	want := slices.Sorted(slices.Values(ds.Mailboxes))
	if !slices.Equal(audited, want) {
		t.Errorf("audited %v, want every job's mailbox %v", audited, want)
	}
}

// simTenant starts a simulator with generated mailboxes and returns it, its
// dataset and an impersonation tenant "acme" pointing at it.
func simTenant(t *testing.T, seed uint64, mailboxes, items int) (*ewssim.Sim, ewssim.Dataset, domain.Tenant) {
	t.Helper()
	sim := ewssim.New(ewssim.Options{Seed: seed})
	ds, err := sim.Generate(ewssim.GenOptions{Mailboxes: mailboxes, ItemsPerMailbox: items, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	tenant := domain.Tenant{ID: "acme", DisplayName: "acme", EWSURL: standin.EWS(t, sim), ExchangeVersion: domain.DefaultExchangeVersion,
		AuthKind: domain.AuthBasic, AccessMode: domain.AccessImpersonation, Folders: domain.DefaultFolders, Status: domain.TenantActive}
	return sim, ds, tenant
}
