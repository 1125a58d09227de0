// Package rehearsal is the deploy rehearsal without AWS (tests only; this
// file holds no code). rehearsal_test.go runs infra/deploytest/rehearse.py,
// which creates template.yaml, after the SAM transform, as the stacks of
// samconfig.toml's two stages on moto_server's CloudFormation, then calls
// each function's handler in-process (functions/internal/<name>fn) with the
// environment CloudFormation resolved for it, against the resources the
// dev stack created: a tenant onboarded through the api handler, a
// scheduler tick, a sync worker batch, and a calendar write that fails and
// starts the stack's state machine. What moto cannot emulate, and how it is
// covered instead, is in docs/operations.md ("The deploy rehearsal").
package rehearsal
