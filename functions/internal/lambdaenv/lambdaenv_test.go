package lambdaenv

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestLoad(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string // substring; "" = success
	}{
		{"table missing", map[string]string{"MAILBRIDGE_TABLE": ""}, "MAILBRIDGE_TABLE is not set"},
		{"bad private range", map[string]string{"MAILBRIDGE_TABLE": "t", "MAILBRIDGE_ALLOWED_PRIVATE_CIDRS": "10.0.0.0/33"}, "MAILBRIDGE_ALLOWED_PRIVATE_CIDRS"},
		{"complete", map[string]string{"MAILBRIDGE_TABLE": "t", "MAILBRIDGE_STAGE": "prod", "MAILBRIDGE_ALLOWED_PRIVATE_CIDRS": "10.20.0.0/16", "MAILBRIDGE_AUDIT_RETENTION_DAYS": "30"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("AWS_REGION", "us-east-1")
			t.Setenv("MAILBRIDGE_ALLOWED_PRIVATE_CIDRS", "")
			t.Setenv("MAILBRIDGE_AUDIT_RETENTION_DAYS", "")
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			e, err := Load(context.Background())
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one naming %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if e.Stage != "prod" || e.Table != "t" || e.AuditRetention != 30*24*time.Hour || len(e.URLPolicy.AllowedPrivate) != 1 {
				t.Fatalf("unexpected env %+v", e)
			}
			if _, err := e.Store(); err != nil {
				t.Fatalf("store: %v", err)
			}
		})
	}
}

func TestInt(t *testing.T) {
	for _, tc := range []struct {
		val  string
		want int
	}{{"", 7}, {"12", 12}, {"0", 7}, {"-3", 7}, {"x", 7}} {
		t.Run(tc.val, func(t *testing.T) {
			t.Setenv("MB_TEST_INT", tc.val)
			if got := Int("MB_TEST_INT", 7); got != tc.want {
				t.Fatalf("Int(%q) = %d, want %d", tc.val, got, tc.want)
			}
		})
	}
}
