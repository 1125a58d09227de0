package app

import (
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/local/boltstore"
	"github.com/mailbridge/mailbridge/shared/local/filesecrets"
	"github.com/mailbridge/mailbridge/shared/testsupport/secretscan"
	"github.com/mailbridge/mailbridge/shared/testsupport/storetest"
)

// tenantsCallLog records the order of the writes offboarding makes.
type tenantsCallLog struct {
	mu    sync.Mutex
	calls []string
}

func (l *tenantsCallLog) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, s)
}

type tenantsOrderStore struct {
	domain.Store
	log     *tenantsCallLog
	failPur int // fail this many PurgeTenant calls
}

func (s *tenantsOrderStore) UpdateTenant(ctx context.Context, t domain.Tenant) error {
	s.log.add("update:" + string(t.Status))
	return s.Store.UpdateTenant(ctx, t)
}

func (s *tenantsOrderStore) PurgeTenant(ctx context.Context, id string) error {
	s.log.add("purge")
	if s.failPur > 0 {
		s.failPur--
		return errors.New("store unavailable")
	}
	return s.Store.PurgeTenant(ctx, id)
}

type tenantsOrderSecrets struct {
	domain.SecretStore
	log *tenantsCallLog
}

func (s *tenantsOrderSecrets) DeleteCredential(ctx context.Context, id string) error {
	s.log.add("delete-secret")
	return s.SecretStore.DeleteCredential(ctx, id)
}

type tenantsOKChecker struct{}

func (tenantsOKChecker) CheckAccess(_ context.Context, t domain.Tenant, m domain.Mailbox, _ domain.Credential) (domain.AccessReport, error) {
	return domain.AccessReport{Mailbox: m.Address, Status: domain.MailboxOK, Mode: t.AccessMode}, nil
}

type tenantsAllowURLs struct{}

func (tenantsAllowURLs) CheckURL(context.Context, string) (*url.URL, error) { return &url.URL{}, nil }

func newTestTenants(t *testing.T, log *tenantsCallLog) (*Tenants, *tenantsOrderStore) {
	t.Helper()
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "db")
	secretscan.WatchFile(t, dbPath) // read when the test ends, for the secret scan
	bs, err := boltstore.Open(dbPath, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bs.Close() })
	key := filepath.Join(dir, "key")
	if err := os.WriteFile(key, []byte(strings.Repeat("ab", 32)), 0o600); err != nil {
		t.Fatal(err)
	}
	secretscan.WatchFile(t, filepath.Join(dir, "secrets.json")) // encrypted: no form of a secret may show
	fs, err := filesecrets.Open(filesecrets.Options{Path: filepath.Join(dir, "secrets.json"), KeyFile: key})
	if err != nil {
		t.Fatal(err)
	}
	st := &tenantsOrderStore{Store: bs, log: log}
	return &Tenants{Store: st, Secrets: &tenantsOrderSecrets{SecretStore: fs, log: log}, Checker: tenantsOKChecker{},
		Clock: storetest.NewClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)), URLs: tenantsAllowURLs{}, Log: secretscan.Logger()}, st
}

// TestOffboardOrderAndRetry: mark offboarded, then schedule the secret's
// deletion, then purge; a failed purge leaves the tenant marked (so nothing
// syncs it) and a retry finishes without tripping over the deleted secret.
func TestOffboardOrderAndRetry(t *testing.T) {
	log := &tenantsCallLog{}
	ts, st := newTestTenants(t, log)
	ctx := context.Background()
	if _, err := ts.Onboard(ctx, NewTenant{ID: "contoso", EWSURL: "https://mail.contoso.com/EWS/Exchange.asmx",
		Credential: domain.Credential{Kind: domain.AuthBasic, Username: "svc", Password: "App-Offboard-pw"}}); err != nil {
		t.Fatal(err)
	}
	log.calls = nil
	st.failPur = 1
	if err := ts.Offboard(ctx, "contoso"); err == nil {
		t.Fatal("offboard with a failing purge reported success")
	}
	if got, _ := ts.Get(ctx, "contoso"); got.Status != domain.TenantOffboarded {
		t.Fatalf("after a failed purge the tenant is %q", got.Status)
	}
	if _, err := ts.AddMailboxes(ctx, "contoso", []NewMailbox{{Address: "a@contoso.com"}}); !domain.IsConflict(err) {
		t.Fatalf("adding to an offboarding tenant = %v, want conflict", err)
	}
	if err := ts.Offboard(ctx, "contoso"); err != nil {
		t.Fatalf("retry: %v", err)
	}
	// The retry finds the tenant marked already and does not mark it again.
	want := []string{"update:offboarded", "delete-secret", "purge", "delete-secret", "purge"}
	if !slices.Equal(log.calls, want) {
		t.Fatalf("calls %v, want %v", log.calls, want)
	}
	if _, err := ts.Get(ctx, "contoso"); !domain.IsNotFound(err) {
		t.Fatalf("after offboarding Get = %v", err)
	}
	if _, err := ts.Secrets.GetCredential(ctx, "contoso"); !domain.IsNotFound(err) {
		t.Fatalf("after offboarding the secret reads %v", err)
	}
}

// TestOnboardClaimsIDBeforeSecret: a create of an existing id never
// touches the existing tenant's secret.
func TestOnboardClaimsIDBeforeSecret(t *testing.T) {
	ts, _ := newTestTenants(t, &tenantsCallLog{})
	ctx := context.Background()
	in := NewTenant{ID: "contoso", EWSURL: "https://mail.contoso.com/EWS/Exchange.asmx",
		Credential: domain.Credential{Kind: domain.AuthBasic, Username: "svc", Password: "First-pw"}}
	if _, err := ts.Onboard(ctx, in); err != nil {
		t.Fatal(err)
	}
	in.Credential.Password = "Second-pw"
	if _, err := ts.Onboard(ctx, in); !domain.IsConflict(err) {
		t.Fatalf("second onboard = %v, want conflict", err)
	}
	if c, _ := ts.Secrets.GetCredential(ctx, "contoso"); c.Password != "First-pw" {
		t.Fatal("the conflicting onboard replaced the secret")
	}
}

// TestOnboardRetryWithItsTokenFinishes: the request that made a tenant,
// retried with its CreateToken (an Idempotency-Key) after a crash or a
// timeout, finishes the onboarding; any other create of the id, with no
// token or another one, is refused and leaves the secret alone.
func TestOnboardRetryWithItsTokenFinishes(t *testing.T) {
	ctx := context.Background()
	base := NewTenant{ID: "contoso", EWSURL: "https://mail.contoso.com/EWS/Exchange.asmx", CreateToken: "tok-1",
		Credential: domain.Credential{Kind: domain.AuthBasic, Username: "svc", Password: "First-pw"}}
	t.Run("crash after the record, before the secret", func(t *testing.T) {
		ts, st := newTestTenants(t, &tenantsCallLog{})
		// What the first call left: the record, no secret, no fingerprint.
		if err := st.CreateTenant(ctx, domain.Tenant{ID: "contoso", EWSURL: base.EWSURL, AuthKind: domain.AuthBasic,
			Status: domain.TenantActive, CreateToken: "tok-1", Version: 1}); err != nil {
			t.Fatal(err)
		}
		got, err := ts.Onboard(ctx, base)
		if err != nil {
			t.Fatalf("retry: %v", err)
		}
		if got.CredentialFingerprint != base.Credential.Fingerprint() {
			t.Fatalf("retry answered %+v without the fingerprint", got)
		}
		if c, err := ts.Secrets.GetCredential(ctx, "contoso"); err != nil || c.Password != "First-pw" {
			t.Fatalf("after the retry the secret reads %v", err)
		}
	})
	t.Run("done, but the answer was lost", func(t *testing.T) {
		ts, _ := newTestTenants(t, &tenantsCallLog{})
		first, err := ts.Onboard(ctx, base)
		if err != nil {
			t.Fatal(err)
		}
		again, err := ts.Onboard(ctx, base)
		if err != nil || again.ID != first.ID || again.CredentialFingerprint != first.CredentialFingerprint {
			t.Fatalf("retry: %+v, %v; want the tenant as first made", again, err)
		}
	})
	for _, token := range []string{"", "tok-2"} {
		t.Run("another create, token "+token, func(t *testing.T) {
			ts, _ := newTestTenants(t, &tenantsCallLog{})
			if _, err := ts.Onboard(ctx, base); err != nil {
				t.Fatal(err)
			}
			other := base
			other.CreateToken = token
			other.Credential.Password = "Other-pw"
			if _, err := ts.Onboard(ctx, other); !domain.IsConflict(err) {
				t.Fatalf("onboard = %v, want conflict", err)
			}
			if c, _ := ts.Secrets.GetCredential(ctx, "contoso"); c.Password != "First-pw" {
				t.Fatal("a create with another token replaced the secret")
			}
		})
	}
}
