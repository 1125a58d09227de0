package ewssim

import (
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

const (
	nsSoap     = "http://schemas.xmlsoap.org/soap/envelope/"
	nsMessages = "http://schemas.microsoft.com/exchange/services/2006/messages"
	nsTypes    = "http://schemas.microsoft.com/exchange/services/2006/types"
	nsErrors   = "http://schemas.microsoft.com/exchange/services/2006/errors"
)

// The header Exchange Online sends (build numbers of a 2024 build).
const envelopeStart = `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="` + nsSoap + `"><s:Header>` +
	`<h:ServerVersionInfo MajorVersion="15" MinorVersion="20" MajorBuildNumber="8069" MinorBuildNumber="16" Version="V2018_01_08" ` +
	`xmlns:h="` + nsTypes + `" xmlns="` + nsTypes + `" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/>` +
	`</s:Header><s:Body xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">`

const envelopeEnd = `</s:Body></s:Envelope>`

// xw appends XML to a byte slice; responses are written straight into a
// pooled buffer without encoding/xml's reflection.
type xw struct {
	b []byte
	// charRefs writes control characters as character references
	// (&#x1;) instead of dropping them, like some Exchange servers do.
	charRefs bool
}

var bufPool = sync.Pool{New: func() any { return &xw{b: make([]byte, 0, 16<<10)} }}

func getWriter() *xw {
	w := bufPool.Get().(*xw)
	w.b, w.charRefs = w.b[:0], false
	return w
}

func putWriter(w *xw) {
	if cap(w.b) <= 4<<20 { // do not keep huge buffers alive
		bufPool.Put(w)
	}
}

func (w *xw) raw(s string) { w.b = append(w.b, s...) }

// esc writes s escaped for text and attribute values. Characters XML 1.0
// forbids (control bytes, invalid UTF-8) are dropped so every response
// stays well-formed, unless charRefs asks for Exchange's &#x1; habit.
func (w *xw) esc(s string) {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '&':
				w.b = append(w.b, "&amp;"...)
			case c == '<':
				w.b = append(w.b, "&lt;"...)
			case c == '>':
				w.b = append(w.b, "&gt;"...)
			case c == '"':
				w.b = append(w.b, "&quot;"...)
			case c == '\t' || c == '\n':
				w.b = append(w.b, c)
			case c == '\r':
				w.b = append(w.b, "&#xD;"...)
			case c < 0x20:
				if w.charRefs {
					w.b = append(w.b, "&#x"...)
					w.b = strconv.AppendUint(w.b, uint64(c), 16)
					w.b = append(w.b, ';')
				}
			default:
				w.b = append(w.b, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r != utf8.RuneError && r != 0xFFFE && r != 0xFFFF {
			w.b = append(w.b, s[i:i+n]...)
		}
		i += n
	}
}

// el writes <name>text</name>.
func (w *xw) el(name, text string) {
	w.b = append(w.b, '<')
	w.b = append(w.b, name...)
	w.b = append(w.b, '>')
	w.esc(text)
	w.b = append(w.b, "</"...)
	w.b = append(w.b, name...)
	w.b = append(w.b, '>')
}

func (w *xw) elTime(name string, t time.Time) {
	w.b = append(w.b, '<')
	w.b = append(w.b, name...)
	w.b = append(w.b, '>')
	w.b = t.UTC().AppendFormat(w.b, "2006-01-02T15:04:05Z")
	w.b = append(w.b, "</"...)
	w.b = append(w.b, name...)
	w.b = append(w.b, '>')
}

func (w *xw) elInt(name string, n int) {
	w.b = append(w.b, '<')
	w.b = append(w.b, name...)
	w.b = append(w.b, '>')
	w.b = strconv.AppendInt(w.b, int64(n), 10)
	w.b = append(w.b, "</"...)
	w.b = append(w.b, name...)
	w.b = append(w.b, '>')
}

func (w *xw) elBool(name string, v bool) {
	if v {
		w.el(name, "true")
	} else {
		w.el(name, "false")
	}
}

// attr writes ` name="value"`.
func (w *xw) attr(name, value string) {
	w.b = append(w.b, ' ')
	w.b = append(w.b, name...)
	w.b = append(w.b, `="`...)
	w.esc(value)
	w.b = append(w.b, '"')
}

func (w *xw) attrInt(name string, n int) {
	w.b = append(w.b, ' ')
	w.b = append(w.b, name...)
	w.b = append(w.b, `="`...)
	w.b = strconv.AppendInt(w.b, int64(n), 10)
	w.b = append(w.b, '"')
}

// attrBool writes ` name="true"` or ` name="false"`.
func (w *xw) attrBool(name string, v bool) {
	w.b = append(w.b, ' ')
	w.b = append(w.b, name...)
	w.b = append(w.b, `="`...)
	w.b = strconv.AppendBool(w.b, v)
	w.b = append(w.b, '"')
}

// id writes <name Id=".." ChangeKey=".."/>.
func (w *xw) id(name, id, ck string) {
	w.b = append(w.b, '<')
	w.b = append(w.b, name...)
	w.attr("Id", id)
	if ck != "" {
		w.attr("ChangeKey", ck)
	}
	w.b = append(w.b, "/>"...)
}

// ref writes <name Id=".." ChangeKey=".."/> for an item (tagItem) or a
// folder (tagFolder) straight into the buffer.
func (w *xw) ref(name string, tag byte, mbx, idx, version uint32) {
	w.b = append(w.b, '<')
	w.b = append(w.b, name...)
	w.b = append(w.b, ` Id="`...)
	w.b = appendID(w.b, tag, mbx, idx)
	w.b = append(w.b, `" ChangeKey="`...)
	w.b = appendID(w.b, tagChangeKey, version, idx)
	w.b = append(w.b, `"/>`...)
}

// respStart opens <m:{op}Response> and its ResponseMessages.
func (w *xw) respStart(op string) {
	w.raw(envelopeStart)
	w.raw("<m:")
	w.raw(op)
	w.raw(`Response xmlns:m="` + nsMessages + `" xmlns:t="` + nsTypes + `"><m:ResponseMessages>`)
}

func (w *xw) respEnd(op string) {
	w.raw("</m:ResponseMessages></m:")
	w.raw(op)
	w.raw("Response>" + envelopeEnd)
}

// msgStart opens one response message. For errors it writes MessageText,
// ResponseCode and DescriptiveLinkKey like Exchange does.
func (w *xw) msgStart(op string, e *ewsError) {
	w.raw("<m:")
	w.raw(op)
	if e == nil {
		w.raw(`ResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>`)
		return
	}
	class := "Error"
	if e.warning {
		class = "Warning"
	}
	w.raw(`ResponseMessage ResponseClass="`)
	w.raw(class)
	w.raw(`">`)
	w.el("m:MessageText", e.text)
	w.el("m:ResponseCode", e.code)
	w.raw("<m:DescriptiveLinkKey>0</m:DescriptiveLinkKey>")
}

func (w *xw) msgEnd(op string) {
	w.raw("</m:")
	w.raw(op)
	w.raw("ResponseMessage>")
}

// errorMessage writes a complete error response message.
func (w *xw) errorMessage(op string, e *ewsError) {
	w.msgStart(op, e)
	w.msgEnd(op)
}
