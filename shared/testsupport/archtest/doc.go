// Package archtest holds the test that keeps the import direction the folder
// tree promises (core in the middle, adapters grouped by what they talk to,
// wiring only under functions/ and scripts/). It has no code of its own: the
// rules and their checker are in imports_test.go, so `go test ./...` enforces
// them.
package archtest
