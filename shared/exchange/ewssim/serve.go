package ewssim

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Server is a running simulator.
type Server struct {
	// URL is the base URL (scheme://host:port); the OAuth authority for a
	// tenant is URL + "/" + tenant.
	URL string
	// EWSURL is URL + EWSPath.
	EWSURL string
	// CAPEM is the PEM of the self-signed certificate the TLS server
	// presents (nil without TLS); clients trust it to verify the server.
	CAPEM []byte

	srv   *http.Server
	ln    net.Listener
	done  chan struct{}
	conns sync.Map // net.Conn -> *connID
}

// Start serves the simulator on a free loopback port.
func (s *Sim) Start(useTLS bool) (*Server, error) { return s.Serve("127.0.0.1:0", useTLS) }

// Serve listens on addr and serves Handler, with a fresh self-signed
// certificate for the listener's host, localhost and loopback when useTLS.
func (s *Sim) Serve(addr string, useTLS bool) (*Server, error) {
	return s.serve(addr, useTLS, s.Handler())
}

func (s *Sim) serve(addr string, useTLS bool, h http.Handler) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	sv := &Server{ln: ln, done: make(chan struct{})}
	sv.srv = &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			id := &connID{}
			sv.conns.Store(c, id)
			return context.WithValue(ctx, connKeyType{}, id)
		},
		ConnState: func(c net.Conn, st http.ConnState) {
			if st == http.StateClosed || st == http.StateHijacked {
				if id, ok := sv.conns.LoadAndDelete(c); ok {
					s.ntlm.forget(id)
				}
			}
		},
	}
	host := ln.Addr().(*net.TCPAddr)
	scheme := "http"
	if useTLS {
		certPEM, cert, err := selfSigned(host.IP)
		if err != nil {
			ln.Close()
			return nil, err
		}
		sv.CAPEM = certPEM
		sv.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		sv.ln = tls.NewListener(ln, sv.srv.TLSConfig)
		scheme = "https"
	}
	hostport := ln.Addr().String()
	if host.IP.IsUnspecified() {
		hostport = net.JoinHostPort("127.0.0.1", strconv.Itoa(host.Port))
	}
	sv.URL = scheme + "://" + hostport
	sv.EWSURL = sv.URL + EWSPath
	go func() {
		defer close(sv.done)
		_ = sv.srv.Serve(sv.ln)
	}()
	return sv, nil
}

// CertPool holds the server's certificate (nil without TLS).
func (sv *Server) CertPool() *x509.CertPool {
	if sv.CAPEM == nil {
		return nil
	}
	p := x509.NewCertPool()
	p.AppendCertsFromPEM(sv.CAPEM)
	return p
}

// Client returns an HTTP client that trusts the server's certificate.
func (sv *Server) Client() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if sv.CAPEM != nil {
		tr.TLSClientConfig = &tls.Config{RootCAs: sv.CertPool(), MinVersion: tls.VersionTLS12}
	}
	tr.MaxIdleConnsPerHost = 64
	return &http.Client{Transport: tr, Timeout: time.Minute}
}

// Authority is the OAuth authority URL for an Entra tenant.
func (sv *Server) Authority(tenant string) string { return sv.URL + "/" + tenant }

// Close stops the server and waits for it.
func (sv *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := sv.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = sv.srv.Close()
	}
	<-sv.done
	return err
}

// LoopbackCertificate is a fresh self-signed ECDSA P-256 certificate for
// the loopback addresses, the one the simulator serves TLS with, for a
// harness that serves a simulator's handler itself (net/http/httptest's
// own certificate is RSA: its handshakes cost the simulator's side many
// times the CPU).
func LoopbackCertificate() (tls.Certificate, error) {
	_, cert, err := selfSigned(nil)
	return cert, err
}

func selfSigned(ip net.IP) ([]byte, tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	ips := []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	if ip != nil && !ip.IsUnspecified() && !ip.IsLoopback() {
		ips = append(ips, ip)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "ewssim", Organization: []string{"Mailbridge EWS simulator"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	return certPEM, cert, err
}
