package ewssim_test

import (
	"encoding/xml"
	"strings"
	"testing"

	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
)

// TestUnsupportedOperationsAnswerLikeExchange: a valid request of an EWS
// operation the simulator does not implement gets HTTP 200 and the
// operation's own response with ResponseClass="Error" and
// ErrorInvalidOperation (schema-valid), not a SOAP fault a client reads
// as "wrong server version"; an element that is no EWS operation still
// gets the ErrorInvalidRequest fault.
func TestUnsupportedOperationsAnswerLikeExchange(t *testing.T) {
	const alice = "alice@contoso.com"
	env := newEnv(t, ewssim.Options{}, alice)
	recordAll(env)
	ops := ewssim.UnsupportedOperations()
	if len(ops) < 80 {
		t.Fatalf("only %d operations have an unsupported answer", len(ops))
	}
	for _, must := range []string{"GetDelegate", "CreateFolder", "SendItem", "Subscribe", "GetUserOofSettingsRequest", "FindConversation", "GetUserPhoto"} {
		if _, ok := ops[must]; !ok {
			t.Errorf("%s has no unsupported answer", must)
		}
	}
	for element, response := range ops {
		t.Run(element, func(t *testing.T) {
			status, b := env.call(t, impersonate(alice), `<m:`+element+`/>`)
			if status != 200 {
				t.Fatalf("status %d, want 200:\n%s", status, b)
			}
			var doc struct {
				Body struct {
					Response struct {
						XMLName xml.Name
						Class   string   `xml:"ResponseClass,attr"`
						Codes   []string `xml:"ResponseCode"`
						Message struct {
							Class string `xml:"ResponseClass,attr"`
							Code  string `xml:"ResponseCode"`
						} `xml:"ResponseMessage"`
						Messages struct {
							List []struct {
								Class string `xml:"ResponseClass,attr"`
								Code  string `xml:"ResponseCode"`
							} `xml:",any"`
						} `xml:"ResponseMessages"`
					} `xml:",any"`
				} `xml:"Body"`
			}
			if err := xml.Unmarshal(b, &doc); err != nil {
				t.Fatal(err)
			}
			r := doc.Body.Response
			if r.XMLName.Local != response {
				t.Fatalf("answered %s, want %s", r.XMLName.Local, response)
			}
			class, code := r.Class, strings.Join(r.Codes, ",")
			switch {
			case len(r.Messages.List) == 1:
				class, code = r.Messages.List[0].Class, r.Messages.List[0].Code
			case r.Message.Code != "":
				class, code = r.Message.Class, r.Message.Code
			}
			if class != "Error" || code != "ErrorInvalidOperation" {
				t.Errorf("ResponseClass %q ResponseCode %q, want Error ErrorInvalidOperation:\n%s", class, code, b)
			}
		})
	}
	for _, tc := range []struct{ name, body string }{
		{"not an EWS operation", `<m:NoSuchOperation/>`},
		{"an operation in another namespace", `<t:GetDelegate/>`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, b := env.call(t, "", tc.body)
			if code, _ := fault(t, status, b); code != "ErrorInvalidRequest" {
				t.Errorf("fault %s, want ErrorInvalidRequest", code)
			}
		})
	}
	assertBodiesValid(t, env)
}
