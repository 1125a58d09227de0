package s3archive

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/testsupport/standin"
)

func TestMain(m *testing.M) { standin.Main(m) }

var buckets atomic.Int64

// newBucket creates a fresh bucket on moto_server.
func newBucket(t *testing.T) (*s3.Client, string) {
	t.Helper()
	client := s3.NewFromConfig(standin.AWSConfig(), func(o *s3.Options) {
		o.BaseEndpoint = aws.String(standin.Moto(t))
		o.UsePathStyle = true
		o.HTTPClient = &http.Client{Timeout: time.Minute}
	})
	name := fmt.Sprintf("archive-%d-%d", time.Now().UnixNano(), buckets.Add(1))
	if _, err := client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	return client, name
}

func get(t *testing.T, c *s3.Client, bucket, key string) ([]byte, *s3.GetObjectOutput) {
	t.Helper()
	out, err := c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b, out
}

func TestPutWritesOnceEncrypted(t *testing.T) {
	ctx := context.Background()
	c, bucket := newBucket(t)
	s := New(c, bucket, "")
	key := domain.ArchiveKey("acme", "ann@acme.example", "AAMkAD/x+y==")
	if ok, err := s.Exists(ctx, key); err != nil || ok {
		t.Fatalf("Exists before Put = %v, %v; want false, nil", ok, err)
	}
	first := []byte("From: a@b\r\nSubject: first\r\n\r\nhello\r\n")
	if err := s.Put(ctx, key, first); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.Exists(ctx, key); err != nil || !ok {
		t.Fatalf("Exists after Put = %v, %v; want true, nil", ok, err)
	}
	// A second put of the key (a redelivered job) succeeds and changes
	// nothing: the conditional write keeps the first.
	if err := s.Put(ctx, key, []byte("Subject: second\r\n\r\n")); err != nil {
		t.Fatalf("second Put: %v", err)
	}
	got, out := get(t, c, bucket, key)
	if !bytes.Equal(got, first) {
		t.Fatalf("stored %q, want the first write %q", got, first)
	}
	if out.ServerSideEncryption != "aws:kms" {
		t.Errorf("ServerSideEncryption = %q, want aws:kms", out.ServerSideEncryption)
	}
	if aws.ToString(out.ContentType) != "message/rfc822" {
		t.Errorf("ContentType = %q", aws.ToString(out.ContentType))
	}
}

func TestErrorsAreNotAbsence(t *testing.T) {
	c, _ := newBucket(t)
	s := New(c, "no-such-bucket-archive", "")
	// A missing bucket is a failure the job must retry, not "not archived
	// yet" nor "archived".
	if err := s.Put(context.Background(), "acme/a/b.eml", []byte("x")); err == nil {
		t.Fatal("Put into a missing bucket succeeded")
	}
}

// keysIn lists every key of the bucket.
func keysIn(t *testing.T, c *s3.Client, bucket string) []string {
	t.Helper()
	var out []string
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
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
}

func TestDeleteTenantRemovesOnlyThatTenant(t *testing.T) {
	ctx := context.Background()
	c, bucket := newBucket(t)
	s := New(c, bucket, "")
	s.page = 2 // several List pages and DeleteObjects batches
	var keep []string
	for i := range 5 {
		for _, tenant := range []string{"acme", "acme2"} { // acme2/ shares acme's letters, not its prefix
			key := domain.ArchiveKey(tenant, fmt.Sprintf("u%d@%s.example", i%2, tenant), fmt.Sprintf("AAMk/%d", i))
			if err := s.Put(ctx, key, []byte("Subject: x\r\n\r\n")); err != nil {
				t.Fatal(err)
			}
			if tenant == "acme2" {
				keep = append(keep, key)
			}
		}
	}
	if err := s.DeleteTenant(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	got := keysIn(t, c, bucket)
	slices.Sort(got)
	slices.Sort(keep)
	if !slices.Equal(got, keep) {
		t.Fatalf("after DeleteTenant(acme) the bucket holds %v; want only acme2's %v", got, keep)
	}
	// A repeat (a retried offboarding) and a tenant that never archived
	// are done.
	for _, id := range []string{"acme", "never"} {
		if err := s.DeleteTenant(ctx, id); err != nil {
			t.Fatalf("DeleteTenant(%s): %v", id, err)
		}
	}
	if got := keysIn(t, c, bucket); len(got) != len(keep) {
		t.Fatalf("repeat deleted other keys: %v", got)
	}
}

func TestDeleteTenantFailures(t *testing.T) {
	c, bucket := newBucket(t)
	// An id that would widen the prefix is refused before any call.
	for _, id := range []string{"", "acme/x"} {
		if err := New(c, bucket, "").DeleteTenant(context.Background(), id); err == nil {
			t.Errorf("DeleteTenant(%q) succeeded", id)
		}
	}
	// A missing bucket is a failure (the offboarding answers 5xx and is
	// retried), not "nothing archived".
	if err := New(c, "no-such-bucket-archive", "").DeleteTenant(context.Background(), "acme"); err == nil {
		t.Fatal("DeleteTenant on a missing bucket succeeded")
	}
}
