package urlguard

import (
	"net/netip"
	"testing"
)

// The special-purpose address registries, written out here on their own
// (not read from the code's tables) so the test judges the code: every
// block with its "globally reachable" flag, an address inside it and the
// verdict for it, and where meaningful the address just outside.
type regCase struct {
	block   string
	global  bool
	inside  string
	allowed bool   // verdict for inside, strict policy
	outside string // "" when the boundary says nothing new
	outOK   bool
}

var ipv4Cases = []regCase{
	{"0.0.0.0/8", false, "0.1.2.3", false, "1.0.0.0", true},
	{"0.0.0.0/32", false, "0.0.0.0", false, "", false},
	{"10.0.0.0/8", false, "10.1.2.3", false, "11.0.0.0", true},
	{"100.64.0.0/10", false, "100.64.0.1", false, "100.128.0.0", true},
	{"127.0.0.0/8", false, "127.0.0.1", false, "128.0.0.0", true},
	{"169.254.0.0/16", false, "169.254.1.1", false, "169.255.0.0", true},
	{"172.16.0.0/12", false, "172.31.255.255", false, "172.32.0.0", true},
	{"192.0.0.0/24", false, "192.0.0.100", false, "192.0.1.0", true},
	{"192.0.0.0/29", false, "192.0.0.1", false, "", false},
	{"192.0.0.8/32", false, "192.0.0.8", false, "", false},
	{"192.0.0.9/32", true, "192.0.0.9", true, "192.0.0.8", false},
	{"192.0.0.10/32", true, "192.0.0.10", true, "192.0.0.11", false},
	{"192.0.0.170/32", false, "192.0.0.170", false, "", false},
	{"192.0.0.171/32", false, "192.0.0.171", false, "", false},
	{"192.0.2.0/24", false, "192.0.2.1", false, "192.0.3.0", true},
	{"192.31.196.0/24", true, "192.31.196.1", true, "", false},
	{"192.52.193.0/24", true, "192.52.193.1", true, "", false},
	{"192.88.99.0/24", false, "192.88.99.1", false, "192.88.100.0", true},
	{"192.168.0.0/16", false, "192.168.1.1", false, "192.169.0.0", true},
	{"192.175.48.0/24", true, "192.175.48.1", true, "", false},
	{"198.18.0.0/15", false, "198.19.255.255", false, "198.20.0.0", true},
	{"198.51.100.0/24", false, "198.51.100.1", false, "198.51.101.0", true},
	{"203.0.113.0/24", false, "203.0.113.1", false, "203.0.114.0", true},
	{"224.0.0.0/4", false, "224.0.0.1", false, "223.255.255.255", true},
	{"240.0.0.0/4", false, "240.0.0.1", false, "239.255.255.255", false},
	{"255.255.255.255/32", false, "255.255.255.255", false, "255.255.255.254", false},
}

var ipv6Cases = []regCase{
	{"::/128", false, "::", false, "::2", false},
	{"::1/128", false, "::1", false, "::2", false},
	{"::/96", false, "::808:808", false, "::1:0:0", false},
	{"::ffff:0:0/96", false, "::ffff:7f00:1", false, "::fffe:ffff:ffff", false},
	{"::ffff:0:0:0/96", false, "::ffff:0:7f00:1", false, "::fffe:0:808:808", false},
	{"64:ff9b::/96", true, "64:ff9b::808:808", true, "64:ff9b::1:0:0", false},
	{"64:ff9b:1::/48", false, "64:ff9b:1::808:808", false, "64:ff9b:2::", false},
	{"100::/64", false, "100::1", false, "100:0:0:2::", false},
	{"100:0:0:1::/64", false, "100:0:0:1::1", false, "", false},
	{"2001::/23", false, "2001:100::1", false, "2001:200::", true},
	{"2001::/32", false, "2001:0:4136:e378:8000:63bf:3fff:fdd2", false, "", false},
	{"2001:1::1/128", true, "2001:1::1", true, "2001:1::", false},
	{"2001:1::2/128", true, "2001:1::2", true, "", false},
	{"2001:1::3/128", true, "2001:1::3", true, "2001:1::4", false},
	{"2001:2::/48", false, "2001:2::1", false, "2001:2:1::", false},
	{"2001:3::/32", true, "2001:3::1", true, "", false},
	{"2001:4:112::/48", true, "2001:4:112::1", true, "2001:4:113::", false},
	{"2001:10::/28", false, "2001:10::1", false, "", false},
	{"2001:20::/28", true, "2001:20::1", true, "", false},
	{"2001:30::/28", true, "2001:30::1", true, "2001:40::", false},
	{"2001:db8::/32", false, "2001:db8::1", false, "2001:db9::", true},
	{"2002::/16", true, "2002:808:808::1", true, "2003::", true},
	{"2620:4f:8000::/48", true, "2620:4f:8000::1", true, "", false},
	{"3fff::/20", false, "3fff::1", false, "3fff:1000::", true},
	{"5f00::/16", false, "5f00::1", false, "", false},
	{"fc00::/7", false, "fd12::1", false, "fe00::", false},
	{"fe80::/10", false, "fe80::1", false, "fec0::", false},
	{"ff00::/8", false, "ff02::1", false, "", false},
}

func TestRegistryEveryBlock(t *testing.T) {
	strict := Policy{}
	for _, cases := range [][]regCase{ipv4Cases, ipv6Cases} {
		for _, c := range cases {
			t.Run(c.block, func(t *testing.T) {
				p := netip.MustParsePrefix(c.block)
				in := netip.MustParseAddr(c.inside)
				if !p.Contains(in) {
					t.Fatalf("test case: %s is not in %s", in, p)
				}
				if err := strict.CheckAddr(in); (err == nil) != c.allowed {
					t.Errorf("CheckAddr(%s) = %v, want allowed=%v (globally reachable: %v)", in, err, c.allowed, c.global)
				}
				if c.outside == "" {
					return
				}
				out := netip.MustParseAddr(c.outside)
				if p.Contains(out) {
					t.Fatalf("test case: %s is in %s", out, p)
				}
				if err := strict.CheckAddr(out); (err == nil) != c.outOK {
					t.Errorf("just outside: CheckAddr(%s) = %v, want allowed=%v", out, err, c.outOK)
				}
			})
		}
	}
}

// TestRegistryMatchesCode: the code's tables hold exactly the registry's
// blocks with the same flags, so a block added to or dropped from either
// side is noticed.
func TestRegistryMatchesCode(t *testing.T) {
	for name, pair := range map[string]struct {
		code  []Block
		cases []regCase
	}{"IPv4": {IPv4Registry, ipv4Cases}, "IPv6": {IPv6Registry, ipv6Cases}} {
		want := map[netip.Prefix]bool{}
		for _, c := range pair.cases {
			want[netip.MustParsePrefix(c.block)] = c.global
		}
		got := map[netip.Prefix]bool{}
		for _, b := range pair.code {
			got[b.Prefix] = b.Global
		}
		for p, g := range want {
			if cg, ok := got[p]; !ok || cg != g {
				t.Errorf("%s: block %s (globally reachable %v) is missing or differs in the code", name, p, g)
			}
		}
		for p := range got {
			if _, ok := want[p]; !ok {
				t.Errorf("%s: the code has block %s, which the registry test does not", name, p)
			}
		}
	}
}

// TestEmbeddedAndReservedIPv6 are the forms that slipped through a
// hand-picked list, and the allow-list and dev loopback that must keep
// working through them.
func TestEmbeddedAndReservedIPv6(t *testing.T) {
	vpn := Policy{AllowedPrivate: []netip.Prefix{netip.MustParsePrefix("10.20.0.0/16")}}
	dev := Policy{DevLoopback: true}
	tests := []struct {
		policy Policy
		addr   string
		ok     bool
	}{
		{Policy{}, "::ffff:0:7f00:1", false},                      // SIIT loopback
		{Policy{}, "0:0:0:0:ffff:0:7f00:1", false},                // the same, spelt out
		{Policy{}, "64:ff9b:1::7f00:1", false},                    // local-use NAT64
		{Policy{}, "::1:7f00:1", false},                           // reserved ::/8
		{Policy{}, "::ffff:0:a9fe:a9fe", false},                   // SIIT metadata
		{Policy{}, "64:ff9b::a9fe:a9fe", false},                   // NAT64 metadata
		{Policy{}, "2002:a00:1::1", false},                        // 6to4 private
		{Policy{}, "2001:0:4136:e378:8000:63bf:80ff:fffe", false}, // Teredo
		{Policy{}, "::ffff:808:808", true},                        // mapped public
		{Policy{}, "2a00:1450:4001:80b::200e", true},              // plain global unicast
		{vpn, "10.20.1.1", true},
		{vpn, "::ffff:10.20.1.1", true},
		{vpn, "64:ff9b::a14:101", true},
		{vpn, "10.21.0.1", false},
		{vpn, "::ffff:0:a9fe:a9fe", false},
		{dev, "127.0.0.1", true},
		{dev, "::1", true},
		{dev, "::ffff:127.0.0.1", true},
		{dev, "10.0.0.1", false},
		{dev, "::1:7f00:1", false},
	}
	for _, tt := range tests {
		if err := tt.policy.CheckAddr(netip.MustParseAddr(tt.addr)); (err == nil) != tt.ok {
			t.Errorf("CheckAddr(%s) with %+v = %v, want allowed=%v", tt.addr, tt.policy, err, tt.ok)
		}
	}
}
