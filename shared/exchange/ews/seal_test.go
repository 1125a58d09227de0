package ews

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestSealMessagesScrubsFailures: a per-item error's MessageText and
// ResponseCode are scrubbed of the credential in every form, and a
// successful item beside it is decoded as sent.
func TestSealMessagesScrubsFailures(t *testing.T) {
	const pass = "S3cret-pw!"
	b64 := base64.StdEncoding.EncodeToString([]byte("svc@contoso.com:" + pass))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		_, _ = w.Write([]byte(benchHeader + `<m:GetItemResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><m:ResponseMessages>` +
			`<m:GetItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Items><t:Message><t:ItemId Id="AAA1" ChangeKey="CK1"/><t:Subject>hello</t:Subject></t:Message></m:Items></m:GetItemResponseMessage>` +
			`<m:GetItemResponseMessage ResponseClass="Error"><m:MessageText>denied for Basic ` + b64 + ` (` + pass + `)</m:MessageText><m:ResponseCode>ErrorAccessDenied` + pass + `</m:ResponseCode><m:Items/></m:GetItemResponseMessage>` +
			`</m:ResponseMessages></m:GetItemResponse></s:Body></s:Envelope>`))
	}))
	defer srv.Close()
	c := newTestClient(t, srv.URL, nil)
	res, err := c.GetItem(context.Background(), imp, []string{"AAA1", "AAA2"}, ShapeIDOnly)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || res[0].Err != nil || res[0].Item == nil || res[1].Err == nil {
		t.Fatalf("results: %+v", res)
	}
	msg := res[1].Err.Error()
	if strings.Contains(msg, pass) || strings.Contains(msg, b64) || !strings.Contains(msg, "[REDACTED]") {
		t.Fatalf("per-item error not scrubbed: %q", msg)
	}
}
