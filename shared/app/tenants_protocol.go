package app

import (
	"net/url"
	"strings"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// This file owns the rules that tie a tenant's protocol (EWS or Microsoft
// Graph) to its other settings: which protocol a new tenant gets when it
// names none, which access modes and credentials each protocol takes, and
// which Graph endpoint belongs to which Exchange Online cloud.

// exchangeOnlineClouds maps the EWS host of each Exchange Online cloud to
// that cloud's Graph endpoint.
var exchangeOnlineClouds = map[string]string{
	"outlook.office365.com": domain.DefaultGraphURL, // worldwide
	"outlook.office.com":    domain.DefaultGraphURL,
	"outlook.office365.us":  "https://graph.microsoft.us/v1.0",              // US Government GCC High
	"webmail.apps.mil":      "https://dod-graph.microsoft.us/v1.0",          // US Government DoD
	"partner.outlook.cn":    "https://microsoftgraph.chinacloudapi.cn/v1.0", // operated by 21Vianet
}

// IsExchangeOnline reports whether an EWS URL points at Exchange Online,
// which turns EWS off for good on domain.EWSCutoff.
func IsExchangeOnline(ewsURL string) bool { return cloudOf(ewsURL) != "" }

// cloudOf is the Exchange Online EWS host ewsURL belongs to (the host or a
// subdomain of it), "" for on-premises.
func cloudOf(ewsURL string) string {
	h := hostOf(ewsURL)
	for eo := range exchangeOnlineClouds {
		if h == eo || strings.HasSuffix(h, "."+eo) {
			return eo
		}
	}
	return ""
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
}

// DefaultProtocol is the protocol of a new tenant that names none: Graph
// for an Entra app on Exchange Online (or with no EWS URL at all), EWS
// otherwise: Exchange Server on-premises has no Graph, and Graph accepts
// no basic or NTLM auth.
func DefaultProtocol(ewsURL string, auth domain.AuthKind) domain.Protocol {
	oauth := auth == domain.AuthOAuthSecret || auth == domain.AuthOAuthCert
	if oauth && (ewsURL == "" || IsExchangeOnline(ewsURL)) {
		return domain.ProtocolGraph
	}
	return domain.ProtocolEWS
}

// idFormatFor is the id format a tenant onboarded on protocol p carries
// for its life.
func idFormatFor(p domain.Protocol) domain.IDFormat {
	if p == domain.ProtocolGraph {
		return domain.IDFormatGraph
	}
	return domain.IDFormatEWS
}

// defaultGraphURL is the Graph endpoint of the cloud ewsURL belongs to;
// empty (domain.DefaultGraphURL) for the worldwide cloud and on-premises.
func defaultGraphURL(ewsURL string) string {
	if g := exchangeOnlineClouds[cloudOf(ewsURL)]; g != domain.DefaultGraphURL {
		return g
	}
	return ""
}

// validateProtocol checks and completes the protocol-dependent settings of
// t. modeGiven says whether the caller named the access mode: when it did
// not (a new tenant, or a PATCH that only switches protocol), the
// protocol's default mode is taken, so switching needs one field.
func validateProtocol(t *domain.Tenant, modeGiven bool) *domain.Error {
	if t.Protocol == "" {
		t.Protocol = DefaultProtocol(t.EWSURL, t.AuthKind)
	}
	if !t.Protocol.Valid() {
		return domain.Invalid("protocol", "must be ews or graph")
	}
	switch t.ProtocolOf() {
	case domain.ProtocolGraph:
		if !modeGiven || t.AccessMode == "" {
			t.AccessMode = domain.AccessApplication
		}
		if t.AccessMode != domain.AccessApplication {
			return domain.Invalid("accessMode", "graph tenants use application access (an Entra app scoped by RBAC for Applications); impersonation and delegate access are EWS modes")
		}
		if t.AllowFallback {
			return domain.Invalid("allowFallback", "graph tenants have no fallback: application access has one mode")
		}
		if t.AuthKind != domain.AuthOAuthSecret && t.AuthKind != domain.AuthOAuthCert {
			return domain.Invalid("credentials.kind", "graph tenants authenticate as an Entra app: use oauth_secret or oauth_cert (Graph accepts no basic or NTLM auth)")
		}
	case domain.ProtocolEWS:
		// A switch back from Graph that names no mode leaves application
		// access behind.
		if t.AccessMode == "" || (!modeGiven && t.AccessMode == domain.AccessApplication) {
			t.AccessMode = domain.AccessImpersonation
		}
		if t.AccessMode == domain.AccessApplication {
			return domain.Invalid("accessMode", "application access is for graph tenants; EWS tenants use impersonation, delegate or folder-delegate")
		}
		if t.EWSURL == "" {
			return domain.Invalid("ewsUrl", "ewsUrl is required for ews tenants")
		}
	}
	return nil
}

// validateMailboxMode checks a mailbox's access mode override against its
// tenant's protocol.
func validateMailboxMode(t domain.Tenant, m domain.AccessMode) *domain.Error {
	if m == "" {
		return nil
	}
	if t.ProtocolOf() == domain.ProtocolGraph {
		return domain.Invalid("accessMode", "graph tenants use application access for every mailbox; leave accessMode out")
	}
	if m == domain.AccessApplication {
		return domain.Invalid("accessMode", "application access is for graph tenants; use impersonation, delegate or folder-delegate")
	}
	return validateAccessMode("accessMode", m)
}
