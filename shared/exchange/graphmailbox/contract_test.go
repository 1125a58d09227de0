package graphmailbox_test

import (
	"testing"

	"github.com/mailbridge/mailbridge/shared/testsupport/mailboxtest"
)

// TestMailboxContract runs the mailbox ports' contract on the Graph
// adapters and graphsim; ewsmailbox runs the same on EWS.
func TestMailboxContract(t *testing.T) {
	mailboxtest.Run(t, func(t testing.TB) mailboxtest.Env { return mailboxtest.Graph(t, mailboxtest.Options{}) })
}
