package graphmailbox

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/mailbridge/mailbridge/shared/exchange/graph"
)

// TestSelectNamesInMetadata: every property the adapter names in a
// $select or $expand exists on its entity type in the v1.0 metadata
// (outlookItem's and entity's included), so no request asks Graph for a
// property v1.0 does not have.
func TestSelectNamesInMetadata(t *testing.T) {
	path := os.Getenv("GRAPH_METADATA")
	if path == "" {
		path = "../../../../shared/graph/v1.0-metadata.csdl.xml"
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	csdl := string(raw)
	props := func(entity string) map[string]bool {
		out := map[string]bool{}
		for _, e := range []string{entity, "outlookItem", "entity"} {
			loc := regexp.MustCompile(`<EntityType[^>]* Name="` + e + `"`).FindStringIndex(csdl)
			if loc == nil {
				t.Fatalf("no entity type %s", e)
			}
			body := csdl[loc[0]:]
			body = body[:strings.Index(body, "</EntityType>")]
			for _, m := range regexp.MustCompile(`<(?:Navigation)?Property Name="(\w+)"`).FindAllStringSubmatch(body, -1) {
				out[m[1]] = true
			}
		}
		return out
	}
	check := func(entity string, names []string) {
		known := props(entity)
		for _, n := range names {
			if !known[strings.TrimSpace(n)] {
				t.Errorf("%s has no property %q in the v1.0 metadata", entity, n)
			}
		}
	}
	check("event", strings.Split(eventSelect, ","))
	check("event", []string{"singleValueExtendedProperties", "exceptionOccurrences"})
	inner := regexp.MustCompile(`exceptionOccurrences\(\$select=([^)]*)\)`).FindStringSubmatch(eventExpand)
	if inner == nil {
		t.Fatalf("eventExpand %q reads no exceptions", eventExpand)
	}
	check("event", strings.Split(inner[1], ","))
	check("contact", strings.Split(contactSelect, ","))
	check("message", graph.DefaultMessageSelect)
	check("message", []string{"singleValueExtendedProperties"})
}
