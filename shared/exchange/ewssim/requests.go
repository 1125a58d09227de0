package ewssim

import (
	"encoding/xml"
	"strconv"
	"strings"
)

// Request fragments shared by several operations. Tags name local names
// only; parseEnvelope has already checked the operation's namespace.

type mailboxXML struct {
	EmailAddress string `xml:"EmailAddress"`
}

// folderRef is a FolderId or DistinguishedFolderId.
type folderRef struct {
	XMLName   xml.Name
	ID        string      `xml:"Id,attr"`
	ChangeKey string      `xml:"ChangeKey,attr"`
	Mailbox   *mailboxXML `xml:"Mailbox"`
}

func (f folderRef) distinguished() bool { return f.XMLName.Local == "DistinguishedFolderId" }

type folderRefs struct {
	Refs []folderRef `xml:",any"`
}

func (f folderRefs) targetMailbox(s *Sim) string {
	for _, r := range f.Refs {
		if r.Mailbox != nil {
			return r.Mailbox.EmailAddress
		}
		if r.XMLName.Local == "FolderId" {
			if m, _, ok := decodeID(tagFolder, r.ID); ok {
				return s.mailboxName(m)
			}
		}
	}
	return ""
}

type itemRefXML struct {
	XMLName   xml.Name
	ID        string `xml:"Id,attr"`
	ChangeKey string `xml:"ChangeKey,attr"`
	// OccurrenceItemId: a series and an instance index (1-based).
	RecurringMasterID string `xml:"RecurringMasterId,attr"`
	InstanceIndex     int    `xml:"InstanceIndex,attr"`
}

// id is the ref's item id; an OccurrenceItemId becomes the occurrence's
// id (an id no item has when the master id is malformed).
func (r itemRefXML) id() string {
	if r.XMLName.Local != "OccurrenceItemId" {
		return r.ID
	}
	m, idx, ok := decodeID(tagItem, r.RecurringMasterID)
	if !ok || r.InstanceIndex < 1 {
		return "malformed"
	}
	return occurrenceID(m, idx, r.InstanceIndex)
}

type itemRefs struct {
	Refs []itemRefXML `xml:",any"`
}

// UnmarshalXML reads what the struct tags above say, without reflection
// per element (GetItem and SyncFolderItems carry these in every call):
// every child element is a ref named as it is, with its Id, ChangeKey,
// RecurringMasterId and InstanceIndex attributes (the last of a repeated
// one, in any namespace), its content skipped. TestHandDecodersMatchReflection holds it to the tags.
func (r *itemRefs) UnmarshalXML(d *xml.Decoder, _ xml.StartElement) error {
	return eachChild(d, func(t xml.StartElement) error {
		ref := itemRefXML{XMLName: t.Name}
		for _, a := range t.Attr {
			switch a.Name.Local {
			case "Id":
				ref.ID = a.Value
			case "ChangeKey":
				ref.ChangeKey = a.Value
			case "RecurringMasterId":
				ref.RecurringMasterID = a.Value
			case "InstanceIndex":
				// As encoding/xml reads an int attribute: spaces
				// trimmed, anything else an error.
				n, err := strconv.Atoi(strings.TrimSpace(a.Value))
				if err != nil {
					return err
				}
				ref.InstanceIndex = n
			}
		}
		r.Refs = append(r.Refs, ref)
		return nil
	})
}

// eachChild calls f with each child element of the element being
// decoded, skipping the child's content, until the element ends: the walk
// both hand-written decoders share.
func eachChild(d *xml.Decoder, f func(xml.StartElement) error) error {
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if err := f(t); err != nil {
				return err
			}
			if err := d.Skip(); err != nil {
				return err
			}
		case xml.EndElement:
			return nil
		}
	}
}

// pathXML is a FieldURI, IndexedFieldURI or ExtendedFieldURI.
type pathXML struct {
	XMLName                    xml.Name
	FieldURI                   string `xml:"FieldURI,attr"`
	DistinguishedPropertySetID string `xml:"DistinguishedPropertySetId,attr"`
	PropertySetID              string `xml:"PropertySetId,attr"`
	PropertyTag                string `xml:"PropertyTag,attr"`
	PropertyName               string `xml:"PropertyName,attr"`
	PropertyID                 string `xml:"PropertyId,attr"`
	PropertyType               string `xml:"PropertyType,attr"`
}

func (p pathXML) extended() ExtendedProperty {
	return ExtendedProperty{
		DistinguishedSet: p.DistinguishedPropertySetID,
		SetID:            p.PropertySetID,
		Name:             p.PropertyName + p.PropertyID,
		Tag:              p.PropertyTag,
		Type:             p.PropertyType,
	}
}

type shapeXML struct {
	BaseShape          string   `xml:"BaseShape"`
	IncludeMimeContent bool     `xml:"IncludeMimeContent"`
	BodyType           string   `xml:"BodyType"`
	Additional         pathsXML `xml:"AdditionalProperties"`

	// The shape as validate computed it, for run (read-only after).
	memo struct {
		done, bodyByDefault bool
		sh                  shape
		err                 *ewsError
	}
}

type pathsXML struct {
	Paths []pathXML `xml:",any"`
}

// UnmarshalXML reads what the struct tags say, without reflection per
// element: every child element is a path named as it is, with its
// attributes (the last of a repeated one, in any namespace), its content
// skipped. TestHandDecodersMatchReflection holds it to the tags.
func (p *pathsXML) UnmarshalXML(d *xml.Decoder, _ xml.StartElement) error {
	return eachChild(d, func(t xml.StartElement) error {
		x := pathXML{XMLName: t.Name}
		for _, a := range t.Attr {
			switch a.Name.Local {
			case "FieldURI":
				x.FieldURI = a.Value
			case "DistinguishedPropertySetId":
				x.DistinguishedPropertySetID = a.Value
			case "PropertySetId":
				x.PropertySetID = a.Value
			case "PropertyTag":
				x.PropertyTag = a.Value
			case "PropertyName":
				x.PropertyName = a.Value
			case "PropertyId":
				x.PropertyID = a.Value
			case "PropertyType":
				x.PropertyType = a.Value
			}
		}
		if p.Paths == nil {
			// One allocation for the usual shape (a sync asks for 20
			// or so properties) instead of a doubling series.
			p.Paths = make([]pathXML, 0, 24)
		}
		p.Paths = append(p.Paths, x)
		return nil
	})
}

// shape is what to render for an item or folder: the ItemId only, the
// default set (fields == nil), or IdOnly plus the requested FieldURIs, in
// schema order, as Exchange does.
type shape struct {
	idOnly   bool
	fields   map[string]bool
	body     bool
	bodyHTML bool // BodyType HTML: the text body converted, as Exchange does
	extended []ExtendedProperty
	// mime: MimeContent, only when asked for (IncludeMimeContent or
	// item:MimeContent); no base shape has it, AllProperties neither.
	mime bool
}

// want reports whether the property at uri is rendered.
func (s shape) want(uri string) bool { return s.fields == nil || s.fields[uri] }

func (s *shapeXML) shape(bodyByDefault bool) (shape, *ewsError) {
	if s.memo.done && s.memo.bodyByDefault == bodyByDefault {
		return s.memo.sh, s.memo.err
	}
	sh, err := s.compute(bodyByDefault)
	s.memo.done, s.memo.bodyByDefault, s.memo.sh, s.memo.err = true, bodyByDefault, sh, err
	return sh, err
}

func (s *shapeXML) compute(bodyByDefault bool) (shape, *ewsError) {
	out := shape{mime: s.IncludeMimeContent}
	switch s.BaseShape {
	case "IdOnly":
		out.idOnly = true
	case "Default", "AllProperties":
		out.body = bodyByDefault
	default:
		return out, errSchema("BaseShape must be IdOnly, Default or AllProperties, not " + quote(s.BaseShape))
	}
	switch s.BodyType {
	case "", "Best", "Text":
		// The simulator's bodies are text: Best gives them as text.
	case "HTML":
		out.bodyHTML = true
	default:
		return out, errSchema("BodyType must be Best, HTML or Text, not " + quote(s.BodyType))
	}
	for _, p := range s.Additional.Paths {
		switch p.XMLName.Local {
		case "ExtendedFieldURI":
			out.extended = append(out.extended, p.extended())
		case "FieldURI", "IndexedFieldURI":
			uri := p.FieldURI
			switch uri {
			case "item:Body":
				out.body = true
			case "item:MimeContent":
				out.mime = true
			}
			if out.idOnly || out.fields != nil {
				if out.fields == nil {
					out.fields = make(map[string]bool)
				}
				out.fields[uri] = true
				out.idOnly = false
			}
		}
	}
	return out, nil
}

func quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `'`) + `"` }
