package ewssim

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf16"
)

// authenticate returns the caller's account, or answers 401 (which may be
// a step of the NTLM handshake) and returns nil.
func (s *Sim) authenticate(w http.ResponseWriter, r *http.Request) *account {
	h := r.Header.Get("Authorization")
	scheme, cred, _ := strings.Cut(h, " ")
	switch {
	case strings.EqualFold(scheme, "Basic"):
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
		user, pass, ok := strings.Cut(string(raw), ":")
		if err == nil && ok {
			if a := s.checkPassword(user, pass); a != nil {
				return a
			}
		}
	case strings.EqualFold(scheme, "Bearer"):
		// A token issued for Microsoft Graph is not valid for EWS.
		if ti, ok := s.tokens.lookup(strings.TrimSpace(cred), s.clock.Now()); ok && ti.audience != GraphAudience {
			return ti.acct
		}
	case strings.EqualFold(scheme, "NTLM") || strings.EqualFold(scheme, "Negotiate"):
		return s.ntlmStep(w, r, scheme, strings.TrimSpace(cred))
	case h == "":
		// NTLM authenticates the connection, not the request.
		if a := s.ntlm.authenticated(connKey(r)); a != nil {
			return a
		}
		challenge(w, "")
		return nil
	}
	s.stats.authFailure()
	challenge(w, "")
	return nil
}

func challenge(w http.ResponseWriter, ntlmToken string) {
	if ntlmToken != "" {
		w.Header().Set("WWW-Authenticate", "NTLM "+ntlmToken)
	} else {
		w.Header().Add("WWW-Authenticate", "NTLM")
		w.Header().Add("WWW-Authenticate", "Negotiate")
		w.Header().Add("WWW-Authenticate", `Basic realm="ewssim"`)
		w.Header().Add("WWW-Authenticate", `Bearer authorization_uri="ewssim"`)
	}
	http.Error(w, "401 Unauthorized", http.StatusUnauthorized)
}

func (s *Sim) checkPassword(user, pass string) *account {
	s.mu.RLock()
	a := s.accounts[strings.ToLower(user)]
	s.mu.RUnlock()
	if a == nil || a.Password == "" {
		return nil
	}
	if subtle.ConstantTimeCompare([]byte(a.Password), []byte(pass)) != 1 {
		return nil
	}
	return a
}

// --- OAuth access tokens ---

type tokenInfo struct {
	acct     *account
	expires  time.Time
	audience string // the resource of the requested scope
}

type tokenStore struct {
	mu sync.Mutex
	m  map[string]tokenInfo
}

// maxLiveTokens triggers pruning of expired tokens, so a long demo run
// does not grow the store without bound.
const maxLiveTokens = 4096

func (t *tokenStore) issue(a *account, now, exp time.Time, audience string) string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	tok := base64.RawURLEncoding.EncodeToString(b[:])
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.m) >= maxLiveTokens {
		for k, ti := range t.m {
			if !now.Before(ti.expires) {
				delete(t.m, k)
			}
		}
	}
	t.m[tok] = tokenInfo{acct: a, expires: exp, audience: audience}
	return tok
}

func (t *tokenStore) lookup(tok string, now time.Time) (tokenInfo, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	ti, ok := t.m[tok]
	if !ok {
		return tokenInfo{}, false
	}
	if !now.Before(ti.expires) {
		delete(t.m, tok)
		return tokenInfo{}, false
	}
	return ti, true
}

// --- NTLM ---

// connKeyType keys the per-connection identity that ConnContext stores.
type connKeyType struct{}

type connID struct{ _ byte }

// ConnContext gives each connection an identity for NTLM, which
// authenticates connections. Start and Serve set it; set it on your own
// http.Server (or httptest.Server.Config) when you serve Handler yourself.
func ConnContext(ctx context.Context, _ net.Conn) context.Context {
	return context.WithValue(ctx, connKeyType{}, &connID{})
}

func connKey(r *http.Request) any {
	if id, ok := r.Context().Value(connKeyType{}).(*connID); ok {
		return id
	}
	return r.RemoteAddr
}

type ntlmConn struct {
	challenge [8]byte
	acct      *account
}

type ntlmConns struct {
	mu sync.Mutex
	m  map[any]*ntlmConn
}

func (n *ntlmConns) authenticated(key any) *account {
	n.mu.Lock()
	defer n.mu.Unlock()
	if c := n.m[key]; c != nil {
		return c.acct
	}
	return nil
}

func (n *ntlmConns) put(key any, c *ntlmConn) {
	n.mu.Lock()
	if n.m == nil {
		n.m = make(map[any]*ntlmConn)
	}
	n.m[key] = c
	n.mu.Unlock()
}

func (n *ntlmConns) get(key any) *ntlmConn {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.m[key]
}

// forget drops a closed connection's state (http.Server.ConnState hook).
func (n *ntlmConns) forget(key any) {
	n.mu.Lock()
	delete(n.m, key)
	n.mu.Unlock()
}

const ntlmSignature = "NTLMSSP\x00"

// ntlmStep handles Type 1 (negotiate → answer a Type 2 challenge) and
// Type 3 (authenticate → verify the NTLMv2 response).
func (s *Sim) ntlmStep(w http.ResponseWriter, r *http.Request, scheme, token string) *account {
	msg, err := base64.StdEncoding.DecodeString(token)
	if err != nil || len(msg) < 12 || string(msg[:8]) != ntlmSignature {
		s.stats.authFailure()
		challenge(w, "")
		return nil
	}
	key := connKey(r)
	switch binary.LittleEndian.Uint32(msg[8:]) {
	case 1:
		c := &ntlmConn{}
		_, _ = rand.Read(c.challenge[:])
		s.ntlm.put(key, c)
		tok := base64.StdEncoding.EncodeToString(ntlmChallengeMessage(c.challenge, s.clock.Now()))
		w.Header().Set("WWW-Authenticate", scheme+" "+tok)
		http.Error(w, "401 Unauthorized", http.StatusUnauthorized)
		return nil
	case 3:
		c := s.ntlm.get(key)
		if c == nil {
			s.stats.authFailure()
			challenge(w, "")
			return nil
		}
		a := s.verifyNTLM(msg, c.challenge)
		if a == nil {
			s.ntlm.forget(key)
			s.stats.authFailure()
			challenge(w, "")
			return nil
		}
		c.acct = a
		return a
	}
	s.stats.authFailure()
	challenge(w, "")
	return nil
}

// NTLM flags the challenge sets: Unicode, request target, NTLM, always
// sign, target type domain, extended session security, target info,
// 128-bit. No LM key and no key exchange (NTLMv2 only).
const ntlmChallengeFlags = 1<<0 | 1<<2 | 1<<9 | 1<<15 | 1<<16 | 1<<19 | 1<<23 | 1<<29

func ntlmChallengeMessage(ch [8]byte, now time.Time) []byte {
	target := utf16le("EWSSIM")
	var info []byte
	av := func(id uint16, v []byte) {
		info = binary.LittleEndian.AppendUint16(info, id)
		info = binary.LittleEndian.AppendUint16(info, uint16(len(v)))
		info = append(info, v...)
	}
	av(2, target)                         // NetBIOS domain
	av(1, utf16le("EXCH01"))              // NetBIOS computer
	av(4, utf16le("ewssim.local"))        // DNS domain
	av(3, utf16le("exch01.ewssim.local")) // DNS computer
	ts := make([]byte, 8)                 // FILETIME
	binary.LittleEndian.PutUint64(ts, uint64(now.UnixNano()/100)+116444736000000000)
	av(7, ts)
	av(0, nil)

	const headerLen = 48
	msg := make([]byte, headerLen, headerLen+len(target)+len(info))
	copy(msg, ntlmSignature)
	binary.LittleEndian.PutUint32(msg[8:], 2)
	putVarField(msg[12:], len(target), headerLen)
	binary.LittleEndian.PutUint32(msg[20:], ntlmChallengeFlags)
	copy(msg[24:32], ch[:])
	putVarField(msg[40:], len(info), headerLen+len(target))
	msg = append(msg, target...)
	return append(msg, info...)
}

func putVarField(b []byte, n, off int) {
	binary.LittleEndian.PutUint16(b, uint16(n))
	binary.LittleEndian.PutUint16(b[2:], uint16(n))
	binary.LittleEndian.PutUint32(b[4:], uint32(off))
}

func varField(msg []byte, at int) ([]byte, bool) {
	if len(msg) < at+8 {
		return nil, false
	}
	n := int(binary.LittleEndian.Uint16(msg[at:]))
	off := int(binary.LittleEndian.Uint32(msg[at+4:]))
	if off < 0 || n < 0 || off+n > len(msg) {
		return nil, false
	}
	return msg[off : off+n], true
}

// verifyNTLM checks an AUTHENTICATE message's NTLMv2 response:
// NTProofStr = HMAC-MD5(NTOWFv2, serverChallenge || blob), where
// NTOWFv2 = HMAC-MD5(MD4(UTF-16LE(password)), UTF-16LE(upper(user) || domain)).
func (s *Sim) verifyNTLM(msg []byte, serverChallenge [8]byte) *account {
	nt, ok1 := varField(msg, 20)
	dom, ok2 := varField(msg, 28)
	usr, ok3 := varField(msg, 36)
	if !ok1 || !ok2 || !ok3 || len(nt) < 16+28 {
		return nil
	}
	user, domain := fromUTF16(usr), fromUTF16(dom)
	a := s.ntlmAccount(user, domain)
	if a == nil || a.Password == "" {
		return nil
	}
	ntHash := md4Sum(utf16le(a.Password))
	v2 := hmacMD5(ntHash[:], utf16le(strings.ToUpper(user)+domain))
	proof := hmacMD5(v2, serverChallenge[:], nt[16:])
	if !hmac.Equal(proof, nt[:16]) {
		return nil
	}
	return a
}

// ntlmAccount finds the account for an NTLM user name: "user" with domain
// "DOM" matches DOM\user; a UPN matches as is.
func (s *Sim) ntlmAccount(user, domain string) *account {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if domain != "" {
		if a := s.accounts[strings.ToLower(domain+`\`+user)]; a != nil {
			return a
		}
	}
	return s.accounts[strings.ToLower(user)]
}

func hmacMD5(key []byte, data ...[]byte) []byte {
	m := hmac.New(md5.New, key)
	for _, d := range data {
		m.Write(d)
	}
	return m.Sum(nil)
}

func utf16le(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	return b
}

func fromUTF16(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}
