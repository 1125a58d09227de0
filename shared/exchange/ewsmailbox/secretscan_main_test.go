package ewsmailbox_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ewsmailbox"
	"github.com/mailbridge/mailbridge/shared/testsupport/secretscan"
)

// TestMain runs the tests, then the package's secret scan: no form of any
// credential its tests use may be in the access reports and errors the
// checker answered, nor in what the mailbox harness stored.
func TestMain(m *testing.M) { secretscan.Main(m) }

// scannedChecker hands every report and error of the checker to the scan.
type scannedChecker struct{ *ewsmailbox.Checker }

func (c scannedChecker) CheckAccess(ctx context.Context, t domain.Tenant, m domain.Mailbox, cred domain.Credential) (domain.AccessReport, error) {
	rep, err := c.Checker.CheckAccess(ctx, t, m, cred)
	b, _ := json.Marshal(rep)
	secretscan.Capture(secretscan.Answers, "access report", b)
	if err != nil {
		secretscan.Capture(secretscan.Answers, "access check error", []byte(err.Error()))
	}
	return rep, err
}
