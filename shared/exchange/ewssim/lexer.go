package ewssim

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
)

// lexer is an xml.TokenReader for the plain subset of XML that EWS
// clients send: an optional leading <?xml version="1.0"
// encoding="utf-8"?>, elements with ASCII names (at most one prefix) and
// quoted attributes, and text of printable ASCII, tab and newline with the
// five predefined entities and character references to those characters.
// It yields the tokens encoding/xml's own tokenizer yields for such input
// (raw names: the prefix in Name.Space; xml.NewTokenDecoder resolves
// namespaces and checks nesting as for any input). Anything else (a
// comment, CDATA, a DTD, a carriage return, non-ASCII bytes, a malformed
// tag) is errOutsideSubset: parseEnvelope then reads the request with
// encoding/xml alone, so the lexer decides speed, never the outcome.
//
// encoding/xml's tokenizer reads a byte at a time through an interface
// and allocates every name; for the simulator's many small requests that
// was the largest CPU cost of serving them.
type lexer struct {
	b         []byte
	pos       int
	needClose bool
	toClose   xml.Name
	buf       []byte // entity-decoded text
}

var errOutsideSubset = errors.New("ewssim: request outside the lexer's subset")

var xmlDecls = [][]byte{
	[]byte(`<?xml version="1.0" encoding="utf-8"?>`),
	[]byte(`<?xml version="1.0" encoding="UTF-8"?>`),
}

// Token implements xml.TokenReader.
func (l *lexer) Token() (xml.Token, error) {
	if l.needClose {
		l.needClose = false
		return xml.EndElement{Name: l.toClose}, nil
	}
	if l.pos >= len(l.b) {
		return nil, io.EOF
	}
	if l.pos == 0 {
		for _, decl := range xmlDecls {
			if bytes.HasPrefix(l.b, decl) {
				l.pos = len(decl)
				return xml.ProcInst{Target: "xml", Inst: decl[len("<?xml ") : len(decl)-2]}, nil
			}
		}
	}
	if l.b[l.pos] != '<' {
		text, ok := l.text(-1)
		if !ok {
			return nil, errOutsideSubset
		}
		return xml.CharData(text), nil
	}
	l.pos++
	if l.pos < len(l.b) && l.b[l.pos] == '/' {
		l.pos++
		name, ok := l.name()
		if !ok {
			return nil, errOutsideSubset
		}
		l.space()
		if l.pos >= len(l.b) || l.b[l.pos] != '>' {
			return nil, errOutsideSubset
		}
		l.pos++
		return xml.EndElement{Name: name}, nil
	}
	name, ok := l.name()
	if !ok {
		return nil, errOutsideSubset // also <? <! and <
	}
	attrs := []xml.Attr{}
	for {
		l.space()
		if l.pos >= len(l.b) {
			return nil, errOutsideSubset
		}
		switch l.b[l.pos] {
		case '/':
			if l.pos+1 >= len(l.b) || l.b[l.pos+1] != '>' {
				return nil, errOutsideSubset
			}
			l.pos += 2
			l.needClose, l.toClose = true, name
			return xml.StartElement{Name: name, Attr: attrs}, nil
		case '>':
			l.pos++
			return xml.StartElement{Name: name, Attr: attrs}, nil
		}
		an, ok := l.name()
		if !ok {
			return nil, errOutsideSubset
		}
		l.space()
		if l.pos >= len(l.b) || l.b[l.pos] != '=' {
			return nil, errOutsideSubset
		}
		l.pos++
		l.space()
		if l.pos >= len(l.b) || (l.b[l.pos] != '"' && l.b[l.pos] != '\'') {
			return nil, errOutsideSubset
		}
		q := l.b[l.pos]
		l.pos++
		v, ok := l.text(int(q))
		if !ok {
			return nil, errOutsideSubset
		}
		attrs = append(attrs, xml.Attr{Name: an, Value: string(v)})
	}
}

// space skips the whitespace the subset has (no carriage return: a
// literal one is rewritten by XML's line-end rule, left to encoding/xml).
func (l *lexer) space() {
	for l.pos < len(l.b) && (l.b[l.pos] == ' ' || l.b[l.pos] == '\t' || l.b[l.pos] == '\n') {
		l.pos++
	}
}

func nameStart(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' }

func nameByte(c byte) bool {
	return nameStart(c) || '0' <= c && c <= '9' || c == '.' || c == '-'
}

// name reads [prefix:]local, each part an ASCII name. encoding/xml's
// tokenizer reads the same bytes as one name and splits it the same way.
func (l *lexer) name() (xml.Name, bool) {
	part := func() (string, bool) {
		start := l.pos
		if l.pos >= len(l.b) || !nameStart(l.b[l.pos]) {
			return "", false
		}
		for l.pos++; l.pos < len(l.b) && nameByte(l.b[l.pos]); l.pos++ {
		}
		return intern(l.b[start:l.pos]), true
	}
	first, ok := part()
	if !ok {
		return xml.Name{}, false
	}
	if l.pos < len(l.b) && l.b[l.pos] == ':' {
		l.pos++
		local, ok := part()
		if !ok || (l.pos < len(l.b) && l.b[l.pos] == ':') {
			return xml.Name{}, false
		}
		return xml.Name{Space: first, Local: local}, true
	}
	if l.pos < len(l.b) && l.b[l.pos] >= 0x80 {
		return xml.Name{}, false // encoding/xml reads on into the name
	}
	return xml.Name{Local: first}, true
}

// text reads character data up to '<' (quote < 0) or up to the closing
// quote, decoding references. It returns a slice of the input when
// nothing was decoded.
func (l *lexer) text(quote int) ([]byte, bool) {
	start := l.pos
	decoded := false
	l.buf = l.buf[:0]
	for l.pos < len(l.b) {
		c := l.b[l.pos]
		switch {
		case quote < 0 && c == '<':
			return l.result(start, decoded), true
		case quote >= 0 && int(c) == quote:
			out := l.result(start, decoded)
			l.pos++
			return out, true
		case c == '<':
			return nil, false // encoding/xml refuses '<' in a quoted value
		case c == '>' && quote < 0 && l.pos-start >= 2 && l.b[l.pos-1] == ']' && l.b[l.pos-2] == ']':
			return nil, false // "]]>" outside CDATA
		case c == '&':
			if !decoded {
				l.buf = append(l.buf, l.b[start:l.pos]...)
				decoded = true
			}
			r, n := reference(l.b[l.pos:])
			if n == 0 {
				return nil, false
			}
			l.buf = append(l.buf, r)
			l.pos += n
			continue
		case c == '\t' || c == '\n' || (c >= 0x20 && c < 0x7f):
		default:
			return nil, false // control characters, \r, DEL, non-ASCII
		}
		if decoded {
			l.buf = append(l.buf, c)
		}
		l.pos++
	}
	if quote >= 0 {
		return nil, false // value not closed
	}
	return l.result(start, decoded), true
}

func (l *lexer) result(start int, decoded bool) []byte {
	if decoded {
		return l.buf
	}
	return l.b[start:l.pos]
}

// reference decodes the reference at the start of b ("&amp;", "&#39;",
// "&#x9;"): the character and the reference's length, or 0 outside the
// subset (the character must be printable ASCII, tab, newline or
// carriage return, all of which encoding/xml accepts from a reference).
func reference(b []byte) (byte, int) {
	end := bytes.IndexByte(b, ';')
	if end < 2 || end > 10 {
		return 0, 0
	}
	body := b[1:end]
	switch string(body) {
	case "lt":
		return '<', end + 1
	case "gt":
		return '>', end + 1
	case "amp":
		return '&', end + 1
	case "apos":
		return '\'', end + 1
	case "quot":
		return '"', end + 1
	}
	if body[0] != '#' || len(body) < 2 {
		return 0, 0
	}
	digits, base := body[1:], 10
	if digits[0] == 'x' {
		digits, base = digits[1:], 16
	}
	if len(digits) == 0 {
		return 0, 0
	}
	n := 0
	for _, c := range digits {
		var v int
		switch {
		case '0' <= c && c <= '9':
			v = int(c - '0')
		case base == 16 && 'a' <= c && c <= 'f':
			v = int(c-'a') + 10
		case base == 16 && 'A' <= c && c <= 'F':
			v = int(c-'A') + 10
		default:
			return 0, 0
		}
		n = n*base + v
	}
	if n == '\t' || n == '\n' || n == '\r' || (n >= 0x20 && n < 0x7f) {
		return byte(n), end + 1
	}
	return 0, 0
}

// names are the names EWS requests use, so the lexer hands out the same
// strings instead of allocating each name of each request. Read-only
// after init.
var names = func() map[string]string {
	m := map[string]string{}
	for _, n := range []string{
		"soap", "t", "m", "xmlns", "s", "Envelope", "Header", "Body", "Version",
		"RequestServerVersion", "ExchangeImpersonation", "ConnectingSID", "PrimarySmtpAddress",
		"SmtpAddress", "PrincipalName", "GetItem", "ItemShape", "BaseShape", "BodyType",
		"MaximumBodySize", "AdditionalProperties", "FieldURI", "IndexedFieldURI",
		"ExtendedFieldURI", "FieldIndex", "DistinguishedPropertySetId", "PropertySetId",
		"PropertyTag", "PropertyName", "PropertyId", "PropertyType", "ItemIds", "ItemId", "Id",
		"ChangeKey", "SyncFolderItems", "SyncFolderHierarchy", "SyncFolderId", "FolderShape",
		"FolderId", "DistinguishedFolderId", "FolderIds", "SyncState", "Ignore",
		"MaxChangesReturned", "SyncScope", "Mailbox", "EmailAddress", "GetFolder", "FindFolder",
		"FindItem", "Traversal", "ParentFolderIds", "IndexedPageItemView", "CalendarView",
		"MaxEntriesReturned", "Offset", "BasePoint", "StartDate", "EndDate",
	} {
		m[n] = n
	}
	return m
}()

func intern(b []byte) string {
	if s, ok := names[string(b)]; ok {
		return s
	}
	return string(b)
}
