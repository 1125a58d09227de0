package ews

import (
	"encoding/json"
	"os"
	"testing"
	"unicode/utf8"
)

// FuzzDecodeResponse feeds arbitrary bodies to the decoder. It must never
// panic, and whatever it accepts must be valid UTF-8 and encodable as
// JSON. Every typed operation decoder runs on the parsed body too.
func FuzzDecodeResponse(f *testing.F) {
	for _, file := range fixtureFiles(f) {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`<s:Envelope><s:Body><m:SyncFolderItemsResponse><m:ResponseMessages><m:SyncFolderItemsResponseMessage ResponseClass="Success"><m:Changes><t:Create/></m:Changes></m:SyncFolderItemsResponseMessage></m:ResponseMessages></m:SyncFolderItemsResponse></s:Body></s:Envelope>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := DecodeResponse(body)
		if err == nil {
			if _, err := json.Marshal(d); err != nil {
				t.Fatalf("decoded value does not marshal: %v", err)
			}
			checkUTF8(t, d)
		}
		resp, fault, err := parseEnvelope(body)
		if err != nil || fault != nil {
			return
		}
		// Errors are fine; panics are not.
		_, _ = decodeSyncFolderItems(resp)
		_, _ = decodeSyncFolderHierarchy(resp)
		_, _ = decodeGetItem(resp)
		_, _ = decodeFindItem(resp)
		_, _ = decodeFindFolder(resp)
		_, _ = decodeGetUserAvailability(resp)
		_, _ = decodeResolveNames(resp)
		_, _ = decodeRoomLists(resp)
		_, _ = decodeRooms(resp)
		_, _ = decodeItemRefResponse("CreateItem", resp)
	})
}

func checkUTF8(t *testing.T, d *Decoded) {
	t.Helper()
	var strs []string
	strs = append(strs, d.Operation)
	for _, m := range d.Messages {
		strs = append(strs, m.Class, m.Code, m.Text)
	}
	for _, c := range d.Changes {
		strs = append(strs, c.ItemID, c.FolderID, c.ChangeKey)
	}
	for _, it := range d.Items {
		strs = append(strs, it.ItemID, it.ChangeKey, it.ItemClass, it.Subject)
	}
	if d.Fault != nil {
		strs = append(strs, d.Fault.Code, d.Fault.String, d.Fault.ResponseCode)
	}
	if d.SyncState != nil {
		strs = append(strs, *d.SyncState)
	}
	for _, s := range strs {
		if !utf8.ValidString(s) {
			t.Fatalf("decoded string %q is not valid UTF-8", s)
		}
	}
}
