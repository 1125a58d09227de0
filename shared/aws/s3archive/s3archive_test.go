package s3archive

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
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
