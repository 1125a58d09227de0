package ewssim

import (
	"encoding/xml"
	"strings"
)

// restrictionXML is FindItem's Restriction. The simulator evaluates one
// expression: IsEqualTo on an extended property with a constant, which is
// how a client finds the item carrying its marker property. Anything else
// is refused with ErrorUnsupportedQueryFilter rather than ignored, so a
// test can never pass on an unfiltered answer.
type restrictionXML struct {
	Exprs []struct {
		XMLName  xml.Name
		Paths    []pathXML `xml:",any"`
		Constant *struct {
			Value string `xml:"Value,attr"`
		} `xml:"FieldURIOrConstant>Constant"`
	} `xml:",any"`
}

var errUnsupportedFilter = ewsErr("ErrorUnsupportedQueryFilter", "The simulator supports only IsEqualTo on one extended property with a constant.")

// filter returns the property and value to match, or an error for a
// restriction the simulator does not evaluate.
func (r *restrictionXML) filter() (ExtendedProperty, *ewsError) {
	if len(r.Exprs) != 1 {
		return ExtendedProperty{}, errUnsupportedFilter
	}
	e := r.Exprs[0]
	var ext []pathXML
	for _, p := range e.Paths {
		if p.XMLName.Local == "ExtendedFieldURI" {
			ext = append(ext, p)
		} else if p.XMLName.Local != "FieldURIOrConstant" {
			return ExtendedProperty{}, errUnsupportedFilter
		}
	}
	if e.XMLName.Local != "IsEqualTo" || len(ext) != 1 || e.Constant == nil {
		return ExtendedProperty{}, errUnsupportedFilter
	}
	want := ext[0].extended()
	want.Value = e.Constant.Value
	return want, nil
}

// matches reports whether it carries the property with the value. Like
// Exchange, string equality ignores case.
func matches(it *Item, want ExtendedProperty) bool {
	for _, p := range it.Extended {
		if p.sameKey(want) {
			return strings.EqualFold(p.Value, want.Value)
		}
	}
	return false
}
