package ewsmailbox_test

import (
	"github.com/mailbridge/mailbridge/shared/exchange/ewsmailbox"
	"github.com/mailbridge/mailbridge/shared/platform/urlguard"
)

// simOptions reach the simulator on 127.0.0.1: the guard allows loopback
// explicitly, as the local run's dev mode does.
var simOptions = ewsmailbox.Options{URLGuard: &urlguard.Policy{DevLoopback: true}}
