// Package lambdaenv reads the environment template.yaml gives every Lambda,
// through the strict loader (shared/platform/config), and builds the AWS
// adapters from it, so all functions are configured the same way (the same
// table, stage, audit retention and URL policy), refuse to start on a bad
// setting the same way (Must), and each function's wiring stays short.
package lambdaenv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/mailbridge/mailbridge/shared/aws/dynamostore"
	"github.com/mailbridge/mailbridge/shared/aws/smsecrets"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ewsmailbox"
	"github.com/mailbridge/mailbridge/shared/exchange/graphmailbox"
	"github.com/mailbridge/mailbridge/shared/platform/config"
	"github.com/mailbridge/mailbridge/shared/platform/urlguard"
)

// DefaultFeedRetentionDays is how long the change feeds keep a change
// unless configured: long enough for a consumer to be down a few weeks,
// short enough that the feeds' storage stops growing.
const DefaultFeedRetentionDays = 30

// Settings every function shares, and their bounds (template.yaml's
// parameters allow the same).
const (
	DefaultStage              = "dev"
	DefaultAuditRetentionDays = 90
	MaxRetentionDays          = 3650
)

// Env is the configuration every function shares (docs/configuration.md).
type Env struct {
	Stage          string        // MAILBRIDGE_STAGE, default "dev"
	Table          string        // MAILBRIDGE_TABLE, required
	KMSKeyID       string        // MAILBRIDGE_SECRETS_KMS_KEY, default: none
	AuditRetention time.Duration // MAILBRIDGE_AUDIT_RETENTION_DAYS, default 90 days
	FeedRetention  time.Duration // MAILBRIDGE_FEED_RETENTION_DAYS, default 30 days
	URLPolicy      urlguard.Policy
	AWS            aws.Config
	Log            *slog.Logger // JSON to stdout, as Lambda's JSON log format expects
}

// Option adjusts the environment once it is read, before any adapter is
// built from it. Production passes none; the deploy rehearsal
// (functions/internal/rehearsal) lets the URL policy reach its loopback
// Exchange simulator, as the local run's dev policy does.
type Option func(*Env)

// Load reads the shared settings from r, then refuses to go on if r
// refused any setting, the function's own (read from r before) included,
// with one error naming each variable and its value; then it loads the AWS
// configuration and applies opts.
func Load(ctx context.Context, r *config.Reader, opts ...Option) (Env, error) {
	e := Env{
		Stage:          config.Parse(r, "MAILBRIDGE_STAGE", DefaultStage, parseStage),
		Table:          r.Required("MAILBRIDGE_TABLE"),
		KMSKeyID:       r.String("MAILBRIDGE_SECRETS_KMS_KEY", ""),
		AuditRetention: days(r.Int("MAILBRIDGE_AUDIT_RETENTION_DAYS", DefaultAuditRetentionDays, 1, MaxRetentionDays)),
		FeedRetention:  days(r.Int("MAILBRIDGE_FEED_RETENTION_DAYS", DefaultFeedRetentionDays, 1, MaxRetentionDays)),
		URLPolicy:      urlguard.Policy{AllowedPrivate: config.Parse(r, "MAILBRIDGE_ALLOWED_PRIVATE_CIDRS", nil, urlguard.ParsePrefixes)},
		Log:            slog.New(slog.NewJSONHandler(os.Stdout, nil)),
	}
	if err := r.Err(); err != nil {
		return e, err
	}
	var err error
	if e.AWS, err = awsconfig.LoadDefaultConfig(ctx); err != nil {
		return e, fmt.Errorf("aws config: %w", err)
	}
	for _, o := range opts {
		o(&e)
	}
	return e, nil
}

func days(n int) time.Duration { return time.Duration(n) * 24 * time.Hour }

// stagePattern is template.yaml's AllowedPattern for Stage, character for
// character (shared/testsupport/deploytest compares them): the stage is part of every
// resource and secret name, and a secret name part starts with a letter or
// digit.
var stagePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,19}$`)

func parseStage(s string) (string, error) {
	if !stagePattern.MatchString(s) {
		return "", errors.New("must be 1 to 20 lowercase letters, digits or dashes, starting with a letter or digit")
	}
	return s, nil
}

// EWSOptions are the options of every Lambda's EWS adapters: every
// connection checked by the deployment's URL policy.
func (e *Env) EWSOptions() ewsmailbox.Options {
	return ewsmailbox.Options{URLGuard: &e.URLPolicy}
}

// GraphOptions are the options of every Lambda's Graph adapter, with the
// same URL policy.
func (e *Env) GraphOptions() graphmailbox.Options {
	return graphmailbox.Options{URLGuard: &e.URLPolicy}
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

// Must ends a cold start that cannot work, logging why: Lambda reports
// the init failure and retries, and the log line says what to fix.
func Must[T any](v T, err error) T {
	if err != nil {
		slog.New(slog.NewJSONHandler(os.Stdout, nil)).Error("cannot start", "err", err)
		os.Exit(1)
	}
	return v
}
