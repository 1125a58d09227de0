package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ewsmailbox"
)

func runProbe(ctx context.Context, args []string, e env) error {
	var cf connFlags
	var asJSON, fallback bool
	fs := newFlagSet("probe", "--url U <auth flags> --mailbox M [--mode impersonation|delegate|folder-delegate] [--fallback] [--json]\n       ewsctl probe --protocol graph [--graph-url G] <oauth flags> --mailbox M [--json]", e)
	cf.register(fs)
	fs.BoolVar(&asJSON, "json", false, "print the report as JSON")
	fs.BoolVar(&fallback, "fallback", false, "if impersonation is refused, try delegate access (as a tenant with allowFallback does)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected argument %q", fs.Arg(0))
	}
	t, err := cf.resolve(e.getenv)
	if err != nil {
		return err
	}
	if fallback && t.graph() {
		return usageErr("--fallback is for EWS: a graph tenant has one mode, application access")
	}
	t.tenant.AllowFallback = fallback
	opts, err := cf.clientOptions(t, e)
	if err != nil {
		return err
	}
	// The checker of the target's protocol, the one the API's verify
	// routes the tenant to.
	var checker domain.AccessChecker = ewsmailbox.NewChecker(ewsmailbox.CheckerOptions{Client: opts})
	if t.graph() {
		checker = t.graphConnector()
	}
	rep, err := checker.CheckAccess(ctx, t.tenant, t.mailbox, t.cred)
	if err != nil {
		return err
	}
	// The hint's text comes from the application, as in the API's verify;
	// ewsctl's tenant is not one the API knows, so it names no API calls.
	noAPI := t.tenant
	noAPI.ID = ""
	rep.Detail = app.ReportDetail(t.tenant, rep)
	rep.Hint = app.ReportHint(noAPI, t.mailbox, t.cred, rep)
	if asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		printReport(e.stdout, t, rep)
	}
	switch rep.Status {
	case domain.MailboxOK:
		return nil
	case domain.MailboxThrottled:
		return &exitError{code: exitThrottle}
	}
	return &exitError{code: exitFailed}
}

// printReport writes the report for a person at a terminal.
func printReport(w io.Writer, t *target, rep domain.AccessReport) {
	row := func(k, v string) {
		if v == "" {
			v = "-"
		}
		fmt.Fprintf(w, "%-16s %s\n", k+":", v)
	}
	row("Mailbox", rep.Mailbox)
	server := "Exchange"
	if t.graph() {
		row("Graph URL", t.tenant.GraphURL)
		server = "Graph"
	} else {
		row("EWS URL", t.tenant.EWSURL)
	}
	row("Auth", describe(t.cred))
	row("Status", statusText(rep.Status, t.graph()))
	mode := string(rep.Mode)
	if rep.FellBack {
		mode += " (fell back: impersonation refused)"
	}
	row("Access mode", mode)
	row("Readable", strings.Join(rep.ReadableFolders, ", "))
	row("Unreadable", strings.Join(rep.UnreadableFolders, ", "))
	row("Server version", rep.ServerVersion)
	switch {
	case rep.Throttled && t.graph():
		row("Throttling", "seen (Graph answered 429 or 503 and asked to back off)")
	case rep.Throttled:
		row("Throttling", "seen (Exchange answered ErrorServerBusy or asked to back off)")
	default:
		row("Throttling", "none seen")
	}
	if rep.Detail != "" {
		row(server+" said", rep.Detail)
	}
	if rep.Hint != "" {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "How to fix:")
		for _, s := range sentences(rep.Hint) {
			fmt.Fprintln(w, "  - "+s)
		}
	}
}

func statusText(s domain.MailboxStatus, graph bool) string {
	if graph {
		switch s {
		case domain.MailboxOutOfScope:
			return "FAILED: out_of_scope (the mailbox is outside the app's scope)"
		case domain.MailboxAccessDenied:
			return "FAILED: access_denied (the app lacks a permission)"
		case domain.MailboxThrottled:
			return "UNKNOWN: throttled (Graph asked to back off; not an access failure)"
		}
	}
	switch s {
	case domain.MailboxOK:
		return "OK"
	case domain.MailboxOutOfScope:
		return "FAILED: out_of_scope (impersonation refused for this mailbox)"
	case domain.MailboxAccessDenied:
		return "FAILED: access_denied (nothing in the mailbox is shared with the account)"
	case domain.MailboxNotFound:
		return "FAILED: not_found (no such mailbox)"
	case domain.MailboxAuthFailed:
		return "FAILED: auth_failed (credentials rejected)"
	case domain.MailboxThrottled:
		return "UNKNOWN: throttled (Exchange asked to back off; not an access failure)"
	}
	return "FAILED: " + string(s)
}

// sentences splits a hint into its sentences (". " followed by a capital
// letter or a parenthesis), one per line.
func sentences(s string) []string {
	var out []string
	start := 0
	for i := 0; i+2 < len(s); i++ {
		if s[i] == '.' && s[i+1] == ' ' && (s[i+2] >= 'A' && s[i+2] <= 'Z' || s[i+2] == '(') {
			out = append(out, s[start:i+1])
			start = i + 2
		}
	}
	return append(out, s[start:])
}
