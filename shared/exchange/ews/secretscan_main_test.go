package ews

import (
	"testing"

	"github.com/mailbridge/mailbridge/shared/testsupport/secretscan"
)

// TestMain runs the tests, then the package's secret scan: no form of any
// credential its tests use may be in the wire traces they wrote.
func TestMain(m *testing.M) { secretscan.Main(m) }
