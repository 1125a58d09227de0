package graphmailbox

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/graph"
)

// probe is one cheap read of an access check: the directory entry, or a
// folder standing for the permission its kind needs.
type probe struct {
	name       string // the well-known folder reported; "" for the user
	permission string // the application permission it needs
	req        func(user string) graph.BatchRequest
}

// probes are the access check's reads, one $batch for all. The inbox
// stands for every mail folder (Mail.Read covers them all); the calendar
// asks for Calendars.ReadWrite because the calendar writer needs it.
var probes = []probe{
	{"", "User.Read.All", func(u string) graph.BatchRequest {
		return graph.BatchRequest{Method: "GET", URL: graph.ItemPath("users", u) + "?" + encodeQuery("$select", "id,mail,userPrincipalName")}
	}},
	{domain.FolderInbox, "Mail.Read", func(u string) graph.BatchRequest { return folderProbe(u, domain.FolderInbox) }},
	{domain.FolderCalendar, "Calendars.ReadWrite", func(u string) graph.BatchRequest { return folderProbe(u, domain.FolderCalendar) }},
	{domain.FolderContacts, "Contacts.Read", func(u string) graph.BatchRequest { return folderProbe(u, domain.FolderContacts) }},
}

// CheckAccess implements domain.AccessChecker with one $batch: the user,
// the inbox, the calendar and the contacts. It reports Status, Mode
// (always application), the folders read and not read, and Detail (what
// Graph said, with the missing permission named); the fix hint is the
// use case's business. Throttling is reported, not waited out. The error
// is only for a failure no report can describe.
func (c *Connector) CheckAccess(ctx context.Context, t domain.Tenant, m domain.Mailbox, cred domain.Credential) (domain.AccessReport, error) {
	rep := domain.AccessReport{Mailbox: m.Address, Mode: domain.AccessApplication}
	cl, err := c.client(t, cred)
	if err != nil {
		// A credential Graph cannot use (basic, NTLM, a broken
		// certificate) is the admin's to fix, like a refused one.
		rep.Status, rep.Detail = domain.MailboxAuthFailed, scrub(err.Error(), cred)
		rep.ErrorKind, rep.Code = domain.AccessAuth, domain.AccessCodeClientConfig
		return rep, nil
	}
	reqs := make([]graph.BatchRequest, len(probes))
	for i, p := range probes {
		reqs[i] = p.req(m.Address)
	}
	resps, err := cl.Batch(ctx, m.Address, reqs)
	if err != nil {
		ae := classify(err, useCheck, "")
		rep.Status, rep.Throttled = statusOf(ae.Kind), ae.Kind == domain.AccessThrottled
		rep.Detail = scrub(detailOf(ae), cred)
		if rep.Status == domain.MailboxError && domain.TransportFailure(ae.Code) {
			// What answered instead of Graph, if anything did; the
			// application says what the code means (app.Problem).
			rep.Detail = ae.Detail
		}
		setFailure(&rep, ae)
		return rep, nil
	}
	configured := configuredProbes(t.Folders)
	var denied, missing, throttled, other []string
	var mailboxErr, firstThrottle *domain.AccessError
	for i, r := range resps {
		p := probes[i]
		err := batchErr(r)
		if err == nil {
			if p.name != "" {
				rep.ReadableFolders = append(rep.ReadableFolders, p.name)
			}
			continue
		}
		ae := classify(err, useCheck, p.name)
		switch cls := graph.Classify(err); {
		case p.name == "" && cls == graph.ClassAccessDenied:
			// No User.Read.All: the directory cannot be asked, the
			// mailbox probes still tell.
		case p.name == "" && cls == graph.ClassNotFound, cls == graph.ClassMailboxNotFound, cls == graph.ClassAuth:
			if mailboxErr == nil {
				mailboxErr = ae
				if cls == graph.ClassNotFound {
					mailboxErr.Kind = domain.AccessMailboxNotFound
				}
			}
		case cls == graph.ClassAccessDenied:
			denied = append(denied, p.name)
			if configured[p.name] {
				rep.UnreadableFolders = append(rep.UnreadableFolders, p.name)
				missing = append(missing, p.permission)
			}
		case cls == graph.ClassThrottled:
			throttled = append(throttled, cmpName(p.name))
			if firstThrottle == nil {
				firstThrottle = ae
			}
		default:
			other = append(other, cmpName(p.name)+": "+detailOf(ae))
		}
	}
	rep.Throttled = len(throttled) > 0
	var details []string
	switch {
	case mailboxErr != nil:
		rep.Status = statusOf(mailboxErr.Kind)
		details = append(details, detailOf(mailboxErr))
		setFailure(&rep, mailboxErr)
		rep.ReadableFolders, rep.UnreadableFolders = nil, nil
	case len(denied) == 3:
		// Every folder refused: RBAC for Applications leaves the mailbox
		// out of the app's scope (or the app holds no mail, calendar or
		// contacts permission at all).
		rep.Status = domain.MailboxOutOfScope
		rep.ErrorKind, rep.Code = domain.AccessOutOfScope, "ErrorAccessDenied"
		details = append(details, "ErrorAccessDenied on "+strings.Join(denied, ", ")+": the mailbox is outside the app's scope")
	case len(missing) > 0:
		rep.Status = domain.MailboxAccessDenied
		rep.ErrorKind, rep.Code = domain.AccessDenied, "ErrorAccessDenied"
		details = append(details, "ErrorAccessDenied on "+strings.Join(rep.UnreadableFolders, ", ")+": missing "+strings.Join(missing, ", "))
	case anyConfiguredReadable(rep.ReadableFolders, configured):
		rep.Status = domain.MailboxOK
	case rep.Throttled:
		rep.Status = domain.MailboxThrottled
	default:
		rep.Status = domain.MailboxError
	}
	if rep.ErrorKind == "" && firstThrottle != nil {
		setFailure(&rep, firstThrottle)
	}
	if len(throttled) > 0 {
		details = append(details, detailOf(firstThrottle)+" throttled on "+strings.Join(throttled, ", "))
	}
	if len(other) > 0 {
		details = append(details, "not checked: "+strings.Join(other, "; "))
	}
	rep.Detail = scrub(strings.Join(details, "; "), cred)
	return rep, nil
}

// setFailure records the failure behind the report's status (or, with
// status ok, behind Throttled), which the application chooses the fix
// hint by, as the EWS checker does.
func setFailure(rep *domain.AccessReport, ae *domain.AccessError) {
	rep.ErrorKind, rep.Code, rep.RetryAfterMs = ae.Kind, ae.Code, ae.RetryAfter.Milliseconds()
}

func cmpName(n string) string {
	if n == "" {
		return "user"
	}
	return n
}

// configuredProbes are the probed folders the tenant's selection needs;
// a refused folder outside it is no problem.
func configuredProbes(folders []string) map[string]bool {
	all := len(folders) == 0 || slices.Contains(folders, domain.FolderAll)
	return map[string]bool{
		domain.FolderInbox:    all || slices.ContainsFunc(folders, func(f string) bool { return f != domain.FolderCalendar && f != domain.FolderContacts }),
		domain.FolderCalendar: all || slices.Contains(folders, domain.FolderCalendar),
		domain.FolderContacts: all || slices.Contains(folders, domain.FolderContacts),
	}
}

func anyConfiguredReadable(readable []string, configured map[string]bool) bool {
	return slices.ContainsFunc(readable, func(f string) bool { return configured[f] })
}

// statusOf is the mailbox status an access check reports for a kind.
func statusOf(k domain.AccessErrorKind) domain.MailboxStatus {
	switch k {
	case domain.AccessAuth:
		return domain.MailboxAuthFailed
	case domain.AccessOutOfScope:
		return domain.MailboxOutOfScope
	case domain.AccessDenied:
		return domain.MailboxAccessDenied
	case domain.AccessMailboxNotFound:
		return domain.MailboxNotFound
	case domain.AccessThrottled:
		return domain.MailboxThrottled
	}
	return domain.MailboxError
}

// detailOf is what Graph said: the code, with the back-off when throttled.
func detailOf(ae *domain.AccessError) string {
	d := ae.Code
	if d == "" {
		d = string(ae.Kind)
	}
	if ae.RetryAfter > 0 {
		d += fmt.Sprintf(" (retry after %s)", ae.RetryAfter)
	}
	return d
}
