// Package s3archive is the S3 adapter of domain.ArchiveStore: one object
// per archived message, encrypted with SSE-KMS (the deployment's key, or
// S3's aws/s3 key when none is named), written once.
//
// Write-once: PutObject carries If-None-Match: * (S3's conditional write),
// so a second put of a key, a redelivered job's or a racing one's, is
// refused with 412 and left as it was; that answer is success here.
// Exists is a HeadObject (s3:GetObject), which the sync asks first so an
// archived message costs no Exchange request on redelivery.
//
// DeleteTenant (offboarding) lists the tenant's prefix (s3:ListBucket) and
// deletes what it finds in batches (DeleteObjects, s3:DeleteObject).
package s3archive

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// API is the part of *s3.Client the adapter uses.
type API interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	HeadObject(ctx context.Context, in *s3.HeadObjectInput, opts ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, opts ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	DeleteObjects(ctx context.Context, in *s3.DeleteObjectsInput, opts ...func(*s3.Options)) (*s3.DeleteObjectsOutput, error)
}

// Store archives into one bucket.
type Store struct {
	api    API
	bucket string
	kmsKey string // empty: the aws/s3 managed key
	page   int32  // keys per List page (and so per DeleteObjects); tests make it small
}

var _ domain.ArchiveStore = (*Store)(nil)

// New returns a store on bucket; kmsKey is the KMS key (id or ARN) objects
// are encrypted with, empty for S3's aws/s3 key.
func New(api API, bucket, kmsKey string) *Store {
	return &Store{api: api, bucket: bucket, kmsKey: kmsKey, page: maxDeleteBatch}
}

// Exists reports whether key is stored.
func (s *Store) Exists(ctx context.Context, key string) (bool, error) {
	_, err := s.api.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if err == nil {
		return true, nil
	}
	var nf *types.NotFound
	if errors.As(err, &nf) || httpStatus(err) == http.StatusNotFound {
		return false, nil
	}
	return false, fmt.Errorf("s3archive: reading %s: %w", key, err)
}

// Put writes mime under key unless the key is stored.
func (s *Store) Put(ctx context.Context, key string, mime []byte) error {
	in := &s3.PutObjectInput{
		Bucket:               aws.String(s.bucket),
		Key:                  aws.String(key),
		Body:                 bytes.NewReader(mime),
		ContentLength:        aws.Int64(int64(len(mime))),
		ContentType:          aws.String("message/rfc822"),
		IfNoneMatch:          aws.String("*"),
		ServerSideEncryption: types.ServerSideEncryptionAwsKms,
	}
	if s.kmsKey != "" {
		in.SSEKMSKeyId = aws.String(s.kmsKey)
	}
	_, err := s.api.PutObject(ctx, in)
	if err == nil || httpStatus(err) == http.StatusPreconditionFailed {
		return nil // written, or written before: the first write stays
	}
	return fmt.Errorf("s3archive: writing %s: %w", key, err)
}

// maxDeleteBatch is the most keys one DeleteObjects takes (S3's limit),
// also the most a ListObjectsV2 page holds.
const maxDeleteBatch = 1000

// DeleteTenant deletes every object under "<tenantID>/": each listed page
// (up to 1,000 keys) is deleted with one DeleteObjects, whose per-key
// errors fail the call (a retry lists what is left). Nothing under the
// prefix is done, so a repeat costs one List.
func (s *Store) DeleteTenant(ctx context.Context, tenantID string) error {
	if tenantID == "" || strings.Contains(tenantID, "/") {
		return fmt.Errorf("s3archive: tenant id %q would not name one tenant's prefix", tenantID)
	}
	prefix := tenantID + "/"
	in := &s3.ListObjectsV2Input{Bucket: aws.String(s.bucket), Prefix: aws.String(prefix), MaxKeys: aws.Int32(s.page)}
	for {
		page, err := s.api.ListObjectsV2(ctx, in)
		if err != nil {
			return fmt.Errorf("s3archive: listing %s: %w", prefix, err)
		}
		ids := make([]types.ObjectIdentifier, 0, len(page.Contents))
		for _, o := range page.Contents {
			if k := aws.ToString(o.Key); strings.HasPrefix(k, prefix) { // S3 lists only these; a stand-in might not
				ids = append(ids, types.ObjectIdentifier{Key: aws.String(k)})
			}
		}
		for len(ids) > 0 {
			n := min(len(ids), maxDeleteBatch)
			if err := s.deleteBatch(ctx, ids[:n]); err != nil {
				return err
			}
			ids = ids[n:]
		}
		if !aws.ToBool(page.IsTruncated) || aws.ToString(page.NextContinuationToken) == "" {
			return nil
		}
		in.ContinuationToken = page.NextContinuationToken
	}
}

// deleteBatch deletes up to 1,000 keys; a key S3 could not delete fails
// the call (DeleteObjects answers 200 with per-key errors). Quiet: the
// answer lists only the failures.
func (s *Store) deleteBatch(ctx context.Context, ids []types.ObjectIdentifier) error {
	in := &s3.DeleteObjectsInput{
		Bucket: aws.String(s.bucket),
		Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)},
	}
	out, err := s.api.DeleteObjects(ctx, in)
	if err != nil {
		return fmt.Errorf("s3archive: deleting %d objects: %w", len(ids), err)
	}
	if len(out.Errors) > 0 {
		e := out.Errors[0]
		return fmt.Errorf("s3archive: %d of %d objects not deleted (first %s: %s %s)",
			len(out.Errors), len(ids), aws.ToString(e.Key), aws.ToString(e.Code), aws.ToString(e.Message))
	}
	return nil
}

// httpStatus is the HTTP status of an S3 error (0 when there is none).
func httpStatus(err error) int {
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == "PreconditionFailed" {
		return http.StatusPreconditionFailed
	}
	return 0
}

// NewClient returns an S3 client for cfg; endpoint overrides S3's (a
// stand-in such as moto_server, addressed path-style).
func NewClient(cfg aws.Config, endpoint string) *s3.Client {
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
			o.UsePathStyle = true
		}
	})
}

// ParseBucket accepts an S3 bucket name (3 to 63 lower-case letters,
// digits, '.' and '-', starting and ending with a letter or digit), for
// MAILBRIDGE_ARCHIVE_BUCKET.
func ParseBucket(s string) (string, error) {
	if len(s) < 3 || len(s) > 63 {
		return "", fmt.Errorf("a bucket name is 3 to 63 characters")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		edge := i == 0 || i == len(s)-1
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || !edge && (c == '-' || c == '.')) {
			return "", fmt.Errorf("a bucket name is lower-case letters, digits, '.' and '-', starting and ending with a letter or digit")
		}
	}
	return s, nil
}
