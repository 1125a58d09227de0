package domain

import (
	"fmt"
	"strings"
	"testing"
)

// TestBoundMessage: a long body is cut to MaxItemBody on a character
// boundary and marked bodyTruncated (not truncated: a long body is
// ordinary mail); a long References keeps the thread's root and the
// nearest ancestors; sensitivities outside the four are dropped.
func TestBoundMessage(t *testing.T) {
	refs := make([]string, 60)
	for i := range refs {
		refs[i] = fmt.Sprintf("<m%02d@contoso.com>", i)
	}
	it := Item{Kind: KindMessage, Body: strings.Repeat("é", MaxItemBody), BodyType: BodyFormatText, References: refs}
	it.Bound()
	// Truncated is set by the References cut.
	if len(it.Body) > MaxItemBody || len(it.Body) < MaxItemBody-1 || !it.BodyTruncated || !it.Truncated {
		t.Errorf("body %d bytes, bodyTruncated %v", len(it.Body), it.BodyTruncated)
	}
	if !strings.HasSuffix(it.Body, "é") {
		t.Errorf("body cut inside a character: %q", it.Body[len(it.Body)-4:])
	}
	if len(it.References) != MaxItemReferences || it.References[0] != "<m00@contoso.com>" || it.References[1] != "<m36@contoso.com>" || it.References[24] != "<m59@contoso.com>" {
		t.Errorf("references %v", it.References)
	}
	short := Item{Kind: KindMessage, Body: "Thanks!", BodyType: BodyFormatText, References: refs[:3]}
	short.Bound()
	if short.BodyTruncated || short.Truncated || len(short.References) != 3 {
		t.Errorf("short message changed: %+v", short)
	}
	onlyCut := Item{Kind: KindMessage, Body: strings.Repeat("x", 5000), BodyType: BodyFormatHTML}
	onlyCut.Bound()
	if !onlyCut.BodyTruncated || onlyCut.Truncated || onlyCut.BodyType != BodyFormatHTML {
		t.Errorf("a cut body alone: bodyTruncated %v, truncated %v", onlyCut.BodyTruncated, onlyCut.Truncated)
	}
	for in, want := range map[string]string{"Confidential": "confidential", "private": "private", "PERSONAL": "personal", "Normal": "normal", "secret": "", "": ""} {
		if got := NormalSensitivity(in); got != want {
			t.Errorf("NormalSensitivity(%q) = %q, want %q", in, got, want)
		}
	}
}
