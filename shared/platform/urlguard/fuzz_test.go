package urlguard

import (
	"context"
	"net/netip"
	"strings"
	"testing"
)

// FuzzCheckURL: an accepted URL is https and every address it names or
// resolves to passes CheckAddr; nothing panics.
func FuzzCheckURL(f *testing.F) {
	for _, s := range []string{
		"https://mail.contoso.com/EWS/Exchange.asmx", "http://169.254.169.254/", "https://0x7f000001/",
		"https://[::ffff:10.0.0.1]/", "https://internal.contoso.com/", "https://[64:ff9b::a9fe:a9fe]/",
	} {
		f.Add(s)
	}
	p := Policy{Resolver: zone}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := p.CheckURL(context.Background(), raw)
		if err != nil {
			return
		}
		if u.Scheme != "https" {
			t.Fatalf("%q accepted with scheme %q", raw, u.Scheme)
		}
		if a, err := netip.ParseAddr(u.Hostname()); err == nil {
			if err := p.CheckAddr(a); err != nil {
				t.Fatalf("%q accepted although %v", raw, err)
			}
			return
		}
		addrs, _ := zone.LookupNetIP(context.Background(), "ip", strings.ToLower(strings.TrimSuffix(u.Hostname(), ".")))
		for _, a := range addrs {
			if err := p.CheckAddr(a); err != nil {
				t.Fatalf("%q accepted although %v", raw, err)
			}
		}
	})
}
