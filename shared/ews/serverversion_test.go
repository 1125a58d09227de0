package ews

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestServerVersionFromHeader checks the client remembers the build that
// answered, also when the answer is a per-message error, and that a
// response without the header leaves the last known version.
func TestServerVersionFromHeader(t *testing.T) {
	body := readFixture(t, "responses/message-ErrorAccessDenied.xml")
	noHeader := []byte(`<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>` +
		`<m:SyncFolderItemsResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"><m:ResponseMessages>` +
		`<m:SyncFolderItemsResponseMessage ResponseClass="Error"><m:ResponseCode>ErrorAccessDenied</m:ResponseCode></m:SyncFolderItemsResponseMessage>` +
		`</m:ResponseMessages></m:SyncFolderItemsResponse></s:Body></s:Envelope>`)
	serve := body
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/xml")
		_, _ = w.Write(serve)
	}))
	defer srv.Close()
	c, err := New(Config{URL: srv.URL, Auth: BasicAuth("svc@contoso.com", "pw-for-test")})
	if err != nil {
		t.Fatal(err)
	}
	syncOnce := func(c *Client) error {
		_, err := c.SyncFolderItems(context.Background(), Target{Mailbox: "anna@contoso.com", Mode: ModeImpersonation},
			FolderRef{Distinguished: "inbox"}, "", 10)
		return err
	}
	if got := c.ServerVersion(); got.String() != "" {
		t.Fatalf("before any call: %q, want empty", got)
	}
	if err := syncOnce(c); Classify(err) != ClassAccessDenied {
		t.Fatalf("got %v, want the fixture's ErrorAccessDenied", err)
	}
	want := "15.20.8046.21 (V2018_01_08)"
	if got := c.ServerVersion().String(); got != want {
		t.Errorf("after a response with ServerVersionInfo: %q, want %q", got, want)
	}
	serve = noHeader
	if err := syncOnce(c); Classify(err) != ClassAccessDenied {
		t.Fatalf("got %v, want ErrorAccessDenied", err)
	}
	if got := c.ServerVersion().String(); got != want {
		t.Errorf("after a response without the header: %q, want %q kept", got, want)
	}
}
