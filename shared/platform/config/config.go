// Package config reads typed settings strictly: from the environment (the
// Lambdas, the local run) or from parsed command-line flags (Flags), with
// one message shape for every mistake. An unset or empty setting takes its
// default; a malformed or out-of-range one is refused with an error naming
// the setting and the bad value, never replaced by the default, so a typo
// stops the program at start-up instead of running it with a value nobody
// chose.
//
// A Reader collects every refusal, so one start-up reports all of them:
//
//	r := config.Env()
//	table := r.Required("MAILBRIDGE_TABLE")
//	days := r.Int("MAILBRIDGE_AUDIT_RETENTION_DAYS", 90, 1, 3650)
//	if err := r.Err(); err != nil { ... }
package config

import (
	"flag"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Lookup reads one setting; ok is false when it is not set.
type Lookup func(name string) (value string, ok bool)

// Map is a Lookup over fixed values, for tests.
func Map(m map[string]string) Lookup {
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}

// Flags is a Lookup over fs's flags, named "--name", for a Reader that
// checks a parsed command line with the same parsers and messages as the
// environment. A flag reads as its value, its default unless given.
func Flags(fs *flag.FlagSet) Lookup {
	return func(name string) (string, bool) {
		f := fs.Lookup(strings.TrimPrefix(name, "--"))
		if f == nil {
			return "", false
		}
		return f.Value.String(), true
	}
}

// Error is one refused setting.
type Error struct {
	Name   string // the variable or flag
	Value  string // as given; "" when it is missing
	Reason string
}

func (e *Error) Error() string {
	if e.Value == "" {
		return e.Name + " " + e.Reason
	}
	return fmt.Sprintf("%s=%q: %s", e.Name, e.Value, e.Reason)
}

// Errors is every setting a Reader refused, in the order read; its message
// is one line.
type Errors []*Error

func (es Errors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "; ")
}

// Reader reads settings through a Lookup and collects what it refuses.
// It is not safe for concurrent use; settings are read once, at start-up.
type Reader struct {
	lookup Lookup
	errs   Errors
}

// New returns a Reader over lookup.
func New(lookup Lookup) *Reader { return &Reader{lookup: lookup} }

// Env returns a Reader over the process environment.
func Env() *Reader { return New(os.LookupEnv) }

// Err is nil when every setting read so far was accepted, else an Errors.
func (r *Reader) Err() error {
	if len(r.errs) == 0 {
		return nil
	}
	return r.errs
}

// value returns the setting's raw value; "" when unset or empty (a
// CloudFormation parameter left empty arrives as an empty variable).
func (r *Reader) value(name string) string {
	v, _ := r.lookup(name)
	return v
}

func (r *Reader) refuse(name, value, reason string) {
	r.errs = append(r.errs, &Error{Name: name, Value: value, Reason: reason})
}

// Parse reads a setting with parse, def when unset; a parse error refuses
// it, its message the reason. For settings whose rule belongs to another
// package (a CIDR list, a JSON map).
func Parse[T any](r *Reader, name string, def T, parse func(string) (T, error)) T {
	v := r.value(name)
	if v == "" {
		return def
	}
	out, err := parse(v)
	if err != nil {
		r.refuse(name, v, err.Error())
		return def
	}
	return out
}

// ParseRequired is Parse for a setting that must be set.
func ParseRequired[T any](r *Reader, name string, parse func(string) (T, error)) T {
	if r.value(name) == "" {
		r.refuse(name, "", "is not set")
		var zero T
		return zero
	}
	var zero T
	return Parse(r, name, zero, parse)
}

// String reads a free-form setting, def when unset.
func (r *Reader) String(name, def string) string {
	if v := r.value(name); v != "" {
		return v
	}
	return def
}

// Required reads a setting that must be set.
func (r *Reader) Required(name string) string {
	v := r.value(name)
	if v == "" {
		r.refuse(name, "", "is not set")
	}
	return v
}

// Int reads a decimal integer in [min, max], def when unset.
func (r *Reader) Int(name string, def, min, max int) int {
	return Parse(r, name, def, func(s string) (int, error) {
		n, err := strconv.Atoi(s)
		if err != nil {
			return 0, fmt.Errorf("not an integer")
		}
		if n < min || n > max {
			return 0, fmt.Errorf("must be between %d and %d", min, max)
		}
		return n, nil
	})
}

// Duration reads a Go duration ("90s", "1h30m") in [min, max], def when
// unset.
func (r *Reader) Duration(name string, def, min, max time.Duration) time.Duration {
	return Parse(r, name, def, func(s string) (time.Duration, error) {
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("not a duration (such as 90s, 20m or 1h30m)")
		}
		if d < min || d > max {
			return 0, fmt.Errorf("must be between %v and %v", min, max)
		}
		return d, nil
	})
}

// Bool reads true/false (also 1/0, t/f, TRUE/FALSE), def when unset.
func (r *Reader) Bool(name string, def bool) bool {
	return Parse(r, name, def, func(s string) (bool, error) {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return false, fmt.Errorf("must be true or false")
		}
		return b, nil
	})
}

// Enum reads one of allowed (exactly, case included), def when unset.
func (r *Reader) Enum(name, def string, allowed ...string) string {
	return Parse(r, name, def, func(s string) (string, error) {
		if !slices.Contains(allowed, s) {
			return "", fmt.Errorf("must be one of %s", strings.Join(allowed, ", "))
		}
		return s, nil
	})
}

// URL reads an absolute URL with one of schemes and a host, def when unset.
func (r *Reader) URL(name, def string, schemes ...string) string {
	return Parse(r, name, def, func(s string) (string, error) { return parseURL(s, schemes) })
}

// RequiredURL is URL for a setting that must be set.
func (r *Reader) RequiredURL(name string, schemes ...string) string {
	return ParseRequired(r, name, func(s string) (string, error) { return parseURL(s, schemes) })
}

func parseURL(s string, schemes []string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || !slices.Contains(schemes, u.Scheme) {
		return "", fmt.Errorf("must be an absolute %s URL", strings.Join(schemes, " or "))
	}
	if u.User != nil {
		return "", fmt.Errorf("must not hold credentials")
	}
	return s, nil
}

// List reads comma-separated items, each trimmed of spaces, def when
// unset; an empty item ("a,,b") is refused.
func (r *Reader) List(name string, def []string) []string {
	return Parse(r, name, def, func(s string) ([]string, error) {
		items := strings.Split(s, ",")
		for i, it := range items {
			items[i] = strings.TrimSpace(it)
			if items[i] == "" {
				return nil, fmt.Errorf("item %d is empty", i+1)
			}
		}
		return items, nil
	})
}
