package domain

import (
	"slices"
	"strings"
)

// boundMessage cuts a message's References to MaxItemReferences (keeping
// the first and the last ones) and each to MaxItemID, reporting whether
// anything was cut, and its body to MaxItemBody, marked BodyTruncated.
func (it *Item) boundMessage() bool {
	cut := false
	if n := len(it.References); n > MaxItemReferences {
		it.References = slices.Concat(it.References[:1], it.References[n-MaxItemReferences+1:])
		cut = true
	}
	for i, r := range it.References {
		if len(r) > MaxItemID {
			it.References[i] = strings.ToValidUTF8(r[:MaxItemID], "")
			cut = true
		}
	}
	// All of them within MaxItemReferenceBytes: the first, then the last
	// ones that fit.
	if n := len(it.References); n > 0 {
		budget := MaxItemReferenceBytes - jsonCost(it.References[0])
		from := n
		for from > 1 && budget-jsonCost(it.References[from-1]) >= 0 {
			budget -= jsonCost(it.References[from-1])
			from--
		}
		if from > 1 {
			it.References = slices.Concat(it.References[:1], it.References[from:])
			cut = true
		}
	}
	if len(it.Body) > MaxItemBody {
		it.Body = strings.ToValidUTF8(it.Body[:MaxItemBody], "")
		it.BodyTruncated = true
	}
	if it.Body == "" {
		it.BodyType = ""
	}
	return cut
}

// MaxItemReferenceBytes bounds a message's References together, counted
// as JSON encodes them (25 real message ids take about 2 KB).
const MaxItemReferenceBytes = 8 << 10

// Message sensitivities of an Item.
const (
	SensitivityNormal       = "normal"
	SensitivityPersonal     = "personal"
	SensitivityPrivate      = "private"
	SensitivityConfidential = "confidential"
)

// NormalSensitivity maps a sensitivity as either protocol spells it (EWS
// Normal/Personal/Private/Confidential, Graph's lower case) to the Item's
// form; "" for any other value.
func NormalSensitivity(s string) string {
	for _, v := range []string{SensitivityNormal, SensitivityPersonal, SensitivityPrivate, SensitivityConfidential} {
		if strings.EqualFold(s, v) {
			return v
		}
	}
	return ""
}

// MessageReferences splits a References header into its message ids (they
// are separated by white space, RFC 5322 3.6.4).
func MessageReferences(h string) []string {
	return strings.Fields(h)
}

// Body formats of a tenant: what the feed's message body is.
const (
	BodyFormatText = "text"
	BodyFormatHTML = "html"
)

// BodyFormatOf is the tenant's body format; text when unset.
func (t Tenant) BodyFormatOf() string {
	if t.BodyFormat == BodyFormatHTML {
		return BodyFormatHTML
	}
	return BodyFormatText
}
