package ews

import (
	"context"
	"encoding/xml"
	"strings"
)

type xResolveNames struct {
	XMLName               xml.Name `xml:"m:ResolveNames"`
	ReturnFullContactData bool     `xml:"ReturnFullContactData,attr"`
	SearchScope           string   `xml:"SearchScope,attr"`
	UnresolvedEntry       string   `xml:"m:UnresolvedEntry"`
}

// Resolution is one match of ResolveNames.
type Resolution struct {
	Mailbox Mailbox
	Contact *Item // directory or contact data, when Exchange returns it
	// From the Contact: where the entry comes from (ActiveDirectory or
	// Store, a contact of the mailbox) and the directory's job title
	// and department; empty when absent.
	ContactSource, JobTitle, Department string
}

// ResolveNames looks up a name or address in the directory and the
// mailbox's contacts. No match is an empty result, not an error; Exchange
// returns at most 100 matches.
func (c *Client) ResolveNames(ctx context.Context, t Target, query string) ([]Resolution, error) {
	const op = "ResolveNames"
	if err := t.validate(op); err != nil {
		return nil, err
	}
	if strings.TrimSpace(query) == "" {
		return nil, invalidArg(op, "query is empty")
	}
	req := xResolveNames{ReturnFullContactData: true, SearchScope: "ActiveDirectoryContacts", UnresolvedEntry: query}
	resp, err := c.call(ctx, op, t, req)
	if err != nil {
		return nil, err
	}
	r, err := decodeResolveNames(resp)
	return r, wrapDecode(op, err)
}

func decodeResolveNames(resp elem) ([]Resolution, error) {
	const op = "ResolveNames"
	msgs, err := responseMessages(op, resp)
	if err != nil {
		return nil, err
	}
	m := msgs[0]
	if m.Code == "ErrorNameResolutionNoResults" {
		return nil, nil
	}
	if e := m.err(op); e != nil {
		return nil, e
	}
	set := m.el.child("ResolutionSet")
	out := make([]Resolution, 0, set.countChildren())
	for r := range set.children() {
		res := Resolution{Mailbox: decodeMailbox(r.child("Mailbox"))}
		if c := r.child("Contact"); c.ok() {
			it := decodeItem(c)
			res.Contact = &it
			res.ContactSource = c.child("ContactSource").text()
			res.JobTitle = c.child("JobTitle").text()
			res.Department = c.child("Department").text()
		}
		out = append(out, res)
	}
	return out, nil
}
