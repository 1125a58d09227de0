package graph

import "testing"

// TestSameExtendedID: Graph echoes an extended property's id in its own
// form (a tag without leading zeros, another case); those match, other
// properties do not.
func TestSameExtendedID(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"String 0x0070", "String 0x70", true},
		{"Integer 0x0036", "integer 0x36", true},
		{"String 0x1039", "String 0x1039", true},
		{"String {c11ff724-aa03-4555-9952-8fa248a11c3e} Name X", "string {C11FF724-AA03-4555-9952-8FA248A11C3E} name x", true},
		{"String 0x0070", "Integer 0x70", false},
		{"String 0x0070", "String 0x71", false},
		{"String 0x0070", "String 70", false},
		{"String 0x0070", "String 0x", false},
		{"String 0x0070", "String 0x100000", false},
		{"String 0x0070", "", false},
	} {
		if got := SameExtendedID(c.a, c.b); got != c.want {
			t.Errorf("SameExtendedID(%q, %q) = %v", c.a, c.b, got)
		}
	}
	m := Message{SingleValueExtendedProperties: []SingleValueExtendedProperty{{ID: "String 0x70", Value: "Budget"}}}
	if v, ok := m.ExtendedProperty(PropConversationTopic); !ok || v != "Budget" {
		t.Errorf("topic = %q, %v", v, ok)
	}
	if _, ok := m.ExtendedProperty(PropInReplyTo); ok {
		t.Error("a property the message lacks was found")
	}
}

// TestDeltaBodyTypeRefused: a body type other than text or html is a
// caller's error, sent nowhere.
func TestDeltaBodyTypeRefused(t *testing.T) {
	rec := &recorder{}
	c := newTestClient(t, rec)
	if _, err := c.MessagesDelta(bg, "u", "f", MessagesDeltaOptions{DeltaOptions: DeltaOptions{BodyType: "markdown"}}); err == nil {
		t.Fatal("a bad body type was accepted")
	}
	if len(rec.reqs) != 0 {
		t.Errorf("%d requests sent", len(rec.reqs))
	}
}
