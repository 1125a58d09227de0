package ewssim

import (
	"encoding/xml"
	"strconv"
	"strings"
	"time"
)

// restrictionXML is FindItem's Restriction: one search expression, read
// as a generic tree and compiled into a predicate at validation. The
// simulator evaluates Exists, IsEqualTo, IsNotEqualTo, IsGreaterThan(OrEqualTo),
// IsLessThan(OrEqualTo), Contains, And, Or and Not on the properties of
// itemProperties and on extended properties. Anything else (Excludes, an
// unknown property) is refused with ErrorUnsupportedQueryFilter rather
// than ignored, so a test can never pass on an unfiltered answer.
type restrictionXML struct {
	Nodes []restrictionNode `xml:",any"`
}

type restrictionNode struct {
	XMLName xml.Name
	Attrs   []xml.Attr        `xml:",any,attr"`
	Nodes   []restrictionNode `xml:",any"`
}

func (n restrictionNode) attr(name string) string {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// path converts a FieldURI, IndexedFieldURI or ExtendedFieldURI node.
func (n restrictionNode) path() (pathXML, bool) {
	switch n.XMLName.Local {
	case "FieldURI", "IndexedFieldURI", "ExtendedFieldURI":
	default:
		return pathXML{}, false
	}
	return pathXML{
		XMLName:                    n.XMLName,
		FieldURI:                   n.attr("FieldURI"),
		DistinguishedPropertySetID: n.attr("DistinguishedPropertySetId"),
		PropertySetID:              n.attr("PropertySetId"),
		PropertyTag:                n.attr("PropertyTag"),
		PropertyName:               n.attr("PropertyName"),
		PropertyID:                 n.attr("PropertyId"),
		PropertyType:               n.attr("PropertyType"),
	}, true
}

func unsupportedFilter(what string) *ewsError {
	return ewsErr("ErrorUnsupportedQueryFilter", "The restriction contains a filter the simulator does not evaluate: "+what+".")
}

// predicate reports whether an item matches a restriction.
type predicate func(*item) bool

func (r *restrictionXML) compile() (predicate, *ewsError) {
	if len(r.Nodes) != 1 {
		return nil, errSchema("Restriction must hold exactly one search expression")
	}
	return compileNode(r.Nodes[0])
}

func compileNode(n restrictionNode) (predicate, *ewsError) {
	switch op := n.XMLName.Local; op {
	case "And", "Or":
		if len(n.Nodes) == 0 {
			return nil, errSchema(op + " needs at least one search expression")
		}
		var subs []predicate
		for _, c := range n.Nodes {
			p, e := compileNode(c)
			if e != nil {
				return nil, e
			}
			subs = append(subs, p)
		}
		and := op == "And"
		return func(in *item) bool {
			for _, p := range subs {
				if p(in) != and {
					return !and
				}
			}
			return and
		}, nil
	case "Not":
		if len(n.Nodes) != 1 {
			return nil, errSchema("Not needs exactly one search expression")
		}
		p, e := compileNode(n.Nodes[0])
		if e != nil {
			return nil, e
		}
		return func(in *item) bool { return !p(in) }, nil
	case "Exists":
		if len(n.Nodes) != 1 {
			return nil, errSchema("Exists needs exactly one property path")
		}
		get, _, e := propertyOf(n.Nodes[0])
		if e != nil {
			return nil, e
		}
		return func(in *item) bool { return get(in).ok }, nil
	case "Contains":
		return compileContains(n)
	case "IsEqualTo", "IsNotEqualTo", "IsGreaterThan", "IsGreaterThanOrEqualTo", "IsLessThan", "IsLessThanOrEqualTo":
		return compileCompare(n)
	default:
		return nil, unsupportedFilter(op)
	}
}

// compileCompare compiles a TwoOperandExpression: a property path and a
// FieldURIOrConstant holding a Constant or another property path.
func compileCompare(n restrictionNode) (predicate, *ewsError) {
	op := n.XMLName.Local
	var left, right *restrictionNode
	for i := range n.Nodes {
		if n.Nodes[i].XMLName.Local == "FieldURIOrConstant" {
			right = &n.Nodes[i]
		} else if left == nil {
			left = &n.Nodes[i]
		}
	}
	if left == nil || right == nil || len(right.Nodes) != 1 {
		return nil, errSchema(op + " needs a property path and a FieldURIOrConstant")
	}
	get, kind, e := propertyOf(*left)
	if e != nil {
		return nil, e
	}
	var other func(*item) propValue
	if c := right.Nodes[0]; c.XMLName.Local == "Constant" {
		v, ok := parseConstant(kind, c.attr("Value"))
		if !ok {
			return nil, ewsErr("ErrorInvalidValueForProperty", "The value "+quote(c.attr("Value"))+" is not valid for the property.")
		}
		other = func(*item) propValue { return v }
	} else {
		g, k, e := propertyOf(c)
		if e != nil {
			return nil, e
		}
		if k != kind {
			return nil, unsupportedFilter(op + " of properties of different types")
		}
		other = g
	}
	test := map[string]func(int) bool{
		"IsEqualTo":              func(c int) bool { return c == 0 },
		"IsNotEqualTo":           func(c int) bool { return c != 0 },
		"IsGreaterThan":          func(c int) bool { return c > 0 },
		"IsGreaterThanOrEqualTo": func(c int) bool { return c >= 0 },
		"IsLessThan":             func(c int) bool { return c < 0 },
		"IsLessThanOrEqualTo":    func(c int) bool { return c <= 0 },
	}[op]
	return func(in *item) bool {
		a, b := get(in), other(in)
		// As in Exchange (a MAPI property restriction), an item without
		// the property matches no comparison, not even IsNotEqualTo.
		if !a.ok || !b.ok {
			return false
		}
		if kind != kindString {
			return test(cmpInt(a.n, b.n))
		}
		// A multi-valued property (Categories) matches when one value does.
		for _, s := range a.strs {
			for _, t := range b.strs {
				if test(strings.Compare(strings.ToLower(s), strings.ToLower(t))) {
					return true
				}
			}
		}
		return false
	}, nil
}

func compileContains(n restrictionNode) (predicate, *ewsError) {
	var path, constant *restrictionNode
	for i := range n.Nodes {
		if n.Nodes[i].XMLName.Local == "Constant" {
			constant = &n.Nodes[i]
		} else if path == nil {
			path = &n.Nodes[i]
		}
	}
	if path == nil || constant == nil {
		return nil, errSchema("Contains needs a property path and a Constant")
	}
	get, kind, e := propertyOf(*path)
	if e != nil {
		return nil, e
	}
	if kind != kindString {
		return nil, ewsErr("ErrorContainsFilterWrongType", "Contains applies to string properties only.")
	}
	mode := n.attr("ContainmentMode")
	if mode == "" {
		mode = "FullString"
	}
	var match func(s, sub string) bool
	switch mode {
	case "FullString":
		match = func(s, sub string) bool { return s == sub }
	case "Prefixed":
		match = strings.HasPrefix
	case "Substring", "ExactPhrase":
		match = strings.Contains
	case "PrefixOnWords":
		match = func(s, sub string) bool {
			for _, w := range strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '-' || r == '.' || r == ',' }) {
				if strings.HasPrefix(w, sub) {
					return true
				}
			}
			return false
		}
	default:
		return nil, errSchema("ContainmentMode " + quote(mode) + " is not a ContainmentModeType")
	}
	cmp := n.attr("ContainmentComparison")
	fold := false
	switch cmp {
	case "", "Exact", "IgnoreNonSpacingCharacters":
	case "IgnoreCase", "Loose", "IgnoreCaseAndNonSpacingCharacters", "LooseAndIgnoreCase",
		"LooseAndIgnoreNonSpace", "LooseAndIgnoreCaseAndIgnoreNonSpace":
		fold = true
	default:
		return nil, errSchema("ContainmentComparison " + quote(cmp) + " is not a ContainmentComparisonType")
	}
	want := constant.attr("Value")
	if fold {
		want = strings.ToLower(want)
	}
	return func(in *item) bool {
		v := get(in)
		if !v.ok {
			return false
		}
		for _, s := range v.strs {
			if fold {
				s = strings.ToLower(s)
			}
			if match(s, want) {
				return true
			}
		}
		return false
	}, nil
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// --- property values ---

type valueKind uint8

const (
	kindString valueKind = iota + 1
	kindNumber           // integers, booleans (0/1), times (Unix ns), importance (0-2)
)

// propValue is a property of an item as restrictions and sorting see it.
type propValue struct {
	ok   bool // the item has the property
	strs []string
	n    int64
}

func str(s string) propValue            { return propValue{ok: true, strs: []string{s}} }
func optStr(s string) propValue         { return propValue{ok: s != "", strs: []string{s}} }
func num(n int64) propValue             { return propValue{ok: true, n: n} }
func boolean(b bool) propValue          { return num(map[bool]int64{false: 0, true: 1}[b]) }
func when(t time.Time) propValue        { return propValue{ok: !t.IsZero(), n: t.UnixNano()} }
func onlyFor(k ItemKind, in *item) bool { return in.Kind == k }

// receivedAt is what DateTimeReceived (and DateTimeSent, DateTimeCreated)
// render: the stored time, or the last change when none was given.
func receivedAt(in *item) time.Time {
	if in.Received.IsZero() {
		return in.modified
	}
	return in.Received
}

type itemProperty struct {
	kind valueKind
	get  func(*item) propValue
}

// itemProperties are the FieldURIs FindItem restricts and sorts on.
var itemProperties = map[string]itemProperty{
	"item:Subject":          {kindString, func(in *item) propValue { return str(in.Subject) }},
	"item:Body":             {kindString, func(in *item) propValue { return str(in.Body) }},
	"item:ItemClass":        {kindString, func(in *item) propValue { return str(in.Kind.Class()) }},
	"item:Sensitivity":      {kindString, func(in *item) propValue { return str("Normal") }},
	"item:Categories":       {kindString, func(in *item) propValue { return propValue{ok: len(in.Categories) > 0, strs: in.Categories} }},
	"item:Importance":       {kindNumber, func(in *item) propValue { return num(importanceRank(in.Importance)) }},
	"item:DateTimeReceived": {kindNumber, func(in *item) propValue { return when(receivedAt(in)) }},
	"item:DateTimeSent":     {kindNumber, func(in *item) propValue { return when(receivedAt(in)) }},
	"item:DateTimeCreated":  {kindNumber, func(in *item) propValue { return when(receivedAt(in)) }},
	"item:LastModifiedTime": {kindNumber, func(in *item) propValue { return when(in.modified) }},
	"item:HasAttachments":   {kindNumber, func(in *item) propValue { return boolean(in.HasAttachments) }},
	"item:IsDraft":          {kindNumber, func(in *item) propValue { return boolean(in.IsDraft) }},
	"item:Size":             {kindNumber, func(in *item) propValue { return num(int64(512 + len(in.Subject) + len(in.Body))) }},
	"item:DisplayTo":        {kindString, func(in *item) propValue { return optStr(displayList(in.To)) }},
	"message:IsRead": {kindNumber, func(in *item) propValue {
		return propValue{ok: onlyFor(KindMessage, in), n: boolean(in.IsRead).n}
	}},
	"message:From":              {kindString, func(in *item) propValue { return address(in.From) }},
	"message:Sender":            {kindString, func(in *item) propValue { return address(in.From) }},
	"message:InternetMessageId": {kindString, func(in *item) propValue { return optStr(in.InternetMessageID) }},
	"message:ConversationTopic": {kindString, func(in *item) propValue {
		return propValue{ok: onlyFor(KindMessage, in), strs: []string{Topic(in.Subject)}}
	}},
	"calendar:Start":         {kindNumber, func(in *item) propValue { return when(in.Start) }},
	"calendar:End":           {kindNumber, func(in *item) propValue { return when(in.End) }},
	"calendar:Location":      {kindString, func(in *item) propValue { return optStr(in.Location) }},
	"calendar:IsAllDayEvent": {kindNumber, func(in *item) propValue { return calendarBool(in, in.IsAllDay) }},
	"calendar:IsRecurring":   {kindNumber, func(in *item) propValue { return calendarBool(in, in.IsRecurring) }},
	"calendar:Organizer":     {kindString, func(in *item) propValue { return address(in.Organizer) }},
	"contacts:DisplayName":   {kindString, func(in *item) propValue { return optStr(in.DisplayName) }},
	"contacts:GivenName":     {kindString, func(in *item) propValue { return optStr(in.GivenName) }},
	"contacts:Surname":       {kindString, func(in *item) propValue { return optStr(in.Surname) }},
	"contacts:CompanyName":   {kindString, func(in *item) propValue { return optStr(in.Company) }},
	"contacts:JobTitle":      {kindString, func(in *item) propValue { return optStr(in.JobTitle) }},
	"contacts:Department":    {kindString, func(in *item) propValue { return optStr(in.Department) }},
}

func calendarBool(in *item, b bool) propValue {
	return propValue{ok: onlyFor(KindCalendar, in), n: boolean(b).n}
}

// address matches a constant naming either the address or the name.
func address(a Address) propValue {
	if a.Email == "" {
		return propValue{}
	}
	return propValue{ok: true, strs: []string{a.Email, a.Name}}
}

// importanceRank orders Low < Normal < High, as Exchange stores them (0-2).
func importanceRank(s string) int64 {
	switch importance(s) {
	case "Low":
		return 0
	case "High":
		return 2
	}
	return 1
}

// propertyOf returns the getter and kind of a property path node.
func propertyOf(n restrictionNode) (func(*item) propValue, valueKind, *ewsError) {
	p, ok := n.path()
	if !ok {
		return nil, 0, errSchema(n.XMLName.Local + " is not a property path")
	}
	if p.XMLName.Local == "ExtendedFieldURI" {
		key := p.extended()
		kind := kindString
		switch p.PropertyType {
		case "SystemTime", "Boolean", "Integer", "Long", "Short":
			kind = kindNumber
		}
		return func(in *item) propValue {
			for _, e := range in.Extended {
				if e.sameKey(key) {
					if v, ok := parseConstant(kind, e.Value); ok {
						return v
					}
					return propValue{}
				}
			}
			return propValue{}
		}, kind, nil
	}
	prop, ok := itemProperties[p.FieldURI]
	if !ok {
		return nil, 0, ewsErr("ErrorUnsupportedPathForQuery", "The property "+p.FieldURI+" cannot be used in a restriction or sort order of the simulator.")
	}
	return prop.get, prop.kind, nil
}

// parseConstant reads a Constant's Value as the property's kind: times as
// xs:dateTime, booleans as true/false, importance as Low/Normal/High.
func parseConstant(kind valueKind, s string) (propValue, bool) {
	if kind == kindString {
		return str(s), true
	}
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true":
		return num(1), true
	case "false":
		return num(0), true
	case "low":
		return num(0), true
	case "normal":
		return num(1), true
	case "high":
		return num(2), true
	}
	if n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64); err == nil {
		return num(n), true
	}
	if t, err := parseDateTime(s); err == nil {
		return num(t.UnixNano()), true
	}
	return propValue{}, false
}
