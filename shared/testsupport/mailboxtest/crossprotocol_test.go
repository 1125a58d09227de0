package mailboxtest

import (
	"fmt"
	"testing"
)

// TestProtocolsIndistinguishable: the same mailbox read over EWS and over
// Graph gives the same feed items, every message, event and contact
// property included.
func TestProtocolsIndistinguishable(t *testing.T) {
	n := CompareProtocols(t, Options{ItemsPerMailbox: 200})
	if n < 200 {
		t.Fatalf("compared only %d items", n)
	}
	fmt.Printf("cross-protocol item contract: %d items equal over EWS and Graph\n", n)
}
