package ews

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/mailbridge/mailbridge/shared/testsupport/golden"
)

// decodedAttachment is what a golden records of a decoded attachment.
type decodedAttachment struct {
	Type, ID, Name, ContentType string
	Size                        int64
	IsInline                    bool
	Content                     []byte // decoded
}

func goldenAttachment(t *testing.T, a Attachment) decodedAttachment {
	t.Helper()
	d := decodedAttachment{Type: a.Type, ID: a.ID, Name: a.Name, ContentType: a.ContentType, Size: a.Size, IsInline: a.IsInline}
	if a.Content != "" {
		b, err := a.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		d.Content = b
	}
	return d
}

// TestDecodeAttachmentsGolden decodes Microsoft's documented answers: a
// GetAttachment with a FileAttachment's content (AQIDBAU= is bytes 1-5),
// and CreateAttachment answers naming a file and an item attachment.
func TestDecodeAttachmentsGolden(t *testing.T) {
	resp, _, err := parseEnvelope(readFixture(t, "msdocs/getattachment-operation.02.GetAttachmentResponse.xml"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := decodeGetAttachment(resp)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]any{"GetAttachment": goldenAttachment(t, a)}
	if string(got["GetAttachment"].(decodedAttachment).Content) != "\x01\x02\x03\x04\x05" {
		t.Errorf("content = %q, want bytes 1-5", a.Content)
	}
	for _, name := range []string{"createattachment-operation.02.CreateAttachmentResponse.xml", "createattachment-operation.04.CreateAttachmentResponse.xml"} {
		resp, _, err := parseEnvelope(readFixture(t, "msdocs/"+name))
		if err != nil {
			t.Fatal(err)
		}
		msgs, err := responseMessages("CreateAttachment", resp)
		if err != nil {
			t.Fatal(err)
		}
		got[name] = goldenAttachment(t, decodeAttachment(msgs[0].el.child("Attachments").firstChild()))
	}
	golden.JSON(t, "testdata/golden/attachments.json", got)
}

// TestDecodeItemAttachmentsAndMIME decodes item:Attachments (a file, an
// inline image and an attached message, with the Exchange 2010 Size and
// IsInline) and MimeContent with its character set.
func TestDecodeItemAttachmentsAndMIME(t *testing.T) {
	body := `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>` +
		`<m:GetItemResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><m:ResponseMessages><m:GetItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Items><t:Message>` +
		`<t:MimeContent CharacterSet="UTF-8">U3ViamVjdDogaGkNCg0KYm9keQ==</t:MimeContent><t:ItemId Id="AAMk1" ChangeKey="CQ1"/>` +
		`<t:Attachments><t:FileAttachment><t:AttachmentId Id="AAMkA1="/><t:Name>plan.pdf</t:Name><t:ContentType>application/pdf</t:ContentType><t:Size>1234</t:Size><t:LastModifiedTime>2026-01-02T03:04:05Z</t:LastModifiedTime><t:IsInline>false</t:IsInline><t:IsContactPhoto>false</t:IsContactPhoto></t:FileAttachment>` +
		`<t:FileAttachment><t:AttachmentId Id="AAMkA2="/><t:Name>logo.png</t:Name><t:ContentType>image/png</t:ContentType><t:ContentId>logo@x</t:ContentId><t:Size>99</t:Size><t:IsInline>true</t:IsInline></t:FileAttachment>` +
		`<t:ItemAttachment><t:AttachmentId Id="AAMkA3="/><t:Name>Fwd: notes</t:Name><t:Size>4321</t:Size></t:ItemAttachment>` +
		`<t:FileAttachment><t:AttachmentId Id="AAMkA4="/><t:Name>from Exchange 2007</t:Name></t:FileAttachment></t:Attachments>` +
		`</t:Message></m:Items></m:GetItemResponseMessage></m:ResponseMessages></m:GetItemResponse></s:Body></s:Envelope>`
	resp, _, err := parseEnvelope([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	res, err := decodeGetItem(resp)
	if err != nil {
		t.Fatal(err)
	}
	it := res[0].Item
	var as []decodedAttachment
	for _, a := range it.Attachments {
		as = append(as, goldenAttachment(t, a))
	}
	mime, err := it.MIME()
	if err != nil {
		t.Fatal(err)
	}
	if string(mime) != "Subject: hi\r\n\r\nbody" || it.MimeCharset != "UTF-8" {
		t.Errorf("MIME = %q (charset %q)", mime, it.MimeCharset)
	}
	golden.JSON(t, "testdata/golden/item-attachments.json", as)
}

// TestBrokenContentIsTyped: bad base64 and a cut-off answer are typed
// errors (ErrMalformedResponse, ErrTruncated or the parse error's class),
// never panics or garbage bytes.
func TestBrokenContentIsTyped(t *testing.T) {
	if _, err := (Attachment{Content: "AQID*BAU="}).Bytes(); !errors.Is(err, ErrMalformedResponse) {
		t.Errorf("bad base64 content: %v, want ErrMalformedResponse", err)
	}
	if _, err := (Item{MimeContent: "U3Vi!!"}).MIME(); !errors.Is(err, ErrMalformedResponse) {
		t.Errorf("bad base64 MIME: %v, want ErrMalformedResponse", err)
	}
	if _, err := (Item{}).MIME(); !errors.Is(err, ErrMalformedResponse) {
		t.Errorf("absent MIME: %v, want ErrMalformedResponse", err)
	}
	full := readFixture(t, "msdocs/getattachment-operation.02.GetAttachmentResponse.xml")
	for _, tc := range []struct {
		name string
		body []byte
	}{
		{"truncated", full[:len(full)*2/3]},
		{"no attachment", []byte(`<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><m:GetAttachmentResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"><m:ResponseMessages><m:GetAttachmentResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Attachments/></m:GetAttachmentResponseMessage></m:ResponseMessages></m:GetAttachmentResponse></s:Body></s:Envelope>`)},
		{"wrong response", readFixture(t, "msdocs/createattachment-operation.02.CreateAttachmentResponse.xml")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs := newCaptureServer(t, http.StatusOK, tc.body)
			c := newTestClient(t, cs.URL, nil)
			_, err := c.GetAttachment(context.Background(), Target{Mode: ModeSelf}, "AAMkA1=")
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v (%T), want *ews.Error", err, err)
			}
			if !errors.Is(err, ErrMalformedResponse) && !errors.Is(err, ErrTruncated) {
				t.Errorf("err = %v, want ErrMalformedResponse or ErrTruncated", err)
			}
		})
	}
}
