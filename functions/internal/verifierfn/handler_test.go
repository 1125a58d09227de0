package verifierfn

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/testsupport/storetest"
)

func TestHandlerLogsAndReturnsTheRun(t *testing.T) {
	for _, tc := range []struct {
		name    string
		err     error
		wantLog string
	}{
		{"a night's run", nil, `"msg":"nightly verify"`},
		{"the tenant list cannot be read", errors.New("dynamodb down"), `"msg":"nightly verify failed"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			want := app.NightlySummary{Tenants: 3, Mailboxes: 40, ByStatus: map[domain.MailboxStatus]int{domain.MailboxOK: 39, domain.MailboxOutOfScope: 1}, FailedTenants: []string{"x"}}
			h := handler(func(context.Context) (app.NightlySummary, error) { return want, tc.err }, storetest.NewClock(time.Time{}), slog.New(slog.NewJSONHandler(&logs, nil)))
			got, err := h(context.Background())
			if !errors.Is(err, tc.err) || got.Mailboxes != 40 {
				t.Errorf("got %+v, %v", got, err)
			}
			if !strings.Contains(logs.String(), tc.wantLog) || !strings.Contains(logs.String(), `"failedTenants":1`) {
				t.Errorf("log %s", logs.String())
			}
		})
	}
}
