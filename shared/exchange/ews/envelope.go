package ews

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Namespaces of SOAP 1.1 and EWS.
const (
	nsSOAP     = "http://schemas.xmlsoap.org/soap/envelope/"
	nsTypes    = "http://schemas.microsoft.com/exchange/services/2006/types"
	nsMessages = "http://schemas.microsoft.com/exchange/services/2006/messages"
)

// Requests are built with encoding/xml so every value is escaped by the
// encoder. Element names carry their prefix literally ("t:ItemId"); the
// envelope declares the prefixes once.

type xEnvelope struct {
	XMLName xml.Name `xml:"soap:Envelope"`
	NSSoap  string   `xml:"xmlns:soap,attr"`
	NST     string   `xml:"xmlns:t,attr"`
	NSM     string   `xml:"xmlns:m,attr"`
	Header  xHeader  `xml:"soap:Header"`
	Body    xBody    `xml:"soap:Body"`
}

type xHeader struct {
	Version       xVersion        `xml:"t:RequestServerVersion"`
	Impersonation *xImpersonation `xml:"t:ExchangeImpersonation,omitempty"`
}

type xVersion struct {
	Version string `xml:"Version,attr"`
}

type xImpersonation struct {
	PrimarySmtpAddress string `xml:"t:ConnectingSID>t:PrimarySmtpAddress"`
}

type xBody struct {
	Op any // marshalled under its own XMLName, e.g. "m:SyncFolderItems"
}

// marshalEnvelope builds the SOAP request for op addressed as t.
func marshalEnvelope(version string, t Target, op any) ([]byte, error) {
	env := xEnvelope{NSSoap: nsSOAP, NST: nsTypes, NSM: nsMessages}
	env.Header.Version.Version = version
	if t.Mode == ModeImpersonation {
		env.Header.Impersonation = &xImpersonation{PrimarySmtpAddress: t.Mailbox}
	}
	env.Body.Op = op
	w := encoderPool.Get().(*pooledWriter)
	defer func() {
		if w.buf.Cap() <= maxPooledRequest {
			encoderPool.Put(w)
		}
	}()
	w.buf.Reset()
	w.bw.Reset(&w.buf)
	w.buf.WriteString(xml.Header)
	// xml.NewEncoder keeps a *bufio.Writer it is given instead of making
	// a 4 KB one per request (that was a tenth of a sync's allocations).
	enc := xml.NewEncoder(w.bw)
	// Indented for people reading traces; only whitespace between
	// elements is added, never inside a value.
	enc.Indent("", " ")
	if err := enc.Encode(env); err != nil {
		return nil, err
	}
	// The body outlives the call (the transport sends it): a copy of the
	// pooled buffer, of exactly its size.
	return bytes.Clone(w.buf.Bytes()), nil
}

// maxPooledRequest: a buffer grown past it by a large request (a long
// event body) is left to the collector rather than kept.
const maxPooledRequest = 256 << 10

type pooledWriter struct {
	buf bytes.Buffer
	bw  *bufio.Writer
}

var encoderPool = sync.Pool{New: func() any {
	w := &pooledWriter{}
	w.bw = bufio.NewWriterSize(&w.buf, 4096)
	return w
}}

// shapeFragment is the m:ItemShape element of shape exactly as
// marshalEnvelope encodes it as the first child of an operation (depth 3,
// indented), for an innerxml field. It is encoded once per shape: a sync
// sends the same few shapes in every GetItem, and encoding them by
// reflection each time was most of what a GetItem request cost to build.
// Shapes built at run time are cached up to maxShapeFragments.
func shapeFragment(shape Shape) (string, error) {
	key := shapeKey(shape)
	shapeFragments.Lock()
	frag, ok := shapeFragments.m[key]
	shapeFragments.Unlock()
	if ok {
		return frag, nil
	}
	type wrapper struct {
		XMLName   xml.Name   `xml:"w"`
		ItemShape xItemShape `xml:"m:ItemShape"`
	}
	var buf bytes.Buffer
	enc := xml.NewEncoder(&buf)
	// Two spaces of prefix and one of indent put the shape's lines where
	// marshalEnvelope's Indent("", " ") puts them at depth 3.
	enc.Indent("  ", " ")
	if err := enc.Encode(wrapper{ItemShape: shape.xml()}); err != nil {
		return "", err
	}
	out := buf.String()
	start, end := strings.Index(out, "<w>")+len("<w>"), strings.LastIndex(out, "\n  </w>")
	if start < len("<w>") || end < start {
		return "", fmt.Errorf("ews: item shape fragment: unexpected encoding %q", out)
	}
	frag = out[start:end]
	shapeFragments.Lock()
	if len(shapeFragments.m) < maxShapeFragments {
		shapeFragments.m[key] = frag
	}
	shapeFragments.Unlock()
	return frag, nil
}

const maxShapeFragments = 64

var shapeFragments = struct {
	sync.Mutex
	m map[string]string
}{m: map[string]string{}}

// shapeKey names a shape by everything its encoding depends on.
func shapeKey(s Shape) string {
	var b strings.Builder
	b.WriteString(s.Base)
	b.WriteByte(0)
	b.WriteString(s.BodyType)
	b.WriteByte(0)
	b.WriteString(strconv.Itoa(s.MaxBodySize))
	for _, f := range s.Fields {
		b.WriteByte(0)
		b.WriteString(f)
	}
	for _, e := range s.Extended {
		x := e.xml()
		for _, v := range []string{x.DistinguishedPropertySetID, x.PropertySetID, x.PropertyTag, x.PropertyName, x.PropertyID, x.PropertyType} {
			b.WriteByte(1)
			b.WriteString(v)
		}
	}
	return b.String()
}

// --- shared request pieces -------------------------------------------------

type xID struct {
	ID        string `xml:"Id,attr"`
	ChangeKey string `xml:"ChangeKey,attr,omitempty"`
}

type xEmailAddress struct {
	EmailAddress string `xml:"t:EmailAddress"`
}

type xDistinguishedFolder struct {
	ID        string         `xml:"Id,attr"`
	ChangeKey string         `xml:"ChangeKey,attr,omitempty"`
	Mailbox   *xEmailAddress `xml:"t:Mailbox,omitempty"`
}

// xFolderIDs is both TargetFolderIdType (one entry) and
// NonEmptyArrayOfBaseFolderIdsType (a choice repeated in any order).
type xFolderIDs struct {
	FolderID      []xID                  `xml:"t:FolderId"`
	Distinguished []xDistinguishedFolder `xml:"t:DistinguishedFolderId"`
}

type xItemIDs struct {
	ItemID []xID `xml:"t:ItemId"`
}

type xFieldURI struct {
	FieldURI string `xml:"FieldURI,attr"`
}

type xExtendedFieldURI struct {
	DistinguishedPropertySetID string `xml:"DistinguishedPropertySetId,attr,omitempty"`
	PropertySetID              string `xml:"PropertySetId,attr,omitempty"`
	PropertyTag                string `xml:"PropertyTag,attr,omitempty"`
	PropertyName               string `xml:"PropertyName,attr,omitempty"`
	PropertyID                 string `xml:"PropertyId,attr,omitempty"`
	PropertyType               string `xml:"PropertyType,attr"`
}

type xPaths struct {
	FieldURI         []xFieldURI         `xml:"t:FieldURI"`
	ExtendedFieldURI []xExtendedFieldURI `xml:"t:ExtendedFieldURI"`
}

type xItemShape struct {
	BaseShape            string  `xml:"t:BaseShape"`
	IncludeMimeContent   bool    `xml:"t:IncludeMimeContent,omitempty"`
	BodyType             string  `xml:"t:BodyType,omitempty"`
	MaximumBodySize      int     `xml:"t:MaximumBodySize,omitempty"`
	AdditionalProperties *xPaths `xml:"t:AdditionalProperties,omitempty"`
}

type xFolderShape struct {
	BaseShape            string  `xml:"t:BaseShape"`
	AdditionalProperties *xPaths `xml:"t:AdditionalProperties,omitempty"`
}

func paths(fields []string, ext []ExtendedField) *xPaths {
	if len(fields) == 0 && len(ext) == 0 {
		return nil
	}
	p := &xPaths{}
	for _, f := range fields {
		p.FieldURI = append(p.FieldURI, xFieldURI{f})
	}
	for _, e := range ext {
		p.ExtendedFieldURI = append(p.ExtendedFieldURI, e.xml())
	}
	return p
}

// folderIDs turns refs into request folder ids. In delegate mode a
// distinguished folder names the target mailbox; a FolderId already
// identifies its mailbox.
func folderIDs(op string, t Target, refs ...FolderRef) (xFolderIDs, error) {
	var ids xFolderIDs
	for _, r := range refs {
		switch {
		case r.ID != "" && r.Distinguished != "":
			return ids, invalidArg(op, "folder has both ID and Distinguished set")
		case r.ID != "":
			ids.FolderID = append(ids.FolderID, xID{ID: r.ID, ChangeKey: r.ChangeKey})
		case r.Distinguished != "":
			if !distinguishedFolders[r.Distinguished] {
				return ids, invalidArg(op, "unknown distinguished folder %q", r.Distinguished)
			}
			d := xDistinguishedFolder{ID: r.Distinguished, ChangeKey: r.ChangeKey}
			if t.Mode == ModeDelegate {
				d.Mailbox = &xEmailAddress{EmailAddress: t.Mailbox}
			}
			ids.Distinguished = append(ids.Distinguished, d)
		default:
			return ids, invalidArg(op, "folder has neither ID nor Distinguished set")
		}
	}
	return ids, nil
}

func itemIDs(refs ...ItemRef) xItemIDs {
	ids := xItemIDs{ItemID: make([]xID, len(refs))}
	for i, r := range refs {
		ids.ItemID[i] = xID(r)
	}
	return ids
}

// distinguishedFolders are the DistinguishedFolderIdNameType values in the
// schema that Mailbridge has a use for.
var distinguishedFolders = map[string]bool{
	"calendar": true, "contacts": true, "deleteditems": true, "drafts": true, "inbox": true,
	"journal": true, "notes": true, "outbox": true, "sentitems": true, "tasks": true,
	"msgfolderroot": true, "root": true, "junkemail": true, "searchfolders": true,
	"voicemail": true, "archivemsgfolderroot": true, "archiveinbox": true, "archiveroot": true,
	"archivedeleteditems": true, "recoverableitemsroot": true, "recoverableitemsdeletions": true,
	"syncissues": true, "conflicts": true, "localfailures": true, "serverfailures": true,
	"recipientcache": true, "quickcontacts": true, "conversationhistory": true,
	"mycontacts": true, "favorites": true, "scheduled": true, "archive": true,
}

func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// --- response side ----------------------------------------------------------

// soapFault is the decoded soap:Fault.
type soapFault struct {
	Code, String, ResponseCode, Message string
	BackOff                             time.Duration
	el                                  elem // the soap:Fault element
}

// parseEnvelope parses a SOAP response and returns the element inside
// soap:Body (the operation's response), or the fault it carries.
func parseEnvelope(body []byte) (elem, *soapFault, error) {
	t, err := parseXML(body)
	if err != nil {
		return elem{}, nil, fmt.Errorf("%w: %w", ErrMalformedResponse, err)
	}
	root := elem{t, 0}
	if root.name() != "Envelope" {
		return elem{}, nil, fmt.Errorf("%w: root element is <%s>, not a SOAP envelope", ErrMalformedResponse, root.name())
	}
	b := root.child("Body")
	if !b.ok() {
		return elem{}, nil, fmt.Errorf("%w: SOAP envelope has no Body", ErrMalformedResponse)
	}
	op := b.firstChild()
	if !op.ok() {
		return elem{}, nil, fmt.Errorf("%w: SOAP Body is empty", ErrMalformedResponse)
	}
	if op.name() == "Fault" {
		return elem{}, decodeFault(op), nil
	}
	return op, nil, nil
}

func decodeFault(f elem) *soapFault {
	sf := &soapFault{
		Code:   f.child("faultcode").text(),
		String: strings.TrimSpace(f.child("faultstring").text()),
		el:     f,
	}
	d := f.child("detail")
	sf.ResponseCode = strings.TrimSpace(d.child("ResponseCode").text())
	sf.Message = strings.TrimSpace(d.child("Message").text())
	sf.BackOff = backOff(d.child("MessageXml"))
	if sf.ResponseCode == "" {
		// Exchange Online sometimes puts the code only in faultcode, as
		// "a:ErrorServerBusy".
		c := sf.Code
		if i := strings.LastIndexByte(c, ':'); i >= 0 {
			c = c[i+1:]
		}
		if strings.HasPrefix(c, "Error") {
			sf.ResponseCode = c
		}
	}
	return sf
}

func (f *soapFault) toError(op string, status int) *Error {
	return &Error{
		Layer:        LayerSOAPFault,
		Op:           op,
		HTTPStatus:   status,
		ResponseCode: f.ResponseCode,
		Message:      f.Message,
		BackOff:      f.BackOff,
		FaultCode:    f.Code,
		FaultString:  f.String,
	}
}

// backOff reads <t:Value Name="BackOffMilliseconds">N</t:Value> from a
// MessageXml element.
func backOff(mx elem) time.Duration {
	for v := range mx.children() {
		if v.attr("Name") == "BackOffMilliseconds" {
			ms, err := strconv.ParseInt(strings.TrimSpace(v.text()), 10, 64)
			if err == nil && ms > 0 && ms < int64(24*time.Hour/time.Millisecond) {
				return time.Duration(ms) * time.Millisecond
			}
		}
	}
	return 0
}

// respMsg is the common part of every ResponseMessage.
type respMsg struct {
	Class   string // Success | Warning | Error
	Code    string
	Text    string
	BackOff time.Duration
	el      elem
}

func decodeRespMsg(m elem) respMsg {
	return respMsg{
		Class:   m.attr("ResponseClass"),
		Code:    strings.TrimSpace(m.child("ResponseCode").text()),
		Text:    strings.TrimSpace(m.child("MessageText").text()),
		BackOff: backOff(m.child("MessageXml")),
		el:      m,
	}
}

// err returns the message as an *Error when its class is Error.
func (m respMsg) err(op string) *Error {
	if m.Class != "Error" {
		return nil
	}
	return &Error{Layer: LayerResponse, Op: op, HTTPStatus: 200, ResponseCode: m.Code, Message: m.Text, BackOff: m.BackOff}
}

// responseMessages returns the ResponseMessages children of an operation
// response, checking the response element is the expected one.
func responseMessages(op string, resp elem) ([]respMsg, error) {
	if resp.name() != op+"Response" {
		return nil, fmt.Errorf("%w: expected <%sResponse>, got <%s>", ErrMalformedResponse, op, resp.name())
	}
	rm := resp.child("ResponseMessages")
	msgs := make([]respMsg, 0, rm.countChildren())
	for m := range rm.children() {
		msgs = append(msgs, decodeRespMsg(m))
	}
	if len(msgs) == 0 {
		return nil, fmt.Errorf("%w: <%sResponse> has no response messages", ErrMalformedResponse, op)
	}
	return msgs, nil
}

// wrapDecode makes a decoding failure an *Error; per-message errors
// already are one. A nil err stays nil.
func wrapDecode(op string, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return &Error{Layer: LayerTransport, Op: op, HTTPStatus: 200, Err: err}
}

// singleMessage is for operations that send one request message and get
// one response message back.
func singleMessage(op string, resp elem) (respMsg, error) {
	msgs, err := responseMessages(op, resp)
	if err != nil {
		return respMsg{}, err
	}
	if e := msgs[0].err(op); e != nil {
		return respMsg{}, e
	}
	return msgs[0], nil
}

func parseBool(s string) bool { return strings.TrimSpace(s) == "true" || strings.TrimSpace(s) == "1" }

func parseInt(s string) int {
	n, _ := strconv.Atoi(strings.TrimSpace(s))
	return n
}

// parseTime accepts the xs:dateTime forms Exchange sends; a value it
// cannot read becomes the zero time rather than failing the whole page.
func parseTime(s string) time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t
	}
	if t, err := time.Parse("2006-01-02T15:04:05", s); err == nil {
		return t
	}
	return time.Time{}
}
