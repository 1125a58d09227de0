package ews

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mailbridge/mailbridge/shared/testsupport/golden"
)

// fixtureDirs are the saved responses the decoder is tested on:
// Microsoft's documentation samples that validate against the schema, our
// own realistic responses (schema-valid too), and broken bodies.
var fixtureDirs = []string{"msdocs", "responses", "broken"}

func fixtureFiles(t testing.TB) []string {
	t.Helper()
	var files []string
	for _, d := range fixtureDirs {
		m, err := filepath.Glob(filepath.Join("testdata", d, "*"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 60 {
		t.Fatalf("only %d fixtures found; testdata is incomplete", len(files))
	}
	return files
}

// decodeJSON is what `ewsctl decode` prints for a file, or the error.
func decodeJSON(body []byte) []byte {
	d, err := DecodeResponse(body)
	var out any = d
	if err != nil {
		out = map[string]string{"error": err.Error()}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

func TestDecodeResponseGolden(t *testing.T) {
	for _, f := range fixtureFiles(t) {
		rel, _ := filepath.Rel("testdata", f)
		t.Run(rel, func(t *testing.T) {
			body, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			got := decodeJSON(body)
			golden.Check(t, filepath.Join("testdata", "golden", strings.TrimSuffix(rel, filepath.Ext(rel))+".json"), got)
		})
	}
}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeResponseShape(t *testing.T) {
	t.Run("SOAP fault with back-off", func(t *testing.T) {
		d, err := DecodeResponse(readFixture(t, "responses/fault-ErrorServerBusy.xml"))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(d)
		want := `{"fault":{"code":"a:ErrorServerBusy","string":"The server cannot service this request right now. Try again later.","responseCode":"ErrorServerBusy","backOffMs":297749}}`
		if string(b) != want {
			t.Errorf("got  %s\nwant %s", b, want)
		}
	})
	t.Run("sync page keys", func(t *testing.T) {
		d, err := DecodeResponse(readFixture(t, "responses/syncfolderitems-all-kinds.xml"))
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		b, _ := json.Marshal(d)
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"operation", "messages", "syncState", "includesLastItemInRange", "changes"} {
			if _, ok := m[k]; !ok {
				t.Errorf("key %q missing from %s", k, b)
			}
		}
		if m["includesLastItemInRange"] != false {
			t.Errorf("includesLastItemInRange = %v, want false", m["includesLastItemInRange"])
		}
		kinds := ""
		for _, c := range d.Changes {
			kinds += string(c.Kind) + " "
		}
		if kinds != "create create create update delete readFlagChange " {
			t.Errorf("change kinds = %q", kinds)
		}
	})
	t.Run("back-off in a response message", func(t *testing.T) {
		d, err := DecodeResponse(readFixture(t, "responses/message-ErrorServerBusy.xml"))
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Messages) != 1 || d.Messages[0].Code != "ErrorServerBusy" || d.Messages[0].BackOffMs != 5000 || d.Messages[0].Class != "Error" {
			t.Errorf("messages = %+v", d.Messages)
		}
	})
}

func TestDecodeTolerance(t *testing.T) {
	tests := []struct {
		file        string
		wantSubject string
	}{
		// Exchange emits references to control characters; XML 1.0 forbids
		// them. The item survives with U+FFFD in their place.
		{"broken/invalid-charref.xml", "Invoice\uFFFDdue\uFFFDnow\uFFFD\uFFFD!"},
		{"broken/control-bytes.xml", "Invoice\uFFFDdue\uFFFDnow\uFFFD\uFFFD\uFFFD"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			resp, fault, err := parseEnvelope(readFixture(t, tt.file))
			if err != nil || fault != nil {
				t.Fatalf("err=%v fault=%v", err, fault)
			}
			res, err := decodeGetItem(resp)
			if err != nil {
				t.Fatal(err)
			}
			got := res[0].Item.Subject
			if got != tt.wantSubject || !utf8.ValidString(got) {
				t.Errorf("subject = %q, want %q", got, tt.wantSubject)
			}
		})
	}
}

func TestDecodeBroken(t *testing.T) {
	tests := []struct {
		file      string
		want      string // in the error text
		truncated bool
	}{
		{"broken/truncated.xml", "ended before", true},
		{"broken/empty.xml", "ended before", true},
		{"broken/not-xml.txt", "text before the root element", false},
		{"broken/html-error.html", "DTDs are not accepted", false},
		{"broken/html-no-doctype.html", "not a SOAP envelope", false},
		{"broken/doctype-entities.xml", "DTDs are not accepted", false},
		{"broken/mismatched-tags.xml", "does not match", false},
		{"broken/bare-ampersand.xml", "not followed by a reference", false},
		{"broken/not-envelope.xml", "not a SOAP envelope", false},
		{"broken/body-empty.xml", "Body is empty", false},
		{"broken/two-roots.xml", "after the root element", false},
		{"broken/body-not-a-response.xml", "not an operation response", false},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, err := DecodeResponse(readFixture(t, tt.file))
			if err == nil {
				t.Fatal("decoded without error")
			}
			if !errors.Is(err, ErrMalformedResponse) {
				t.Errorf("error %v is not ErrMalformedResponse", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
			// A saved body (ewsctl decode) has no HTTP status to report.
			if strings.Contains(err.Error(), "HTTP") {
				t.Errorf("error %q names an HTTP status", err)
			}
			if got := errors.Is(err, errTruncated); got != tt.truncated {
				t.Errorf("truncated = %v, want %v", got, tt.truncated)
			}
			wantClass := ClassPermanent
			if tt.truncated {
				wantClass = ClassTransient
			}
			if c := Classify(err); c != wantClass {
				t.Errorf("Classify = %s, want %s", c, wantClass)
			}
		})
	}
}

// TestDecodeResponseErrorNamesNoStatus: a bad response message in a saved
// body is reported without the HTTP 200 the client would have seen.
func TestDecodeResponseErrorNamesNoStatus(t *testing.T) {
	// One SyncFolderItems message is expected; the first of two is an
	// error without a ResponseCode.
	body := []byte(`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>` +
		`<m:SyncFolderItemsResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"><m:ResponseMessages>` +
		`<m:SyncFolderItemsResponseMessage ResponseClass="Error"><m:MessageText>Mailbox offline</m:MessageText></m:SyncFolderItemsResponseMessage>` +
		`<m:SyncFolderItemsResponseMessage ResponseClass="Success"/>` +
		`</m:ResponseMessages></m:SyncFolderItemsResponse></s:Body></s:Envelope>`)
	_, err := DecodeResponse(body)
	if err == nil {
		t.Fatal("decoded without error")
	}
	if got, want := err.Error(), "ews SyncFolderItems: response error: Mailbox offline"; got != want {
		t.Errorf("error %q, want %q", got, want)
	}
}
