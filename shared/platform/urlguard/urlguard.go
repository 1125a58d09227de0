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

// The decision rests on IANA's special-purpose address registries (IPv4
// and IPv6), every block with its "globally reachable" flag, rather than on
// a hand-picked list: a block that is not globally reachable is refused
// (unless the deployment allows it), and an IPv6 address outside the global
// unicast space 2000::/3 that no block names is reserved. IPv6 forms that
// carry an IPv4 address (mapped, SIIT, NAT64, 6to4, Teredo, compatible) are
// decided by the IPv4 address they reach as well.

// Block is one entry of a special-purpose address registry.
type Block struct {
	Prefix netip.Prefix
	Name   string // the registry's name for it
	// Global is the registry's "globally reachable" flag; false for
	// blocks the registry marks N/A or deprecated.
	Global bool
	// class is how a refusal names it ("a private", "a loopback", ...).
	class string
}

func blk(prefix, name string, global bool, class string) Block {
	return Block{Prefix: netip.MustParsePrefix(prefix), Name: name, Global: global, class: class}
}

const reserved = "a reserved"

// IPv4Registry is IANA's IPv4 Special-Purpose Address Registry, plus the
// multicast space (a registry of its own).
var IPv4Registry = []Block{
	blk("0.0.0.0/8", `"This network"`, false, "an unspecified"),
	blk("0.0.0.0/32", `"This host on this network"`, false, "an unspecified"),
	blk("10.0.0.0/8", "Private-Use", false, "a private"),
	blk("100.64.0.0/10", "Shared Address Space", false, "a carrier-grade NAT (shared)"),
	blk("127.0.0.0/8", "Loopback", false, "a loopback"),
	blk("169.254.0.0/16", "Link Local", false, "a link-local"),
	blk("172.16.0.0/12", "Private-Use", false, "a private"),
	blk("192.0.0.0/24", "IETF Protocol Assignments", false, reserved),
	blk("192.0.0.0/29", "IPv4 Service Continuity Prefix", false, reserved),
	blk("192.0.0.8/32", "IPv4 dummy address", false, reserved),
	blk("192.0.0.9/32", "Port Control Protocol Anycast", true, ""),
	blk("192.0.0.10/32", "Traversal Using Relays around NAT Anycast", true, ""),
	blk("192.0.0.170/32", "NAT64/DNS64 Discovery", false, reserved),
	blk("192.0.0.171/32", "NAT64/DNS64 Discovery", false, reserved),
	blk("192.0.2.0/24", "Documentation (TEST-NET-1)", false, reserved),
	blk("192.31.196.0/24", "AS112-v4", true, ""),
	blk("192.52.193.0/24", "AMT", true, ""),
	blk("192.88.99.0/24", "Deprecated (6to4 Relay Anycast)", false, reserved),
	blk("192.168.0.0/16", "Private-Use", false, "a private"),
	blk("192.175.48.0/24", "Direct Delegation AS112 Service", true, ""),
	blk("198.18.0.0/15", "Benchmarking", false, reserved),
	blk("198.51.100.0/24", "Documentation (TEST-NET-2)", false, reserved),
	blk("203.0.113.0/24", "Documentation (TEST-NET-3)", false, reserved),
	blk("224.0.0.0/4", "Multicast", false, "a multicast"),
	blk("240.0.0.0/4", "Reserved", false, reserved),
	blk("255.255.255.255/32", "Limited Broadcast", false, reserved),
}

// IPv6Registry is IANA's IPv6 Special-Purpose Address Registry, plus the
// multicast space and the deprecated IPv4-compatible and SIIT forms.
var IPv6Registry = []Block{
	blk("::/128", "Unspecified Address", false, "an unspecified"),
	blk("::1/128", "Loopback Address", false, "a loopback"),
	blk("::/96", "IPv4-compatible (deprecated)", false, reserved),
	blk("::ffff:0:0/96", "IPv4-mapped Address", false, "an IPv4-mapped"),
	blk("::ffff:0:0:0/96", "IPv4-translated (SIIT)", false, "an IPv4-translated"),
	blk("64:ff9b::/96", "IPv4-IPv6 Translat.", true, ""),
	blk("64:ff9b:1::/48", "IPv4-IPv6 Translat. (local-use)", false, reserved),
	blk("100::/64", "Discard-Only Address Block", false, reserved),
	blk("100:0:0:1::/64", "Dummy IPv6 Prefix", false, reserved),
	blk("2001::/23", "IETF Protocol Assignments", false, reserved),
	blk("2001::/32", "TEREDO", false, reserved),
	blk("2001:1::1/128", "Port Control Protocol Anycast", true, ""),
	blk("2001:1::2/128", "Traversal Using Relays around NAT Anycast", true, ""),
	blk("2001:1::3/128", "DNS-SD Service Registration Protocol Anycast", true, ""),
	blk("2001:2::/48", "Benchmarking", false, reserved),
	blk("2001:3::/32", "AMT", true, ""),
	blk("2001:4:112::/48", "AS112-v6", true, ""),
	blk("2001:10::/28", "Deprecated (previously ORCHID)", false, reserved),
	blk("2001:20::/28", "ORCHIDv2", true, ""),
	blk("2001:30::/28", "Drone Remote ID Protocol Entity Tags (DETs) Prefix", true, ""),
	blk("2001:db8::/32", "Documentation", false, reserved),
	blk("2002::/16", "6to4", true, ""), // decided by the IPv4 address it carries
	blk("2620:4f:8000::/48", "Direct Delegation AS112 Service", true, ""),
	blk("3fff::/20", "Documentation", false, reserved),
	blk("5f00::/16", "Segment Routing (SRv6) SIDs", false, reserved),
	blk("fc00::/7", "Unique-Local", false, "a private"),
	blk("fe80::/10", "Link-Local Unicast", false, "a link-local"),
	blk("ff00::/8", "Multicast", false, "a multicast"),
}

// globalUnicast is the only IPv6 space IANA has allocated for global
// unicast; the rest of the address space is reserved.
var globalUnicast = netip.MustParsePrefix("2000::/3")

// Cloud instance metadata and service endpoints: never reachable, whatever
// the deployment allows.
var metadata = []netip.Prefix{
	netip.MustParsePrefix("169.254.169.254/32"), // EC2/GCP/Azure IMDS
	netip.MustParsePrefix("169.254.170.2/32"),   // ECS task metadata
	netip.MustParsePrefix("169.254.169.123/32"), // Amazon Time Sync
	netip.MustParsePrefix("100.100.100.200/32"), // Alibaba metadata
	netip.MustParsePrefix("fd00:ec2::/32"),      // EC2 IPv6 IMDS, DNS, NTP (fd00:ec2::254 ...)
}

func in(a netip.Addr, ps []netip.Prefix) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// lookup is the most specific registry block holding a, if any.
func lookup(a netip.Addr) (Block, bool) {
	reg := IPv4Registry
	if a.Is6() {
		reg = IPv6Registry
	}
	var best Block
	found := false
	for _, b := range reg {
		if b.Prefix.Contains(a) && (!found || b.Prefix.Bits() > best.Prefix.Bits()) {
			best, found = b, true
		}
	}
	return best, found
}

// CheckAddr decides one address: an IPv4 address embedded in an IPv6 form
// is decided as itself first, then the address as written.
func (p Policy) CheckAddr(a netip.Addr) error {
	a = a.WithZone("")
	if inner, translated, ok := embeddedIPv4(a); ok {
		if err := p.CheckAddr(inner); err != nil {
			return err
		}
		if translated {
			// A pure change of address family reaches exactly the IPv4
			// host, so that host's decision is the whole decision.
			return nil
		}
	}
	if in(a, metadata) {
		return refuse("URL resolves to %s, a cloud metadata address", a)
	}
	b, found := lookup(a)
	switch {
	case found && b.Global:
		return nil
	case !found && (a.Is4() || globalUnicast.Contains(a)):
		return nil
	case !found:
		b = Block{Name: "reserved by the IETF (outside global unicast 2000::/3)", class: reserved}
	}
	if in(a, p.AllowedPrivate) || (p.DevLoopback && a.IsLoopback()) {
		return nil
	}
	if b.class == "a loopback" {
		return refuse("URL resolves to %s, a loopback address", a)
	}
	return refuse("URL resolves to %s, %s address (%s, not globally reachable); if this is on-prem Exchange over a VPN, the deployment must allow that range", a, b.class, b.Name)
}

var (
	mapped   = netip.MustParsePrefix("::ffff:0:0/96")
	siit     = netip.MustParsePrefix("::ffff:0:0:0/96")
	compat   = netip.MustParsePrefix("::/96")
	nat64    = netip.MustParsePrefix("64:ff9b::/96")
	nat64Loc = netip.MustParsePrefix("64:ff9b:1::/48")
	sixTo4   = netip.MustParsePrefix("2002::/16")
	teredo   = netip.MustParsePrefix("2001::/32")
)

// embeddedIPv4 returns the IPv4 address an IPv6 address carries, and
// whether the IPv6 form is a plain translation of it (mapped, SIIT,
// well-known NAT64, 6to4), which is then decided by that address alone.
// The others (compatible, local-use NAT64, Teredo) are refused as
// themselves too. :: and ::1 carry no address.
func embeddedIPv4(a netip.Addr) (netip.Addr, bool, bool) {
	if !a.Is6() {
		return netip.Addr{}, false, false
	}
	b := a.As16()
	last := netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
	switch {
	case mapped.Contains(a), siit.Contains(a), nat64.Contains(a):
		return last, true, true
	case sixTo4.Contains(a):
		return netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}), true, true
	case compat.Contains(a) && a.Compare(netip.MustParseAddr("::ffff")) > 0:
		return last, false, true
	case nat64Loc.Contains(a):
		// RFC 6052 with a /48 prefix: the IPv4 bits sit around the u octet.
		return netip.AddrFrom4([4]byte{b[6], b[7], b[9], b[10]}), false, true
	case teredo.Contains(a):
		// The client's address, obfuscated (bits inverted).
		return netip.AddrFrom4([4]byte{^b[12], ^b[13], ^b[14], ^b[15]}), false, true
	}
	return netip.Addr{}, false, false
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
