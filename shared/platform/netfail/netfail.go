// Package netfail tells apart the ways an HTTP exchange fails below the
// protocol (a time limit, a broken compression, a connection that failed
// or broke), for the protocol classifiers (ewsmailbox, graphmailbox) to
// name each in words an admin can act on.
package netfail

import (
	"compress/flate"
	"compress/gzip"
	"context"
	"errors"
	"net"
	"os"
)

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
	return errors.As(err, &ne) || errors.As(err, &op) || errors.As(err, &dns)
}
