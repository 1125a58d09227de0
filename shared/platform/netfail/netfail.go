// Package netfail tells apart the ways an HTTP exchange fails below the
// protocol (a time limit, a broken compression, a connection that failed
// or broke) and describes what came instead of the protocol's answer (an
// HTML page, some other text), for the protocol clients and classifiers
// (ews, graph, ewsmailbox, graphmailbox) to name each in words an admin
// can act on.
package netfail

import (
	"bytes"
	"cmp"
	"compress/flate"
	"compress/gzip"
	"context"
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"unicode"

	"github.com/mailbridge/mailbridge/shared/platform/redact"
)

// sniff is how much of a body is looked at to describe it.
const sniff = 4096

// IsHTML reports whether body is an HTML page: a login page, a proxy's
// or gateway's error page.
func IsHTML(body []byte) bool {
	head := bytes.TrimSpace(body[:min(len(body), sniff)])
	return hasPrefixFold(head, "<!doctype html") || indexFold(head, "<html") >= 0
}

// Describe says what a body that is not the protocol's answer was: its
// content type and an HTML page's title (which names what answered: a
// login page, a proxy) or the start of its text; "" for an empty body.
// One line, bounded, but not scrubbed: callers pass it through their
// credential scrubber.
func Describe(contentType string, body []byte) string {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return ""
	}
	ct := redact.Bound(cmp.Or(contentType, "no content type"), 80)
	head := body[:min(len(body), sniff)]
	if IsHTML(head) {
		title := ""
		if i := indexFold(head, "<title>"); i >= 0 {
			rest := head[i+len("<title>"):]
			if j := indexFold(rest, "</title>"); j >= 0 {
				title = string(rest[:j])
			}
		}
		return ct + ", an HTML page titled " + quote(title)
	}
	return ct + ", starting " + quote(string(head))
}

// quote bounds s to 80 bytes and quotes it with its control characters
// shown as '.': quoted as escapes they would make it four times as long,
// and an answer of binary bytes says nothing more in \x12 form.
func quote(s string) string {
	return strconv.Quote(strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return '.'
	}, redact.Bound(s, 80)))
}

// indexFold is the index of the ASCII pattern pat in b, ignoring ASCII
// case, or -1. It works on b's own bytes (bytes.ToLower may change a
// text's length, so indexes into a lowered copy do not fit the original).
func indexFold(b []byte, pat string) int {
	for i := 0; i+len(pat) <= len(b); i++ {
		if bytes.EqualFold(b[i:i+len(pat)], []byte(pat)) {
			return i
		}
	}
	return -1
}

func hasPrefixFold(b []byte, pat string) bool {
	return len(b) >= len(pat) && bytes.EqualFold(b[:len(pat)], []byte(pat))
}

// Timeout reports whether err is a time limit running out: the context's
// deadline, or a network timeout (dial, headers, body).
func Timeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// BadEncoding reports whether err is a compressed body that could not be
// decompressed (net/http undoes gzip itself): a proxy that mangles
// answers.
func BadEncoding(err error) bool {
	var corrupt flate.CorruptInputError
	return errors.Is(err, gzip.ErrHeader) || errors.Is(err, gzip.ErrChecksum) || errors.As(err, &corrupt)
}

// Network reports whether err is a failed or broken connection (DNS,
// refused, reset, closed early): no timeout, no answer to judge.
func Network(err error) bool {
	var ne net.Error
	var op *net.OpError
	var dns *net.DNSError
	return !Timeout(err) && (errors.As(err, &ne) || errors.As(err, &op) || errors.As(err, &dns))
}
