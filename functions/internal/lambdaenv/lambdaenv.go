// Package lambdaenv reads the environment template.yaml gives every Lambda
// and builds the AWS adapters from it, so all functions are configured the
// same way (the same table, stage, audit retention and URL policy) and each
// main.go stays a few lines of wiring.
package lambdaenv

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/mailbridge/mailbridge/shared/aws/dynamostore"
	"github.com/mailbridge/mailbridge/shared/aws/smsecrets"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ewsmailbox"
	"github.com/mailbridge/mailbridge/shared/platform/urlguard"
)

// DefaultFeedRetentionDays is how long the change feeds keep a change
// unless configured: long enough for a consumer to be down a few weeks,
// short enough that the feeds' storage stops growing.
const DefaultFeedRetentionDays = 30

// Env is the configuration every function shares (docs/configuration.md).
type Env struct {
	Stage          string        // MAILBRIDGE_STAGE
	Table          string        // MAILBRIDGE_TABLE
	KMSKeyID       string        // MAILBRIDGE_SECRETS_KMS_KEY
	AuditRetention time.Duration // MAILBRIDGE_AUDIT_RETENTION_DAYS, default 90 days
	FeedRetention  time.Duration // MAILBRIDGE_FEED_RETENTION_DAYS, default 30 days
	URLPolicy      urlguard.Policy
	AWS            aws.Config
	Log            *slog.Logger // JSON to stdout, as Lambda's JSON log format expects
}

// Load reads the environment and the AWS configuration. A missing or
// malformed setting is an error naming the variable.
func Load(ctx context.Context) (Env, error) {
	e := Env{
		Stage:          os.Getenv("MAILBRIDGE_STAGE"),
		Table:          os.Getenv("MAILBRIDGE_TABLE"),
		KMSKeyID:       os.Getenv("MAILBRIDGE_SECRETS_KMS_KEY"),
		AuditRetention: time.Duration(Int("MAILBRIDGE_AUDIT_RETENTION_DAYS", 90)) * 24 * time.Hour,
		FeedRetention:  time.Duration(Int("MAILBRIDGE_FEED_RETENTION_DAYS", DefaultFeedRetentionDays)) * 24 * time.Hour,
		Log:            slog.New(slog.NewJSONHandler(os.Stdout, nil)),
	}
	if e.Table == "" {
		return e, fmt.Errorf("MAILBRIDGE_TABLE is not set")
	}
	private, err := urlguard.ParsePrefixes(os.Getenv("MAILBRIDGE_ALLOWED_PRIVATE_CIDRS"))
	if err != nil {
		return e, fmt.Errorf("MAILBRIDGE_ALLOWED_PRIVATE_CIDRS: %w", err)
	}
	e.URLPolicy = urlguard.Policy{AllowedPrivate: private}
	if e.AWS, err = config.LoadDefaultConfig(ctx); err != nil {
		return e, fmt.Errorf("aws config: %w", err)
	}
	return e, nil
}

// EWSOptions are the options of every Lambda's EWS adapters: every
// connection checked by the deployment's URL policy.
func (e *Env) EWSOptions() ewsmailbox.Options {
	return ewsmailbox.Options{URLGuard: &e.URLPolicy}
}

// Store opens the DynamoDB store; opts may adjust the shared options.
func (e Env) Store(opts ...func(*dynamostore.Options)) (*dynamostore.Store, error) {
	o := dynamostore.Options{Table: e.Table, Clock: domain.SystemClock{}, AuditRetention: e.AuditRetention, FeedRetention: e.FeedRetention}
	for _, f := range opts {
		f(&o)
	}
	return dynamostore.New(dynamostore.NewClient(e.AWS, ""), o)
}

// Secrets opens the Secrets Manager secret store.
func (e Env) Secrets() (*smsecrets.Store, error) {
	return smsecrets.New(smsecrets.NewClient(e.AWS, ""), smsecrets.Options{Stage: e.Stage, KMSKeyID: e.KMSKeyID})
}

// Require returns the value of a variable that must be set.
func Require(name string) (string, error) {
	v := os.Getenv(name)
	if v == "" {
		return "", fmt.Errorf("%s is not set", name)
	}
	return v, nil
}

// Int reads a positive integer variable, def when unset or not positive.
func Int(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// Must ends a cold start that cannot work, logging why: Lambda reports
// the init failure and retries, and the log line says what to fix.
func Must[T any](v T, err error) T {
	if err != nil {
		slog.New(slog.NewJSONHandler(os.Stdout, nil)).Error("cannot start", "err", err)
		os.Exit(1)
	}
	return v
}
