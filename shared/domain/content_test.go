package domain

import (
	"strings"
	"testing"
)

// TestBoundAttachments: the list is cut to MaxItemAttachments, names and
// types to their bounds on a character boundary, ids that are no
// Exchange id are dropped (a cut id names nothing); each cut marks the
// item; an ordinary list is untouched.
func TestBoundAttachments(t *testing.T) {
	ordinary := Item{Kind: KindMessage, Attachments: []Attachment{{ID: "AAMkAD+/=", Name: "plan.pdf", ContentType: "application/pdf", Size: 10, Kind: AttachmentFile}}}
	ordinary.Bound()
	if ordinary.Truncated || len(ordinary.Attachments) != 1 || ordinary.Attachments[0].Name != "plan.pdf" {
		t.Errorf("ordinary list changed: %+v", ordinary)
	}
	for _, tc := range []struct {
		name  string
		in    []Attachment
		check func([]Attachment) bool
	}{
		{"too many", make([]Attachment, MaxItemAttachments+1), nil},
		{"id too long", []Attachment{{ID: strings.Repeat("A", MaxAttachmentID+1)}, {ID: "ok"}}, func(a []Attachment) bool { return len(a) == 1 && a[0].ID == "ok" }},
		{"id with markup", []Attachment{{ID: "AA<script>"}}, func(a []Attachment) bool { return a == nil }},
		{"empty id", []Attachment{{ID: ""}}, func(a []Attachment) bool { return a == nil }},
		{"long name", []Attachment{{ID: "A", Name: strings.Repeat("é", MaxAttachmentName)}}, func(a []Attachment) bool {
			return len(a[0].Name) <= MaxAttachmentName && strings.HasSuffix(a[0].Name, "é") && a[0].Kind == AttachmentFile
		}},
		{"long type", []Attachment{{ID: "A", ContentType: strings.Repeat("x", MaxAttachmentType+1), Size: -5}}, func(a []Attachment) bool {
			return len(a[0].ContentType) == MaxAttachmentType && a[0].Size == 0
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			if tc.check == nil {
				for i := range in {
					in[i] = Attachment{ID: "A", Name: "n"}
				}
				tc.check = func(a []Attachment) bool { return len(a) == MaxItemAttachments }
			}
			it := Item{Kind: KindMessage, Attachments: in}
			it.Bound()
			if !it.Truncated || !tc.check(it.Attachments) {
				t.Errorf("truncated %v, attachments %+v", it.Truncated, it.Attachments)
			}
		})
	}
}
