package ews

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// TestServerVersionFromHeader sends a sequence of answers through one
// client and checks the build it remembers: the one named by the latest
// answer carrying ServerVersionInfo, whether that answer is a success, a
// per-message error or a SOAP fault; answers without the header keep it.
func TestServerVersionFromHeader(t *testing.T) {
	noHeader := []byte(`<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>` +
		`<m:SyncFolderItemsResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"><m:ResponseMessages>` +
		`<m:SyncFolderItemsResponseMessage ResponseClass="Error"><m:ResponseCode>ErrorAccessDenied</m:ResponseCode></m:SyncFolderItemsResponseMessage>` +
		`</m:ResponseMessages></m:SyncFolderItemsResponse></s:Body></s:Envelope>`)
	const (
		online = "15.20.8046.21 (V2018_01_08)"
		onPrem = "15.1.2507.39 (V2017_07_11)"
	)
	steps := []struct {
		name   string
		status int
		body   []byte
		class  Class
		want   string
	}{
		{name: "fault with the header", status: 500, body: readFixture(t, "responses/fault-ErrorImpersonateUserDenied-onprem.xml"),
			class: ClassOutOfScope, want: onPrem},
		{name: "message error with the header", status: 200, body: readFixture(t, "responses/message-ErrorAccessDenied.xml"),
			class: ClassAccessDenied, want: online},
		{name: "message error without the header", status: 200, body: noHeader, class: ClassAccessDenied, want: online},
		{name: "fault without the header", status: 500, body: readFixture(t, "responses/fault-ErrorServerBusy.xml"),
			class: ClassThrottled, want: online},
		{name: "success with the header", status: 200, body: readFixture(t, "responses/syncfolderitems-all-kinds.xml"),
			class: ClassNone, want: "15.2.1544.4 (V2017_07_11)"},
	}
	var step atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s := steps[step.Load()]
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(s.status)
		_, _ = w.Write(s.body)
	}))
	defer srv.Close()
	c := newTestClient(t, srv.URL, nil)
	if got := c.ServerVersion(); got.String() != "" {
		t.Fatalf("before any call: %q, want empty", got)
	}
	for i, s := range steps {
		step.Store(int64(i))
		t.Run(s.name, func(t *testing.T) {
			_, err := c.SyncFolderItems(context.Background(), Target{Mailbox: "anna@contoso.com", Mode: ModeImpersonation},
				FolderRef{Distinguished: "inbox"}, "", 10)
			if Classify(err) != s.class {
				t.Fatalf("got %v (class %s), want class %s", err, Classify(err), s.class)
			}
			if got := c.ServerVersion().String(); got != s.want {
				t.Errorf("server version %q, want %q", got, s.want)
			}
		})
	}
}
