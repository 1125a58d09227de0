package urlguard

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// fakeDNS is the injected resolver: a fixed zone.
type fakeDNS map[string][]string

func (f fakeDNS) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	ss, ok := f[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out, nil
}

var zone = fakeDNS{
	"mail.contoso.com":        {"52.96.1.1", "2603:1036::1"},
	"internal.contoso.com":    {"10.1.2.3"},
	"mixed.contoso.com":       {"52.96.1.2", "192.168.0.7"},
	"metadata.attacker.test":  {"169.254.169.254"},
	"v6meta.attacker.test":    {"fd00:ec2::254"},
	"cgnat.attacker.test":     {"100.64.0.1"},
	"mapped.attacker.test":    {"::ffff:127.0.0.1"},
	"onprem.corp.example":     {"10.20.30.40"},
	"sim.local.test":          {"127.0.0.1"},
	"empty.attacker.test":     {},
	"nat64.attacker.test":     {"64:ff9b::a00:1"},
	"sixtofour.attacker.test": {"2002:a9fe:a9fe::1"},
}

func TestCheckURL(t *testing.T) {
	strict := Policy{Resolver: zone}
	vpn := Policy{Resolver: zone, AllowedPrivate: mustPrefixes(t, "10.20.0.0/16")}
	dev := Policy{Resolver: zone, DevLoopback: true}

	tests := []struct {
		name   string
		policy Policy
		url    string
		want   string // substring of the refusal; "" = allowed
	}{
		{"public https", strict, "https://mail.contoso.com/EWS/Exchange.asmx", ""},
		{"public IP", strict, "https://52.96.1.1/EWS/Exchange.asmx", ""},
		{"explicit port", strict, "https://mail.contoso.com:8443/EWS/Exchange.asmx", ""},
		{"trailing dot", strict, "https://mail.contoso.com./EWS/Exchange.asmx", ""},
		{"http refused", strict, "http://mail.contoso.com/EWS/Exchange.asmx", "must use https"},
		{"ftp refused", strict, "ftp://mail.contoso.com/", "absolute https"},
		{"relative", strict, "/EWS/Exchange.asmx", "absolute https"},
		{"empty", strict, "", "empty"},
		{"metadata IP", strict, "https://169.254.169.254/latest/meta-data/", "metadata"},
		{"metadata over http", strict, "http://169.254.169.254/", "https"},
		{"private 10/8", strict, "https://10.0.0.1/", "private"},
		{"private 172.16/12", strict, "https://172.31.255.1/", "private"},
		{"private 192.168/16", strict, "https://192.168.1.1/", "private"},
		{"loopback", strict, "https://127.0.0.1/", "loopback"},
		{"loopback other", strict, "https://127.1.2.3/", "loopback"},
		{"localhost", strict, "https://localhost/", "loopback"},
		{"sub.localhost", strict, "https://a.b.localhost/", "loopback"},
		{"ipv6 loopback", strict, "https://[::1]/", "loopback"},
		{"ipv6 unspecified", strict, "https://[::]/", "unspecified"},
		{"ipv4 unspecified", strict, "https://0.0.0.0/", "unspecified"},
		{"ipv6 link-local", strict, "https://[fe80::1]/", "link-local"},
		{"ipv6 zone", strict, "https://[fe80::1%25eth0]/", "zone"},
		{"ipv6 ULA", strict, "https://[fd12:3456::1]/", "private"},
		{"ipv6 metadata", strict, "https://[fd00:ec2::254]/", "metadata"},
		{"ipv4-mapped loopback", strict, "https://[::ffff:127.0.0.1]/", "loopback"},
		{"ipv4-mapped metadata", strict, "https://[::ffff:169.254.169.254]/", "metadata"},
		{"hex IP", strict, "https://0x7f000001/", "numeric"},
		{"decimal IP", strict, "https://2130706433/", "numeric"},
		{"octal IP", strict, "https://0177.0.0.1/", "numeric"},
		{"short IP", strict, "https://127.1/", "numeric"},
		{"CGNAT", strict, "https://100.64.0.1/", "carrier-grade"},
		{"multicast", strict, "https://224.0.0.1/", "multicast"},
		{"broadcast", strict, "https://255.255.255.255/", "reserved"},
		{"NAT64 to private", strict, "https://[64:ff9b::10.0.0.1]/", "private"},
		{"6to4 to metadata", strict, "https://[2002:a9fe:a9fe::1]/", "metadata"},
		{"name to private", strict, "https://internal.contoso.com/EWS/Exchange.asmx", "private"},
		{"name to metadata", strict, "https://metadata.attacker.test/", "metadata"},
		{"name to v6 metadata", strict, "https://v6meta.attacker.test/", "metadata"},
		{"name to CGNAT", strict, "https://cgnat.attacker.test/", "carrier-grade"},
		{"name to mapped loopback", strict, "https://mapped.attacker.test/", "loopback"},
		{"name to NAT64 private", strict, "https://nat64.attacker.test/", "private"},
		{"name to 6to4 metadata", strict, "https://sixtofour.attacker.test/", "metadata"},
		{"one bad address of two", strict, "https://mixed.contoso.com/", "private"},
		{"unknown name", strict, "https://nowhere.contoso.com/", "does not resolve"},
		{"no addresses", strict, "https://empty.attacker.test/", "does not resolve"},
		{"userinfo", strict, "https://admin:pw@mail.contoso.com/", "user information"},
		{"fragment", strict, "https://mail.contoso.com/#x", "fragment"},
		{"bad port", strict, "https://mail.contoso.com:99999/", "port"},
		{"empty port", strict, "https://mail.contoso.com:/", "empty port"},
		{"CRLF", strict, "https://mail.contoso.com/\r\nX-Evil: 1", "control"},
		{"space", strict, "https://mail.contoso.com/ EWS", "control"},
		{"underscore host", strict, "https://bad_host.contoso.com/", "valid host name"},
		{"unicode host", strict, "https://mаil.contoso.com/", "punycode"},
		{"too long", strict, "https://mail.contoso.com/" + strings.Repeat("a", MaxURLLength), "longer"},
		{"no host", strict, "https:///EWS", "host"},
		{"vpn allowed range", vpn, "https://onprem.corp.example/EWS/Exchange.asmx", ""},
		{"vpn other private", vpn, "https://10.0.0.1/", "private"},
		{"vpn still no metadata", Policy{Resolver: zone, AllowedPrivate: mustPrefixes(t, "169.254.0.0/16")}, "https://169.254.169.254/", "metadata"},
		{"dev http loopback", dev, "http://127.0.0.1:8080/EWS/Exchange.asmx", ""},
		{"dev http name to loopback", dev, "http://sim.local.test:8080/EWS/Exchange.asmx", ""},
		{"dev http localhost", dev, "http://localhost:8080/EWS/Exchange.asmx", ""},
		{"dev http public refused", dev, "http://mail.contoso.com/", "only to loopback"},
		{"dev still no private", dev, "https://10.0.0.1/", "private"},
		{"dev still no metadata", dev, "http://169.254.169.254/", "metadata"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.policy.CheckURL(context.Background(), tt.url)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("CheckURL(%q) = %v, want allowed", tt.url, err)
				}
				return
			}
			var ge *Error
			if !errors.As(err, &ge) {
				t.Fatalf("CheckURL(%q) = %v, want *Error containing %q", tt.url, err, tt.want)
			}
			if !strings.Contains(ge.Reason, tt.want) {
				t.Fatalf("CheckURL(%q) = %q, want it to mention %q", tt.url, ge.Reason, tt.want)
			}
		})
	}
}

func mustPrefixes(t *testing.T, s string) []netip.Prefix {
	t.Helper()
	p, err := ParsePrefixes(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParsePrefixes(t *testing.T) {
	got, err := ParsePrefixes(" 10.20.0.1/16, ,192.168.5.0/24")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].String() != "10.20.0.0/16" || got[1].String() != "192.168.5.0/24" {
		t.Fatalf("got %v", got)
	}
	if _, err := ParsePrefixes("10.0.0.0/33"); err == nil {
		t.Fatal("want an error for a bad prefix")
	}
}

// TestDialerRefusesAtConnectTime is the DNS-rebinding defence: whatever a
// name resolved to at registration, the connection itself is checked.
func TestDialerRefusesAtConnectTime(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()

	get := func(p Policy) error {
		client := &http.Client{Timeout: 5 * time.Second, Transport: p.Transport()}
		resp, err := client.Get(srv.URL)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}

	err := get(Policy{})
	var ge *Error
	if !errors.As(err, &ge) || !strings.Contains(ge.Reason, "loopback") {
		t.Fatalf("strict policy dialing %s: err = %v, want a loopback refusal", srv.URL, err)
	}
	if err := get(Policy{DevLoopback: true}); err != nil {
		t.Fatalf("dev policy dialing %s: %v", srv.URL, err)
	}
}

func TestControlRejectsNonIP(t *testing.T) {
	if err := (Policy{}).Control("tcp", "example.com:443", nil); err == nil {
		t.Fatal("want a refusal for a non-IP address")
	}
	if err := (Policy{}).Control("tcp", "52.96.1.1:443", nil); err != nil {
		t.Fatalf("public address refused: %v", err)
	}
}
