package main

import (
	"bufio"
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// ewsTestdata holds the EWS client's fixtures: real Exchange responses
// (Microsoft's samples), our own error fixtures and broken bodies.
const ewsTestdata = "../../shared/exchange/ews/testdata"

// TestDecode runs decode over saved responses: a success with sync
// changes, calendar items, an EWS error inside a response, SOAP faults
// (exit 0: they decode) and broken files (exit 1, one line on stderr).
func TestDecode(t *testing.T) {
	tests := []struct {
		name string
		file string
		code int
		want []string // phrases of the output
	}{
		{"sync success", "msdocs/syncfolderitems-operation.02.SyncFolderItemsResponse.xml", exitOK,
			[]string{`"operation": "SyncFolderItems"`, `"includesLastItemInRange": true`, `"kind": "create"`}},
		{"calendar items", "msdocs/getitem-operation-calendar-item.03.GetItemResponse.xml", exitOK,
			[]string{`"operation": "GetItem"`, `"start": "2006-06-16T00:30:00Z"`}},
		{"EWS error in a response", "responses/message-ErrorServerBusy.xml", exitOK,
			[]string{`"class": "Error"`, `"code": "ErrorServerBusy"`, `"backOffMs": `}},
		{"SOAP fault", "responses/fault-ErrorImpersonateUserDenied.xml", exitOK,
			[]string{`"fault": {`, `"responseCode": "ErrorImpersonateUserDenied"`}},
		{"throttling fault", "responses/fault-ErrorServerBusy.xml", exitOK,
			[]string{`"responseCode": "ErrorServerBusy"`, `"backOffMs": 297749`}},
		{"truncated", "broken/truncated.xml", exitFailed,
			[]string{"cannot decode: malformed response: document ended before its root element was closed"}},
		{"html error page", "broken/html-error.html", exitFailed, []string{"cannot decode: malformed response"}},
		{"not xml", "broken/not-xml.txt", exitFailed, []string{"cannot decode"}},
		{"missing file", "no-such-file.xml", exitFailed, []string{"no-such-file.xml: no such file or directory"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := runCLI(t, nil, "decode", filepath.Join(ewsTestdata, tt.file))
			if res.code != tt.code {
				t.Fatalf("exit %d, want %d; stderr %s", res.code, tt.code, res.stderr)
			}
			got := res.stdout
			if tt.code != exitOK {
				got = res.stderr
				if res.stdout != "" {
					t.Errorf("stdout %q on failure", res.stdout)
				}
				if strings.Count(res.stderr, "\n") != 1 || !strings.HasPrefix(res.stderr, "ewsctl decode: ") {
					t.Errorf("want one line on stderr, got %q", res.stderr)
				}
			} else {
				// Exactly what the client's own decoder gives: its golden file.
				want, err := os.ReadFile(filepath.Join(ewsTestdata, "golden", strings.TrimSuffix(tt.file, ".xml")+".json"))
				if err != nil {
					t.Fatal(err)
				}
				if res.stdout != string(want) {
					t.Errorf("decode printed\n%s\nthe decoder's golden file says\n%s", res.stdout, want)
				}
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("output lacks %q:\n%s", w, got)
				}
			}
		})
	}
}

// TestSimCommand runs `ewsctl sim` as a user would: it prints the URL, the
// demo account and the mailboxes; those printed values are enough to probe
// it; it stops cleanly on cancellation and removes its temporary files.
func TestSimCommand(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"sim", "--addr", "127.0.0.1:0", "--mailboxes", "4", "--items", "10", "--tls"},
			env{stdout: pw, stderr: io.Discard, getenv: func(string) string { return "" }})
		pw.Close()
	}()
	var printed strings.Builder
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		printed.WriteString(sc.Text() + "\n")
		if strings.HasPrefix(sc.Text(), "Try:") {
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	out := printed.String()

	find := func(re string) string {
		t.Helper()
		m := regexp.MustCompile(re).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("sim output lacks %s:\n%s", re, out)
		}
		return m[1]
	}
	url := find(`EWS URL:\s+(https://\S+)`)
	caFile := find(`CA file:\s+(\S+)`)
	user := find(`username=(\S+)`)
	password := find(`password=(\S+)`)
	for _, want := range []string{"user0001@contoso.com     impersonation + delegate", "delegate only", "folder delegate", "no access", "client-secret=", "cert="} {
		if !strings.Contains(out, want) {
			t.Errorf("sim output lacks %q", want)
		}
	}

	res := runCLI(t, map[string]string{envPassword: password}, "probe", "--json", "--url", url, "--ca-file", caFile,
		"--username", user, "--mailbox", "user0001@contoso.com")
	if res.code != exitOK || decodeJSON[domain.AccessReport](t, res.stdout).Status != domain.MailboxOK {
		t.Errorf("probing the printed simulator: exit %d %s %s", res.code, res.stdout, res.stderr)
	}

	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("sim exit %d after cancellation", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("sim did not stop")
	}
	if _, err := os.Stat(filepath.Dir(caFile)); !os.IsNotExist(err) {
		t.Errorf("temporary directory %s left behind (%v)", filepath.Dir(caFile), err)
	}
}
