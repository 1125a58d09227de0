package graphsim_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/mailbridge/mailbridge/shared/exchange/graphsim"
)

// rawGet reads a non-JSON answer ($value).
func (e *env) rawGet(path string) (int, http.Header, []byte) {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL+"/v1.0"+path, nil)
	req.Header.Set("Authorization", "Bearer "+e.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// TestMessageContentAsGraph creates a draft and an attachment the way a
// Graph client does (POST /users/{id}/messages, POST .../attachments),
// reads them back (the list with $select, $expand=attachments on the
// message, one attachment, its $value, the message's $value), checks each
// JSON answer against the v1.0 metadata (message, fileAttachment,
// itemAttachment) and the errors Graph gives.
func TestMessageContentAsGraph(t *testing.T) {
	m := loadModel(t)
	e := newEnv(t, graphsim.Options{})
	check := func(v map[string]any, fallback, path string) {
		t.Helper()
		typ := fallback
		if s, ok := v["@odata.type"].(string); ok {
			typ = strings.TrimPrefix(s, "#")
		}
		for _, err := range m.check(v, typ, path) {
			t.Error(err)
		}
	}

	created := e.do("POST", "/users/"+alice+"/messages", map[string]any{"subject": "Quote", "body": map[string]string{"contentType": "text", "content": "see attached"},
		"toRecipients": []any{map[string]any{"emailAddress": map[string]string{"address": "bob@fabrikam.com"}}}})
	if created.status != 201 || created.body["isDraft"] != true {
		t.Fatalf("POST messages: %d %s", created.status, created.raw)
	}
	check(created.body, "message", "created")
	id := created.body["id"].(string)
	drafts, err := e.sim.Items(alice, "drafts")
	if err != nil || len(drafts) != 1 || drafts[0].Subject != "Quote" {
		t.Fatalf("drafts = %+v, %v", drafts, err)
	}

	att := e.do("POST", "/users/"+alice+"/messages/"+id+"/attachments", map[string]any{"@odata.type": "#microsoft.graph.fileAttachment",
		"name": "SomeFile", "contentBytes": "AQIDBAU=", "contentType": "application/octet-stream"})
	if att.status != 201 || att.body["size"] != float64(5) {
		t.Fatalf("POST attachments: %d %s", att.status, att.raw)
	}
	check(att.body, "fileAttachment", "created attachment")
	aid := att.body["id"].(string)
	if bad := e.do("POST", "/users/"+alice+"/messages/"+id+"/attachments", map[string]any{"@odata.type": "#microsoft.graph.fileAttachment", "name": "x", "contentBytes": "%%%"}); bad.status != 400 {
		t.Errorf("bad contentBytes: %d", bad.status)
	}

	list := e.do("GET", "/users/"+alice+"/messages/"+id+"/attachments?$select="+url.QueryEscape("id,name,contentType,size,isInline"), nil)
	vals := list.values()
	if len(vals) != 1 || vals[0]["name"] != "SomeFile" || vals[0]["contentBytes"] != nil {
		t.Fatalf("attachments list: %s", list.raw)
	}
	check(vals[0], "fileAttachment", "listed")

	msg := e.do("GET", "/users/"+alice+"/messages/"+id+"?$select=subject,hasAttachments&$expand="+url.QueryEscape("attachments($select=id,name,contentType,size,isInline)"), nil)
	as, _ := msg.body["attachments"].([]any)
	if msg.status != 200 || msg.body["hasAttachments"] != true || len(as) != 1 {
		t.Fatalf("$expand=attachments: %d %s", msg.status, msg.raw)
	}
	check(msg.body, "message", "expanded")
	check(as[0].(map[string]any), "fileAttachment", "expanded attachment")

	one := e.do("GET", "/users/"+alice+"/messages/"+id+"/attachments/"+aid, nil)
	if one.body["contentBytes"] != "AQIDBAU=" {
		t.Errorf("attachment: %s", one.raw)
	}
	check(one.body, "fileAttachment", "attachment")

	if st, h, b := e.rawGet("/users/" + alice + "/messages/" + id + "/attachments/" + aid + "/$value"); st != 200 || string(b) != "\x01\x02\x03\x04\x05" || h.Get("Content-Type") != "application/octet-stream" {
		t.Errorf("attachment $value: %d %s %q", st, h.Get("Content-Type"), b)
	}
	st, h, mime := e.rawGet("/users/" + alice + "/messages/" + id + "/$value")
	if st != 200 || h.Get("Content-Type") != "message/rfc822" || !strings.Contains(string(mime), "Subject: Quote") || !strings.Contains(string(mime), "AQIDBAU=") {
		t.Errorf("message $value: %d %s\n%s", st, h.Get("Content-Type"), mime)
	}

	// An attachment of another message, and an unknown one: 404 as Graph.
	other := e.addMessage(alice, "inbox", "other")
	if r := e.do("GET", "/users/"+alice+"/messages/"+e.graphID(other.ID)+"/attachments/"+aid, nil); r.status != 404 || r.errorCode() != "ErrorItemNotFound" {
		t.Errorf("attachment of another message: %d %s", r.status, r.raw)
	}
	if r := e.do("GET", "/users/"+alice+"/messages/"+id+"/attachments/AAMkAGI2TG93AAA=", nil); r.status != 404 {
		t.Errorf("unknown attachment: %d %s", r.status, r.raw)
	}
	if r := e.do("GET", "/users/"+alice+"/messages/"+id+"/attachments?$select=nope", nil); r.status != 400 {
		t.Errorf("unknown $select: %d %s", r.status, r.raw)
	}
}
