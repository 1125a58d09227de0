package standin

import (
	"testing"

	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
)

// EWS serves sim, Exchange's stand-in, over plain HTTP on a free loopback
// port until the test ends and returns its EWS endpoint URL.
func EWS(t testing.TB, sim *ewssim.Sim) string {
	t.Helper()
	srv, err := sim.Start(false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv.EWSURL
}
