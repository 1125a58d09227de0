package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// TestDemoOnboardingResumes: a first run killed part way through the demo
// onboarding (the tenant stored, some mailboxes and the credential not)
// is completed by the next run: every demo mailbox registered, the
// credential stored, every mailbox synced.
func TestDemoOnboardingResumes(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	var out bytes.Buffer
	s, err := openStack(ctx, testConfig(dir), &out)
	if err != nil {
		t.Fatal(err)
	}
	scanStack(t, s)
	// What a kill after the tenant record and 26 mailboxes leaves.
	for _, mb := range s.demo.dataset.Mailboxes[26:] {
		if err := s.tenants.Store.DeleteMailbox(ctx, demoTenantID, mb); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.tenants.Secrets.DeleteCredential(ctx, demoTenantID); err != nil {
		t.Fatal(err)
	}
	s.close()

	s, err = openStack(ctx, testConfig(dir), &out)
	if err != nil {
		t.Fatalf("second run: %v\n%s", err, out.String())
	}
	scanStack(t, s)
	defer s.close()
	ms, _, err := s.tenants.Store.ListMailboxes(ctx, demoTenantID, domain.MailboxQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != demoMailboxes {
		t.Fatalf("the demo tenant has %d mailboxes after the second run, want %d", len(ms), demoMailboxes)
	}
	if _, err := s.tenants.Secrets.GetCredential(ctx, demoTenantID); err != nil {
		t.Fatalf("the demo credential was not stored again: %v", err)
	}
	res, err := s.runOnce(ctx, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if res.Done != demoMailboxes || res.Failed != 0 {
		t.Fatalf("tick after resuming: %+v, want all %d mailboxes synced", res, demoMailboxes)
	}
}
