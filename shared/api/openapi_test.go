package api

import (
	"fmt"
	"net/http"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/mailbridge/mailbridge/shared/domain"
)

const openAPIPath = "../../infra/openapi.yaml"

type openAPIDoc struct {
	Paths      map[string]map[string]yaml.Node `yaml:"paths"`
	Components struct {
		Schemas map[string]struct {
			Properties map[string]yaml.Node `yaml:"properties"`
		} `yaml:"schemas"`
	} `yaml:"components"`
}

type operation struct {
	Responses map[string]yaml.Node `yaml:"responses"`
}

func documentedStatuses(t *testing.T) (map[string][]int, openAPIDoc) {
	t.Helper()
	ops, doc, err := parseOpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	return ops, doc
}

// parseOpenAPI reads infra/openapi.yaml: "METHOD /path" -> statuses.
func parseOpenAPI() (map[string][]int, openAPIDoc, error) {
	raw, err := os.ReadFile(openAPIPath)
	if err != nil {
		return nil, openAPIDoc{}, err
	}
	var doc openAPIDoc
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, doc, err
	}
	out := map[string][]int{}
	for path, item := range doc.Paths {
		for method, node := range item {
			if method == "parameters" {
				continue
			}
			var op operation
			if err := node.Decode(&op); err != nil {
				return nil, doc, fmt.Errorf("%s %s: %w", method, path, err)
			}
			var codes []int
			for code := range op.Responses {
				n, err := strconv.Atoi(code)
				if err != nil {
					return nil, doc, fmt.Errorf("%s %s: response %q is not a status code", method, path, code)
				}
				codes = append(codes, n)
			}
			slices.Sort(codes)
			out[strings.ToUpper(method)+" "+path] = codes
		}
	}
	return out, doc, nil
}

// TestOpenAPIMatchesRoutes: the document and the route table list the same
// operations with the same status codes.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc, _ := documentedStatuses(t)
	served := map[string][]int{}
	for _, rt := range slices.Concat(routes, itemRoutes, calendarRoutes(nil), availabilityRoutes(nil), roomRoutes(nil), peopleRoutes(nil), roomMeetingRoutes(nil), contentRoutes(nil), calendarViewRoutes(nil)) {
		// wrap's rate limit can answer 429 on every route.
		served[rt.method+" "+rt.path] = with(rt.statuses, http.StatusTooManyRequests)
	}
	for op, codes := range served {
		dc, ok := doc[op]
		if !ok {
			t.Errorf("%s is served but not documented", op)
			continue
		}
		if !slices.Equal(dc, codes) {
			t.Errorf("%s: documented statuses %v, route table %v", op, dc, codes)
		}
	}
	for op := range doc {
		if _, ok := served[op]; !ok {
			t.Errorf("%s is documented but not served", op)
		}
	}
}

// TestOpenAPIMatchesBodies: the request schemas name exactly the JSON
// fields the handlers decode (which reject any other field).
func TestOpenAPIMatchesBodies(t *testing.T) {
	_, doc := documentedStatuses(t)
	tests := []struct {
		schema string
		typ    reflect.Type
	}{
		{"CreateTenant", reflect.TypeFor[createTenantRequest]()},
		{"PatchTenant", reflect.TypeFor[patchTenantRequest]()},
		{"RotateCredentials", reflect.TypeFor[rotateRequest]()},
		{"Credentials", reflect.TypeFor[domain.Credential]()},
		{"AddMailboxes", reflect.TypeFor[addMailboxesRequest]()},
		{"Tenant", reflect.TypeFor[tenantView]()},
		{"Mailbox", reflect.TypeFor[mailboxView]()},
		{"AccessReport", reflect.TypeFor[domain.AccessReport]()},
		{"VerifyReport", reflect.TypeFor[verifyResponse]()},
		{"AuditEntry", reflect.TypeFor[domain.AuditEntry]()},
		{"WriteEvent", reflect.TypeFor[putEventRequest]()},
		{"WriteAccepted", reflect.TypeFor[writeAccepted]()},
		{"EventWrite", reflect.TypeFor[eventWriteView]()},
		{"WriteRecord", reflect.TypeFor[domain.WriteRecord]()},
		{"Change", reflect.TypeFor[domain.Change]()},
		{"Item", reflect.TypeFor[domain.Item]()},
		{"Address", reflect.TypeFor[domain.Address]()},
		{"AddMailboxesResult", reflect.TypeFor[addMailboxesResponse]()},
		{"AvailabilityRequest", reflect.TypeFor[availabilityRequest]()},
		{"WorkingHours", reflect.TypeFor[workingHoursRequest]()},
		{"SlotGroup", reflect.TypeFor[slotGroupRequest]()},
		{"Availability", reflect.TypeFor[availabilityResponse]()},
		{"MailboxAvailability", reflect.TypeFor[mailboxAvailability]()},
		{"MailboxFailure", reflect.TypeFor[mailboxFailure]()},
		{"BusyInterval", reflect.TypeFor[domain.BusyInterval]()},
		{"FreeSlot", reflect.TypeFor[freeSlotView]()},
		{"RoomList", reflect.TypeFor[domain.RoomList]()},
		{"Room", reflect.TypeFor[domain.Room]()},
		{"Person", reflect.TypeFor[domain.Person]()},
		{"Attachment", reflect.TypeFor[domain.Attachment]()},
		{"Body", reflect.TypeFor[domain.Body]()},
		{"ItemContent", reflect.TypeFor[domain.ItemContent]()},
	}
	for _, tc := range tests {
		t.Run(tc.schema, func(t *testing.T) {
			s, ok := doc.Components.Schemas[tc.schema]
			if !ok {
				t.Fatalf("schema %s is missing", tc.schema)
			}
			documented := sortedKeys(s.Properties)
			if got := jsonFields(tc.typ); !slices.Equal(got, documented) {
				t.Fatalf("Go fields %v, documented %v", got, documented)
			}
		})
	}
}

func jsonFields(t reflect.Type) []string {
	var out []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			panic(fmt.Sprintf("%s.%s has no json name", t.Name(), f.Name))
		}
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}
