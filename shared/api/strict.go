package api

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// namesByType caches jsonNames per request type: the walk is the same for
// every body of a type.
var namesByType sync.Map // reflect.Type -> map[string]bool

// jsonNames collects the JSON field names of t and of every struct it
// holds: a body key must be one of them exactly. The map is shared: read
// it only.
func jsonNames(t reflect.Type) map[string]bool {
	if v, ok := namesByType.Load(t); ok {
		return v.(map[string]bool)
	}
	v, _ := namesByType.LoadOrStore(t, walkJSONNames(t))
	return v.(map[string]bool)
}

func walkJSONNames(t reflect.Type) map[string]bool {
	names := map[string]bool{}
	var walk func(reflect.Type)
	seen := map[reflect.Type]bool{}
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || seen[t] {
			return
		}
		seen[t] = true
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" || (!f.IsExported() && !f.Anonymous) {
				continue
			}
			if f.Anonymous && name == "" {
				walk(f.Type)
				continue
			}
			if name == "" {
				name = f.Name
			}
			names[name] = true
			walk(f.Type)
		}
	}
	walk(t)
	return names
}

// strictJSON checks a body encoding/json has already accepted. Errors name
// the field (dotted, as for type errors) and never quote a value.
func strictJSON(b []byte, names map[string]bool) error {
	s := &strictScanner{b: b, names: names}
	return s.value("")
}

type strictScanner struct {
	b     []byte
	i     int
	names map[string]bool
}

func (s *strictScanner) ws() {
	for s.i < len(s.b) && strings.IndexByte(" \t\r\n", s.b[s.i]) >= 0 {
		s.i++
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (s *strictScanner) value(path string) error {
	s.ws()
	if s.i >= len(s.b) {
		return nil
	}
	switch s.b[s.i] {
	case '{':
		s.i++
		seen := map[string]bool{}
		for {
			s.ws()
			if s.i >= len(s.b) || s.b[s.i] == '}' {
				s.i++
				return nil
			}
			if s.b[s.i] == ',' {
				s.i++
				continue
			}
			key, err := s.str(path, true)
			if err != nil {
				return err
			}
			field := join(path, key)
			if seen[key] {
				return domain.Invalid(field, "field %q is given more than once", field)
			}
			seen[key] = true
			if !s.names[key] {
				for n := range s.names {
					if strings.EqualFold(n, key) {
						return domain.Invalid(field, "unknown field %q: field names are case-sensitive, use %q", field, join(path, n))
					}
				}
			}
			s.ws()
			s.i++ // ':'
			if err := s.value(field); err != nil {
				return err
			}
		}
	case '[':
		s.i++
		for {
			s.ws()
			if s.i >= len(s.b) || s.b[s.i] == ']' {
				s.i++
				return nil
			}
			if s.b[s.i] == ',' {
				s.i++
				continue
			}
			if err := s.value(path); err != nil {
				return err
			}
		}
	case '"':
		_, err := s.str(path, false)
		return err
	}
	for s.i < len(s.b) && strings.IndexByte(",}] \t\r\n", s.b[s.i]) < 0 {
		s.i++
	}
	return nil
}

// str reads the string at s.i, refusing invalid UTF-8 and lone surrogate
// escapes, which encoding/json would turn into U+FFFD without a word. It
// decodes the string only for a key (decode): a value's text is
// encoding/json's to decode.
func (s *strictScanner) str(path string, decode bool) (string, error) {
	start := s.i
	s.i++
	for s.i < len(s.b) && s.b[s.i] != '"' {
		if s.b[s.i] == '\\' {
			s.i++
		}
		s.i++
	}
	s.i++
	if s.i > len(s.b) {
		s.i = len(s.b)
	}
	raw := s.b[start:s.i]
	where := path
	if where == "" {
		where = "body"
	}
	if !utf8.Valid(raw) {
		return "", domain.Invalid(path, "%s: strings must be valid UTF-8", where)
	}
	if loneSurrogate(raw) {
		return "", domain.Invalid(path, "%s: strings must not hold a lone UTF-16 surrogate escape (\\ud800-\\udfff)", where)
	}
	if !decode {
		return "", nil
	}
	if len(raw) >= 2 && raw[len(raw)-1] == '"' && bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1]), nil // no escapes: the text is the key
	}
	var out string
	if err := json.Unmarshal(raw, &out); err != nil {
		return "", domain.Invalid(path, "%s: malformed string", where)
	}
	return out, nil
}

// loneSurrogate reports a \uD800-\uDBFF escape not followed by a
// \uDC00-\uDFFF one, or a \uDC00-\uDFFF escape not preceded by one.
func loneSurrogate(raw []byte) bool {
	hex4 := func(i int) (rune, bool) {
		if i+6 > len(raw) || raw[i] != '\\' || raw[i+1] != 'u' {
			return 0, false
		}
		var r rune
		for _, c := range raw[i+2 : i+6] {
			switch {
			case c >= '0' && c <= '9':
				r = r<<4 | rune(c-'0')
			case c >= 'a' && c <= 'f':
				r = r<<4 | rune(c-'a'+10)
			case c >= 'A' && c <= 'F':
				r = r<<4 | rune(c-'A'+10)
			default:
				return 0, false
			}
		}
		return r, true
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		r, ok := hex4(i)
		if !ok {
			i++ // an escape like \\ or \"
			continue
		}
		switch {
		case r >= 0xD800 && r <= 0xDBFF:
			lo, ok := hex4(i + 6)
			if !ok || lo < 0xDC00 || lo > 0xDFFF {
				return true
			}
			i += 11
		case r >= 0xDC00 && r <= 0xDFFF:
			return true
		default:
			i += 5
		}
	}
	return false
}
