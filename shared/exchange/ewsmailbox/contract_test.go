package ewsmailbox_test

import (
	"testing"

	"github.com/mailbridge/mailbridge/shared/testsupport/mailboxtest"
)

// TestMailboxContract runs the mailbox ports' contract on the EWS
// adapters and ewssim; graphmailbox runs the same on Graph.
func TestMailboxContract(t *testing.T) {
	mailboxtest.Run(t, func(t testing.TB) mailboxtest.Env { return mailboxtest.EWS(t, mailboxtest.Options{}) })
}
