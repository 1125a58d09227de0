package main

import (
	"testing"

	"github.com/mailbridge/mailbridge/shared/testsupport/secretscan"
)

// TestMain runs the tests, then the package's secret scan: no form of any
// credential its tests use may be in what they logged, answered or stored.
func TestMain(m *testing.M) { secretscan.Main(m) }
