// Package smsecrets keeps each tenant's credential in AWS Secrets Manager:
// one secret per tenant (a secret per mailbox would cost $0.40 each a
// month), named mailbridge/<stage>/tenants/<tenantID>, encrypted with the
// configured KMS key and tagged with the tenant id, so IAM policies and cost
// reports can be scoped by tenant.
//
// No error from this package carries a secret: AWS SDK errors can echo
// request parameters (SecretString among them), so they are replaced by the
// operation, the AWS error code and the HTTP status, never their message.
//
// Tested against moto_server. moto keeps a secret scheduled for deletion
// forever (it never purges at the end of the recovery window) and reports
// the scheduled date as DeletedDate, as AWS does.
package smsecrets

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/platform/storeplan"
)

// Recovery window limits, set by Secrets Manager.
const (
	DefaultRecoveryWindow = 7 * 24 * time.Hour
	minRecoveryDays       = 7
	maxRecoveryDays       = 30
)

// Tag keys put on every secret.
const (
	TagTenant = "mailbridge:tenant"
	TagStage  = "mailbridge:stage"
)

// Options configure a Store.
type Options struct {
	Stage string // required: dev, prod, ...; part of every secret name
	// KMSKeyID encrypts new secrets (key id, ARN or alias); empty means the
	// account's aws/secretsmanager key.
	KMSKeyID string
	// RecoveryWindow is how long a deleted credential can be restored:
	// 7 to 30 days, default 7.
	RecoveryWindow time.Duration
}

// Store is a domain.SecretStore on Secrets Manager.
type Store struct {
	sm           *secretsmanager.Client
	stage        string
	kmsKeyID     string
	recoveryDays int64
}

var _ domain.SecretStore = (*Store)(nil)

// NewClient is a Secrets Manager client for cfg; a non-empty endpoint
// replaces AWS's (moto_server in tests).
func NewClient(cfg aws.Config, endpoint string) *secretsmanager.Client {
	return secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
}

// New returns a Store; it refuses a missing stage or a recovery window
// Secrets Manager would not accept.
func New(sm *secretsmanager.Client, opts Options) (*Store, error) {
	if opts.Stage == "" {
		return nil, errors.New("smsecrets: stage is required (it is part of every secret name)")
	}
	if err := storeplan.CheckTenantID(opts.Stage); err != nil {
		return nil, fmt.Errorf("smsecrets: stage %q: letters, digits, '.', '_' or '-' only", opts.Stage)
	}
	w := opts.RecoveryWindow
	if w == 0 {
		w = DefaultRecoveryWindow
	}
	days := int64(w / (24 * time.Hour))
	if w%(24*time.Hour) != 0 || days < minRecoveryDays || days > maxRecoveryDays {
		return nil, fmt.Errorf("smsecrets: recovery window %v: must be whole days from %d to %d", w, minRecoveryDays, maxRecoveryDays)
	}
	return &Store{sm: sm, stage: opts.Stage, kmsKeyID: opts.KMSKeyID, recoveryDays: days}, nil
}

// SecretName is the name of a tenant's secret.
func (s *Store) SecretName(tenantID string) string {
	return "mailbridge/" + s.stage + "/tenants/" + tenantID
}

// PutCredential creates the tenant's secret or stores a new version of it;
// a secret scheduled for deletion (a tenant re-onboarded within the
// recovery window) is restored first. Puts are rare (onboarding, rotation),
// so the DescribeSecret that decides between these costs little.
func (s *Store) PutCredential(ctx context.Context, tenantID string, c domain.Credential) error {
	if err := storeplan.CheckTenantID(tenantID); err != nil {
		return err
	}
	if err := c.Validate(); err != nil {
		return err
	}
	value, err := domain.MarshalCredential(c)
	if err != nil {
		return fmt.Errorf("smsecrets: encode credential: %w", err)
	}
	name := s.SecretName(tenantID)
	desc, err := s.sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: &name})
	switch {
	case isCode(err, "ResourceNotFoundException"):
		_, err = s.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
			Name:         &name,
			SecretString: aws.String(string(value)),
			KmsKeyId:     nonEmpty(s.kmsKeyID),
			Description:  aws.String("Mailbridge credential of tenant " + tenantID),
			Tags: []types.Tag{
				{Key: aws.String(TagTenant), Value: aws.String(tenantID)},
				{Key: aws.String(TagStage), Value: aws.String(s.stage)},
			},
		})
		if err != nil {
			return sanitize("create secret", tenantID, err)
		}
		return nil
	case err != nil:
		return sanitize("describe secret", tenantID, err)
	case desc.DeletedDate != nil:
		// Re-onboarded within the recovery window: restore, then write.
		if _, err := s.sm.RestoreSecret(ctx, &secretsmanager.RestoreSecretInput{SecretId: &name}); err != nil {
			return sanitize("restore secret", tenantID, err)
		}
	}
	_, err = s.sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: &name, SecretString: aws.String(string(value))})
	if err != nil {
		return sanitize("put secret value", tenantID, err)
	}
	return nil
}

// GetCredential reads the tenant's current credential; ErrNotFound when
// there is none or it is scheduled for deletion.
func (s *Store) GetCredential(ctx context.Context, tenantID string) (domain.Credential, error) {
	if err := storeplan.CheckTenantID(tenantID); err != nil {
		return domain.Credential{}, err
	}
	name := s.SecretName(tenantID)
	out, err := s.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &name})
	if isCode(err, "ResourceNotFoundException") || isCode(err, "InvalidRequestException") {
		return domain.Credential{}, fmt.Errorf("credential of tenant %s: %w", tenantID, domain.ErrNotFound)
	}
	if err != nil {
		return domain.Credential{}, sanitize("get secret value", tenantID, err)
	}
	c, err := domain.UnmarshalCredential([]byte(aws.ToString(out.SecretString)))
	if err != nil {
		// json errors can quote the input: say only that it is malformed.
		return domain.Credential{}, &domain.Error{Code: domain.CodeInternal,
			Message: fmt.Sprintf("secret %s does not hold a Mailbridge credential", name)}
	}
	return c, nil
}

// DeleteCredential schedules the secret's deletion after the recovery
// window; ErrNotFound when there is none (or it is already scheduled).
func (s *Store) DeleteCredential(ctx context.Context, tenantID string) error {
	if err := storeplan.CheckTenantID(tenantID); err != nil {
		return err
	}
	name := s.SecretName(tenantID)
	_, err := s.sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: &name, RecoveryWindowInDays: aws.Int64(s.recoveryDays)})
	if isCode(err, "ResourceNotFoundException") || isCode(err, "InvalidRequestException") {
		return fmt.Errorf("credential of tenant %s: %w", tenantID, domain.ErrNotFound)
	}
	if err != nil {
		return sanitize("delete secret", tenantID, err)
	}
	return nil
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func isCode(err error, code string) bool {
	var ae smithy.APIError
	return err != nil && errors.As(err, &ae) && ae.ErrorCode() == code
}

// sanitize replaces an SDK error by one that names the operation, the AWS
// error code and the HTTP status, and nothing the request carried. It does
// not wrap the original, so no %v or errors.Unwrap can reach its message.
func sanitize(op, tenantID string, err error) error {
	code := "unknown"
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	status := 0
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	e := &domain.Error{Code: domain.CodeInternal,
		Message: fmt.Sprintf("secrets manager %s for tenant %s failed: %s (HTTP %d)", op, tenantID, code, status)}
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		e.Code, e.Err = domain.CodeUnavailable, ctxErr(err)
	case status == http.StatusTooManyRequests || status >= 500 || code == "ThrottlingException" || code == "unknown":
		// Throttled, AWS-side failure, or no answer at all (network).
		e.Code = domain.CodeUnavailable
	}
	return e
}

func ctxErr(err error) error {
	if errors.Is(err, context.Canceled) {
		return context.Canceled
	}
	return context.DeadlineExceeded
}
