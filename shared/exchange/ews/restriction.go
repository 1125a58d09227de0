package ews

// Restriction filters FindItem on the server. Only equality of one extended
// property with a constant is supported: what finding the item that carries
// an application's marker property needs (for example the calendar writer
// looking up the event it created for a client's event id), in one call
// instead of paging through the whole folder.
type Restriction struct {
	Field ExtendedField
	Value string
}

func (r Restriction) validate(op string) error {
	if !r.Field.valid() {
		return invalidArg(op, "restriction field %+v needs PropertyType and either PropertyTag or a property set with a name or id", r.Field)
	}
	return nil
}

type xConstant struct {
	Value string `xml:"Value,attr"`
}

type xIsEqualTo struct {
	Field    xExtendedFieldURI `xml:"t:ExtendedFieldURI"`
	Constant xConstant         `xml:"t:FieldURIOrConstant>t:Constant"`
}

type xRestriction struct {
	IsEqualTo xIsEqualTo `xml:"t:IsEqualTo"`
}

func (r Restriction) xml() *xRestriction {
	return &xRestriction{IsEqualTo: xIsEqualTo{Field: r.Field.xml(), Constant: xConstant{Value: r.Value}}}
}
