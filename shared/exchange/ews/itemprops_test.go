package ews

import (
	"testing"
)

// TestDecodeMessageProperties decodes the message of Microsoft's
// SyncFolderItems sample (a real Exchange answer with every default
// message property): the ids, importance, sensitivity, thread headers,
// flags and categories the feed carries come out as Exchange gave them.
func TestDecodeMessageProperties(t *testing.T) {
	resp, _, err := parseEnvelope(readFixture(t, "msdocs/how-to-synchronize-items-by-using-ews-in-exchange.04.SyncFolderItemsResponse.xml"))
	if err != nil {
		t.Fatal(err)
	}
	msg := resp.path("ResponseMessages", "SyncFolderItemsResponseMessage", "Changes", "Update", "Message")
	if !msg.ok() {
		t.Fatal("the sample has no updated message")
	}
	it := decodeItem(msg)
	for _, c := range []struct{ field, got, want string }{
		// The docs print the angle brackets escaped twice; the value is
		// kept as Exchange's XML gives it.
		{"InternetMessageId", it.InternetMessageID, "&lt;e5919a09c8fc4d64b6ffd3542e194fc3@BY2SR01MB609.contoso.com&gt;"},
		{"ConversationId", it.ConversationID, "AAQkADkzNjJjODUzLWZhMDMtNDVkMS05ZDdjLWVmMDlkYjQ1Zjc4MwAQACAi+NTh0F5Eg5YDwpJsXPE="},
		{"Importance", it.Importance, "Normal"},
		{"Sensitivity", it.Sensitivity, "Normal"},
		{"ConversationTopic", it.ConversationTopic, "Company Soccer Team"},
		{"InReplyTo", it.InReplyTo, "&lt;8e084ea1a5b64f97b95fa8a863a5869d@CH1SR01MB001.namsdf01.sdf.contoso.com&gt;"},
		// The docs cut the header short; the decoder keeps what is there.
		{"References", it.References, "namsdf01.sdf.contoso.com&gt;"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.field, c.got, c.want)
		}
	}
	if it.IsDraft || it.HasAttachments || len(it.Categories) != 0 || it.Bcc != nil || it.ReplyTo != nil {
		t.Errorf("flags and lists: draft %v, attachments %v, categories %v, bcc %v, reply-to %v", it.IsDraft, it.HasAttachments, it.Categories, it.Bcc, it.ReplyTo)
	}
}

// TestDecodeMessageLists decodes the list properties the samples leave
// empty, in the schema's form: categories as t:String, Bcc and ReplyTo as
// mailboxes, a ConversationId without Id as no id.
func TestDecodeMessageLists(t *testing.T) {
	body := `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>` +
		`<m:GetItemResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><m:ResponseMessages><m:GetItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Items><t:Message>` +
		`<t:ItemId Id="AAMk1" ChangeKey="CQ1"/><t:Categories><t:String>Red category</t:String><t:String>Clients</t:String></t:Categories><t:Importance>High</t:Importance><t:IsDraft>true</t:IsDraft><t:HasAttachments>true</t:HasAttachments><t:ConversationId/><t:Flag><t:FlagStatus>Flagged</t:FlagStatus></t:Flag>` +
		`<t:BccRecipients><t:Mailbox><t:EmailAddress>hidden@contoso.com</t:EmailAddress></t:Mailbox></t:BccRecipients><t:ReplyTo><t:Mailbox><t:Name>Desk</t:Name><t:EmailAddress>desk@contoso.com</t:EmailAddress></t:Mailbox></t:ReplyTo>` +
		`</t:Message></m:Items></m:GetItemResponseMessage></m:ResponseMessages></m:GetItemResponse></s:Body></s:Envelope>`
	resp, _, err := parseEnvelope([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	it := decodeItem(resp.path("ResponseMessages", "GetItemResponseMessage", "Items", "Message"))
	if len(it.Categories) != 2 || it.Categories[1] != "Clients" || it.Importance != "High" || !it.IsDraft || !it.HasAttachments || it.ConversationID != "" || it.FlagStatus != "Flagged" {
		t.Errorf("decoded %+v", it)
	}
	if len(it.Bcc) != 1 || it.Bcc[0].EmailAddress != "hidden@contoso.com" || len(it.ReplyTo) != 1 || it.ReplyTo[0].Name != "Desk" {
		t.Errorf("bcc %+v, reply-to %+v", it.Bcc, it.ReplyTo)
	}
}

// TestDecodeContactProperties decodes Microsoft's GetItem contact sample:
// company, job title and the business address (its Exchange 2007 Country
// element read as CountryOrRegion); the sample's empty Body is no notes.
func TestDecodeContactProperties(t *testing.T) {
	resp, _, err := parseEnvelope(readFixture(t, "msdocs/getitem-operation-contact.02.GetItemResponse.xml"))
	if err != nil {
		t.Fatal(err)
	}
	it := decodeItem(resp.path("ResponseMessages", "GetItemResponseMessage", "Items", "Contact"))
	want := PhysicalAddress{Key: "Business", Street: "12345 67th Ave", City: "Whittier", State: "CA", CountryOrRegion: "USA"}
	if it.CompanyName != "Northwind Traders" || it.JobTitle != "Project Manager" || len(it.PhysicalAddresses) != 1 || it.PhysicalAddresses[0] != want || it.Body != "" {
		t.Errorf("decoded %+v", it)
	}
}

// TestAtLeast: item:Flag is asked for from Exchange2013 on, and by
// default (Exchange2016), never from an Exchange 2010 tenant.
func TestAtLeast(t *testing.T) {
	for _, c := range []struct {
		v    string
		want bool
	}{{"", true}, {"Exchange2013", true}, {"V2017_07_11", true}, {"Exchange2010_SP2", false}, {"Exchange2007", false}, {"bogus", false}} {
		if got := AtLeast(c.v, "Exchange2013"); got != c.want {
			t.Errorf("AtLeast(%q) = %v", c.v, got)
		}
	}
}
