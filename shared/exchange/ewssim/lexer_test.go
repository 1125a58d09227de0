package ewssim

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func parseWithLexer(data []byte) (*request, *ewsError) {
	return parseLexed(data)
}

func parseWithEncodingXML(data []byte) (*request, *ewsError) {
	return parseEnvelopeFrom(xml.NewDecoder(bytes.NewReader(data)))
}

// sameRequest reports whether two reads of a request are the same. A
// FindItem's compiled restriction is a func, which reflect.DeepEqual never
// finds equal: it is compared by the Restriction it was compiled from.
func sameRequest(a, b *request) bool {
	if a == nil || b == nil {
		return a == b
	}
	x, y := *a, *b
	if fa, ok := x.body.(*findItemReq); ok {
		if fb, ok := y.body.(*findItemReq); ok {
			ca, cb := *fa, *fb
			if (ca.match == nil) != (cb.match == nil) {
				return false
			}
			ca.match, cb.match = nil, nil
			x.body, y.body = &ca, &cb
		}
	}
	return reflect.DeepEqual(x, y)
}

// clientRequests are the client's golden requests (every operation and
// access mode the client sends).
func clientRequests(t testing.TB) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("..", "ews", "testdata", "requests", "*.xml"))
	if err != nil || len(paths) < 20 {
		t.Fatalf("client requests: %d found, %v", len(paths), err)
	}
	out := map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(p)] = b
	}
	return out
}

// TestLexerReadsWhatEncodingXMLReads: every request the client sends is
// read by the lexer (the fast path is the one taken), to the same request
// encoding/xml reads; and for thousands of damaged variants of them (a
// byte dropped, doubled or replaced by one of XML's special characters),
// whenever the lexer reads a request, encoding/xml reads the same one, so
// falling back on the lexer's errors keeps every answer encoding/xml's.
func TestLexerReadsWhatEncodingXMLReads(t *testing.T) {
	specials := []byte{'<', '>', '&', '"', '\'', '/', ':', '=', ' ', '\r', 0, ';', '#', 'x', ']', '?', '!', 0xc3, '-'}
	variants, fast, agreed := 0, 0, 0
	for name, data := range clientRequests(t) {
		lex, lerr := parseWithLexer(data)
		std, serr := parseWithEncodingXML(data)
		if serr != nil {
			t.Fatalf("%s: encoding/xml: %v", name, serr)
		}
		// A sync's calls must take the fast path; others (an event's
		// body may hold any text) may fall back.
		hot := strings.HasPrefix(name, "GetItem-") || strings.HasPrefix(name, "SyncFolder")
		if lerr != nil && hot {
			t.Fatalf("%s: the lexer does not read it: %v", name, lerr)
		}
		if lerr == nil && !sameRequest(lex, std) {
			t.Fatalf("%s: lexer read %+v, encoding/xml %+v", name, lex, std)
		}
		step := max(1, len(data)/50)
		for i := 0; i < len(data); i += step {
			var muts [][]byte
			muts = append(muts, append(bytes.Clone(data[:i]), data[i+1:]...))
			muts = append(muts, append(bytes.Clone(data[:i+1]), data[i:]...))
			for _, c := range specials {
				m := bytes.Clone(data)
				m[i] = c
				muts = append(muts, m)
			}
			for _, m := range muts {
				variants++
				lex, lerr := parseWithLexer(m)
				if lerr != nil {
					continue
				}
				fast++
				std, serr := parseWithEncodingXML(m)
				if serr != nil || !sameRequest(lex, std) {
					t.Fatalf("%s, variant at byte %d:\n%s\nlexer read %+v; encoding/xml %+v, %v", name, i, m, lex, std, serr)
				}
				agreed++
			}
		}
	}
	t.Logf("%d damaged variants, %d read by the lexer, all as encoding/xml reads them", variants, fast)
	if fast == 0 || agreed != fast {
		t.Fatalf("lexer read %d variants, %d agreed", fast, agreed)
	}
}

// FuzzLexer: for any input the lexer reads, encoding/xml reads the same
// request.
func FuzzLexer(f *testing.F) {
	for _, b := range clientRequests(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lex, lerr := parseWithLexer(data)
		if lerr != nil {
			return
		}
		std, serr := parseWithEncodingXML(data)
		if serr != nil || !sameRequest(lex, std) {
			t.Fatalf("lexer read %+v; encoding/xml %+v, %v", lex, std, serr)
		}
	})
}

// TestHandDecodersMatchReflection: the hand-written decoders of item
// shapes and item refs read what encoding/xml's reflection reads from
// the struct tags they replace, on the client's requests and damaged
// variants of them (errors included).
func TestHandDecodersMatchReflection(t *testing.T) {
	type reflShape struct {
		BaseShape          string `xml:"BaseShape"`
		IncludeMimeContent bool   `xml:"IncludeMimeContent"`
		BodyType           string `xml:"BodyType"`
		Additional         struct {
			Paths []pathXML `xml:",any"`
		} `xml:"AdditionalProperties"`
	}
	type reflRefs struct {
		Refs []itemRefXML `xml:",any"`
	}
	type reflEnvelope struct {
		Body struct {
			Op struct {
				ItemShape   reflShape `xml:"ItemShape"`
				FolderShape reflShape `xml:"FolderShape"`
				ItemIDs     reflRefs  `xml:"ItemIds"`
				Ignore      reflRefs  `xml:"Ignore"`
			} `xml:",any"`
		} `xml:"Body"`
	}
	type handEnvelope struct {
		Body struct {
			Op struct {
				ItemShape   shapeXML `xml:"ItemShape"`
				FolderShape shapeXML `xml:"FolderShape"`
				ItemIDs     itemRefs `xml:"ItemIds"`
				Ignore      itemRefs `xml:"Ignore"`
			} `xml:",any"`
		} `xml:"Body"`
	}
	compared := 0
	for name, data := range clientRequests(t) {
		variants := [][]byte{data}
		for i := 0; i < len(data); i += max(1, len(data)/40) {
			for _, c := range []byte{'<', '>', '"', ' ', '/', 'x'} {
				m := bytes.Clone(data)
				m[i] = c
				variants = append(variants, m)
			}
		}
		for _, v := range variants {
			var r reflEnvelope
			var h handEnvelope
			rerr, herr := xml.Unmarshal(v, &r), xml.Unmarshal(v, &h)
			if (rerr == nil) != (herr == nil) || (rerr != nil && rerr.Error() != herr.Error()) {
				t.Fatalf("%s: reflection %v, hand-written %v", name, rerr, herr)
			}
			if rerr != nil {
				continue // a request that does not decode is refused whole
			}
			ro, ho := r.Body.Op, h.Body.Op
			if ro.ItemShape.BaseShape != ho.ItemShape.BaseShape || ro.ItemShape.IncludeMimeContent != ho.ItemShape.IncludeMimeContent || ro.ItemShape.BodyType != ho.ItemShape.BodyType || !reflect.DeepEqual(ro.ItemShape.Additional.Paths, ho.ItemShape.Additional.Paths) ||
				ro.FolderShape.BaseShape != ho.FolderShape.BaseShape || !reflect.DeepEqual(ro.FolderShape.Additional.Paths, ho.FolderShape.Additional.Paths) ||
				!reflect.DeepEqual(ro.ItemIDs.Refs, ho.ItemIDs.Refs) || !reflect.DeepEqual(ro.Ignore.Refs, ho.Ignore.Refs) {
				t.Fatalf("%s:\n%s\nreflection %+v\nhand-written %+v", name, v, ro, ho)
			}
			compared++
		}
	}
	t.Logf("%d requests and variants read alike", compared)
}
