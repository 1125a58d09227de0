package ewssim

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// EWSPath is where the simulator serves EWS, as Exchange does.
const EWSPath = "/EWS/Exchange.asmx"

// StatsPath serves Stats as JSON, for operators watching a demo run.
const StatsPath = "/ewssim/stats"

func (s *Sim) serveStats(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.Stats())
}

// Handler serves EWS at EWSPath and the OAuth 2.0 / OpenID endpoints of an
// Entra-like authority at /{tenant}/... . NTLM needs to know connections:
// serve it through Start or Serve, or set ConnContext on your http.Server.
func (s *Sim) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(EWSPath, s.serveEWS)
	mux.HandleFunc("/ews/exchange.asmx", s.serveEWS)
	mux.HandleFunc("GET "+StatsPath, s.serveStats)
	mux.HandleFunc("GET /common/discovery/instance", s.serveInstanceDiscovery)
	mux.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", s.serveOpenID)
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", s.serveToken)
	return mux
}

// operation is one parsed EWS request.
type operation interface {
	// run answers the request into c.w. It is called without any lock.
	run(c *call)
}

// mailboxTargeter is implemented by requests that name mailboxes
// (delegate access), for fault injection by mailbox.
type mailboxTargeter interface {
	targetMailbox(s *Sim) string
}

func (s *Sim) mailboxName(idx uint32) string {
	if mb, ok := s.mailboxByIdx(idx); ok {
		return mb.addr
	}
	return ""
}

var operations = map[string]func() operation{
	"GetFolder":                  func() operation { return new(getFolderReq) },
	"FindFolder":                 func() operation { return new(findFolderReq) },
	"SyncFolderHierarchy":        func() operation { return new(syncHierarchyReq) },
	"SyncFolderItems":            func() operation { return new(syncItemsReq) },
	"GetItem":                    func() operation { return new(getItemReq) },
	"FindItem":                   func() operation { return new(findItemReq) },
	"CreateItem":                 func() operation { return new(createItemReq) },
	"GetAttachment":              func() operation { return new(getAttachmentReq) },
	"CreateAttachment":           func() operation { return new(createAttachmentReq) },
	"UpdateItem":                 func() operation { return new(updateItemReq) },
	"DeleteItem":                 func() operation { return new(deleteItemReq) },
	"GetUserAvailabilityRequest": func() operation { return new(availabilityReq) },
	"ResolveNames":               func() operation { return new(resolveNamesReq) },
	"GetRoomLists":               func() operation { return new(getRoomListsReq) },
	"GetRooms":                   func() operation { return new(getRoomsReq) },
}

// opName is the name used in stats and faults (GetUserAvailabilityRequest
// is GetUserAvailability, as in the WSDL operation).
func opName(element string) string {
	if element == "GetUserAvailabilityRequest" {
		return "GetUserAvailability"
	}
	return element
}

type impersonationHeader struct {
	PrimarySmtpAddress string `xml:"ConnectingSID>PrimarySmtpAddress"`
	SmtpAddress        string `xml:"ConnectingSID>SmtpAddress"`
	PrincipalName      string `xml:"ConnectingSID>PrincipalName"`
}

func (h impersonationHeader) address() string {
	for _, a := range []string{h.PrimarySmtpAddress, h.SmtpAddress, h.PrincipalName} {
		if a != "" {
			return a
		}
	}
	return ""
}

type request struct {
	op            string // element name
	impersonate   string
	impersonating bool
	body          operation
}

// parseEnvelope reads a SOAP 1.1 envelope: the ExchangeImpersonation
// header and the operation element in the body. The request is read
// first through the lexer (lexer.go), which tokenizes the plain XML that
// clients send without encoding/xml's per-byte reads and allocations; on
// any error, or input outside the lexer's subset, it is read again
// entirely by encoding/xml's own tokenizer, so what is accepted and every
// error are encoding/xml's. An operation whose request keeps raw XML
// (innerxml, which a token decoder cannot give) is always read by
// encoding/xml.
func parseEnvelope(data []byte) (*request, *ewsError) {
	if req, err := parseLexed(data); err == nil {
		return req, nil
	}
	return parseEnvelopeFrom(xml.NewDecoder(bytes.NewReader(data)))
}

// parseLexed reads the request through the lexer. A request whose struct
// keeps raw XML (",innerxml": CreateItem's messages) is refused, for
// encoding/xml to read: a token decoder has no raw input to give.
func parseLexed(data []byte) (*request, *ewsError) {
	req, err := parseEnvelopeFrom(xml.NewTokenDecoder(&lexer{b: data}))
	if err != nil {
		return nil, err
	}
	if _, raw := req.body.(rawXMLReader); raw {
		return nil, errSchema("the request keeps raw XML")
	}
	return req, nil
}

// rawXMLReader marks a request struct with an ",innerxml" field.
type rawXMLReader interface{ keepsRawXML() }

func parseEnvelopeFrom(d *xml.Decoder) (*request, *ewsError) {
	req := &request{}
	depth := 0
	inHeader, inBody := false, false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, errSchema("the request is not well-formed XML: " + err.Error())
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			switch {
			case depth == 1:
				if t.Name.Space != nsSoap || t.Name.Local != "Envelope" {
					return nil, errSchema("the root element must be a SOAP 1.1 Envelope")
				}
			case depth == 2 && t.Name.Space == nsSoap && t.Name.Local == "Header":
				inHeader = true
			case depth == 2 && t.Name.Space == nsSoap && t.Name.Local == "Body":
				inBody = true
			case depth == 2:
				return nil, errSchema("unexpected element " + t.Name.Local + " in Envelope")
			case depth == 3 && inHeader:
				if t.Name.Local == "ExchangeImpersonation" && t.Name.Space == nsTypes {
					var h impersonationHeader
					if err := d.DecodeElement(&h, &t); err != nil {
						return nil, errSchema("ExchangeImpersonation: " + err.Error())
					}
					req.impersonating = true
					req.impersonate = h.address()
					if req.impersonate == "" {
						return nil, errSchema("ExchangeImpersonation needs a ConnectingSID address")
					}
				} else if err := d.Skip(); err != nil {
					return nil, errSchema(err.Error())
				}
				depth--
			case depth == 3 && inBody:
				if req.body != nil {
					return nil, errSchema("the Body holds more than one operation")
				}
				mk, ok := operations[t.Name.Local]
				if !ok || t.Name.Space != nsMessages {
					return nil, ewsErr("ErrorInvalidRequest", "The request is invalid: unsupported operation {"+t.Name.Space+"}"+t.Name.Local)
				}
				req.op = t.Name.Local
				req.body = mk()
				if err := d.DecodeElement(req.body, &t); err != nil {
					return nil, errSchema(t.Name.Local + ": " + err.Error())
				}
				if v, ok := req.body.(interface{ validate() *ewsError }); ok {
					if e := v.validate(); e != nil {
						return nil, e
					}
				}
				depth--
			}
		case xml.EndElement:
			depth--
			if depth == 1 {
				inHeader, inBody = false, false
			}
		}
	}
	if req.body == nil {
		return nil, errSchema("the SOAP Body holds no EWS operation")
	}
	return req, nil
}

// readRequest is io.ReadAll with the buffer sized from the announced
// length (at most max, which the reader enforces anyway): one allocation
// per request instead of a doubling series. A wrong Content-Length only
// costs growth.
func readRequest(r io.Reader, announced, max int64) ([]byte, error) {
	if announced <= 0 || announced > max {
		return io.ReadAll(r)
	}
	b := make([]byte, 0, announced+1) // +1: reading EOF needs no growth
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}

// call is the context of one EWS request while it runs.
type call struct {
	s    *Sim
	acct *account
	// imp is the impersonated mailbox, nil under delegate access.
	imp *mailbox
	w   *xw
	now time.Time
}

func (s *Sim) serveEWS(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		s.serveEWSGet(w, r) // ews_get.go: NTLM may start with a GET
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, HEAD, POST")
		http.Error(w, "EWS accepts POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := readRequest(http.MaxBytesReader(w, r.Body, s.opts.MaxRequestBytes), r.ContentLength, s.opts.MaxRequestBytes)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "cannot read request", http.StatusBadRequest)
		return
	}
	acct := s.authenticate(w, r)
	if acct == nil {
		return
	}
	req, perr := parseEnvelope(body)
	if perr != nil {
		s.stats.call("Invalid")
		writeFault(w, perr, 0)
		return
	}
	op := opName(req.op)
	s.stats.call(op)

	c := &call{s: s, acct: acct, now: s.clock.Now()}
	owner := "account:" + acct.budgetName()
	target := ""
	if req.impersonating {
		mb, e := s.impersonate(acct, req.impersonate)
		if e != nil {
			writeFault(w, e, 0)
			return
		}
		c.imp = mb
		if normAddr(r.Header.Get("X-AnchorMailbox")) != mb.addr {
			s.stats.missingAnchor()
		}
		owner = "mailbox:" + mb.addr
		target = mb.addr
	} else if t, ok := req.body.(mailboxTargeter); ok {
		target = t.targetMailbox(s)
	}
	if target == "" {
		target = acct.Mailbox
	}

	release, ok := s.acquire(owner, op)
	if !ok {
		s.stats.throttle(owner)
		writeFault(w, errServerBusy, s.opts.BackOff)
		return
	}
	defer release()

	f, hit := s.faults.pick(op, target)
	if hit {
		s.stats.fault()
		if s.answerFault(w, r, f, target) {
			return
		}
	}

	delay := s.delay(op)
	if hit && f.Kind == FaultSlow {
		delay += f.Delay
	}
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}

	c.w = getWriter()
	c.w.charRefs = s.opts.ControlCharRefs
	defer putWriter(c.w)
	req.body.run(c)
	release()

	out := c.w.b
	if hit && Cut(f.Kind) {
		SendCut(r.Context(), w, f.Kind, http.StatusOK, "text/xml; charset=utf-8", out)
		return
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
}

// answerFault applies an injected fault and reports whether it answered
// the request (the others change how the normal answer is sent).
func (s *Sim) answerFault(w http.ResponseWriter, r *http.Request, f Fault, target string) bool {
	switch f.Kind {
	case FaultHTTP503, FaultHTTP429:
		status := http.StatusServiceUnavailable
		if f.Kind == FaultHTTP429 {
			status = http.StatusTooManyRequests
		}
		w.Header().Set("Retry-After", strconv.Itoa(int(f.RetryAfter.Round(time.Second)/time.Second)))
		http.Error(w, http.StatusText(status), status)
		return true
	case FaultSOAP:
		code := f.Code
		if code == "" {
			code = "ErrorInternalServerError"
		}
		writeFault(w, ewsErr(code, "An internal server error occurred. The operation failed."), f.BackOff)
		return true
	case FaultRaw:
		AnswerRaw(w, f)
		return true
	case FaultHang:
		Hang(r.Context())
		return true
	case FaultDrop:
		Drop(w)
		return true
	case FaultInvalidateSyncState:
		if target != "" {
			_ = s.InvalidateSyncStates(target, "")
		}
	}
	return false
}

// acquire takes a slot of owner's concurrency budget (and of its sync
// budget for sync operations). The returned release is idempotent, so the
// handler can free the slot as soon as the answer is built.
func (s *Sim) acquire(owner, op string) (release func(), ok bool) {
	if !s.thr.acquire(owner, int(s.maxConc.Load())) {
		return nil, false
	}
	syncOwner := ""
	if s.opts.MaxConcurrentSyncCalls > 0 && (op == "SyncFolderItems" || op == "SyncFolderHierarchy") {
		syncOwner = owner + "#sync"
		if !s.thr.acquire(syncOwner, s.opts.MaxConcurrentSyncCalls) {
			s.thr.release(owner)
			return nil, false
		}
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			s.thr.release(owner)
			if syncOwner != "" {
				s.thr.release(syncOwner)
			}
		})
	}, true
}

// impersonate checks the ExchangeImpersonation target.
func (s *Sim) impersonate(acct *account, address string) (*mailbox, *ewsError) {
	mb, ok := s.mailbox(address)
	if !ok {
		return nil, errNoMailbox
	}
	s.mu.RLock()
	allowed := acct.ImpersonateAll || acct.scope[mb.addr]
	s.mu.RUnlock()
	if !allowed {
		return nil, errImpersonate
	}
	return mb, nil
}

// writeFault answers a SOAP fault with HTTP 500, as Exchange does for
// schema errors, impersonation failures and throttling.
func writeFault(w http.ResponseWriter, e *ewsError, backOff time.Duration) {
	x := getWriter()
	defer putWriter(x)
	faultCode := "a:" + e.code
	x.raw(envelopeStart)
	x.raw(`<s:Fault><faultcode xmlns:a="` + nsTypes + `">`)
	x.esc(faultCode)
	x.raw(`</faultcode><faultstring xml:lang="en-US">`)
	x.esc(e.text)
	x.raw(`</faultstring><detail><e:ResponseCode xmlns:e="` + nsErrors + `">`)
	x.esc(e.code)
	x.raw(`</e:ResponseCode><e:Message xmlns:e="` + nsErrors + `">`)
	x.esc(e.text)
	x.raw(`</e:Message>`)
	if backOff > 0 {
		x.raw(`<t:MessageXml xmlns:t="` + nsTypes + `"><t:Value Name="BackOffMilliseconds">`)
		x.raw(strconv.FormatInt(backOff.Milliseconds(), 10))
		x.raw(`</t:Value></t:MessageXml>`)
	}
	x.raw(`</detail></s:Fault>` + envelopeEnd)
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(x.b)))
	w.WriteHeader(http.StatusInternalServerError)
	_, _ = w.Write(x.b)
}
