// Package probe is the access check behind POST /tenants/{id}/verify,
// credential rotation and `ewsctl probe`: for one mailbox it finds out
// whether the credentials work, which access mode works, which folders the
// service account can read, which Exchange build answers and whether
// Exchange is throttling, and says how to fix each problem.
//
// A check costs at most two EWS calls (one GetFolder per access mode tried)
// and never retries: throttling is reported, not waited out.
package ewsprobe

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ews"
	"github.com/mailbridge/mailbridge/shared/exchange/ewsaccess"
)

// DefaultTimeout bounds one CheckAccess.
const DefaultTimeout = 60 * time.Second

// maxCachedClients bounds the client cache; past it the cache starts afresh.
const maxCachedClients = 256

// Options configure a Checker.
type Options struct {
	// Client configures the EWS clients (transport with the URL policy,
	// private CAs, tracing), as for the sync path.
	Client ewsaccess.Options
	// Timeout bounds one CheckAccess (both modes); default DefaultTimeout.
	Timeout time.Duration
}

// Checker implements domain.AccessChecker over EWS. It is safe for
// concurrent use; it caches one EWS client per tenant, endpoint and
// credential so a verify of many mailboxes reuses connections and the
// OAuth token.
type Checker struct {
	opts    Options
	clients *ewsaccess.ClientCache
}

var _ domain.AccessChecker = (*Checker)(nil)

// New returns a Checker.
func New(o Options) *Checker {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	return &Checker{opts: o, clients: ewsaccess.NewClientCache(o.Client, maxCachedClients)}
}

// CheckAccess checks m with the tenant's credential c, in the mailbox's
// access mode (or the tenant's), falling back from impersonation to
// delegate access when t.AllowFallback. Problems Exchange reports come back
// as the report's Status with a Hint; the error is only for a tenant or
// credential the EWS client cannot be built from.
func (ch *Checker) CheckAccess(ctx context.Context, t domain.Tenant, m domain.Mailbox, c domain.Credential) (domain.AccessReport, error) {
	url := m.EWSURL
	if url == "" {
		url = t.EWSURL
	}
	cl, err := ch.clients.For(t, c).Client(url)
	if err != nil {
		return domain.AccessReport{}, fmt.Errorf("probe: %s", scrub(err.Error(), c))
	}
	ctx, cancel := context.WithTimeout(ctx, ch.opts.Timeout)
	defer cancel()

	chk := check{tenant: t, mailbox: m, cred: c, url: url, folders: foldersToCheck(t.Folders)}
	mode := configuredMode(t, m)
	rep := chk.run(ctx, cl, mode)
	if rep.Status == domain.MailboxOutOfScope && mode == domain.AccessImpersonation && t.AllowFallback {
		del := chk.run(ctx, cl, domain.AccessDelegate)
		rep = chk.fallback(rep, del)
	}
	rep.Mailbox = m.Address
	rep.ServerVersion = cl.ServerVersion().String()
	// Detail may quote what the server or the network said; hints are
	// built from addresses and account names only.
	rep.Detail = scrub(rep.Detail, c)
	return rep, nil
}

// configuredMode is the mailbox's override, else the tenant's mode, else
// impersonation (as the sync use case decides).
func configuredMode(t domain.Tenant, m domain.Mailbox) domain.AccessMode {
	if m.AccessMode.Valid() {
		return m.AccessMode
	}
	if t.AccessMode.Valid() {
		return t.AccessMode
	}
	return domain.AccessImpersonation
}

// folderSet is what one check reads: the default folders always (so an
// admin sees what is readable) plus the tenant's configured ones; only
// configured folders count as problems when unreadable.
type folderSet struct {
	check      []string
	configured map[string]bool
}

func foldersToCheck(configured []string) folderSet {
	fs := folderSet{check: slices.Clone(domain.DefaultFolders), configured: map[string]bool{}}
	if len(configured) == 0 || slices.Contains(configured, domain.FolderAll) {
		// "all" is every folder of the hierarchy; the well-known ones stand
		// for it here, as a check must stay a bounded number of calls.
		configured = domain.DefaultFolders
	}
	for _, f := range configured {
		fs.configured[f] = true
		if !slices.Contains(fs.check, f) {
			fs.check = append(fs.check, f)
		}
	}
	return fs
}

// check is one CheckAccess in progress.
type check struct {
	tenant  domain.Tenant
	mailbox domain.Mailbox
	cred    domain.Credential
	url     string
	folders folderSet
}

// run reads the folders in one mode with one GetFolder call.
func (c check) run(ctx context.Context, cl *ews.Client, mode domain.AccessMode) domain.AccessReport {
	rep := domain.AccessReport{Mode: mode}
	target := ews.Target{Mailbox: c.mailbox.Address, Mode: ews.ModeImpersonation}
	if mode.Delegated() {
		target.Mode = ews.ModeDelegate
	}
	refs := make([]ews.FolderRef, len(c.folders.check))
	for i, f := range c.folders.check {
		refs[i] = ews.FolderRef{Distinguished: f}
	}
	results, err := cl.GetFolder(ctx, target, refs)
	if err != nil {
		return c.failed(rep, err)
	}

	var unreadable, throttled, other []string
	var firstThrottle, firstOther error
	for i, r := range results {
		name := c.folders.check[i]
		if r.Err == nil {
			rep.ReadableFolders = append(rep.ReadableFolders, name)
			continue
		}
		switch ews.Classify(r.Err) {
		case ews.ClassAccessDenied:
			if c.folders.configured[name] {
				unreadable = append(unreadable, name)
			}
		case ews.ClassOutOfScope, ews.ClassMailboxNotFound, ews.ClassAuth:
			// A mailbox-level answer repeated per folder (delegate access
			// to an unknown mailbox answers ErrorNonExistentMailbox for
			// each folder).
			return c.failed(rep, r.Err)
		case ews.ClassThrottled:
			throttled = append(throttled, name)
			firstThrottle = cmp.Or(firstThrottle, error(r.Err))
		default:
			other = append(other, name+": "+r.Err.ResponseCode)
			firstOther = cmp.Or(firstOther, error(r.Err))
		}
	}
	rep.UnreadableFolders = unreadable
	rep.Throttled = len(throttled) > 0

	var details, hints []string
	if len(throttled) > 0 {
		details = append(details, fmt.Sprintf("%s throttled on %s", code(firstThrottle), strings.Join(throttled, ", ")))
		hints = append(hints, c.throttleHint(mode, firstThrottle))
	}
	if len(other) > 0 {
		details = append(details, "folders not checked: "+strings.Join(other, "; "))
	}
	readableConfigured := 0
	for _, f := range rep.ReadableFolders {
		if c.folders.configured[f] {
			readableConfigured++
		}
	}
	switch {
	case len(unreadable) > 0 && readableConfigured == 0:
		rep.Status = domain.MailboxAccessDenied
		details = append(details, "ErrorAccessDenied on "+strings.Join(unreadable, ", "))
		hints = append([]string{c.mailboxDeniedHint()}, hints...)
	case len(unreadable) > 0:
		rep.Status = domain.MailboxOK
		details = append(details, "ErrorAccessDenied on "+strings.Join(unreadable, ", "))
		hints = append(c.folderHints(mode, unreadable), hints...)
	case readableConfigured > 0:
		rep.Status = domain.MailboxOK
	case len(throttled) > 0:
		rep.Status = domain.MailboxThrottled
	default:
		rep.Status = domain.MailboxError
		if firstOther != nil {
			hints = append(hints, "Exchange refused to read the folders ("+code(firstOther)+"); run `ewsctl probe` with --trace to see the exchange")
		}
	}
	rep.Detail = strings.Join(details, "; ")
	rep.Hint = strings.Join(hints, " ")
	return rep
}

// failed turns an error that concerns the whole mailbox (or the whole
// call) into the report.
func (c check) failed(rep domain.AccessReport, err error) domain.AccessReport {
	rep.Detail = code(err)
	switch ews.Classify(err) {
	case ews.ClassAuth:
		rep.Status = domain.MailboxAuthFailed
		rep.Detail, rep.Hint = c.authProblem(err)
	case ews.ClassOutOfScope:
		rep.Status = domain.MailboxOutOfScope
		rep.Hint = c.scopeHint()
	case ews.ClassMailboxNotFound:
		rep.Status = domain.MailboxNotFound
		rep.Hint = fmt.Sprintf("Exchange has no mailbox %s: check the primary SMTP address, and whether the mailbox lives on another Exchange server (then give the mailbox its own EWS URL).", c.mailbox.Address)
	case ews.ClassAccessDenied:
		rep.Status = domain.MailboxAccessDenied
		rep.Hint = c.mailboxDeniedHint()
	case ews.ClassThrottled:
		rep.Status = domain.MailboxThrottled
		rep.Throttled = true
		rep.Hint = c.throttleHint(rep.Mode, err)
	case ews.ClassTransient:
		rep.Status = domain.MailboxError
		rep.Detail, rep.Hint = c.transportProblem(err)
	default:
		rep.Status = domain.MailboxError
		rep.Detail, rep.Hint = c.transportProblem(err)
	}
	return rep
}

// fallback combines the impersonation attempt with the delegate attempt
// made because the tenant allows it (seed 004).
func (c check) fallback(imp, del domain.AccessReport) domain.AccessReport {
	if del.Status != domain.MailboxOK {
		imp.Throttled = imp.Throttled || del.Throttled
		imp.Detail += "; delegate fallback: " + cmp.Or(del.Detail, string(del.Status))
		return imp
	}
	del.FellBack = true
	note := "Impersonation is refused for this mailbox, so it is read with delegate access, which charges every call to the service account's throttling budget; to use impersonation again, " +
		lowerFirst(c.scopeHint())
	del.Detail = strings.TrimSuffix("impersonation: "+imp.Detail+"; "+del.Detail, "; ")
	del.Hint = strings.TrimSpace(del.Hint + " " + note)
	return del
}

// code is the short form of what Exchange said: the response code, the
// HTTP status, or the error class.
func code(err error) string {
	if err == nil {
		return ""
	}
	var e *ews.Error
	if errors.As(err, &e) {
		switch {
		case e.ResponseCode != "":
			if e.BackOff > 0 {
				return fmt.Sprintf("%s (back off %s)", e.ResponseCode, e.BackOff)
			}
			return e.ResponseCode
		case e.HTTPStatus != 0 && e.HTTPStatus != 200:
			return fmt.Sprintf("HTTP %d", e.HTTPStatus)
		}
	}
	return string(ews.Classify(err))
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// scrub removes the credential's secrets from text, belt and braces: the
// EWS client already keeps them out of its errors.
func scrub(s string, c domain.Credential) string {
	for _, v := range c.SecretValues() {
		if len(v) >= 4 {
			s = strings.ReplaceAll(s, v, "[REDACTED]")
		}
	}
	return s
}
