package app_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/aws/s3archive"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
	"github.com/mailbridge/mailbridge/shared/local/dirarchive"
	"github.com/mailbridge/mailbridge/shared/testsupport/mailboxtest"
	"github.com/mailbridge/mailbridge/shared/testsupport/standin"
)

// archiveBackend is an archive store and a way to list every key it holds
// under a prefix, read past the port (the directory, the bucket).
type archiveBackend struct {
	store domain.ArchiveStore
	keys  func(t *testing.T, prefix string) []string
}

func dirBackend(t *testing.T) archiveBackend {
	dir, err := dirarchive.New(filepath.Join(t.TempDir(), "archive"))
	if err != nil {
		t.Fatal(err)
	}
	return archiveBackend{store: dir, keys: func(t *testing.T, prefix string) []string {
		var out []string
		err := filepath.WalkDir(dir.Dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(dir.Dir, p)
			if k := filepath.ToSlash(rel); strings.HasPrefix(k, prefix) {
				out = append(out, k)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}}
}

func s3Backend(t *testing.T) archiveBackend {
	client := s3.NewFromConfig(standin.AWSConfig(), func(o *s3.Options) {
		o.BaseEndpoint = aws.String(standin.Moto(t))
		o.UsePathStyle = true
		o.HTTPClient = &http.Client{Timeout: time.Minute}
	})
	bucket := fmt.Sprintf("offboard-%d", time.Now().UnixNano())
	if _, err := client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	return archiveBackend{store: s3archive.New(client, bucket, ""), keys: func(t *testing.T, prefix string) []string {
		var out []string
		p := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
		for p.HasMorePages() {
			page, err := p.NextPage(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range page.Contents {
				out = append(out, aws.ToString(o.Key))
			}
		}
		return out
	}}
}

// failingDeletes fails the next n DeleteTenant calls (an S3 outage).
type failingDeletes struct {
	domain.ArchiveStore
	n int
}

func (f *failingDeletes) DeleteTenant(ctx context.Context, id string) error {
	if f.n > 0 {
		f.n--
		return errors.New("archive unavailable")
	}
	return f.ArchiveStore.DeleteTenant(ctx, id)
}

// TestOffboardDeletesTheArchive: offboarding a tenant whose syncs archived
// messages leaves no object of it, keeps another tenant's (whose id starts
// with the same letters), and stays retryable: an archive failure answers
// an internal error with the tenant still there (offboarded), and the
// repeat finishes.
func TestOffboardDeletesTheArchive(t *testing.T) {
	for name, backend := range map[string]func(*testing.T) archiveBackend{"dir": dirBackend, "s3": s3Backend} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			b := backend(t)
			env := mailboxtest.EWS(t, mailboxtest.Options{Mailboxes: 2, ItemsPerMailbox: 4})
			h := mailboxtest.NewHarness(t, env)
			h.Syncer.Archive = b.store
			id := env.Tenant.ID
			tn, err := h.Store.GetTenant(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			since := time.Now().UTC().Truncate(time.Second)
			tn.Archive = domain.ArchiveSettings{Enabled: true, Since: since}
			if err := h.Store.UpdateTenant(ctx, tn); err != nil {
				t.Fatal(err)
			}
			for _, m := range env.Mailboxes[:2] {
				h.MustSync(m)
				for i := range 2 {
					if _, err := env.Sim.AddItem(m, "inbox", ewssim.Item{Subject: fmt.Sprintf("New %d", i), Received: since.Add(time.Minute)}); err != nil {
						t.Fatal(err)
					}
				}
				h.MustSync(m)
			}
			if n := len(b.keys(t, id+"/")); n != 4 {
				t.Fatalf("the syncs archived %d messages, want 4", n)
			}
			other := domain.ArchiveKey(id+"2", "ann@other.example", "AAMk/1")
			if err := b.store.Put(ctx, other, []byte("Subject: other\r\n\r\n")); err != nil {
				t.Fatal(err)
			}

			archive := &failingDeletes{ArchiveStore: b.store, n: 1}
			tenants := &app.Tenants{Store: h.Store, Secrets: h.Syncer.Secrets, Clock: h.Clock, Archive: archive}
			err = tenants.Offboard(ctx, id)
			var de *domain.Error
			if !errors.As(err, &de) || de.Code != domain.CodeInternal {
				t.Fatalf("Offboard with the archive down = %v, want an internal error", err)
			}
			if got, err := h.Store.GetTenant(ctx, id); err != nil || got.Status != domain.TenantOffboarded {
				t.Fatalf("after the failed offboarding the tenant is %q (%v), want still there, offboarded", got.Status, err)
			}
			if err := tenants.Offboard(ctx, id); err != nil {
				t.Fatalf("repeated Offboard: %v", err)
			}
			if left := b.keys(t, id+"/"); len(left) != 0 {
				t.Errorf("offboarded tenant's archive still holds %v", left)
			}
			if ok, err := b.store.Exists(ctx, other); err != nil || !ok {
				t.Errorf("the other tenant's message: exists %v (%v), want kept", ok, err)
			}
			if _, err := h.Store.GetTenant(ctx, id); !domain.IsNotFound(err) {
				t.Errorf("tenant record: %v, want purged", err)
			}
			// Once more, after it finished: the tenant is gone (404).
			if err := tenants.Offboard(ctx, id); !domain.IsNotFound(err) {
				t.Errorf("Offboard of the offboarded tenant = %v, want not found", err)
			}
		})
	}
}
