package main

import (
	"path/filepath"
	"testing"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/testsupport/secretscan"
)

// scanStack hands a stack's credentials and files to the package's secret
// scan: the demo's generated account and app secret (Harvest cannot see
// them), its store file and its encrypted secrets file, read when the test
// ends. What it logs to standard error is captured by secretscan.Main.
func scanStack(t testing.TB, s *stack) {
	if s.demo != nil {
		secretscan.Register(
			domain.Credential{Kind: domain.AuthBasic, Username: s.demo.dataset.Account.Username, Password: s.demo.dataset.Account.Password},
			domain.Credential{Kind: domain.AuthOAuthSecret, ClientID: demoGraphClientID, ClientSecret: demoGraphSecret})
	}
	secretscan.WatchFile(t, filepath.Join(s.cfg.data, "mailbridge.db"))
	secretscan.WatchFile(t, filepath.Join(s.cfg.data, "secrets.json"))
}
