package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
)

// Body size limits: generous for what the calls carry (a certificate and key
// are the biggest single tenant fields; 1,000 mailboxes with URL overrides
// the biggest list).
const (
	MaxBodyBytes     = 1 << 20
	MaxBulkBodyBytes = 4 << 20
)

// decodeJSON reads exactly one JSON object into dst, naming the problem on
// failure: wrong media type, too large, not JSON, unknown field, wrong type.
// It is the one decoder for every request body. After encoding/json it
// applies what encoding/json lets through (strictJSON): invalid UTF-8 and
// lone surrogates (silently replaced by U+FFFD), repeated keys (the last
// one silently wins) and keys that differ from a field name only in case
// (matched case-insensitively, Kelvin sign included).
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any, limit int64) error {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return &domain.Error{Code: domain.CodeUnsupported, Message: "Content-Type must be application/json"}
	}
	// JSON is UTF-8 (RFC 8259); a body declared in another charset would
	// be read as something it is not.
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return &domain.Error{Code: domain.CodeUnsupported, Message: "Content-Type charset must be utf-8 (application/json is always UTF-8)"}
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		return decodeError(err, limit)
	}
	// The strict pass runs first so a key encoding/json would mangle is
	// named as sent; it needs syntactically valid JSON, else encoding/json
	// names the syntax error.
	if json.Valid(raw) {
		// encoding/json decodes a null body into an empty request,
		// which would then be refused for a missing field, not for
		// what it is.
		if t := bytes.TrimLeft(raw, " \t\r\n"); len(t) > 0 && t[0] != '{' {
			return domain.Invalid("", "the body must be a JSON object")
		}
		if err := strictJSON(raw, jsonNames(reflect.TypeOf(dst))); err != nil {
			return err
		}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err, limit)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return domain.Invalid("", "the body must hold exactly one JSON object")
	}
	return nil
}

func decodeError(err error, limit int64) error {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
		mbe *http.MaxBytesError
	)
	switch {
	case errors.As(err, &mbe):
		return &domain.Error{Code: domain.CodeTooLarge, Message: fmt.Sprintf("the body is larger than %d bytes", limit)}
	case errors.Is(err, io.EOF):
		return domain.Invalid("", "the body is empty; send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return domain.Invalid("", "the body is truncated JSON")
	case errors.As(err, &syn):
		return domain.Invalid("", "the body is not valid JSON (error at byte %d)", syn.Offset)
	case errors.As(err, &typ):
		// typ.Value is the JSON kind and, for numbers, the literal: only
		// the kind is echoed, as the field may be a password.
		kind, _, _ := strings.Cut(typ.Value, " ")
		if typ.Field == "" {
			return domain.Invalid("", "the body must be a JSON object, not %s", article(kind))
		}
		return domain.Invalid(typ.Field, "%s must be %s, not %s", typ.Field, typeName(typ.Type), article(kind))
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		field, uerr := strconv.Unquote(name)
		if uerr != nil {
			field = name
		}
		return domain.Invalid(field, "unknown field %q", field)
	}
	return domain.Invalid("", "the body could not be read as JSON")
}

func article(kind string) string {
	switch kind {
	case "array", "object":
		return "an " + kind
	case "":
		return "that value"
	}
	return "a " + kind
}

func typeName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "another type"
}

// query reads the allowed query parameters, refusing unknown and repeated
// ones so a typo ("statuss=") is not silently ignored.
func query(r *http.Request, allowed ...string) (map[string]string, error) {
	values, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, domain.Invalid("", "the query string is malformed")
	}
	out := map[string]string{}
	for k, vs := range values {
		known := false
		for _, a := range allowed {
			if k == a {
				known = true
			}
		}
		if !known {
			return nil, domain.Invalid(k, "unknown query parameter %q", k)
		}
		if len(vs) > 1 {
			return nil, domain.Invalid(k, "query parameter %q given more than once", k)
		}
		out[k] = vs[0]
	}
	return out, nil
}

func queryLimit(q map[string]string, name string) (int, error) {
	s, ok := q[name]
	if !ok || s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, domain.Invalid(name, "%s must be an integer", name)
	}
	if n < 1 {
		// 0 means "not given" below this point: a 0 sent must not
		// silently become the default.
		return 0, domain.Invalid(name, "%s must be between 1 and %d", name, app.MaxPageLimit)
	}
	return n, nil
}
