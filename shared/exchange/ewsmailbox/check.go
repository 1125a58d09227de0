package ewsmailbox

// check.go owns the access check behind POST /tenants/{id}/verify,
// credential rotation, the nightly verification and `ewsctl probe`: for
// one mailbox it finds out whether the credentials work, which access mode
// works, which folders the service account can read, which Exchange build
// answers and whether Exchange is throttling. It reports what it found
// (status, detail, the failure's kind and code); the fix hint is the
// application's to write.
//
// A check costs at most two EWS calls (one GetFolder per access mode tried)
// and never retries: throttling is reported, not waited out.

import (
	"cmp"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ews"
	"github.com/mailbridge/mailbridge/shared/platform/redact"
)

// DefaultCheckTimeout bounds one CheckAccess.
const DefaultCheckTimeout = 60 * time.Second

// maxCheckerClients bounds the checker's client cache; past it the cache
// starts afresh.
const maxCheckerClients = 256

// CheckerOptions configure a Checker.
type CheckerOptions struct {
	// Client configures the EWS clients (URL guard, private CAs, tracing),
	// as for the sync path.
	Client Options
	// Timeout bounds one CheckAccess (both modes); default DefaultCheckTimeout.
	Timeout time.Duration
}

// Checker implements domain.AccessChecker over EWS. It is safe for
// concurrent use; it caches one EWS client per tenant, endpoint and
// credential so a verify of many mailboxes reuses connections and the
// OAuth token.
type Checker struct {
	opts    CheckerOptions
	clients *ClientCache
}

var _ domain.AccessChecker = (*Checker)(nil)

// NewChecker returns a Checker.
func NewChecker(o CheckerOptions) *Checker {
	if o.Timeout <= 0 {
		o.Timeout = DefaultCheckTimeout
	}
	return &Checker{opts: o, clients: NewClientCache(o.Client, maxCheckerClients)}
}

// CheckAccess checks m with the tenant's credential c, in the mailbox's
// access mode (or the tenant's), falling back from impersonation to
// delegate access when t.AllowFallback. Problems Exchange reports come back
// as the report's Status, Detail, ErrorKind and Code; the error is only for
// a tenant or credential the EWS client cannot be built from.
func (ch *Checker) CheckAccess(ctx context.Context, t domain.Tenant, m domain.Mailbox, c domain.Credential) (domain.AccessReport, error) {
	url := m.EWSURL
	if url == "" {
		url = t.EWSURL
	}
	cl, err := ch.clients.For(t, c).Client(url)
	if err != nil {
		return domain.AccessReport{}, fmt.Errorf("access check: %s", scrub(err.Error(), c))
	}
	ctx, cancel := context.WithTimeout(ctx, ch.opts.Timeout)
	defer cancel()

	chk := check{mailbox: m.Address, folders: foldersToCheck(t.Folders)}
	mode := configuredMode(t, m)
	rep := chk.run(ctx, cl, mode)
	if rep.Status == domain.MailboxOutOfScope && mode == domain.AccessImpersonation && t.AllowFallback {
		del := chk.run(ctx, cl, domain.AccessDelegate)
		rep = fallback(rep, del)
	}
	rep.Mailbox = m.Address
	rep.ServerVersion = cl.ServerVersion().String()
	// Detail may quote what the server or the network said.
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
	mailbox string
	folders folderSet
}

// run reads the folders in one mode with one GetFolder call.
func (c check) run(ctx context.Context, cl *ews.Client, mode domain.AccessMode) domain.AccessReport {
	rep := domain.AccessReport{Mode: mode}
	refs := make([]ews.FolderRef, len(c.folders.check))
	for i, f := range c.folders.check {
		refs[i] = ews.FolderRef{Distinguished: f}
	}
	results, err := cl.GetFolder(ctx, target(c.mailbox, mode), refs)
	if err != nil {
		return failed(rep, classify(useCheck, err, ""))
	}

	var unreadable, throttled, other []string
	var firstDenied, firstThrottle, firstOther *domain.AccessError
	for i, r := range results {
		name := c.folders.check[i]
		if r.Err == nil {
			rep.ReadableFolders = append(rep.ReadableFolders, name)
			continue
		}
		ae := classify(useCheck, r.Err, name)
		switch {
		case ae.Kind == domain.AccessDenied:
			if c.folders.configured[name] {
				unreadable = append(unreadable, name)
				firstDenied = cmp.Or(firstDenied, ae)
			}
		case mailboxWide[ae.Kind]:
			return failed(rep, ae)
		case ae.Kind == domain.AccessThrottled:
			throttled = append(throttled, name)
			firstThrottle = cmp.Or(firstThrottle, ae)
		default:
			other = append(other, name+": "+ae.Code)
			firstOther = cmp.Or(firstOther, ae)
		}
	}
	rep.UnreadableFolders = unreadable
	rep.Throttled = len(throttled) > 0

	var details []string
	if firstThrottle != nil {
		details = append(details, fmt.Sprintf("%s throttled on %s", detailCode(firstThrottle), strings.Join(throttled, ", ")))
		rep.RetryAfterMs = firstThrottle.RetryAfter.Milliseconds()
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
	var deciding *domain.AccessError
	switch {
	case len(unreadable) > 0 && readableConfigured == 0:
		rep.Status = domain.MailboxAccessDenied
		deciding = firstDenied
		details = append(details, "ErrorAccessDenied on "+strings.Join(unreadable, ", "))
	case len(unreadable) > 0:
		rep.Status = domain.MailboxOK
		deciding = firstThrottle
		details = append(details, "ErrorAccessDenied on "+strings.Join(unreadable, ", "))
	case readableConfigured > 0:
		rep.Status = domain.MailboxOK
		deciding = firstThrottle
	case firstThrottle != nil:
		rep.Status = checkStatus(firstThrottle.Kind)
		deciding = firstThrottle
	default:
		rep.Status = domain.MailboxError
		deciding = firstOther
	}
	if deciding != nil {
		rep.ErrorKind, rep.Code = deciding.Kind, deciding.Code
	}
	rep.Detail = strings.Join(details, "; ")
	return rep
}

// failed reports a failure that concerns the whole mailbox (or the whole
// call).
func failed(rep domain.AccessReport, ae *domain.AccessError) domain.AccessReport {
	rep.Status = checkStatus(ae.Kind)
	rep.ErrorKind, rep.Code, rep.RetryAfterMs = ae.Kind, ae.Code, ae.RetryAfter.Milliseconds()
	rep.Throttled = rep.Status == domain.MailboxThrottled
	switch rep.Status {
	case domain.MailboxAuthFailed:
		rep.Detail = authDetail(ae)
	case domain.MailboxError:
		rep.Detail = transportDetail(ae)
	default:
		rep.Detail = detailCode(ae)
	}
	return rep
}

// fallback combines the impersonation attempt with the delegate attempt
// made because the tenant allows the fallback from impersonation to
// delegate access.
func fallback(imp, del domain.AccessReport) domain.AccessReport {
	if del.Status != domain.MailboxOK {
		imp.Throttled = imp.Throttled || del.Throttled
		imp.Detail += "; delegate fallback: " + cmp.Or(del.Detail, string(del.Status))
		return imp
	}
	del.FellBack = true
	del.Detail = strings.TrimSuffix("impersonation: "+imp.Detail+"; "+del.Detail, "; ")
	return del
}

// detailCode is the short form of what Exchange said: the code, with the
// back-off the server asked for, or the failure's kind.
func detailCode(ae *domain.AccessError) string {
	switch {
	case ae.Code != "" && ae.RetryAfter > 0:
		return fmt.Sprintf("%s (back off %s)", ae.Code, ae.RetryAfter)
	case ae.Code != "":
		return ae.Code
	}
	return string(ae.Kind)
}

// authDetail says who refused the credentials.
func authDetail(ae *domain.AccessError) string {
	if ae.Code == domain.AccessCodeTokenRefused {
		detail := "the token endpoint refused the app's credentials"
		if code := aadsts.FindString(ae.Err.Error()); code != "" {
			detail += " (" + code + ")"
		}
		return detail
	}
	return detailCode(ae) + ": Exchange rejected the credentials"
}

// aadsts is Entra's error code, e.g. AADSTS7000215 (invalid client secret).
var aadsts = regexp.MustCompile(`AADSTS\d+`)

// transportDetail says what stood between Mailbridge and a usable EWS
// answer.
func transportDetail(ae *domain.AccessError) string {
	if domain.TransportFailure(ae.Code) {
		// What answered instead of EWS, if anything did; the application
		// says what the code means (app.Problem).
		return ae.Detail
	}
	switch ae.Code {
	case domain.AccessCodeTLSUnknownAuthority:
		return "TLS: the server's certificate is signed by an unknown authority"
	case domain.AccessCodeTLSHostname:
		var hostErr x509.HostnameError
		if errors.As(ae.Err, &hostErr) {
			return "TLS: the server's certificate is not valid for " + hostErr.Host
		}
		return "TLS: the server's certificate is not valid for this host"
	case domain.AccessCodeTLSInvalid:
		return "TLS: the server's certificate is invalid (expired or not yet valid)"
	}
	msg := ae.Err.Error()
	if len(msg) > 300 {
		msg = msg[:300] + "..."
	}
	return msg
}

// scrub removes the credential, in every form, from text and bounds it,
// belt and braces: the EWS client already keeps it out of its errors.
func scrub(s string, c domain.Credential) string {
	return redact.ForCredential(c).Clean(s, redact.MaxDetail)
}
