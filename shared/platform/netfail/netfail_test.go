package netfail

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestDescribe(t *testing.T) {
	tests := []struct {
		name, ct, body, want string
	}{
		{"login page", "text/html", "<!DOCTYPE html>\n<html><head><TITLE>Sign In\n - Contoso</TITLE></head></html>", `text/html, an HTML page titled "Sign In - Contoso"`},
		{"page without a title", "text/html", "<html><body>502</body></html>", `text/html, an HTML page titled ""`},
		// Lower-casing "İ" makes the text longer: indexes into a lowered
		// copy would run past the original (a panic before).
		{"text that grows when lowered", "text/html", strings.Repeat("İ", 40) + "<html><title>x</title>", `text/html, an HTML page titled "x"`},
		{"an unclosed title", "", "<html><title>" + strings.Repeat("a", 300), `no content type, an HTML page titled ""`},
		{"other text, bounded", "application/json", `{"error":"` + strings.Repeat("b", 200) + `"}`, `application/json, starting "{\"error\":\"` + strings.Repeat("b", 70) + `..."`},
		{"an XML doctype is no HTML page", "text/xml", `<!DOCTYPE foo><foo/>`, `text/xml, starting "<!DOCTYPE foo><foo/>"`},
		{"empty", "text/html", " \n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Describe(tt.ct, []byte(tt.body)); got != tt.want {
				t.Errorf("Describe = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestKinds(t *testing.T) {
	refused := &url.Error{Op: "Post", URL: "https://mail.contoso.com/EWS/Exchange.asmx", Err: &net.OpError{Op: "dial", Err: errors.New("connection refused")}}
	tests := []struct {
		name                        string
		err                         error
		timeout, encoding, networky bool
	}{
		{"deadline", fmt.Errorf("reading: %w", context.DeadlineExceeded), true, false, false},
		{"refused", refused, false, false, true},
		{"gzip header", fmt.Errorf("truncated: %w", gzip.ErrHeader), false, true, false},
		{"unexpected EOF", io.ErrUnexpectedEOF, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if Timeout(tt.err) != tt.timeout || BadEncoding(tt.err) != tt.encoding || Network(tt.err) != tt.networky {
				t.Errorf("Timeout %v BadEncoding %v Network %v, want %v %v %v", Timeout(tt.err), BadEncoding(tt.err), Network(tt.err), tt.timeout, tt.encoding, tt.networky)
			}
		})
	}
}

// FuzzDescribe: any body is described on one bounded line of valid
// UTF-8, without a panic.
func FuzzDescribe(f *testing.F) {
	f.Add("text/html", "<html><title>Sign in</title></html>")
	f.Add("", strings.Repeat("İ", 50)+"<HTML><TITLE>x")
	f.Add("text/xml", "\x00\xff<title></title>")
	f.Fuzz(func(t *testing.T, ct, body string) {
		d := Describe(ct, []byte(body))
		if strings.ContainsAny(d, "\n\r") || !utf8.ValidString(d) || len(d) > 300 {
			t.Fatalf("description %q is not one bounded line of UTF-8", d)
		}
	})
}
