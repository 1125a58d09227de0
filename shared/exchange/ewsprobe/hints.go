package ewsprobe

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ews"
)

// The fix hints an Exchange admin gets. They name the cmdlets to run; the
// service account's name (never its secret) fills the -User parameters.

// exchangeOnlineHosts are the EWS hosts of Exchange Online (worldwide,
// GCC High/DoD, 21Vianet).
var exchangeOnlineHosts = []string{"outlook.office365.com", "outlook.office.com", "outlook.office365.us", "webmail.apps.mil", "partner.outlook.cn"}

func (c check) exchangeOnline() bool {
	u, err := url.Parse(c.url)
	if err != nil {
		return false
	}
	h := strings.ToLower(u.Hostname())
	for _, eo := range exchangeOnlineHosts {
		if h == eo || strings.HasSuffix(h, "."+eo) {
			return true
		}
	}
	return false
}

func (c check) oauth() bool {
	return c.cred.Kind == domain.AuthOAuthSecret || c.cred.Kind == domain.AuthOAuthCert
}

// account names the service account (or app) in hints.
func (c check) account() string {
	switch {
	case c.oauth() && c.cred.ClientID != "":
		return "the app " + c.cred.ClientID
	case c.cred.Domain != "" && c.cred.Username != "":
		return c.cred.Domain + `\` + c.cred.Username
	case c.cred.Username != "":
		return c.cred.Username
	}
	return "the service account"
}

// user is the -User value for permission cmdlets.
func (c check) user() string {
	if c.cred.Username != "" {
		return c.cred.Username
	}
	return "<service account>"
}

var aadsts = regexp.MustCompile(`AADSTS\d+`)

// authProblem explains a rejected credential per auth kind.
func (c check) authProblem(err error) (detail, hint string) {
	if c.oauth() {
		if errors.Is(err, ews.ErrAuthFailed) {
			detail = "the token endpoint refused the app's credentials"
			if code := aadsts.FindString(err.Error()); code != "" {
				detail += " (" + code + ")"
			}
			what := "client secret (not the secret's id) is current"
			if c.cred.Kind == domain.AuthOAuthCert {
				what = "certificate is the one uploaded to the app registration and not expired"
			}
			return detail, fmt.Sprintf("Check the directory (tenant) id %q, the application (client) id %q and that the %s; with a custom authority check that it is the right cloud's.",
				c.cred.EntraTenant, c.cred.ClientID, what)
		}
		return code(err) + ": Exchange refused the app's token",
			fmt.Sprintf("Grant the app %s the application permission full_access_as_app (Office 365 Exchange Online) with admin consent. "+
				"Since 2026-10-01 Exchange Online also refuses EWS to apps not on the organisation's allow list: "+
				"Set-OrganizationConfig -EwsApplicationAccessPolicy EnforceAllowList -EwsAllowList @{Add='%s'} "+
				"(and check that EWS is not disabled with -EwsEnabled $false or Set-CASMailbox -EwsEnabled $false).",
				c.cred.ClientID, c.cred.ClientID)
	}
	detail = code(err) + ": Exchange rejected the credentials of " + c.account()
	if c.exchangeOnline() {
		return detail, "Exchange Online turned Basic and NTLM authentication off for EWS (2022-12-31): use oauth (an Entra app with full_access_as_app) instead of " + string(c.cred.Kind) + "."
	}
	scheme := "Basic authentication"
	if c.cred.Kind == domain.AuthNTLM {
		scheme = "Windows (NTLM) authentication"
	}
	return detail, fmt.Sprintf("Check the password of %s (wrong or expired), whether the account is locked out "+
		"(Get-ADUser %s -Properties LockedOut), and that %s is enabled on the EWS virtual directory "+
		"(Get-WebServicesVirtualDirectory | Format-List *Authentication*).", c.account(), c.user(), scheme)
}

// scopeHint explains ErrorImpersonateUserDenied.
func (c check) scopeHint() string {
	var h string
	if c.oauth() || c.exchangeOnline() {
		h = fmt.Sprintf("Add %s to the scope %s is limited to in Exchange Online: the management scope of its RBAC for Applications assignment "+
			"(New-ManagementRoleAssignment -App %s -Role \"Application EWS.AccessAsApp\" -CustomResourceScope <scope>) "+
			"or the mail-enabled security group of its Application Access Policy (Add-DistributionGroupMember <scope group> -Member %s).",
			c.mailbox.Address, c.account(), c.cred.ClientID, c.mailbox.Address)
	} else {
		h = fmt.Sprintf("Add %s to the management scope (or the scope group) that the ApplicationImpersonation role assignment of %s is limited to "+
			"(Get-ManagementRoleAssignment -Role ApplicationImpersonation -RoleAssignee %s | Format-List CustomRecipientWriteScope).",
			c.mailbox.Address, c.account(), c.user())
	}
	if !c.tenant.AllowFallback && !c.oauth() {
		// App-only tokens need impersonation; delegate access is for
		// service accounts.
		h += " Or allow fallback to delegate access and grant the service account permission on the mailbox."
	}
	return h
}

// mailboxDeniedHint explains a mailbox none of whose folders are readable.
func (c check) mailboxDeniedHint() string {
	return fmt.Sprintf("%s has no permission on %s: grant it FullAccess (Add-MailboxPermission -Identity %s -User %s -AccessRights FullAccess -AutoMapping $false), "+
		"or share each folder to sync (Add-MailboxFolderPermission -Identity \"%s:\\Inbox\" -User %s -AccessRights Reviewer).",
		c.account(), c.mailbox.Address, c.mailbox.Address, c.user(), c.mailbox.Address, c.user())
}

// folderNames are the display names of the well-known folders, as
// Add-MailboxFolderPermission wants them (English mailbox locale).
var folderNames = map[string]string{
	domain.FolderInbox: "Inbox", domain.FolderSentItems: "Sent Items", domain.FolderCalendar: "Calendar", domain.FolderContacts: "Contacts",
}

// folderHints names each unreadable folder with the cmdlet that shares it.
func (c check) folderHints(mode domain.AccessMode, unreadable []string) []string {
	out := make([]string, 0, len(unreadable)+1)
	for _, f := range unreadable {
		name := folderNames[f]
		if name == "" {
			name = f
		}
		out = append(out, fmt.Sprintf("Folder %s is not shared with the service account: Add-MailboxFolderPermission -Identity \"%s:\\%s\" -User %s -AccessRights Reviewer.",
			f, c.mailbox.Address, name, c.user()))
	}
	if mode == domain.AccessDelegate {
		out = append(out, fmt.Sprintf("(Or grant FullAccess on the whole mailbox: Add-MailboxPermission -Identity %s -User %s -AccessRights FullAccess -AutoMapping $false.)",
			c.mailbox.Address, c.user()))
	}
	return out
}

// throttleHint explains ErrorServerBusy: not an access problem.
func (c check) throttleHint(mode domain.AccessMode, err error) string {
	wait := ""
	if d := ews.RetryAfter(err); d > 0 {
		wait = fmt.Sprintf(" after %s", d)
	}
	owner := "the mailbox's"
	if mode.Delegated() {
		owner = "the service account's (EWSMaxConcurrency 27 across all its mailboxes)"
	}
	return fmt.Sprintf("Exchange is throttling (%s budget): this is not an access failure; check again%s, and lower the tenant's concurrent jobs if it persists.", owner, wait)
}

// transportProblem explains a call that got no usable EWS answer.
func (c check) transportProblem(err error) (detail, hint string) {
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalid x509.CertificateInvalidError
	switch {
	case errors.As(err, &unknownCA):
		return "TLS: the server's certificate is signed by an unknown authority",
			"Trust the CA that issued the Exchange server's certificate (ewsctl --ca-file, or the deployment's CA bundle); TLS verification is never turned off."
	case errors.As(err, &hostErr):
		return "TLS: the server's certificate is not valid for " + hostErr.Host,
			"Use the host name the certificate was issued for in the EWS URL."
	case errors.As(err, &invalid):
		return "TLS: the server's certificate is invalid (expired or not yet valid)",
			"Renew the Exchange server's certificate."
	case errors.Is(err, ews.ErrMalformedResponse):
		return code(err) + ": the answer is not an EWS SOAP response",
			"Check that the URL is the EWS endpoint (https://<server>/EWS/Exchange.asmx) and not a login page or proxy."
	}
	var e *ews.Error
	if errors.As(err, &e) && e.HTTPStatus == 404 {
		return "HTTP 404", "The URL has no EWS endpoint: it is usually https://<server>/EWS/Exchange.asmx."
	}
	msg := err.Error()
	if len(msg) > 300 {
		msg = msg[:300] + "..."
	}
	if ews.Classify(err) == ews.ClassTransient {
		return msg, "Exchange could not be reached or answered with a temporary error: check the URL, DNS and firewall (Exchange must be reachable from Mailbridge's egress addresses), then check again."
	}
	return msg, "Exchange refused the request; run `ewsctl probe --trace DIR` and read the saved exchange."
}
