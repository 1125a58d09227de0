package ewssim

import (
	"slices"
	"strings"
)

// The message fields UpdateItem sets, appends and deletes besides those
// of op_write.go: Importance, Categories and Flag. They ride in the item
// element of a SetItemField or AppendToItemField (a Message, or a
// CalendarItem: both have them).

type messageFieldsXML struct {
	Importance *string `xml:"Importance"`
	Categories *struct {
		Strings []string `xml:"String"`
	} `xml:"Categories"`
	Flag *struct {
		FlagStatus string `xml:"FlagStatus"`
	} `xml:"Flag"`
}

func (x *messageFieldsXML) apply(it *Item) *ewsError {
	if x.Importance != nil {
		switch *x.Importance {
		case "Low", "Normal", "High":
			it.Importance = *x.Importance
		default:
			return errSchema("Importance must be Low, Normal or High")
		}
	}
	if x.Categories != nil {
		it.Categories = slices.Clone(x.Categories.Strings)
	}
	if x.Flag != nil {
		switch x.Flag.FlagStatus {
		case "NotFlagged", "Flagged", "Complete":
			it.FlagStatus = x.Flag.FlagStatus
		default:
			return errSchema("FlagStatus must be NotFlagged, Flagged or Complete")
		}
	}
	return nil
}

// appendCategories is AppendToItemField on item:Categories: the new
// categories after the item's own, each once (ignoring case, as Outlook
// does).
func (x *messageFieldsXML) appendCategories(it *Item) {
	if x.Categories == nil {
		return
	}
	for _, c := range x.Categories.Strings {
		if !slices.ContainsFunc(it.Categories, func(have string) bool { return strings.EqualFold(have, c) }) {
			it.Categories = append(slices.Clip(it.Categories), c) // never into a shared array
		}
	}
}

func init() {
	fieldClear["item:Importance"] = func(it *Item) { it.Importance = "" }
	fieldClear["item:Categories"] = func(it *Item) { it.Categories = nil }
	fieldClear["item:Flag"] = func(it *Item) { it.FlagStatus = "" }
}
