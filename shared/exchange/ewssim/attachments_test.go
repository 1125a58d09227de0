package ewssim_test

import (
	"context"
	"encoding/base64"
	"encoding/xml"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
)

// contentResponse decodes what the content operations answer.
type contentResponse struct {
	Body struct {
		Op struct {
			Messages struct {
				Messages []struct {
					Code  string `xml:"ResponseCode"`
					Items struct {
						Items []struct {
							XMLName     xml.Name
							MimeContent *struct {
								Charset string `xml:"CharacterSet,attr"`
								Text    string `xml:",chardata"`
							} `xml:"MimeContent"`
							ItemID      idXML `xml:"ItemId"`
							Attachments struct {
								List []attachmentXML `xml:",any"`
							} `xml:"Attachments"`
							IsDraft bool `xml:"IsDraft"`
						} `xml:",any"`
					} `xml:"Items"`
					Attachments struct {
						List []attachmentXML `xml:",any"`
					} `xml:"Attachments"`
				} `xml:",any"`
			} `xml:"ResponseMessages"`
		} `xml:",any"`
	} `xml:"Body"`
}

type attachmentXML struct {
	XMLName xml.Name
	ID      struct {
		ID   string `xml:"Id,attr"`
		Root string `xml:"RootItemId,attr"`
	} `xml:"AttachmentId"`
	Name     string `xml:"Name"`
	Size     int    `xml:"Size"`
	IsInline bool   `xml:"IsInline"`
	Content  string `xml:"Content"`
	Message  *struct {
		MimeContent string `xml:"MimeContent"`
	} `xml:"Message"`
}

func contentCall(t *testing.T, env *testEnv, header, body string) contentResponse {
	t.Helper()
	status, b := env.call(t, header, body)
	if status != http.StatusOK {
		t.Fatalf("status %d:\n%s", status, b)
	}
	var r contentResponse
	if err := xml.Unmarshal(b, &r); err != nil {
		t.Fatalf("response does not decode: %v\n%s", err, b)
	}
	return r
}

func codes(r contentResponse) string {
	var out []string
	for _, m := range r.Body.Op.Messages.Messages {
		out = append(out, m.Code)
	}
	return strings.Join(out, ",")
}

// TestMessageContentAsExchange creates a draft and its attachments the way
// a client does (CreateItem with MessageDisposition SaveOnly, then
// CreateAttachment with Microsoft's sample attachment), reads them back
// (item:Attachments, MimeContent asked for by name and by
// IncludeMimeContent but not by AllProperties, GetAttachment of a file
// and of an attached message), checks the codes Exchange gives for bad
// requests, and validates every answer against the EWS schema.
func TestMessageContentAsExchange(t *testing.T) {
	validator := validatorPath(t)
	const alice = "alice@contoso.com"
	env := newEnv(t, ewssim.Options{}, alice)
	env.rec = &recorder{files: map[string][]byte{}}
	imp := impersonate(alice)

	// CreateItem of a message: MessageDisposition is required; SaveOnly
	// saves a draft in Drafts.
	msg := `<m:Items><t:Message><t:Subject>Quote &amp; terms</t:Subject><t:Body BodyType="Text">Hello</t:Body>` +
		`<t:ToRecipients><t:Mailbox><t:EmailAddress>bob@fabrikam.com</t:EmailAddress></t:Mailbox></t:ToRecipients></t:Message></m:Items>`
	if c := codes(contentCall(t, env, imp, `<m:CreateItem>`+msg+`</m:CreateItem>`)); c != "ErrorMessageDispositionRequired" {
		t.Fatalf("CreateItem without MessageDisposition: %s", c)
	}
	r := contentCall(t, env, imp, `<m:CreateItem MessageDisposition="SaveOnly">`+msg+`</m:CreateItem>`)
	if codes(r) != "NoError" {
		t.Fatalf("CreateItem: %s", codes(r))
	}
	draft := r.Body.Op.Messages.Messages[0].Items.Items[0].ItemID
	drafts, err := env.sim.Items(alice, "drafts")
	must(t, err)
	if len(drafts) != 1 || drafts[0].ID != draft.ID || !drafts[0].IsDraft || drafts[0].To[0].Email != "bob@fabrikam.com" {
		t.Fatalf("drafts = %+v, want the created draft", drafts)
	}

	// CreateAttachment: Microsoft's sample file attachment, an inline
	// image, and an attached message given as MIME.
	inner := "Subject: inner\r\n\r\nattached message"
	r = contentCall(t, env, imp, `<m:CreateAttachment><m:ParentItemId Id="`+draft.ID+`" ChangeKey="`+draft.ChangeKey+`"/><m:Attachments>`+
		`<t:FileAttachment><t:Name>SomeFile</t:Name><t:Content>AQIDBAU=</t:Content></t:FileAttachment>`+
		`<t:FileAttachment><t:Name>logo.png</t:Name><t:ContentType>image/png</t:ContentType><t:ContentId>logo@x</t:ContentId><t:IsInline>true</t:IsInline><t:Content>iVBORw0K</t:Content></t:FileAttachment>`+
		`<t:ItemAttachment><t:Name>Fwd: inner</t:Name><t:Message><t:MimeContent CharacterSet="UTF-8">`+base64.StdEncoding.EncodeToString([]byte(inner))+`</t:MimeContent></t:Message></t:ItemAttachment>`+
		`</m:Attachments></m:CreateAttachment>`)
	if codes(r) != "NoError,NoError,NoError" {
		t.Fatalf("CreateAttachment: %s", codes(r))
	}
	var ids []string
	for _, m := range r.Body.Op.Messages.Messages {
		a := m.Attachments.List[0]
		if a.ID.Root != draft.ID {
			t.Errorf("RootItemId = %q, want the draft", a.ID.Root)
		}
		ids = append(ids, a.ID.ID)
	}

	// item:Attachments by name: metadata with Size and IsInline.
	get := func(shape string) contentResponse {
		return contentCall(t, env, imp, `<m:GetItem><m:ItemShape>`+shape+`</m:ItemShape><m:ItemIds><t:ItemId Id="`+draft.ID+`"/></m:ItemIds></m:GetItem>`)
	}
	it := get(`<t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties><t:FieldURI FieldURI="item:Attachments"/></t:AdditionalProperties>`).Body.Op.Messages.Messages[0].Items.Items[0]
	if len(it.Attachments.List) != 3 || it.MimeContent != nil {
		t.Fatalf("item:Attachments = %+v (MIME %v), want 3 attachments and no MimeContent", it.Attachments.List, it.MimeContent)
	}
	want := []struct {
		el, name string
		size     int
		inline   bool
	}{{"FileAttachment", "SomeFile", 5, false}, {"FileAttachment", "logo.png", 6, true}, {"ItemAttachment", "Fwd: inner", len(inner), false}}
	for i, w := range want {
		a := it.Attachments.List[i]
		if a.XMLName.Local != w.el || a.Name != w.name || a.Size != w.size || a.IsInline != w.inline || a.ID.ID != ids[i] {
			t.Errorf("attachment %d = %+v, want %+v", i, a, w)
		}
	}

	// MimeContent: by IncludeMimeContent and by item:MimeContent, not by
	// AllProperties.
	for _, shape := range []string{
		`<t:BaseShape>IdOnly</t:BaseShape><t:IncludeMimeContent>true</t:IncludeMimeContent>`,
		`<t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties><t:FieldURI FieldURI="item:MimeContent"/></t:AdditionalProperties>`,
	} {
		it := get(shape).Body.Op.Messages.Messages[0].Items.Items[0]
		if it.MimeContent == nil || it.MimeContent.Charset != "UTF-8" {
			t.Fatalf("shape %s: no MimeContent with CharacterSet", shape)
		}
		mime, err := base64.StdEncoding.DecodeString(it.MimeContent.Text)
		must(t, err)
		for _, part := range []string{"Subject: Quote & terms", "To: <bob@fabrikam.com>", "multipart/mixed", `filename=SomeFile`, "AQIDBAU=", "Content-ID: <logo@x>", inner} {
			if !strings.Contains(string(mime), part) {
				t.Errorf("MIME lacks %q:\n%s", part, mime)
			}
		}
	}
	if it := get(`<t:BaseShape>AllProperties</t:BaseShape>`).Body.Op.Messages.Messages[0].Items.Items[0]; it.MimeContent != nil || len(it.Attachments.List) != 3 || !it.IsDraft {
		t.Errorf("AllProperties: MimeContent %v, %d attachments, draft %v; want no MimeContent, 3 attachments, a draft", it.MimeContent != nil, len(it.Attachments.List), it.IsDraft)
	}

	// GetAttachment: a file's content, an attached message's MIME, and
	// Exchange's codes for an unknown and a malformed id.
	getAtt := func(id string, mime bool) contentResponse {
		shape := ""
		if mime {
			shape = `<m:AttachmentShape><t:IncludeMimeContent>true</t:IncludeMimeContent></m:AttachmentShape>`
		}
		return contentCall(t, env, imp, `<m:GetAttachment>`+shape+`<m:AttachmentIds><t:AttachmentId Id="`+id+`"/></m:AttachmentIds></m:GetAttachment>`)
	}
	if a := getAtt(ids[0], false).Body.Op.Messages.Messages[0].Attachments.List[0]; a.Content != "AQIDBAU=" || a.Name != "SomeFile" {
		t.Errorf("GetAttachment file = %+v", a)
	}
	if a := getAtt(ids[2], true).Body.Op.Messages.Messages[0].Attachments.List[0]; a.Message == nil || a.Message.MimeContent != base64.StdEncoding.EncodeToString([]byte(inner)) {
		t.Errorf("GetAttachment item = %+v", a)
	}
	raw, err := base64.StdEncoding.DecodeString(ids[0])
	must(t, err)
	raw[len(raw)-1] = 9 // attachment 9 of the same item, which has 3
	if c := codes(getAtt(base64.StdEncoding.EncodeToString(raw), false)); c != "ErrorItemNotFound" {
		t.Errorf("unknown attachment: %s", c)
	}
	if c := codes(getAtt("not-an-id", false)); c != "ErrorInvalidIdMalformed" {
		t.Errorf("malformed attachment id: %s", c)
	}
	// The attachment ids survive a move, as Exchange's do.
	moved, err := env.sim.MoveItem(draft.ID, "inbox")
	must(t, err)
	if a := getAtt(ids[0], false).Body.Op.Messages.Messages[0]; a.Code != "NoError" {
		t.Errorf("GetAttachment after a move: %s", a.Code)
	}
	_ = moved

	dir := t.TempDir()
	n := env.rec.writeTo(t, dir)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "python3", validator, dir).CombinedOutput()
	summary := regexp.MustCompile(`(\d+) passed, (\d+) failed`).FindStringSubmatch(string(out))
	if err != nil || summary == nil || summary[2] != "0" {
		t.Fatalf("validate-soap failed (%v):\n%s", err, out)
	}
	for _, op := range []string{"CreateItemResponse", "CreateAttachmentResponse", "GetItemResponse", "GetAttachmentResponse"} {
		if !env.rec.has(op) {
			t.Errorf("no %s was validated", op)
		}
	}
	t.Logf("validate-soap: %d content responses valid", n)
}
