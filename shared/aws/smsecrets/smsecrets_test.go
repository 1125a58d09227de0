package smsecrets

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/testsupport/standin"
	"github.com/mailbridge/mailbridge/shared/testsupport/storetest"
)

func TestMain(m *testing.M) { standin.Main(m) }

var ctx = context.Background()

// randomStage keeps tests apart on one moto_server.
func randomStage() string {
	var b [4]byte
	rand.Read(b[:])
	return "test-" + hex.EncodeToString(b[:])
}

func newStore(t *testing.T, opts Options) (*Store, *secretsmanager.Client) {
	t.Helper()
	client := NewClient(standin.AWSConfig(), standin.Moto(t))
	if opts.Stage == "" {
		opts.Stage = randomStage()
	}
	s, err := New(client, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s, client
}

func TestContract(t *testing.T) {
	storetest.RunSecrets(t, func(t *testing.T) domain.SecretStore {
		s, _ := newStore(t, Options{})
		return s
	})
}

var cred = domain.Credential{Kind: domain.AuthNTLM, Username: "svc", Domain: "ACME", Password: "pw-Moto-0c0ffee0"}

func TestSecretIsNamedEncryptedAndTagged(t *testing.T) {
	kmsClient := kms.NewFromConfig(standin.AWSConfig(), func(o *kms.Options) { o.BaseEndpoint = aws.String(standin.Moto(t)) })
	key, err := kmsClient.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("mailbridge test")})
	if err != nil {
		t.Fatal(err)
	}
	keyID := aws.ToString(key.KeyMetadata.KeyId)
	s, sm := newStore(t, Options{KMSKeyID: keyID})
	if err := s.PutCredential(ctx, "acme", cred); err != nil {
		t.Fatal(err)
	}
	out, err := sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(s.SecretName("acme"))})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := aws.ToString(out.Name), "mailbridge/"+s.stage+"/tenants/acme"; got != want {
		t.Errorf("secret name %q, want %q", got, want)
	}
	if got := aws.ToString(out.KmsKeyId); got != keyID {
		t.Errorf("KMS key %q, want %q", got, keyID)
	}
	tags := map[string]string{}
	for _, tag := range out.Tags {
		tags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
	}
	if tags[TagTenant] != "acme" || tags[TagStage] != s.stage {
		t.Errorf("tags %v, want %s=acme and %s=%s", tags, TagTenant, TagStage, s.stage)
	}
}

func TestDeleteSchedulesWithRecoveryWindow(t *testing.T) {
	for _, tc := range []struct {
		window time.Duration
		days   int
	}{{0, 7}, {30 * 24 * time.Hour, 30}} {
		t.Run(fmt.Sprintf("%d days", tc.days), func(t *testing.T) {
			s, sm := newStore(t, Options{RecoveryWindow: tc.window})
			if err := s.PutCredential(ctx, "acme", cred); err != nil {
				t.Fatal(err)
			}
			before := time.Now()
			if err := s.DeleteCredential(ctx, "acme"); err != nil {
				t.Fatal(err)
			}
			out, err := sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(s.SecretName("acme"))})
			if err != nil {
				t.Fatalf("the secret must still exist during its recovery window: %v", err)
			}
			want := before.Add(time.Duration(tc.days) * 24 * time.Hour)
			if out.DeletedDate == nil || out.DeletedDate.Sub(want).Abs() > time.Hour {
				t.Fatalf("scheduled deletion %v, want about %v", out.DeletedDate, want)
			}
		})
	}
}

func TestOptionsAreChecked(t *testing.T) {
	client := NewClient(standin.AWSConfig(), "http://127.0.0.1:1")
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"no stage", Options{}},
		{"stage with a slash", Options{Stage: "prod/x"}},
		{"window too short", Options{Stage: "dev", RecoveryWindow: 3 * 24 * time.Hour}},
		{"window too long", Options{Stage: "dev", RecoveryWindow: 31 * 24 * time.Hour}},
		{"window not whole days", Options{Stage: "dev", RecoveryWindow: 7*24*time.Hour + time.Hour}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(client, tc.opts); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

// errorChain renders err and everything it wraps, every way a caller or a
// logger might.
func errorChain(err error) string {
	text := ""
	for e := err; e != nil; e = errors.Unwrap(e) {
		text += fmt.Sprintf("%v | %+v | %#v\n", e, e, e)
	}
	return text
}

// An endpoint that echoes the request in its error message (as AWS errors
// sometimes quote parameters) must not get the secret into our errors.
func TestSDKErrorsNeverCarryTheSecret(t *testing.T) {
	echoed := false
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusBadRequest)
		if strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".DescribeSecret") {
			json.NewEncoder(w).Encode(map[string]string{"__type": "ResourceNotFoundException", "message": "no such secret"})
			return
		}
		echoed = echoed || strings.Contains(string(body), cred.Password)
		json.NewEncoder(w).Encode(map[string]string{"__type": "InvalidParameterException", "message": "bad request: " + string(body)})
	}))
	defer echo.Close()
	s, err := New(NewClient(standin.AWSConfig(), echo.URL), Options{Stage: "dev"})
	if err != nil {
		t.Fatal(err)
	}
	err = s.PutCredential(ctx, "acme", cred)
	if err == nil || !echoed {
		t.Fatalf("PutCredential against the echoing endpoint: err=%v, secret echoed=%v", err, echoed)
	}
	storetest.NoSecretIn(t, "error chain", errorChain(err), cred)
	if domain.ErrorCodeOf(err) != domain.CodeInternal {
		t.Errorf("code %s, want internal", domain.ErrorCodeOf(err))
	}
}

// A secret that is not a Mailbridge credential is reported without quoting
// its content.
func TestMalformedSecretIsNotQuoted(t *testing.T) {
	s, sm := newStore(t, Options{})
	const content = "not-json-but-secret-5ecr3t"
	_, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(s.SecretName("acme")), SecretString: aws.String(content)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.GetCredential(ctx, "acme")
	if err == nil {
		t.Fatal("a malformed secret was accepted")
	}
	storetest.NoSecretIn(t, "error chain", errorChain(err), domain.Credential{Password: content})
}
