package lambdaenv

import (
	"context"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/platform/config"
)

func TestLoad(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string // the whole message; "" = success
	}{
		{"table missing", map[string]string{}, "MAILBRIDGE_TABLE is not set"},
		{"table empty", map[string]string{"MAILBRIDGE_TABLE": ""}, "MAILBRIDGE_TABLE is not set"},
		{"bad private range", map[string]string{"MAILBRIDGE_TABLE": "t", "MAILBRIDGE_ALLOWED_PRIVATE_CIDRS": "10.0.0.0/33"},
			`MAILBRIDGE_ALLOWED_PRIVATE_CIDRS="10.0.0.0/33": allowed private range "10.0.0.0/33": netip.ParsePrefix("10.0.0.0/33"): prefix length out of range`},
		{"audit retention not a number", map[string]string{"MAILBRIDGE_TABLE": "t", "MAILBRIDGE_AUDIT_RETENTION_DAYS": "90d"},
			`MAILBRIDGE_AUDIT_RETENTION_DAYS="90d": not an integer`},
		{"audit retention zero", map[string]string{"MAILBRIDGE_TABLE": "t", "MAILBRIDGE_AUDIT_RETENTION_DAYS": "0"},
			`MAILBRIDGE_AUDIT_RETENTION_DAYS="0": must be between 1 and 3650`},
		{"feed retention too long", map[string]string{"MAILBRIDGE_TABLE": "t", "MAILBRIDGE_FEED_RETENTION_DAYS": "4000"},
			`MAILBRIDGE_FEED_RETENTION_DAYS="4000": must be between 1 and 3650`},
		{"bad stage", map[string]string{"MAILBRIDGE_TABLE": "t", "MAILBRIDGE_STAGE": "Prod"},
			`MAILBRIDGE_STAGE="Prod": must be 1 to 20 lowercase letters, digits or dashes, starting with a letter or digit`},
		{"stage with a leading dash (no valid secret name part)", map[string]string{"MAILBRIDGE_TABLE": "t", "MAILBRIDGE_STAGE": "-dev"},
			`MAILBRIDGE_STAGE="-dev": must be 1 to 20 lowercase letters, digits or dashes, starting with a letter or digit`},
		{"every refusal at once", map[string]string{"MAILBRIDGE_STAGE": "Prod", "MAILBRIDGE_FEED_RETENTION_DAYS": "x"},
			`MAILBRIDGE_STAGE="Prod": must be 1 to 20 lowercase letters, digits or dashes, starting with a letter or digit; MAILBRIDGE_TABLE is not set; MAILBRIDGE_FEED_RETENTION_DAYS="x": not an integer`},
		{"complete", map[string]string{"MAILBRIDGE_TABLE": "t", "MAILBRIDGE_STAGE": "prod", "MAILBRIDGE_ALLOWED_PRIVATE_CIDRS": "10.20.0.0/16", "MAILBRIDGE_AUDIT_RETENTION_DAYS": "30"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("AWS_REGION", "us-east-1")
			e, err := Load(context.Background(), config.New(config.Map(tc.env)))
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if e.Stage != "prod" || e.Table != "t" || e.AuditRetention != 30*24*time.Hour || e.FeedRetention != DefaultFeedRetentionDays*24*time.Hour || len(e.URLPolicy.AllowedPrivate) != 1 {
				t.Fatalf("unexpected env %+v", e)
			}
			if _, err := e.Store(); err != nil {
				t.Fatalf("store: %v", err)
			}
		})
	}
}

// A function's own settings, read from the reader before Load, are
// refused by Load too.
func TestLoadRefusesTheFunctionsOwnSettings(t *testing.T) {
	t.Setenv("AWS_REGION", "us-east-1")
	r := config.New(config.Map(map[string]string{"MAILBRIDGE_TABLE": "t", "MAILBRIDGE_BATCH_CONCURRENCY": "lots"}))
	r.Int("MAILBRIDGE_BATCH_CONCURRENCY", 100, 1, 1000)
	if _, err := Load(context.Background(), r); err == nil || err.Error() != `MAILBRIDGE_BATCH_CONCURRENCY="lots": not an integer` {
		t.Fatalf("err = %v", err)
	}
}

func TestDefaults(t *testing.T) {
	t.Setenv("AWS_REGION", "us-east-1")
	e, err := Load(context.Background(), config.New(config.Map(map[string]string{"MAILBRIDGE_TABLE": "t"})))
	if err != nil {
		t.Fatal(err)
	}
	if e.Stage != "dev" || e.KMSKeyID != "" || e.AuditRetention != 90*24*time.Hour || e.FeedRetention != 30*24*time.Hour || len(e.URLPolicy.AllowedPrivate) != 0 {
		t.Fatalf("defaults %+v", e)
	}
}
