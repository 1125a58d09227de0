package ews

import (
	"bytes"
	"errors"
	"fmt"
	"iter"
	"strings"
	"sync"
	"unicode/utf8"
)

// This file holds a small, non-validating XML parser for the subset of XML
// that Exchange sends: elements, attributes, text, CDATA, comments and
// processing instructions. It exists for two reasons:
//
//   - speed: a SyncFolderItems page of 512 changes must decode at well over
//     100,000 items/s, which encoding/xml's reflection and per-token
//     allocations cannot reach;
//   - tolerance: Exchange is known to emit character references and raw
//     control bytes that XML 1.0 forbids (e.g. "&#x1;" in a subject). They are
//     replaced with U+FFFD instead of failing the whole page.
//
// Anything else that is not well-formed (mismatched tags, a truncated body,
// a bare '&', a DOCTYPE) is an error. Namespace prefixes are dropped: EWS
// element names are unambiguous in context, and the decoders only walk the
// paths they expect.

// errTruncated marks a document that ended inside an element: usually a
// connection cut mid-body.
var errTruncated = errors.New("document ended before its root element was closed")

// Limits that keep a hostile body within Config.MaxResponseBytes from
// turning into a much larger tree: a real EWS page has a few thousand to a
// few tens of thousands of elements.
const (
	maxDepth    = 256
	maxElements = 1 << 19
	maxAttrs    = 1 << 20
)

type xmlAttr struct {
	name  string // local name
	value string
}

// node is one parsed element. Children are linked by index so the whole
// tree lives in one slice.
type node struct {
	name        string
	text        string
	attrs       []xmlAttr
	first, last int32 // children; -1 when none
	next        int32 // next sibling; -1 when none
}

type tree struct {
	nodes []node
}

// elem is a handle on one element of a tree; the zero-like value with i<0
// stands for "absent", so lookups can be chained without nil checks.
type elem struct {
	t *tree
	i int32
}

func (e elem) ok() bool { return e.t != nil && e.i >= 0 }

func (e elem) name() string {
	if !e.ok() {
		return ""
	}
	return e.t.nodes[e.i].name
}

// text is the character data directly inside the element.
func (e elem) text() string {
	if !e.ok() {
		return ""
	}
	return e.t.nodes[e.i].text
}

func (e elem) attr(name string) string {
	if !e.ok() {
		return ""
	}
	for _, a := range e.t.nodes[e.i].attrs {
		if a.name == name {
			return a.value
		}
	}
	return ""
}

// child returns the first child element named name.
func (e elem) child(name string) elem {
	if !e.ok() {
		return elem{}
	}
	for c := e.t.nodes[e.i].first; c >= 0; c = e.t.nodes[c].next {
		if e.t.nodes[c].name == name {
			return elem{e.t, c}
		}
	}
	return elem{t: e.t, i: -1}
}

// path follows child names, e.g. path("Body", "Fault").
func (e elem) path(names ...string) elem {
	for _, n := range names {
		e = e.child(n)
	}
	return e
}

// firstChild returns the first child element, whatever its name.
func (e elem) firstChild() elem {
	if !e.ok() {
		return elem{}
	}
	return elem{e.t, e.t.nodes[e.i].first}
}

func (e elem) children() iter.Seq[elem] {
	return func(yield func(elem) bool) {
		if !e.ok() {
			return
		}
		for c := e.t.nodes[e.i].first; c >= 0; c = e.t.nodes[c].next {
			if !yield(elem{e.t, c}) {
				return
			}
		}
	}
}

// countChildren counts child elements, used to size result slices.
func (e elem) countChildren() int {
	n := 0
	for range e.children() {
		n++
	}
	return n
}

// parseXML parses a whole document. The returned tree does not reference b.
func parseXML(b []byte) (*tree, error) {
	// One node per start tag: '<' not followed by '/' (a few comments and
	// declarations over-count slightly), so the slice never grows.
	starts := bytes.Count(b, []byte("<")) - bytes.Count(b, []byte("</"))
	if starts > maxElements {
		return nil, fmt.Errorf("document has about %d elements, more than the %d accepted", starts, maxElements)
	}
	sc := scratchPool.Get().(*scratch)
	defer sc.release()
	p := parser{b: b, names: sc.names, stack: sc.stack[:0]}
	p.t.nodes = make([]node, 0, starts+1)
	err := p.parse()
	sc.stack = p.stack
	if err != nil {
		return nil, err
	}
	return &p.t, nil
}

// scratch is a parse's working memory that does not outlive it: the open
// element stack and the interned names (strings, immutable, so a later
// parse may hand out the same ones). Every call made a fresh 64-entry map
// and grew a stack: about half of what a sync allocated to parse
// responses.
type scratch struct {
	names map[string]string
	stack []openElem
}

// maxPooledNames bounds the names a pooled map keeps: EWS uses a few
// hundred; a response inventing names cannot grow it without bound.
const maxPooledNames = 2048

var scratchPool = sync.Pool{New: func() any {
	return &scratch{names: make(map[string]string, 256), stack: make([]openElem, 0, 32)}
}}

func (sc *scratch) release() {
	// The stack's entries point into the parsed body: drop them, so the
	// pool does not keep a response alive.
	clear(sc.stack[:cap(sc.stack)])
	sc.stack = sc.stack[:0]
	if len(sc.names) > maxPooledNames {
		sc.names = make(map[string]string, 256)
	}
	scratchPool.Put(sc)
}

type openElem struct {
	idx   int32
	qname []byte
	// text segment not yet turned into a string: decided on close, so
	// whitespace between child elements never allocates.
	segStart, segEnd int
	segRaw           bool // segment is CDATA: no entity decoding
	segCount         int
	pending          []byte // concatenation when there is more than one segment
}

type parser struct {
	b      []byte
	pos    int
	t      tree
	stack  []openElem
	names  map[string]string
	root   bool
	nattrs int
}

func (p *parser) errorf(format string, args ...any) error {
	return fmt.Errorf("xml at byte %d: %s", p.pos, fmt.Sprintf(format, args...))
}

func (p *parser) parse() error {
	b := p.b
	// A UTF-8 byte order mark is allowed before the declaration.
	if bytes.HasPrefix(b, []byte("\xef\xbb\xbf")) {
		p.pos = 3
	}
	for p.pos < len(b) {
		if b[p.pos] != '<' {
			end := bytes.IndexByte(b[p.pos:], '<')
			if end < 0 {
				end = len(b)
			} else {
				end += p.pos
			}
			if err := p.textSegment(p.pos, end, false); err != nil {
				return err
			}
			p.pos = end
			continue
		}
		rest := b[p.pos:]
		switch {
		case bytes.HasPrefix(rest, []byte("<?")):
			end := bytes.Index(rest, []byte("?>"))
			if end < 0 {
				return errTruncated
			}
			p.pos += end + 2
		case bytes.HasPrefix(rest, []byte("<!--")):
			end := bytes.Index(rest[4:], []byte("-->"))
			if end < 0 {
				return errTruncated
			}
			p.pos += 4 + end + 3
		case bytes.HasPrefix(rest, []byte("<![CDATA[")):
			end := bytes.Index(rest[9:], []byte("]]>"))
			if end < 0 {
				return errTruncated
			}
			start := p.pos + 9
			if err := p.textSegment(start, start+end, true); err != nil {
				return err
			}
			p.pos = start + end + 3
		case bytes.HasPrefix(rest, []byte("<!")):
			// DOCTYPE and friends: EWS never sends them, and refusing them
			// rules out entity-expansion tricks.
			return p.errorf("DTDs are not accepted")
		case bytes.HasPrefix(rest, []byte("</")):
			if err := p.endTag(); err != nil {
				return err
			}
		default:
			if err := p.startTag(); err != nil {
				return err
			}
		}
	}
	if len(p.stack) > 0 || !p.root {
		return errTruncated
	}
	return nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (p *parser) skipSpace() {
	for p.pos < len(p.b) && isSpace(p.b[p.pos]) {
		p.pos++
	}
}

// readName reads an element or attribute name and returns it with any
// prefix still attached.
func (p *parser) readName() []byte {
	start := p.pos
	for p.pos < len(p.b) {
		c := p.b[p.pos]
		if isSpace(c) || c == '/' || c == '>' || c == '=' || c == '<' || c == '"' || c == '\'' {
			break
		}
		p.pos++
	}
	return p.b[start:p.pos]
}

// intern returns the local part of qname as a string shared by all
// elements with that name, so names cost no allocation after the first.
func (p *parser) intern(qname []byte) string {
	if i := bytes.LastIndexByte(qname, ':'); i >= 0 {
		qname = qname[i+1:]
	}
	if s, ok := p.names[string(qname)]; ok {
		return s
	}
	s := string(qname)
	p.names[s] = s
	return s
}

func (p *parser) startTag() error {
	p.pos++ // '<'
	qname := p.readName()
	if len(qname) == 0 {
		return p.errorf("element name expected")
	}
	if len(p.stack) == 0 && p.root {
		return p.errorf("content after the root element")
	}
	if len(p.stack) >= maxDepth {
		return p.errorf("elements nested deeper than %d", maxDepth)
	}
	idx := int32(len(p.t.nodes))
	p.t.nodes = append(p.t.nodes, node{name: p.intern(qname), first: -1, last: -1, next: -1})
	var attrs []xmlAttr
	for {
		p.skipSpace()
		if p.pos >= len(p.b) {
			return errTruncated
		}
		c := p.b[p.pos]
		if c == '>' || c == '/' {
			break
		}
		aname := p.readName()
		if len(aname) == 0 {
			return p.errorf("attribute name expected")
		}
		p.skipSpace()
		if p.pos >= len(p.b) {
			return errTruncated
		}
		if p.b[p.pos] != '=' {
			return p.errorf("'=' expected after attribute %q", aname)
		}
		p.pos++
		p.skipSpace()
		if p.pos >= len(p.b) {
			return errTruncated
		}
		q := p.b[p.pos]
		if q != '"' && q != '\'' {
			return p.errorf("quoted attribute value expected")
		}
		p.pos++
		end := bytes.IndexByte(p.b[p.pos:], q)
		if end < 0 {
			return errTruncated
		}
		raw := p.b[p.pos : p.pos+end]
		p.pos += end + 1
		// Namespace declarations are not needed once prefixes are dropped.
		if bytes.Equal(aname, []byte("xmlns")) || bytes.HasPrefix(aname, []byte("xmlns:")) {
			continue
		}
		v, err := decodeText(raw, false)
		if err != nil {
			return p.errorf("attribute %q: %v", aname, err)
		}
		if p.nattrs++; p.nattrs > maxAttrs {
			return p.errorf("more than %d attributes", maxAttrs)
		}
		attrs = append(attrs, xmlAttr{name: p.intern(aname), value: v})
	}
	p.t.nodes[idx].attrs = attrs
	p.link(idx)
	if p.b[p.pos] == '/' {
		if p.pos+1 >= len(p.b) {
			return errTruncated
		}
		if p.b[p.pos+1] != '>' {
			return p.errorf("'>' expected after '/'")
		}
		p.pos += 2
		if len(p.stack) == 0 {
			p.root = true
		}
		return nil
	}
	p.pos++ // '>'
	p.stack = append(p.stack, openElem{idx: idx, qname: qname})
	return nil
}

// link appends node idx to the children of the open element, if any.
func (p *parser) link(idx int32) {
	if len(p.stack) == 0 {
		return
	}
	parent := &p.t.nodes[p.stack[len(p.stack)-1].idx]
	if parent.last < 0 {
		parent.first = idx
	} else {
		p.t.nodes[parent.last].next = idx
	}
	parent.last = idx
}

func (p *parser) endTag() error {
	p.pos += 2 // "</"
	qname := p.readName()
	p.skipSpace()
	if p.pos >= len(p.b) {
		return errTruncated
	}
	if p.b[p.pos] != '>' {
		return p.errorf("'>' expected in end tag")
	}
	p.pos++
	if len(p.stack) == 0 {
		return p.errorf("unexpected end tag </%s>", qname)
	}
	top := &p.stack[len(p.stack)-1]
	if !bytes.Equal(top.qname, qname) {
		return p.errorf("end tag </%s> does not match <%s>", qname, top.qname)
	}
	n := &p.t.nodes[top.idx]
	// Text matters only in leaf elements; containers hold formatting
	// whitespace.
	if n.first < 0 && top.segCount > 0 {
		if top.segCount == 1 {
			s, err := decodeText(p.b[top.segStart:top.segEnd], top.segRaw)
			if err != nil {
				return p.errorf("in <%s>: %v", qname, err)
			}
			n.text = s
		} else {
			n.text = string(top.pending)
		}
	}
	p.stack = p.stack[:len(p.stack)-1]
	if len(p.stack) == 0 {
		p.root = true
	}
	return nil
}

func (p *parser) textSegment(start, end int, raw bool) error {
	if len(p.stack) == 0 {
		// Outside the root only whitespace may appear.
		for _, c := range p.b[start:end] {
			if !isSpace(c) {
				if p.root {
					return p.errorf("content after the root element")
				}
				return p.errorf("text before the root element")
			}
		}
		return nil
	}
	top := &p.stack[len(p.stack)-1]
	if top.segCount == 0 {
		top.segStart, top.segEnd, top.segRaw = start, end, raw
		top.segCount = 1
		return nil
	}
	// A second segment (text around CDATA or a comment): decode both now.
	if top.segCount == 1 {
		s, err := decodeText(p.b[top.segStart:top.segEnd], top.segRaw)
		if err != nil {
			return p.errorf("%v", err)
		}
		top.pending = append(top.pending[:0], s...)
	}
	s, err := decodeText(p.b[start:end], raw)
	if err != nil {
		return p.errorf("%v", err)
	}
	top.pending = append(top.pending, s...)
	top.segCount++
	return nil
}

// decodeText turns raw character data into a string: entities resolved,
// line ends normalised, and characters XML forbids (control bytes, invalid
// UTF-8, references to invalid code points) replaced by U+FFFD.
func decodeText(b []byte, raw bool) (string, error) {
	clean := true
	for _, c := range b {
		if (c == '&' && !raw) || c == '\r' || c >= 0x80 || (c < 0x20 && c != '\t' && c != '\n') {
			clean = false
			break
		}
	}
	if clean {
		return string(b), nil
	}
	var sb strings.Builder
	sb.Grow(len(b))
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c == '&' && !raw:
			r, n, err := decodeEntity(b[i:])
			if err != nil {
				return "", err
			}
			sb.WriteRune(r)
			i += n
		case c == '\r':
			sb.WriteByte('\n')
			i++
			if i < len(b) && b[i] == '\n' {
				i++
			}
		case c < 0x20 && c != '\t' && c != '\n':
			sb.WriteRune(utf8.RuneError)
			i++
		case c >= 0x80:
			r, n := utf8.DecodeRune(b[i:])
			if !validXMLChar(r) {
				r = utf8.RuneError
			}
			sb.WriteRune(r)
			i += n
		default:
			sb.WriteByte(c)
			i++
		}
	}
	return sb.String(), nil
}

func validXMLChar(r rune) bool {
	switch {
	case r == '\t' || r == '\n' || r == '\r':
		return true
	case r < 0x20:
		return false
	case r >= 0xD800 && r <= 0xDFFF:
		return false
	case r == 0xFFFE || r == 0xFFFF:
		return false
	case r > utf8.MaxRune:
		return false
	}
	return true
}

// decodeEntity decodes the reference at the start of b ("&amp;", "&#x41;")
// and returns the rune and the bytes consumed.
func decodeEntity(b []byte) (rune, int, error) {
	end := bytes.IndexByte(b, ';')
	if end < 0 || end > 64 {
		return 0, 0, errors.New("'&' not followed by a reference")
	}
	ref := b[1:end]
	switch string(ref) {
	case "lt":
		return '<', end + 1, nil
	case "gt":
		return '>', end + 1, nil
	case "amp":
		return '&', end + 1, nil
	case "quot":
		return '"', end + 1, nil
	case "apos":
		return '\'', end + 1, nil
	}
	if len(ref) < 2 || ref[0] != '#' {
		return 0, 0, fmt.Errorf("unknown entity &%s;", ref)
	}
	digits, base := ref[1:], int32(10)
	if digits[0] == 'x' {
		digits, base = digits[1:], 16
	}
	if len(digits) == 0 {
		return 0, 0, errors.New("empty character reference")
	}
	var r int32
	for _, d := range digits {
		var v int32
		switch {
		case d >= '0' && d <= '9':
			v = int32(d - '0')
		case base == 16 && d >= 'a' && d <= 'f':
			v = int32(d-'a') + 10
		case base == 16 && d >= 'A' && d <= 'F':
			v = int32(d-'A') + 10
		default:
			return 0, 0, fmt.Errorf("bad character reference &%s;", ref)
		}
		r = r*base + v
		if r > utf8.MaxRune {
			r = utf8.MaxRune + 1 // invalid; keep from overflowing
		}
	}
	// Exchange emits references to control characters; keep the text.
	if !validXMLChar(r) {
		return utf8.RuneError, end + 1, nil
	}
	return r, end + 1, nil
}
