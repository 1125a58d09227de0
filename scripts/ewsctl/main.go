// Command ewsctl is the operator's EWS tool: it serves the Exchange
// simulator, checks a service account's access to a mailbox the way
// Mailbridge's verify does, runs one full sync of a mailbox, and decodes
// saved EWS responses. See docs/ewsctl.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/mailbridge/mailbridge/shared/platform/config"
)

// Exit codes.
const (
	exitOK       = 0
	exitFailed   = 1 // the check or the command failed
	exitUsage    = 2 // bad command line
	exitThrottle = 3 // probe: throttled, access could not be confirmed
)

const usage = `usage: ewsctl <command> [flags]

Commands:
  sim      serve the EWS simulator with demo mailboxes and accounts
  probe    check a service account's access to one mailbox, with fix hints
  sync     run one full sync of a mailbox; changes as JSON lines on stdout
  decode   decode a saved EWS SOAP response and print it as JSON

Run 'ewsctl <command> -h' for the flags of a command.
`

// env is what a command gets from the process, so tests run the same
// code in-process.
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// Its variables (the password and client secret) are free-form, read
	// through the settings loader like every other program's.
	vars := config.Env()
	code := run(ctx, os.Args[1:], env{stdout: os.Stdout, stderr: os.Stderr, getenv: func(name string) string { return vars.String(name, "") }})
	stop()
	os.Exit(code)
}

// run is ewsctl without the process: it returns the exit code.
func run(ctx context.Context, args []string, e env) int {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, usage)
		return exitUsage
	}
	cmd, rest := args[0], args[1:]
	var err error
	switch cmd {
	case "sim":
		err = runSim(ctx, rest, e)
	case "probe":
		err = runProbe(ctx, rest, e)
	case "sync":
		err = runSync(ctx, rest, e)
	case "decode":
		err = runDecode(rest, e)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(e.stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(e.stderr, "ewsctl: unknown command %q\n\n%s", cmd, usage)
		return exitUsage
	}
	return exitCode(cmd, err, e)
}

// exitError carries a specific exit code; its message may be empty when
// the command has already said everything.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func usageErr(format string, args ...any) error {
	return &exitError{code: exitUsage, msg: fmt.Sprintf(format, args...)}
}

func exitCode(cmd string, err error, e env) int {
	if err == nil {
		return exitOK
	}
	var xe *exitError
	if errors.As(err, &xe) {
		if xe.msg != "" {
			fmt.Fprintf(e.stderr, "ewsctl %s: %s\n", cmd, oneLine(xe.msg))
			if xe.code == exitUsage {
				fmt.Fprintf(e.stderr, "run 'ewsctl %s -h' for usage\n", cmd)
			}
		}
		return xe.code
	}
	fmt.Fprintf(e.stderr, "ewsctl %s: %s\n", cmd, oneLine(err.Error()))
	return exitFailed
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
