package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
)

// The demo mailboxes startDemo lays out with five mailboxes.
const (
	mbInScope      = "user0001@contoso.com"
	mbThrottled    = "user0002@contoso.com" // in scope; the throttling test injects faults here
	mbDelegateOnly = "user0003@contoso.com"
	mbFolderDel    = "user0004@contoso.com"
	mbNoAccess     = "user0005@contoso.com"
	demoPassword   = "Demo-Passw0rd!"
	demoSecret     = "demo-client-secret"
)

var (
	demoOnce sync.Once
	demo     *demoSim
	demoErr  error
)

// testDemo is one TLS simulator for the package (OAuth needs https),
// started through the same code as `ewsctl sim`.
func testDemo(t *testing.T) *demoSim {
	t.Helper()
	demoOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ewsctl-test-")
		if err != nil {
			demoErr = err
			return
		}
		demo, demoErr = startDemo(simConfig{addr: "127.0.0.1:0", mailboxes: 5, items: 40, seed: 7, tls: true, dir: dir, maxConc: ewssim.DefaultMaxConcurrency})
	})
	if demoErr != nil {
		t.Fatal(demoErr)
	}
	return demo
}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if demo != nil {
		demo.close()
		_ = os.RemoveAll(demo.dir)
	}
	if graphDemo != nil {
		graphDemo.close()
		_ = os.RemoveAll(graphDemo.dir)
	}
	os.Exit(code)
}

// result is one in-process run of ewsctl.
type result struct {
	code           int
	stdout, stderr string
}

func runCLI(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, envFor(&out, &errb, env))
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

func envFor(out, errb *bytes.Buffer, vars map[string]string) env {
	return env{stdout: out, stderr: errb, getenv: func(k string) string { return vars[k] }}
}

// authArgs are the flags and environment for one auth kind against the demo.
func (d *demoSim) authArgs(kind string) ([]string, map[string]string) {
	base := []string{"--url", d.srv.EWSURL, "--ca-file", d.caFile}
	switch kind {
	case "basic", "ntlm":
		return append(base, "--auth", kind, "--username", d.account.Username), map[string]string{envPassword: demoPassword}
	case "oauth-secret":
		return append(base, "--auth", "oauth", "--authority", d.srv.URL, "--tenant-id", ewssim.DemoTenant, "--client-id", ewssim.DemoClientID),
			map[string]string{envClientSecret: demoSecret}
	case "oauth-cert":
		return append(base, "--auth", "oauth", "--authority", d.srv.URL, "--tenant-id", ewssim.DemoTenant, "--client-id", certClientID,
			"--cert", d.certFile, "--key", d.keyFile), nil
	}
	panic("unknown auth kind " + kind)
}

func noSecrets(t *testing.T, texts ...string) {
	t.Helper()
	keyPEM := ""
	if demo != nil && demo.keyFile != "" {
		b, _ := os.ReadFile(demo.keyFile)
		keyPEM = strings.TrimSpace(string(b))
	}
	for _, s := range texts {
		for _, secret := range []string{demoPassword, demoSecret, keyPEM} {
			if secret != "" && strings.Contains(s, secret) {
				t.Errorf("output holds a secret: %.200q", s)
			}
		}
	}
}

func decodeJSON[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, s)
	}
	return v
}
