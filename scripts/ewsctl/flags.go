package main

import (
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strings"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ews"
	"github.com/mailbridge/mailbridge/shared/exchange/ewsmailbox"
	"github.com/mailbridge/mailbridge/shared/exchange/graphmailbox"
	"github.com/mailbridge/mailbridge/shared/platform/urlguard"
)

// Environment variables that carry secrets, so they stay out of the
// process list and the shell history.
const (
	envPassword     = "EWS_PASSWORD"
	envClientSecret = "EWS_CLIENT_SECRET"
)

// connFlags are the flags shared by the commands that talk to Exchange.
type connFlags struct {
	protocol     string
	graphURL     string
	url          string
	auth         string
	username     string
	password     string
	tenantID     string
	clientID     string
	clientSecret string
	certFile     string
	keyFile      string
	caFile       string
	authority    string
	version      string
	mailbox      string
	mode         string
	trace        string
}

func (c *connFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.protocol, "protocol", string(domain.ProtocolEWS), "ews, or graph (Microsoft Graph, Exchange Online; an Entra app with --auth oauth)")
	fs.StringVar(&c.graphURL, "graph-url", domain.DefaultGraphURL, "graph: the Graph endpoint (national clouds, or the simulator's Graph URL)")
	fs.StringVar(&c.url, "url", "", "EWS endpoint, e.g. https://mail.contoso.com/EWS/Exchange.asmx (required for ews)")
	fs.StringVar(&c.auth, "auth", "", "authentication: basic (ews default), ntlm or oauth (graph: the only one, default)")
	fs.StringVar(&c.username, "username", "", "service account for basic/ntlm: user@domain or DOMAIN\\user")
	fs.StringVar(&c.password, "password", "", "service account password (prefer the "+envPassword+" environment variable)")
	fs.StringVar(&c.tenantID, "tenant-id", "", "oauth: Entra directory (tenant) id or domain")
	fs.StringVar(&c.clientID, "client-id", "", "oauth: application (client) id")
	fs.StringVar(&c.clientSecret, "client-secret", "", "oauth: client secret (prefer the "+envClientSecret+" environment variable)")
	fs.StringVar(&c.certFile, "cert", "", "oauth: PEM file with the app's certificate (certificate credential)")
	fs.StringVar(&c.keyFile, "key", "", "oauth: PEM file with the certificate's unencrypted private key")
	fs.StringVar(&c.caFile, "ca-file", "", "PEM file with extra CA certificates to trust (private CA, ewsctl sim --tls)")
	fs.StringVar(&c.authority, "authority", "", "oauth: authority URL without the tenant (default https://login.microsoftonline.com; the simulator's URL for ewsctl sim)")
	fs.StringVar(&c.version, "version", ews.DefaultVersion, "RequestServerVersion, e.g. Exchange2013_SP1, Exchange2016")
	fs.StringVar(&c.mailbox, "mailbox", "", "primary SMTP address of the mailbox (required)")
	fs.StringVar(&c.mode, "mode", "", "ews access mode: impersonation (default), delegate or folder-delegate; graph: application (the only one)")
	fs.StringVar(&c.trace, "trace", "", "write every EWS request and response to this directory (credentials redacted; bodies hold mailbox content)")
}

// target is what the flags describe: a tenant, a mailbox and a credential,
// in the shapes Mailbridge itself uses.
type target struct {
	tenant  domain.Tenant
	mailbox domain.Mailbox
	cred    domain.Credential
	roots   *x509.CertPool
	warn    []string
}

// operatorGuard is ewsctl's URL guard. The operator names the server
// from a shell, often an on-premises one on a private network or a local
// simulator, so every address is allowed except the cloud metadata
// service, which holds the credentials of the machine ewsctl runs on.
var operatorGuard = &urlguard.Policy{DevLoopback: true, AllowedPrivate: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")}}

// clientOptions prints the target's warnings and returns the EWS client
// options for it, tracing to --trace when given.
func (c *connFlags) clientOptions(t *target, e env) (ewsmailbox.Options, error) {
	for _, w := range t.warn {
		fmt.Fprintln(e.stderr, "warning:", w)
	}
	if t.graph() && c.trace != "" {
		return ewsmailbox.Options{}, usageErr("--trace records EWS exchanges; it is not available with --protocol graph")
	}
	opts := ewsmailbox.Options{RootCAs: t.roots, UserAgent: "ewsctl", URLGuard: operatorGuard}
	if c.trace != "" {
		tr, err := ews.NewTracer(c.trace)
		if err != nil {
			return opts, err
		}
		opts.Trace = tr
		fmt.Fprintf(e.stderr, "tracing every EWS call to %s\n", tr.Dir())
	}
	return opts, nil
}

// graph reports whether the target is reached over Microsoft Graph.
func (t *target) graph() bool { return t.tenant.ProtocolOf() == domain.ProtocolGraph }

// graphConnector is the Graph adapter for the target: ewsctl's guard, the
// --ca-file roots.
func (t *target) graphConnector() *graphmailbox.Connector {
	return graphmailbox.NewConnector(graphmailbox.Options{URLGuard: operatorGuard, RootCAs: t.roots, UserAgent: "ewsctl"})
}

// resolve checks the flags and reads the files and environment they name.
// Errors never quote a secret.
func (c *connFlags) resolve(getenv func(string) string) (*target, error) {
	t := &target{}
	protocol := domain.Protocol(c.protocol)
	if !protocol.Valid() {
		return nil, usageErr("--protocol must be ews or graph, not %q", c.protocol)
	}
	endpoint, label := c.url, "--url"
	if protocol == domain.ProtocolGraph {
		if c.url != "" {
			return nil, usageErr("--url is the EWS endpoint; with --protocol graph give --graph-url")
		}
		endpoint, label = c.graphURL, "--graph-url"
		if c.auth == "" {
			c.auth = "oauth"
		}
		if c.auth != "oauth" {
			return nil, usageErr("--protocol graph takes --auth oauth (an Entra app); Graph accepts no basic or NTLM auth")
		}
	} else if c.graphURL != domain.DefaultGraphURL {
		return nil, usageErr("--graph-url belongs to --protocol graph")
	}
	if c.auth == "" {
		c.auth = "basic"
	}
	if endpoint == "" {
		return nil, usageErr("--url is required")
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		if protocol == domain.ProtocolGraph {
			return nil, usageErr("--graph-url must be an absolute https URL such as %s", domain.DefaultGraphURL)
		}
		return nil, usageErr("--url must be an absolute https URL such as https://mail.contoso.com/EWS/Exchange.asmx")
	}
	if u.User != nil {
		return nil, usageErr("%s must not contain credentials; use the auth flags", label)
	}
	if u.Scheme == "http" && !loopback(u.Hostname()) {
		t.warn = append(t.warn, "the URL is plain http: credentials and mailbox content cross the network unencrypted")
	}
	if c.mailbox == "" {
		return nil, usageErr("--mailbox is required")
	}
	addr := strings.ToLower(strings.TrimSpace(c.mailbox))
	if at := strings.IndexByte(addr, '@'); at < 1 || at == len(addr)-1 || strings.ContainsAny(addr, " <>\"\\") {
		return nil, usageErr("--mailbox %q is not an SMTP address", c.mailbox)
	}
	mode := domain.AccessMode(c.mode)
	switch {
	case protocol == domain.ProtocolGraph && (mode == "" || mode == domain.AccessApplication):
		mode = domain.AccessApplication
	case protocol == domain.ProtocolGraph:
		return nil, usageErr("--protocol graph uses application access (the Entra app's scope), not --mode %s", c.mode)
	case mode == "":
		mode = domain.AccessImpersonation
	case !mode.Valid() || mode == domain.AccessApplication:
		return nil, usageErr("--mode must be impersonation, delegate or folder-delegate, not %q", c.mode)
	}
	if !validVersion(c.version) {
		return nil, usageErr("--version %q is not an Exchange version (one of %s)", c.version, strings.Join(ews.Versions, ", "))
	}
	cred, err := c.credential(getenv)
	if err != nil {
		return nil, err
	}
	if c.caFile != "" {
		pem, err := os.ReadFile(c.caFile)
		if err != nil {
			return nil, usageErr("--ca-file: %v", err)
		}
		t.roots, err = x509.SystemCertPool()
		if err != nil || t.roots == nil {
			t.roots = x509.NewCertPool()
		}
		if !t.roots.AppendCertsFromPEM(pem) {
			return nil, usageErr("--ca-file %s holds no PEM certificate", c.caFile)
		}
	}
	t.tenant = domain.Tenant{
		ID: "ewsctl", ExchangeVersion: c.version, AuthKind: cred.Kind, Protocol: protocol,
		AccessMode: mode, Folders: domain.DefaultFolders,
		// The protocol's own ids, as for a tenant onboarded on it (an
		// empty format means EWS ids, which a Graph sync would translate).
		IDFormat: domain.IDFormat(protocol),
	}
	if protocol == domain.ProtocolGraph {
		// ewsctl shows Graph's own ids (an onboarded tenant's id format
		// is decided at onboarding; this one never had EWS ids).
		t.tenant.GraphURL, t.tenant.IDFormat = u.String(), domain.IDFormatGraph
	} else {
		t.tenant.EWSURL = u.String()
	}
	t.mailbox = domain.Mailbox{TenantID: "ewsctl", Address: addr}
	t.cred = cred
	return t, nil
}

func (c *connFlags) credential(getenv func(string) string) (domain.Credential, error) {
	switch c.auth {
	case "basic", "ntlm":
		if c.tenantID != "" || c.clientID != "" || c.clientSecret != "" || c.certFile != "" || c.keyFile != "" {
			return domain.Credential{}, usageErr("--tenant-id, --client-id, --client-secret, --cert and --key belong to --auth oauth")
		}
		cred := domain.Credential{Kind: domain.AuthKind(c.auth), Username: c.username, Password: c.password}
		if cred.Password == "" {
			cred.Password = getenv(envPassword)
		}
		if cred.Username == "" {
			return domain.Credential{}, usageErr("--username is required for --auth %s", c.auth)
		}
		if cred.Password == "" {
			return domain.Credential{}, usageErr("a password is required for --auth %s: set %s (or --password)", c.auth, envPassword)
		}
		if cred.Kind == domain.AuthNTLM {
			if dom, user, ok := strings.Cut(cred.Username, `\`); ok {
				cred.Domain, cred.Username = dom, user
			}
		}
		return cred, nil
	case "oauth":
		if c.username != "" || c.password != "" {
			return domain.Credential{}, usageErr("--username and --password belong to --auth basic or ntlm; oauth uses --client-id with a secret or certificate")
		}
		cred := domain.Credential{EntraTenant: c.tenantID, ClientID: c.clientID, Authority: c.authority}
		if cred.EntraTenant == "" || cred.ClientID == "" {
			return domain.Credential{}, usageErr("--tenant-id and --client-id are required for --auth oauth")
		}
		secret := c.clientSecret
		if secret == "" && c.certFile == "" {
			secret = getenv(envClientSecret)
		}
		switch {
		case secret != "" && (c.certFile != "" || c.keyFile != ""):
			return domain.Credential{}, usageErr("give either a client secret or --cert/--key, not both")
		case secret != "":
			cred.Kind, cred.ClientSecret = domain.AuthOAuthSecret, secret
		case c.certFile != "" && c.keyFile != "":
			cert, err := os.ReadFile(c.certFile)
			if err != nil {
				return domain.Credential{}, usageErr("--cert: %v", err)
			}
			key, err := os.ReadFile(c.keyFile)
			if err != nil {
				return domain.Credential{}, usageErr("--key: %v", err)
			}
			cred.Kind, cred.CertPEM, cred.KeyPEM = domain.AuthOAuthCert, string(cert), string(key)
		case c.certFile != "" || c.keyFile != "":
			return domain.Credential{}, usageErr("--cert and --key go together")
		default:
			return domain.Credential{}, usageErr("--auth oauth needs a client secret (%s or --client-secret) or --cert and --key", envClientSecret)
		}
		if c.authority != "" {
			a, err := url.Parse(c.authority)
			if err != nil || a.Scheme != "https" || a.Host == "" {
				return domain.Credential{}, usageErr("--authority must be an https URL (the OAuth token endpoint's base)")
			}
		}
		return cred, nil
	}
	return domain.Credential{}, usageErr("--auth must be basic, ntlm or oauth, not %q", c.auth)
}

// describe names the credential for people: kind and account, no secret.
func describe(c domain.Credential) string {
	switch c.Kind {
	case domain.AuthOAuthSecret:
		return "oauth, client secret (app " + c.ClientID + ", tenant " + c.EntraTenant + ")"
	case domain.AuthOAuthCert:
		return "oauth, certificate (app " + c.ClientID + ", tenant " + c.EntraTenant + ")"
	case domain.AuthNTLM:
		if c.Domain != "" {
			return "ntlm (" + c.Domain + `\` + c.Username + ")"
		}
	}
	return string(c.Kind) + " (" + c.Username + ")"
}

func validVersion(v string) bool {
	for _, s := range ews.Versions {
		if s == v {
			return true
		}
	}
	return false
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// parseFlags parses args, mapping -h to a clean exit and other parse
// errors (already printed by the flag package) to a usage exit.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return &exitError{code: exitOK}
		}
		return &exitError{code: exitUsage}
	}
	return nil
}

func newFlagSet(name, synopsis string, e env) *flag.FlagSet {
	fs := flag.NewFlagSet("ewsctl "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: ewsctl %s %s\n\nFlags:\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}
