package ews

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// TestFindItemRestrictionRequest checks where the FindItem restriction on
// an extended property lands in the envelope, in every addressing mode,
// with a value that would break the envelope if it were not escaped. The
// schema check of the same requests is in TestRequestsValidateAgainstSchema
// (case FindItem-restriction), so xmllint runs once per envelope.
func TestFindItemRestrictionRequest(t *testing.T) {
	answer := readFixture(t, "msdocs/finditem-operation.02.FindItemResponse.xml")
	srv := newCaptureServer(t, http.StatusOK, answer)
	c, err := New(Config{URL: srv.URL + "/EWS/Exchange.asmx", Auth: BasicAuth("svc", "pw"), URLGuard: loopbackGuard})
	if err != nil {
		t.Fatal(err)
	}
	marker := ExtendedField{PropertySetID: "c11ff724-aa03-4555-9952-8fa248a11c3e", PropertyName: "MailbridgeEventId", PropertyType: "String"}
	for _, target := range []Target{
		{Mailbox: hostileMailbox, Mode: ModeImpersonation},
		{Mailbox: hostileMailbox, Mode: ModeDelegate},
		{Mode: ModeSelf},
	} {
		t.Run(string(target.Mode), func(t *testing.T) {
			res, err := c.FindItem(context.Background(), target, FolderRef{Distinguished: "calendar"}, FindItemOptions{
				Shape:       Shape{Base: "IdOnly", Extended: []ExtendedField{marker}},
				Page:        &PageView{MaxEntries: 2},
				Restriction: &Restriction{Field: marker, Value: hostileSubject},
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Items) == 0 {
				t.Error("the response's items were not decoded")
			}
			// The envelope is indented; compare it without the layout.
			body := regexp.MustCompile(`>\s+<`).ReplaceAllString(string(srv.last(t).body), "><")
			for _, want := range []string{
				`<m:Restriction><t:IsEqualTo><t:ExtendedFieldURI PropertySetId="c11ff724-aa03-4555-9952-8fa248a11c3e" PropertyName="MailbridgeEventId" PropertyType="String"></t:ExtendedFieldURI><t:FieldURIOrConstant><t:Constant Value="`,
				`</m:IndexedPageItemView><m:Restriction>`,
				`</m:Restriction><m:ParentFolderIds>`,
			} {
				if !strings.Contains(body, want) {
					t.Errorf("request lacks %q:\n%s", want, body)
				}
			}
			if strings.Contains(body, "<script>") {
				t.Errorf("the restriction value was not escaped:\n%s", body)
			}
		})
	}
}

func TestFindItemRestrictionRefusesBadField(t *testing.T) {
	srv := newCaptureServer(t, http.StatusOK, nil)
	c, err := New(Config{URL: srv.URL, Auth: BasicAuth("svc", "pw"), URLGuard: loopbackGuard})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.FindItem(context.Background(), Target{Mode: ModeSelf}, FolderRef{Distinguished: "calendar"}, FindItemOptions{
		Restriction: &Restriction{Field: ExtendedField{PropertyName: "NoSet", PropertyType: "String"}, Value: "x"},
	})
	if !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("got %v, want ErrInvalidArgument", err)
	}
	if srv.count() != 0 {
		t.Error("an invalid restriction reached the server")
	}
}
