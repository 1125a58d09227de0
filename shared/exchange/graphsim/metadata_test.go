package graphsim_test

import (
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"maps"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
	"github.com/mailbridge/mailbridge/shared/exchange/graphsim"
)

// The metadata conformance test checks every JSON object the simulator
// sends against the official v1.0 CSDL: property names the entity or
// complex type (with its base types) defines, and JSON types that match
// the EDM types.

type csdl struct {
	Schemas []struct {
		Namespace string    `xml:"Namespace,attr"`
		Entities  []csdlStr `xml:"EntityType"`
		Complex   []csdlStr `xml:"ComplexType"`
		Enums     []struct {
			Name    string `xml:"Name,attr"`
			Members []struct {
				Name string `xml:"Name,attr"`
			} `xml:"Member"`
		} `xml:"EnumType"`
	} `xml:"DataServices>Schema"`
}

type csdlStr struct {
	Name     string     `xml:"Name,attr"`
	BaseType string     `xml:"BaseType,attr"`
	Props    []csdlProp `xml:"Property"`
	Nav      []csdlProp `xml:"NavigationProperty"`
}

type csdlProp struct {
	Name string `xml:"Name,attr"`
	Type string `xml:"Type,attr"`
}

// model is the microsoft.graph namespace of the metadata.
type model struct {
	structs map[string]csdlStr
	enums   map[string][]string
}

func metadataPath() string {
	if p := os.Getenv("GRAPH_METADATA"); p != "" {
		return p
	}
	return "../../../../shared/graph/v1.0-metadata.csdl.xml"
}

func loadModel(t *testing.T) *model {
	t.Helper()
	raw, err := os.ReadFile(metadataPath())
	if err != nil {
		t.Fatalf("Graph metadata not found at %s (set GRAPH_METADATA to ../shared/graph/v1.0-metadata.csdl.xml beside the repository): %v", metadataPath(), err)
	}
	var doc csdl
	if err := xml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	m := &model{structs: map[string]csdlStr{}, enums: map[string][]string{}}
	for _, s := range doc.Schemas {
		if s.Namespace != "microsoft.graph" {
			continue
		}
		for _, x := range slices.Concat(s.Entities, s.Complex) {
			m.structs[x.Name] = x
		}
		for _, e := range s.Enums {
			for _, mem := range e.Members {
				m.enums[e.Name] = append(m.enums[e.Name], mem.Name)
			}
		}
	}
	if len(m.structs) < 100 {
		t.Fatalf("metadata holds only %d types", len(m.structs))
	}
	return m
}

func localName(typ string) string {
	typ = strings.TrimPrefix(typ, "microsoft.graph.")
	return strings.TrimPrefix(typ, "graph.")
}

// props are the properties of a type and its base types.
func (m *model) props(name string) (map[string]string, bool) {
	out := map[string]string{}
	found := false
	for name != "" {
		s, ok := m.structs[localName(name)]
		if !ok {
			break
		}
		found = true
		for _, p := range slices.Concat(s.Props, s.Nav) {
			out[p.Name] = p.Type
		}
		name = s.BaseType
	}
	return out, found
}

var (
	timeOfDay = regexp.MustCompile(`^\d{2}:\d{2}:\d{2}(\.\d{1,7})?$`)
	annotated = regexp.MustCompile(`^[A-Za-z]*@odata\.[A-Za-z]+$`)
)

// check returns the violations in v, an object of type typ.
func (m *model) check(v map[string]any, typ, path string) []string {
	props, ok := m.props(typ)
	if !ok {
		return []string{path + ": unknown type " + typ}
	}
	var errs []string
	for _, k := range slices.Sorted(maps.Keys(v)) {
		val := v[k]
		switch {
		case annotated.MatchString(k):
			continue
		case k == "@removed":
			r, ok := val.(map[string]any)
			if !ok || (r["reason"] != "deleted" && r["reason"] != "changed") || len(r) != 1 {
				errs = append(errs, fmt.Sprintf("%s.@removed: %v", path, val))
			}
			continue
		}
		pt, ok := props[k]
		if !ok {
			errs = append(errs, fmt.Sprintf("%s: property %q is not defined on %s", path, k, typ))
			continue
		}
		errs = append(errs, m.checkValue(val, pt, path+"."+k)...)
	}
	return errs
}

func (m *model) checkValue(v any, typ, path string) []string {
	if v == nil {
		return nil // the simulator only writes null where Graph does; Nullable is not checked
	}
	bad := func() []string { return []string{fmt.Sprintf("%s: %T %v is not %s", path, v, v, typ)} }
	if inner, ok := strings.CutPrefix(typ, "Collection("); ok {
		arr, ok := v.([]any)
		if !ok {
			return bad()
		}
		var errs []string
		for i, x := range arr {
			errs = append(errs, m.checkValue(x, strings.TrimSuffix(inner, ")"), fmt.Sprintf("%s[%d]", path, i))...)
		}
		return errs
	}
	switch typ {
	case "Edm.String", "Edm.Guid", "Edm.Duration":
		if _, ok := v.(string); !ok {
			return bad()
		}
	case "Edm.Boolean":
		if _, ok := v.(bool); !ok {
			return bad()
		}
	case "Edm.Int16", "Edm.Int32", "Edm.Int64", "Edm.Byte":
		if f, ok := v.(float64); !ok || f != float64(int64(f)) {
			return bad()
		}
	case "Edm.Double", "Edm.Single", "Edm.Decimal":
		if _, ok := v.(float64); !ok {
			return bad()
		}
	case "Edm.DateTimeOffset":
		if s, ok := v.(string); !ok || func() bool { _, err := time.Parse(time.RFC3339Nano, s); return err != nil }() {
			return bad()
		}
	case "Edm.Date":
		if s, ok := v.(string); !ok || func() bool { _, err := time.Parse("2006-01-02", s); return err != nil }() {
			return bad()
		}
	case "Edm.TimeOfDay":
		if s, ok := v.(string); !ok || !timeOfDay.MatchString(s) {
			return bad()
		}
	case "Edm.Binary":
		if s, ok := v.(string); !ok || func() bool { _, err := base64.StdEncoding.DecodeString(s); return err != nil }() {
			return bad()
		}
	default:
		name := localName(typ)
		if members, ok := m.enums[name]; ok {
			s, ok := v.(string)
			if !ok {
				return bad()
			}
			for _, part := range strings.Split(s, ",") {
				if !slices.Contains(members, strings.TrimSpace(part)) {
					return []string{fmt.Sprintf("%s: %q is not a member of %s", path, s, name)}
				}
			}
			return nil
		}
		o, ok := v.(map[string]any)
		if !ok {
			return bad()
		}
		return m.check(o, name, path)
	}
	return nil
}

// checkError checks Graph's error body, which the metadata does not
// describe (it is OData's): error{code, message, innerError{date,
// request-id, client-request-id}}.
func checkError(body map[string]any) []string {
	var errs []string
	if len(body) != 1 {
		errs = append(errs, fmt.Sprintf("error body has keys %v", slices.Sorted(maps.Keys(body))))
	}
	e, _ := body["error"].(map[string]any)
	for k, v := range e {
		switch k {
		case "code", "message":
			if _, ok := v.(string); !ok {
				errs = append(errs, "error."+k+" is not a string")
			}
		case "innerError":
			inner, _ := v.(map[string]any)
			for ik, iv := range inner {
				s, ok := iv.(string)
				if !ok || !slices.Contains([]string{"date", "request-id", "client-request-id"}, ik) {
					errs = append(errs, "error.innerError."+ik+" is not defined")
				}
				if ik == "date" {
					if _, err := time.Parse("2006-01-02T15:04:05", s); err != nil {
						errs = append(errs, "error.innerError.date: "+s)
					}
				}
			}
		default:
			errs = append(errs, "error."+k+" is not defined")
		}
	}
	return errs
}

func TestMetadataConformance(t *testing.T) {
	m := loadModel(t)
	e := newEnv(t, graphsim.Options{})
	e.addMessage(alice, "inbox", "stays")
	ref := e.addMessage(alice, "inbox", "hello")
	msgID := e.graphID(ref.ID)
	cref, _ := e.sim.AddItem(alice, "contacts", ewssim.Item{Kind: ewssim.KindContact, DisplayName: "Dan Chaves", GivenName: "Dan", Surname: "Chaves", Company: "Fabrikam",
		Emails: []string{"dan@fabrikam.com"}, Phones: []string{"+1 555 0100", "+1 555 0101", "+1 555 0102"}})
	if _, err := e.sim.AddFolder(alice, "contacts", "Clients", "IPF.Contact"); err != nil {
		t.Fatal(err)
	}
	created := e.do("POST", "/users/"+alice+"/events", newEvent("Trip", "tx-9", "trip-9"))
	evID := created.body["id"].(string)
	_, _, link := e.deltaRound("/users/" + alice + "/mailFolders/inbox/messages/delta")
	mustDo(t, func() error { return e.sim.DeleteItem(ref.ID) })
	mustDo(t, func() error {
		return e.sim.AddRoom(ewssim.Room{Address: "aurora@contoso.com", DisplayName: "Aurora", Capacity: 8, Building: "HQ", FloorNumber: 4})
	})
	mustDo(t, func() error {
		return e.sim.AddRoom(ewssim.Room{Address: "borealis@contoso.com", DisplayName: "Borealis"})
	})
	mustDo(t, func() error {
		return e.sim.AddRoomList("hq@contoso.com", "HQ", "aurora@contoso.com", "borealis@contoso.com")
	})
	expand := "?$expand=" + url.QueryEscape("singleValueExtendedProperties($filter=id eq '"+markerID+"')")
	series := map[string]any{
		"subject": "Standup",
		"start":   map[string]any{"dateTime": "2026-03-02T09:00:00", "timeZone": "W. Europe Standard Time"},
		"end":     map[string]any{"dateTime": "2026-03-02T09:15:00", "timeZone": "W. Europe Standard Time"},
		"recurrence": map[string]any{
			"pattern": map[string]any{"type": "weekly", "interval": 1, "daysOfWeek": []string{"Monday"}},
			"range":   map[string]any{"type": "endDate", "startDate": "2026-03-02", "endDate": "2026-06-29"},
		},
	}
	seriesID := e.do("POST", "/users/"+alice+"/events", series).body["id"].(string)
	at := time.Date(2026, 3, 9, 8, 0, 0, 0, time.UTC)
	e.moveOccurrence(t, seriesID, at, ewssim.Exception{Start: at.Add(time.Hour), End: at.Add(75 * time.Minute), Subject: "Moved"})
	e.deleteOccurrence(t, seriesID, at.AddDate(0, 0, 7))
	seriesRead := "?$select=id,changeKey,type,recurrence,originalStart,cancelledOccurrences,showAs,responseStatus,onlineMeeting,isReminderOn,reminderMinutesBeforeStart" +
		"&$expand=" + url.QueryEscape("singleValueExtendedProperties($filter=id eq '"+markerID+"'),exceptionOccurrences($select=id,originalStart,start,end,subject,location,isCancelled)")

	instances := e.do("GET", "/users/"+alice+"/calendarView?startDateTime=2026-03-22T00:00:00Z&endDateTime=2026-03-31T00:00:00Z", nil).values()
	if len(instances) == 0 {
		t.Fatal("the series has no instance in calendarView")
	}
	instanceID := instances[0]["id"].(string)

	type shape struct {
		name, method, path string
		body               any
		typ                string // "" for an error answer
		list               bool   // the entities are in "value"
	}
	shapes := []shape{
		{"user", "GET", "/users/" + alice, nil, "user", false},
		{"user $select", "GET", "/users/" + alice + "?$select=accountEnabled,proxyAddresses,mail", nil, "user", false},
		{"message delta", "GET", "/users/" + alice + "/mailFolders/inbox/messages/delta", nil, "message", true},
		{"message removed", "GET", link, nil, "message", true},
		{"contact", "GET", "/users/" + alice + "/contacts/" + e.graphID(cref.ID), nil, "contact", false},
		{"contact delta", "GET", "/users/" + alice + "/contacts/delta", nil, "contact", true},
		{"event", "GET", "/users/" + alice + "/events/" + evID + expand, nil, "event", false},
		{"event zone", "GET", "/users/" + alice + "/events/" + evID, nil, "event", false},
		{"series master", "GET", "/users/" + alice + "/events/" + seriesID, nil, "event", false},
		{"series master with exceptions", "GET", "/users/" + alice + "/events/" + seriesID + seriesRead, nil, "event", false},
		{"event created", "POST", "/users/" + alice + "/events", newEvent("Other", "", ""), "event", false},
		{"calendarView with a series", "GET", "/users/" + alice + "/calendarView?startDateTime=2026-03-01T00:00:00Z&endDateTime=2026-04-01T00:00:00Z", nil, "event", true},
		{"series instance patched", "PATCH", "/users/" + alice + "/events/" + instanceID, map[string]any{"subject": "Standup (moved)",
			"start": map[string]string{"dateTime": "2026-03-23T13:00:00", "timeZone": "UTC"}, "end": map[string]string{"dateTime": "2026-03-23T13:15:00", "timeZone": "UTC"}}, "event", false},
		{"scheduleInformation over a series", "POST", "/users/" + alice + "/calendar/getSchedule", map[string]any{
			"schedules": []string{alice},
			"startTime": map[string]string{"dateTime": "2026-03-08T00:00:00", "timeZone": "W. Europe Standard Time"},
			"endTime":   map[string]string{"dateTime": "2026-03-31T00:00:00", "timeZone": "W. Europe Standard Time"},
		}, "scheduleInformation", true},
		{"calendarView delta", "GET", "/users/" + alice + "/calendarView/delta?startDateTime=2026-03-01&endDateTime=2026-04-01", nil, "event", true},
		{"mailFolder", "GET", "/users/" + alice + "/mailFolders/inbox", nil, "mailFolder", false},
		{"mailFolder delta", "GET", "/users/" + alice + "/mailFolders/delta", nil, "mailFolder", true},
		{"contactFolder delta", "GET", "/users/" + alice + "/contactFolders/delta", nil, "contactFolder", true},
		{"scheduleInformation", "POST", "/users/" + alice + "/calendar/getSchedule", map[string]any{
			"schedules": []string{alice, "ghost@contoso.com"},
			"startTime": map[string]string{"dateTime": "2026-03-02T00:00:00", "timeZone": "Pacific Standard Time"},
			"endTime":   map[string]string{"dateTime": "2026-03-03T00:00:00", "timeZone": "Pacific Standard Time"},
		}, "scheduleInformation", true},
		{"room", "GET", "/places/microsoft.graph.room", nil, "room", true},
		{"rooms of a room list", "GET", "/places/hq@contoso.com/microsoft.graph.roomlist/rooms", nil, "room", true},
		{"roomList", "GET", "/places/microsoft.graph.roomlist", nil, "roomList", true},
		{"error unknown room list", "GET", "/places/nolist@contoso.com/microsoft.graph.roomlist/rooms", nil, "", false},
		{"error 404", "GET", "/users/" + alice + "/messages/" + msgID, nil, "", false},
		{"error 410", "GET", "/users/" + alice + "/mailFolders/inbox/messages/delta?$deltatoken=x", nil, "", false},
	}
	for _, sh := range shapes {
		t.Run(sh.name, func(t *testing.T) {
			var hdr []string
			if sh.name == "event zone" {
				hdr = []string{"Prefer", `outlook.timezone="W. Europe Standard Time"`}
			}
			r := e.do(sh.method, sh.path, sh.body, hdr...)
			var errs []string
			switch {
			case sh.typ == "":
				errs = checkError(r.body)
			case sh.list:
				vals := r.values()
				if strings.Contains(sh.path, "delta") {
					vals, _, _ = e.deltaRound(sh.path) // follow nextLinks
				}
				if len(vals) == 0 {
					t.Fatalf("no entities to check: %s", r.raw)
				}
				for i, v := range vals {
					errs = append(errs, m.check(v, sh.typ, fmt.Sprintf("value[%d]", i))...)
				}
			default:
				if r.status >= 300 {
					t.Fatalf("%d %s", r.status, r.raw)
				}
				errs = m.check(r.body, sh.typ, sh.typ)
			}
			for _, err := range errs {
				t.Error(err)
			}
		})
	}

	// The checker must catch a misnamed property and a wrong type, or the
	// cases above prove nothing.
	good := e.do("POST", "/users/"+alice+"/events", newEvent("Probe", "", "")).body
	mutants := []struct {
		name   string
		mutate func(map[string]any)
		want   string
	}{
		{"misnamed property", func(o map[string]any) { o["receivedDate"] = o["createdDateTime"]; delete(o, "createdDateTime") }, `"receivedDate" is not defined`},
		{"misnamed nested property", func(o map[string]any) { o["start"].(map[string]any)["timezone"] = "UTC" }, `"timezone" is not defined on dateTimeTimeZone`},
		{"bool as string", func(o map[string]any) { o["isAllDay"] = "false" }, "is not Edm.Boolean"},
		{"bad enum", func(o map[string]any) { o["showAs"] = "away" }, "not a member of freeBusyStatus"},
		{"bad date", func(o map[string]any) { o["createdDateTime"] = "yesterday" }, "is not Edm.DateTimeOffset"},
		{"object for collection", func(o map[string]any) { o["attendees"] = map[string]any{} }, "is not Collection(graph.attendee)"},
	}
	for _, mu := range mutants {
		t.Run("mutant "+mu.name, func(t *testing.T) {
			var o map[string]any
			b, _ := json.Marshal(good)
			_ = json.Unmarshal(b, &o)
			if errs := m.check(o, "event", "event"); len(errs) != 0 {
				t.Fatalf("the unmutated event fails: %v", errs)
			}
			mu.mutate(o)
			errs := m.check(o, "event", "event")
			if !strings.Contains(strings.Join(errs, "\n"), mu.want) {
				t.Errorf("mutant passed the check (errors %v), want %q", errs, mu.want)
			}
		})
	}
}
