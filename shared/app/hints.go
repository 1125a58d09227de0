package app

// hints.go is the one source of fix-hint text: what an Exchange admin
// reads on a mailbox (Mailbox.Hint) and in an access report
// (AccessReport.Hint), written from the domain outcome of a sync or an
// access check. Hints name the cmdlets or API calls to run; the service
// account's name (never its secret) fills the -User parameters.

import (
	"fmt"
	"strings"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// HintFacts are what a fix hint is written from.
type HintFacts struct {
	Status domain.MailboxStatus // the outcome
	// Kind, Code and RetryAfter describe the failure behind Status (or, with
	// Status ok, behind Throttled); empty when there was none. Kind tells a
	// temporary error from a refusal; Code is the server's code or the
	// transport problem's (domain.AccessCode...).
	Kind       domain.AccessErrorKind
	Code       string
	RetryAfter time.Duration
	Throttled  bool              // some answers were throttled although Status is not
	Mode       domain.AccessMode // the mode tried, or the one that worked
	// FellBack: impersonation was refused and delegate access worked.
	FellBack      bool
	AllowFallback bool     // the tenant allows the fallback from impersonation to delegate access
	Folder        string   // the folder an access error concerns, if any
	Unreadable    []string // folders not shared with the service account
	Mailbox       string
	URL           string  // the EWS endpoint: Exchange Online or on-premises
	Account       Account // who tried; zero names "the service account"
	// TenantID names the API calls that fix a problem; empty outside the
	// API (ewsctl).
	TenantID string
	// Protocol is how the mailbox was reached; empty: EWS.
	Protocol domain.Protocol
	// Detail describes an answer that was not the protocol's (its content
	// type, an HTML page's title): domain.AccessError.Detail.
	Detail string
}

// Account names the service account or app in hints, never its secret.
type Account struct {
	Kind        domain.AuthKind
	Username    string
	Domain      string // NTLM domain
	ClientID    string // OAuth app
	EntraTenant string
}

// AccountOf is the naming part of a credential.
func AccountOf(c domain.Credential) Account {
	return Account{Kind: c.Kind, Username: c.Username, Domain: c.Domain, ClientID: c.ClientID, EntraTenant: c.EntraTenant}
}

// ReportHint is the hint for an access check's report on mailbox m of
// tenant t, checked with credential c.
func ReportHint(t domain.Tenant, m domain.Mailbox, c domain.Credential, rep domain.AccessReport) string {
	u := m.EWSURL
	if u == "" {
		u = t.EWSURL
	}
	return Hint(HintFacts{
		Status: rep.Status, Kind: rep.ErrorKind, Code: rep.Code, RetryAfter: time.Duration(rep.RetryAfterMs) * time.Millisecond,
		Throttled: rep.Throttled, Mode: rep.Mode, FellBack: rep.FellBack, AllowFallback: t.AllowFallback,
		Unreadable: rep.UnreadableFolders, Mailbox: cmpOr(rep.Mailbox, m.Address), URL: u, Account: AccountOf(c), TenantID: t.ID,
		Protocol: t.ProtocolOf(),
	})
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// checkIncompleteHint is the hint for an access check that could not run
// at all (its cause is logged, not shown).
const checkIncompleteHint = "check that the EWS URL is reachable from Mailbridge and retry; the logs carry the cause under this request's id"

// Hint is the fix for an outcome, "" when there is nothing to fix.
func Hint(f HintFacts) string {
	var parts []string
	switch f.Status {
	case domain.MailboxOK:
		if len(f.Unreadable) > 0 {
			parts = append(parts, f.folderHints()...)
		}
	case domain.MailboxAccessDenied:
		parts = append(parts, f.mailboxDeniedHint())
	case domain.MailboxOutOfScope:
		parts = append(parts, f.scopeHint())
	case domain.MailboxNotFound:
		parts = append(parts, f.notFoundHint())
	case domain.MailboxAuthFailed:
		parts = append(parts, f.authHint())
	case domain.MailboxThrottled:
		parts = append(parts, f.throttleHint())
	case domain.MailboxError:
		parts = append(parts, f.errorHint())
	}
	if f.Throttled && (f.Status == domain.MailboxOK || f.Status == domain.MailboxAccessDenied) {
		parts = append(parts, f.throttleHint())
	}
	if f.FellBack {
		parts = append(parts, "Impersonation is refused for this mailbox, so it is read with delegate access, which charges every call to the service account's throttling budget; to use impersonation again, "+
			lowerFirst(f.scopeHint()))
	}
	return strings.Join(parts, " ")
}

func (f HintFacts) exchangeOnline() bool { return IsExchangeOnline(f.URL) }

func (f HintFacts) graph() bool { return f.Protocol == domain.ProtocolGraph }

func (f HintFacts) oauth() bool {
	return f.Account.Kind == domain.AuthOAuthSecret || f.Account.Kind == domain.AuthOAuthCert
}

// account names the service account (or app).
func (f HintFacts) account() string {
	a := f.Account
	switch {
	case f.oauth() && a.ClientID != "":
		return "the app " + a.ClientID
	case a.Domain != "" && a.Username != "":
		return a.Domain + `\` + a.Username
	case a.Username != "":
		return a.Username
	}
	return "the service account"
}

// user is the -User value for permission cmdlets.
func (f HintFacts) user() string {
	if f.Account.Username != "" {
		return f.Account.Username
	}
	return "<service account>"
}

// storeCredentials is how corrected credentials reach Mailbridge.
func (f HintFacts) storeCredentials() string {
	if f.TenantID == "" {
		return ""
	}
	return fmt.Sprintf(" Then store the corrected credentials with PUT /tenants/%s/credentials.", f.TenantID)
}

// authHint explains rejected credentials per auth kind.
func (f HintFacts) authHint() string {
	if f.Code == domain.AccessCodeNoStoredCredentials {
		if f.TenantID == "" {
			return "No credentials are stored for the tenant."
		}
		return fmt.Sprintf("No credentials are stored for the tenant: store them with PUT /tenants/%s/credentials.", f.TenantID)
	}
	a := f.Account
	if f.graph() && f.Code != domain.AccessCodeTokenRefused {
		return fmt.Sprintf("Microsoft Graph refused the app %s's token: check that the app registration still exists in the directory %q and holds Microsoft Graph application permissions "+
			"(Mail.Read, Calendars.ReadWrite, Contacts.Read) with admin consent, or that they are assigned through RBAC for Applications (see docs/graph.md).",
			cmpOr(a.ClientID, "<app id>"), a.EntraTenant) + f.storeCredentials()
	}
	if f.oauth() {
		if f.Code == domain.AccessCodeTokenRefused {
			what := "client secret (not the secret's id) is current"
			if a.Kind == domain.AuthOAuthCert {
				what = "certificate is the one uploaded to the app registration and not expired"
			}
			return fmt.Sprintf("Check the directory (tenant) id %q, the application (client) id %q and that the %s; with a custom authority check that it is the right cloud's.",
				a.EntraTenant, a.ClientID, what) + f.storeCredentials()
		}
		return fmt.Sprintf("Grant the app %s the application permission full_access_as_app (Office 365 Exchange Online) with admin consent. "+
			"Since 2026-10-01 Exchange Online also refuses EWS to apps not on the organisation's app allow list: "+
			"Set-OrganizationConfig -EwsEnabled $true -EwsAllowedAppIDs @{Add='%s'} "+
			"(and check that Set-CASMailbox has not disabled EWS for the mailbox). EWS ends on %s: switching the tenant to Microsoft Graph avoids both (docs/graph.md).",
			a.ClientID, a.ClientID, domain.EWSCutoff.Format(time.DateOnly))
	}
	if f.exchangeOnline() {
		kind := string(a.Kind)
		if kind == "" {
			kind = "basic or ntlm"
		}
		return "Exchange Online turned Basic and NTLM authentication off for EWS (2022-12-31): use oauth (an Entra app with full_access_as_app) instead of " + kind + "." + f.storeCredentials()
	}
	scheme := "Basic authentication"
	if a.Kind == domain.AuthNTLM {
		scheme = "Windows (NTLM) authentication"
	}
	return fmt.Sprintf("Check the password of %s (wrong or expired), whether the account is locked out "+
		"(Get-ADUser %s -Properties LockedOut), and that %s is enabled on the EWS virtual directory "+
		"(Get-WebServicesVirtualDirectory | Format-List *Authentication*).", f.account(), f.user(), scheme) + f.storeCredentials()
}

// scopeHint explains ErrorImpersonateUserDenied.
func (f HintFacts) scopeHint() string {
	var h string
	if f.graph() {
		app := cmpOr(f.Account.ClientID, "<app id>")
		return fmt.Sprintf("The app %s may not access %s: RBAC for Applications limits it to a management scope. Add the mailbox to the scope "+
			"(for a scope on a group: Add-DistributionGroupMember <group> -Member %s; or widen it: New-ManagementScope -Name Mailbridge -RecipientRestrictionFilter \"...\"), "+
			"make sure the roles are assigned with it (New-ManagementRoleAssignment -App %s -Role \"Application Mail.Read\" -CustomResourceScope Mailbridge, likewise "+
			"\"Application Calendars.ReadWrite\" and \"Application Contacts.Read\"), and check with Test-ServicePrincipalAuthorization -Identity %s -Resource %s.",
			app, f.Mailbox, f.Mailbox, app, app, f.Mailbox)
	}
	if f.oauth() || f.exchangeOnline() {
		h = fmt.Sprintf("Add %s to the scope %s is limited to in Exchange Online: the management scope of its RBAC for Applications assignment "+
			"(New-ManagementRoleAssignment -App %s -Role \"Application EWS.AccessAsApp\" -CustomResourceScope <scope>) "+
			"or the mail-enabled security group of its Application Access Policy (Add-DistributionGroupMember <scope group> -Member %s).",
			f.Mailbox, f.account(), cmpOr(f.Account.ClientID, "<app id>"), f.Mailbox)
	} else {
		h = fmt.Sprintf("Add %s to the management scope (or the scope group) that the ApplicationImpersonation role assignment of %s is limited to "+
			"(Get-ManagementRoleAssignment -Role ApplicationImpersonation -RoleAssignee %s | Format-List CustomRecipientWriteScope).",
			f.Mailbox, f.account(), f.user())
	}
	if !f.AllowFallback && !f.FellBack && !f.oauth() {
		// App-only tokens need impersonation; delegate access is for
		// service accounts.
		h += " Or allow fallback to delegate access and grant the service account permission on the mailbox."
	}
	return h
}

// notFoundHint explains ErrorNonExistentMailbox.
func (f HintFacts) notFoundHint() string {
	if f.graph() {
		h := fmt.Sprintf("Exchange Online has no mailbox %s for Microsoft Graph: check the primary SMTP address; a mailbox still on Exchange Server on-premises (hybrid; Graph answers MailboxNotEnabledForRESTAPI) is only reachable over EWS.", f.Mailbox)
		if f.TenantID != "" {
			h += fmt.Sprintf(" If it is gone for good, remove it with DELETE /tenants/%s/mailboxes/%s.", f.TenantID, f.Mailbox)
		}
		return h
	}
	h := fmt.Sprintf("Exchange has no mailbox %s: check the primary SMTP address, and whether the mailbox lives on another Exchange server (then give the mailbox its own EWS URL).", f.Mailbox)
	if f.TenantID != "" {
		h += fmt.Sprintf(" If it is gone for good, remove it with DELETE /tenants/%s/mailboxes/%s.", f.TenantID, f.Mailbox)
	}
	return h
}

// folderNames are the display names of the well-known folders, as
// Add-MailboxFolderPermission wants them (English mailbox locale).
var folderNames = map[string]string{
	domain.FolderInbox: "Inbox", domain.FolderSentItems: "Sent Items", domain.FolderCalendar: "Calendar", domain.FolderContacts: "Contacts",
}

func folderName(f string) string {
	if n := folderNames[f]; n != "" {
		return n
	}
	return f
}

// mailboxDeniedHint explains a mailbox none of whose folders are readable.
func (f HintFacts) mailboxDeniedHint() string {
	if f.graph() {
		app := cmpOr(f.Account.ClientID, "<app id>")
		what := "a Microsoft Graph application permission"
		if p := graphPermissionFor(f.Folder); p != "" {
			what = "the Microsoft Graph application permission " + p
		}
		return fmt.Sprintf("The app %s lacks %s for %s: assign it through RBAC for Applications "+
			"(New-ManagementRoleAssignment -App %s -Role \"Application %s\" -CustomResourceScope <scope>) or grant it in the app registration with admin consent; "+
			"check with Test-ServicePrincipalAuthorization -Identity %s -Resource %s.",
			app, what, f.Mailbox, app, cmpOr(graphPermissionFor(f.Folder), "Mail.Read"), app, f.Mailbox)
	}
	example := "Inbox"
	if len(f.Unreadable) > 0 {
		example = folderName(f.Unreadable[0])
	} else if f.Folder != "" {
		example = folderName(f.Folder)
	}
	return fmt.Sprintf("%s has no permission on %s: grant it FullAccess (Add-MailboxPermission -Identity %s -User %s -AccessRights FullAccess -AutoMapping $false), "+
		"or share each folder to sync (Add-MailboxFolderPermission -Identity \"%s:\\%s\" -User %s -AccessRights Reviewer).",
		f.account(), f.Mailbox, f.Mailbox, f.user(), f.Mailbox, example, f.user())
}

// folderHints names each unreadable folder with the cmdlet that shares it.
func (f HintFacts) folderHints() []string {
	out := make([]string, 0, len(f.Unreadable)+2)
	for _, name := range f.Unreadable {
		out = append(out, fmt.Sprintf("Folder %s is not shared with the service account: Add-MailboxFolderPermission -Identity \"%s:\\%s\" -User %s -AccessRights Reviewer.",
			name, f.Mailbox, folderName(name), f.user()))
	}
	if f.Mode == domain.AccessDelegate {
		out = append(out, fmt.Sprintf("(Or grant FullAccess on the whole mailbox: Add-MailboxPermission -Identity %s -User %s -AccessRights FullAccess -AutoMapping $false.)",
			f.Mailbox, f.user()))
	}
	return append(out, "A folder is synced from scratch once it is readable.")
}

// graphPermissionFor is the Graph application permission reading a
// folder of this kind needs ("" when the folder does not say).
func graphPermissionFor(folder string) string {
	switch folder {
	case domain.FolderCalendar:
		return "Calendars.ReadWrite"
	case domain.FolderContacts:
		return "Contacts.Read"
	case domain.FolderInbox, domain.FolderSentItems:
		return "Mail.Read"
	}
	return ""
}

// throttleHint explains ErrorServerBusy: not an access problem.
func (f HintFacts) throttleHint() string {
	if f.Code == "HTTP 503" || strings.EqualFold(f.Code, "serviceNotAvailable") {
		wait := "after a minute"
		if f.RetryAfter > 0 {
			wait = fmt.Sprintf("after the %s it asked for (Retry-After)", f.RetryAfter)
		}
		return fmt.Sprintf("%s answered 503 Service Unavailable: it is overloaded or restarting, or a load balancer in front of it has no healthy server. "+
			"This is not an access failure; the sync resumes %s where it stopped. If it lasts, check the servers' health and the load balancer's pool.", f.service(), wait)
	}
	if f.graph() {
		wait := ""
		if f.RetryAfter > 0 {
			wait = fmt.Sprintf(" after %s", f.RetryAfter)
		}
		return fmt.Sprintf("Microsoft Graph is throttling the app on this mailbox (4 concurrent requests, 10,000 per 10 minutes): this is not an access failure; the sync resumes%s.", wait)
	}
	wait := ""
	if f.RetryAfter > 0 {
		wait = fmt.Sprintf(" after %s", f.RetryAfter)
	}
	owner := "the mailbox's"
	if f.Mode.Delegated() {
		owner = "the service account's (EWSMaxConcurrency 27 across all its mailboxes)"
	}
	return fmt.Sprintf("Exchange is throttling (%s budget): this is not an access failure; check again%s, and lower the tenant's concurrent jobs if it persists.", owner, wait)
}

// errorHint explains a failure that is no access problem: a call that got
// no usable EWS answer, or one Exchange refused.
func (f HintFacts) errorHint() string {
	switch f.Code {
	case CodeEWSRetired:
		h := "Exchange Online turned EWS off on " + domain.EWSCutoff.Format(time.DateOnly) + ": switch the tenant to Microsoft Graph"
		if f.TenantID != "" {
			h += fmt.Sprintf(" (PATCH /tenants/%s {\"protocol\": \"graph\"})", f.TenantID)
		}
		return h + " after granting the app the Graph permissions in docs/graph.md."
	case domain.AccessCodeTLSUnknownAuthority:
		return "Trust the CA that issued the Exchange server's certificate (ewsctl --ca-file, or the deployment's CA bundle); TLS verification is never turned off."
	case domain.AccessCodeTLSHostname:
		return "Use the host name the certificate was issued for in the EWS URL."
	case domain.AccessCodeTLSInvalid:
		return "Renew the Exchange server's certificate."
	case domain.AccessCodeHTMLPage:
		if f.graph() {
			return "Something other than Microsoft Graph answered: a proxy or TLS-inspecting gateway between Mailbridge and Microsoft 365. Check the tenant's Graph URL " +
				"(https://graph.microsoft.com/v1.0) and let Mailbridge's egress reach graph.microsoft.com and login.microsoftonline.com without a sign-in page or content filtering."
		}
		return "Something other than EWS answered: a login page (a reverse proxy or SSO gateway that wants a browser sign-in, such as AD FS or a WAF) or a proxy's error page. " +
			"Check that the EWS URL is the EWS endpoint (https://<server>/EWS/Exchange.asmx) and that requests to /EWS/ reach Exchange without pre-authentication at the proxy, then check again."
	case domain.AccessCodeNotSOAP:
		return "Check that the URL is the EWS endpoint (https://<server>/EWS/Exchange.asmx) and not another service: the answer was no EWS SOAP response."
	case domain.AccessCodeNotJSON:
		return "Check the tenant's Graph URL (https://graph.microsoft.com/v1.0) and any proxy between Mailbridge and it: the answer was not Microsoft Graph's JSON."
	case domain.AccessCodeEmptyBody:
		return fmt.Sprintf("An empty answer usually comes from a proxy or load balancer that lost its connection to %s, or from a server under strain: "+
			"check the proxy's logs and the server's health%s. The sync resumes where it stopped once answers are whole; nothing is lost.", f.service(), f.serverHealth())
	case domain.AccessCodeTruncated:
		return fmt.Sprintf("The answer was cut off on its way: check the proxy, load balancer or firewall between Mailbridge and %s (idle and response timeouts, "+
			"maximum response size, connection resets). The sync resumes where it stopped; nothing is lost.", f.service())
	case domain.AccessCodeBadEncoding:
		return fmt.Sprintf("A proxy between Mailbridge and %s alters compressed answers: turn off its compression or content rewriting for that traffic.", f.service())
	case domain.AccessCodeTimeout:
		return fmt.Sprintf("%s answered too slowly or not at all: check the server's load and health%s, and that no proxy or firewall on the way holds connections open "+
			"without answering. The sync resumes where it stopped; nothing is lost.", f.service(), f.serverHealth())
	case "HTTP 502", "HTTP 504":
		if f.graph() {
			return "A proxy or gateway between Mailbridge and Microsoft Graph answered " + f.Code + ": it got no answer from Microsoft 365. " +
				"Check the proxy's logs and Service health in the Microsoft 365 admin center; the sync tries again."
		}
		return fmt.Sprintf("A proxy or load balancer in front of Exchange answered %s: it could not get an answer from the server behind it. "+
			"Check that the Exchange servers behind it are up and answer https://<server>/EWS/Exchange.asmx from the proxy, then check again.", f.Code)
	case "HTTP 500":
		if f.graph() {
			return "Microsoft Graph failed with an internal error and no explanation: check Service health in the Microsoft 365 admin center; the sync tries again."
		}
		return "Exchange failed with an internal error and no SOAP fault: check the server's Application event log and EWS logs (the MSExchangeServicesAppPool application pool in IIS); the sync tries again."
	case "HTTP 404":
		if f.graph() {
			return "The URL has no Microsoft Graph endpoint: the tenant's Graph URL is usually https://graph.microsoft.com/v1.0."
		}
		return "The URL has no EWS endpoint: it is usually https://<server>/EWS/Exchange.asmx."
	case domain.AccessCodeAddressRefused:
		return "The EWS URL leads to an address this deployment may not call (loopback, link-local, cloud metadata, or a private range it does not allow): " +
			"use the server's public name, or, for on-premises Exchange over a VPN, have the operator allow that private range."
	case domain.AccessCodeClientConfig:
		h := "Mailbridge cannot build an EWS client from the tenant's settings: check its EWS URL, Exchange version and credential kind"
		if f.TenantID != "" {
			h += fmt.Sprintf(" (PATCH /tenants/%s, PUT /tenants/%s/credentials)", f.TenantID, f.TenantID)
		}
		return h + "."
	}
	if f.Kind == domain.AccessTransient {
		return fmt.Sprintf("%s could not be reached or answered with a temporary error: check the URL, DNS and firewall (%s must be reachable from Mailbridge's egress addresses), then check again.",
			f.service(), f.service())
	}
	h := "Exchange refused the request"
	if f.Code != "" {
		h += " (" + f.Code + ")"
	}
	if f.Folder != "" {
		h += " on folder " + f.Folder
	}
	h += "; run `ewsctl probe --trace DIR` and read the saved exchange"
	if f.TenantID != "" {
		h += fmt.Sprintf(", then check again with POST /tenants/%s/verify?mailbox=%s", f.TenantID, f.Mailbox)
	}
	return h + "."
}

// service names what Mailbridge talks to.
func (f HintFacts) service() string {
	if f.graph() {
		return "Microsoft Graph"
	}
	return "Exchange"
}

// serverHealth names where an on-premises Exchange server's health shows.
func (f HintFacts) serverHealth() string {
	if f.graph() || f.exchangeOnline() {
		return " (Microsoft 365 admin center, Service health)"
	}
	return " (Event Viewer, the MSExchangeServicesAppPool application pool in IIS)"
}

// ReportDetail is an access report's detail as an admin reads it: when no
// usable answer came (domain.TransportFailure), the words a failed sync
// uses (Problem), with what answered instead as the checker saw it;
// otherwise the checker's own detail.
func ReportDetail(t domain.Tenant, rep domain.AccessReport) string {
	if rep.Status != domain.MailboxError || !domain.TransportFailure(rep.Code) {
		return rep.Detail
	}
	return Problem(HintFacts{Status: rep.Status, Kind: rep.ErrorKind, Code: rep.Code, Detail: rep.Detail, Protocol: t.ProtocolOf()})
}

// Problem is what went wrong, for a mailbox's lastError: the server's own
// code when it gave one (ErrorServerBusy, ErrorAccessDenied: the words an
// Exchange admin looks up), else the code of what stood between Mailbridge
// and a usable answer, followed by what it means in words. f.Code empty: a
// failure nobody named.
func Problem(f HintFacts) string {
	svc := f.service()
	proto := "SOAP"
	if f.graph() {
		proto = "JSON"
	}
	var what string
	switch f.Code {
	case domain.AccessCodeHTMLPage:
		what = fmt.Sprintf("%s answered with an HTML page (a login page or a proxy's error page), not %s", svc, proto)
	case domain.AccessCodeNotSOAP:
		what = "the answer is not an EWS SOAP response"
	case domain.AccessCodeNotJSON:
		what = "the answer is not Microsoft Graph's JSON"
	case domain.AccessCodeEmptyBody:
		what = svc + " answered with an empty body"
	case domain.AccessCodeTruncated:
		what = svc + "'s answer stopped mid-way (the connection was cut or the document is incomplete)"
	case domain.AccessCodeBadEncoding:
		what = svc + "'s answer was compressed but could not be decompressed"
	case domain.AccessCodeTimeout:
		what = svc + " did not answer in time"
	case domain.AccessCodeConnection:
		what = "no connection to " + svc + ", or it broke before an answer"
	case "":
		if f.Kind == domain.AccessTransient || f.Kind == domain.AccessThrottled {
			return "ExchangeUnreachable: no usable answer from " + svc
		}
		return ""
	default:
		status, ok := strings.CutPrefix(f.Code, "HTTP ")
		if !ok {
			return f.Code
		}
		what = httpProblem(svc, status)
	}
	if f.RetryAfter > 0 && f.Status == domain.MailboxThrottled {
		what += fmt.Sprintf("; it asked to wait %s", f.RetryAfter)
	}
	if f.Detail != "" {
		what += " (" + f.Detail + ")"
	}
	return f.Code + ": " + what
}

// httpProblem says what an HTTP status without the protocol's own error
// means.
func httpProblem(svc, status string) string {
	switch status {
	case "401", "403":
		return svc + " rejected the credentials"
	case "404":
		return "no " + svc + " endpoint at the URL"
	case "429":
		return svc + " is throttling: too many requests"
	case "500":
		return svc + " failed with an internal error"
	case "502", "504":
		return "a proxy or load balancer in front of " + svc + " got no answer from the server behind it"
	case "503":
		return svc + " is unavailable (overloaded, restarting, or no healthy server behind a load balancer)"
	}
	return svc + " answered with an unexpected HTTP status"
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// RotatedRecheckHint is the hint of a mailbox whose access failed with the
// old credentials, set back to pending by a rotation until its next sync
// tries the new ones.
func RotatedRecheckHint(tenantID, address string) string {
	return "The tenant's credentials were rotated after this mailbox's login failed; its next sync checks it with the new credentials (or check now with POST /tenants/" +
		tenantID + "/verify?mailbox=" + address + ")."
}

// NoProbeHint is the onboarding check's hint when there was no mailbox to
// check the credentials on.
const NoProbeHint = "The credentials were not checked: name a probeMailbox on create (or add mailboxes and run POST /tenants/{id}/verify) to learn at once whether Exchange accepts them."
