// Package urlguard decides whether Mailbridge may call a tenant-supplied
// EWS URL. A tenant's URL is attacker-controlled input that the sync workers
// will POST credentials to, so it must not reach the cloud metadata service,
// loopback, or the deployment's private network (SSRF), unless the operator
// allows a private range on purpose (on-prem Exchange over VPN).
//
// It checks twice: CheckURL when the URL is registered (clear 4xx for the
// API caller), and Control at connection time, so a host name that later
// resolves elsewhere (DNS rebinding) is refused too.
package urlguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// MaxURLLength bounds a registered EWS URL.
const MaxURLLength = 2048

// Resolver looks up a host's addresses; *net.Resolver implements it.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Policy is what a deployment allows. The zero value is the strict cloud
// default: https only, public addresses only, the system resolver.
type Policy struct {
	// AllowedPrivate lists private ranges the deployment may reach (for
	// example the on-prem Exchange subnet behind a VPN). Metadata
	// addresses stay blocked even inside an allowed range.
	AllowedPrivate []netip.Prefix
	// DevLoopback allows http and loopback addresses: the local run's dev
	// mode, talking to the EWS simulator on 127.0.0.1. Never in AWS.
	DevLoopback bool
	// Resolver resolves host names; nil means net.DefaultResolver.
	Resolver Resolver
}

// Error says why a URL or address was refused. Its message is safe to show
// to the API caller: it names the problem and how to fix it.
type Error struct {
	Reason string
}

func (e *Error) Error() string { return e.Reason }

func refuse(format string, args ...any) *Error {
	return &Error{Reason: fmt.Sprintf(format, args...)}
}

// ParsePrefixes parses a comma-separated list of CIDRs, as a deployment
// configures AllowedPrivate ("10.20.0.0/16,192.168.5.0/24").
func ParsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("allowed private range %q: %w", f, err)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// CheckURL parses raw and checks its scheme, host and every address the host
// resolves to. It returns the parsed URL on success and an *Error otherwise.
func (p Policy) CheckURL(ctx context.Context, raw string) (*url.URL, error) {
	if raw == "" {
		return nil, refuse("URL is empty")
	}
	if len(raw) > MaxURLLength {
		return nil, refuse("URL is longer than %d characters", MaxURLLength)
	}
	for _, r := range raw {
		if r < 0x21 || r == 0x7f {
			return nil, refuse("URL contains a space or control character")
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, refuse("URL does not parse")
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && p.DevLoopback:
		// checked below: http only to loopback
	case u.Scheme == "http":
		return nil, refuse("URL must use https")
	default:
		return nil, refuse("URL must be an absolute https URL")
	}
	if u.Opaque != "" || u.Host == "" {
		return nil, refuse("URL must be an absolute https URL with a host")
	}
	if u.User != nil {
		return nil, refuse("URL must not contain user information; send credentials separately")
	}
	if u.Fragment != "" {
		return nil, refuse("URL must not contain a fragment")
	}
	if port := u.Port(); port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return nil, refuse("URL port %q is not a valid port", port)
		}
	} else if strings.HasSuffix(u.Host, ":") {
		return nil, refuse("URL has an empty port")
	}

	addrs, err := p.resolve(ctx, u.Hostname())
	if err != nil {
		return nil, err
	}
	for _, a := range addrs {
		if err := p.CheckAddr(a); err != nil {
			return nil, err
		}
		if u.Scheme == "http" && !a.Unmap().IsLoopback() {
			return nil, refuse("URL must use https (http is allowed only to loopback in dev mode)")
		}
	}
	return u, nil
}

// resolve turns a URL host into addresses, refusing the numeric spellings
// (0x7f000001, 2130706433, 0177.0.0.1) that some resolvers accept as IPs.
func (p Policy) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		if a.Zone() != "" {
			return nil, refuse("URL host must not carry an IPv6 zone")
		}
		return []netip.Addr{a}, nil
	}
	name := strings.ToLower(strings.TrimSuffix(host, "."))
	if err := checkHostName(name); err != nil {
		return nil, err
	}
	if name == "localhost" || strings.HasSuffix(name, ".localhost") {
		// RFC 6761: always loopback, whatever a resolver says.
		return []netip.Addr{netip.IPv6Loopback()}, nil
	}
	r := p.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	addrs, err := r.LookupNetIP(ctx, "ip", name)
	if err != nil {
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
			return nil, refuse("URL host %q does not resolve", name)
		}
		return nil, refuse("URL host %q could not be resolved", name)
	}
	if len(addrs) == 0 {
		return nil, refuse("URL host %q does not resolve", name)
	}
	return addrs, nil
}

func checkHostName(name string) error {
	if name == "" {
		return refuse("URL has no host")
	}
	if len(name) > 253 {
		return refuse("URL host is longer than 253 characters")
	}
	labels := strings.Split(name, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 {
			return refuse("URL host %q is not a valid host name", name)
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return refuse("URL host %q is not a valid host name (use punycode for international names)", name)
			}
		}
	}
	// A name whose last label is numeric is an IP in disguise (WHATWG URL
	// parsing and inet_aton read 0x7f000001 or 2130706433 as 127.0.0.1).
	last := labels[len(labels)-1]
	if isNumeric(last) {
		return refuse("URL host %q is a numeric address in a non-standard form; use a host name or a dotted-decimal IP", name)
	}
	return nil
}

func isNumeric(label string) bool {
	s := label
	if strings.HasPrefix(s, "0x") {
		s = s[2:]
		if s == "" {
			return true
		}
		for _, r := range s {
			if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
				return false
			}
		}
		return true
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// range classes, checked in order; the first match names the refusal.
type class struct {
	name     string
	prefixes []netip.Prefix
}

func prefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

var (
	// Cloud instance metadata and service endpoints: never reachable,
	// whatever the deployment allows.
	metadata = prefixes(
		"169.254.169.254/32", // EC2/GCP/Azure IMDS
		"169.254.170.2/32",   // ECS task metadata
		"169.254.169.123/32", // Amazon Time Sync
		"100.100.100.200/32", // Alibaba metadata
		"fd00:ec2::/32",      // EC2 IPv6 IMDS, DNS, NTP (fd00:ec2::254 ...)
	)
	loopback = prefixes("127.0.0.0/8", "::1/128")
	blocked  = []class{
		{"an unspecified", prefixes("0.0.0.0/8", "::/128")},
		{"a private", prefixes("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")},
		{"a link-local", prefixes("169.254.0.0/16", "fe80::/10")},
		{"a carrier-grade NAT (shared)", prefixes("100.64.0.0/10")},
		{"a multicast", prefixes("224.0.0.0/4", "ff00::/8")},
		{"a reserved", prefixes(
			"192.0.0.0/24", "192.0.2.0/24", "198.18.0.0/15", "198.51.100.0/24",
			"203.0.113.0/24", "240.0.0.0/4", // includes 255.255.255.255
			"::/96",         // deprecated IPv4-compatible
			"100::/64",      // discard
			"2001::/32",     // Teredo hides an IPv4 address
			"2001:db8::/32", // documentation
		)},
	}
)

func in(a netip.Addr, ps []netip.Prefix) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// CheckAddr decides one address. IPv4 addresses embedded in IPv6 forms
// (mapped, NAT64, 6to4) are checked as the IPv4 address they reach.
func (p Policy) CheckAddr(a netip.Addr) error {
	a = a.WithZone("")
	if inner, ok := embeddedIPv4(a); ok {
		if err := p.CheckAddr(inner); err != nil {
			return err
		}
	}
	a = a.Unmap()
	if in(a, metadata) {
		return refuse("URL resolves to %s, a cloud metadata address", a)
	}
	if in(a, loopback) {
		if p.DevLoopback || in(a, p.AllowedPrivate) {
			return nil
		}
		return refuse("URL resolves to %s, a loopback address", a)
	}
	for _, c := range blocked {
		if !in(a, c.prefixes) {
			continue
		}
		if in(a, p.AllowedPrivate) {
			return nil
		}
		return refuse("URL resolves to %s, %s address; if this is on-prem Exchange over a VPN, the deployment must allow that range", a, c.name)
	}
	return nil
}

var (
	nat64   = netip.MustParsePrefix("64:ff9b::/96")
	sixTo4  = netip.MustParsePrefix("2002::/16")
	v4Inner = netip.MustParsePrefix("::ffff:0:0/96")
)

// embeddedIPv4 returns the IPv4 address an IPv6 address routes to, for the
// translation schemes where that is well defined.
func embeddedIPv4(a netip.Addr) (netip.Addr, bool) {
	if !a.Is6() || v4Inner.Contains(a) {
		return netip.Addr{}, false
	}
	b := a.As16()
	switch {
	case nat64.Contains(a):
		return netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}), true
	case sixTo4.Contains(a):
		return netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}), true
	}
	return netip.Addr{}, false
}

// Control is a net.Dialer Control function: it refuses a connection to an
// address the policy forbids, after DNS resolution, so a name that resolved
// to a public address at registration and to 169.254.169.254 now (DNS
// rebinding) is still refused.
func (p Policy) Control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return refuse("connection to %q refused: not an IP address", address)
	}
	return p.CheckAddr(ap.Addr())
}

// Dialer returns a copy of base (or a default dialer) that applies Control,
// for the EWS client's http.Transport:
//
//	tr.DialContext = policy.Dialer(nil).DialContext
//
// The transport must not use a proxy (Proxy: nil), or Control would check
// the proxy's address instead of Exchange's.
func (p Policy) Dialer(base *net.Dialer) *net.Dialer {
	d := &net.Dialer{}
	if base != nil {
		*d = *base
	}
	d.Control = p.Control
	d.ControlContext = nil // it would take precedence over Control
	return d
}

// Transport returns an http.Transport for calling tenant endpoints: the
// default transport's timeouts, no proxy, and every connection checked by
// Control.
func (p Policy) Transport() *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.DialContext = p.Dialer(&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	return tr
}
