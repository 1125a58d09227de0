package ews

import (
	"errors"
	"strings"
	"testing"
)

func TestParseXML(t *testing.T) {
	tests := []struct {
		name, in string
		path     []string // from the root
		text     string
		attr     [2]string // name, want value
	}{
		{name: "prefixes dropped", in: `<a:root xmlns:a="x"><b:leaf xmlns:b="y">v</b:leaf></a:root>`, path: []string{"leaf"}, text: "v"},
		{name: "entities", in: `<r><l>&lt;&gt;&amp;&quot;&apos;&#65;&#x42;&#x1F600;</l></r>`, path: []string{"l"}, text: `<>&"'AB😀`},
		{name: "CDATA kept raw", in: `<r><l><![CDATA[<b>&amp;</b>]]></l></r>`, path: []string{"l"}, text: "<b>&amp;</b>"},
		{name: "text around CDATA and comment", in: `<r><l>a<![CDATA[&]]>b<!-- c -->d&amp;</l></r>`, path: []string{"l"}, text: "a&bd&"},
		{name: "declaration, BOM, comments, PI", in: "\xef\xbb\xbf<?xml version=\"1.0\"?>\n<!-- hi --><?pi x?><r><l>v</l></r>\n", path: []string{"l"}, text: "v"},
		{name: "CRLF normalised", in: "<r><l>a\r\nb\rc</l></r>", path: []string{"l"}, text: "a\nb\nc"},
		{name: "leaf keeps spaces", in: `<r><l>  two  </l></r>`, path: []string{"l"}, text: "  two  "},
		{name: "container drops whitespace", in: "<r>\n  <l/>\n</r>", path: nil, text: ""},
		{name: "attributes both quotes", in: `<r><l a='1"' b="2'" xmlns:q="z" q:c="3"/></r>`, path: []string{"l"}, attr: [2]string{"c", "3"}},
		{name: "attribute entities", in: `<r><l Id="a&amp;b&#x1;"/></r>`, path: []string{"l"}, attr: [2]string{"Id", "a&b\uFFFD"}},
		{name: "spaces around =", in: `<r><l Id = "x" /></r>`, path: []string{"l"}, attr: [2]string{"Id", "x"}},
		{name: "invalid UTF-8 replaced", in: "<r><l>a\xffb</l></r>", path: []string{"l"}, text: "a\uFFFDb"},
		{name: "surrogate reference replaced", in: "<r><l>&#xD800;</l></r>", path: []string{"l"}, text: "\uFFFD"},
		{name: "huge reference replaced", in: "<r><l>&#99999999999;</l></r>", path: []string{"l"}, text: "\uFFFD"},
		{name: "end tag with space", in: "<r><l>v</l ></r >", path: []string{"l"}, text: "v"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := parseXML([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			e := elem{tr, 0}.path(tt.path...)
			if !e.ok() {
				t.Fatalf("path %v not found", tt.path)
			}
			if e.text() != tt.text {
				t.Errorf("text = %q, want %q", e.text(), tt.text)
			}
			if tt.attr[0] != "" && e.attr(tt.attr[0]) != tt.attr[1] {
				t.Errorf("attr %s = %q, want %q", tt.attr[0], e.attr(tt.attr[0]), tt.attr[1])
			}
		})
	}
}

func TestParseXMLErrors(t *testing.T) {
	deep := strings.Repeat("<a>", maxDepth+1) + strings.Repeat("</a>", maxDepth+1)
	tests := []struct {
		name, in, want string
		truncated      bool
	}{
		{"empty", "", "", true},
		{"unclosed", "<r><l>", "", true},
		{"unterminated tag", "<r><l", "", true},
		{"unterminated attribute", `<r a="x`, "", true},
		{"unterminated comment", "<r><!-- x", "", true},
		{"unterminated CDATA", "<r><![CDATA[x", "", true},
		{"mismatch", "<r><l></r></l>", "does not match", false},
		{"stray end tag", "</r>", "unexpected end tag", false},
		{"DOCTYPE", "<!DOCTYPE r><r/>", "DTDs", false},
		{"unknown entity", "<r>&nbsp;</r>", "unknown entity", false},
		{"bare ampersand", "<r>a & b</r>", "not followed", false},
		{"bad char ref", "<r>&#xZZ;</r>", "bad character reference", false},
		{"empty char ref", "<r>&#;</r>", "", false},
		{"attribute without value", "<r a></r>", "'=' expected", false},
		{"unquoted attribute", "<r a=1></r>", "quoted attribute", false},
		{"slash without >", "<r/x>", "'>' expected", false},
		{"no element name", "< r/>", "element name expected", false},
		{"text outside root", "x<r/>", "text before the root", false},
		{"second root", "<r/><s/>", "after the root", false},
		{"too deep", deep, "nested deeper", false},
		{"too many elements", "<r>" + strings.Repeat("<a/>", maxElements) + "</r>", "elements, more than", false},
		{"too many attributes", "<r>" + strings.Repeat(`<a w="" x="" y="" z=""/>`, maxAttrs/4+1) + "</r>", "attributes", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseXML([]byte(tt.in))
			if err == nil {
				t.Fatal("parsed without error")
			}
			if tt.want != "" && !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
			if errors.Is(err, errTruncated) != tt.truncated {
				t.Errorf("truncated = %v, want %v (err %v)", errors.Is(err, errTruncated), tt.truncated, err)
			}
		})
	}
}
