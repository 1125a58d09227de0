package ews

import (
	"encoding/xml"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Realistic Exchange Online identifiers: ItemIds are ~150 characters of
// base64, change keys ~40.
func benchID(i int) string {
	return fmt.Sprintf("AAMkAGI2NGVhZTVlLTI1OGMtNDI4My1iZmE5LTA5OGJkZWMxNzU3OABGAAAAAAC6jGvGzUd0R5OHpKCpL6e8BwBKX9NzPfW5SZKc5tEXWR9GAAAAAAEMAABKX9NzPfW5SZKc5tEXWR9GAA%06dAAA=", i)
}

func benchChangeKey(i int) string { return fmt.Sprintf("CQAAABYAAABKX9NzPfW5SZKc5tEXWR9GAA%06d", i) }

const benchHeader = `<?xml version="1.0" encoding="utf-8"?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header><h:ServerVersionInfo MajorVersion="15" MinorVersion="20" MajorBuildNumber="8046" MinorBuildNumber="21" Version="V2018_01_08" xmlns:h="http://schemas.microsoft.com/exchange/services/2006/types" xmlns="http://schemas.microsoft.com/exchange/services/2006/types" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/></s:Header><s:Body xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">`

// syncResponse512 is a SyncFolderItems page of 512 changes shaped like the
// client's request (IdOnly + ItemClass): mostly creates, some updates,
// deletes and read-flag changes.
func syncResponse512() []byte {
	var b strings.Builder
	b.WriteString(benchHeader)
	b.WriteString(`<m:SyncFolderItemsResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><m:ResponseMessages><m:SyncFolderItemsResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:SyncState>H4sIAAAAAAAEAO29B2AcSZYlJi9tynt/SvVK1+B0oQiAYBMk2JBAEOzBiM3mkuwdaUcjKasqgcplVmVdZhZAzO2dvPfee++999577733333ujudTif33/8/XGZkAWz2zkrayZ4hgKrIHz9+fB8/Ih7/5Q==</m:SyncState><m:IncludesLastItemInRange>false</m:IncludesLastItemInRange><m:Changes>`)
	for i := range 512 {
		id, ck := benchID(i), benchChangeKey(i)
		switch {
		case i%20 < 14:
			fmt.Fprintf(&b, `<t:Create><t:Message><t:ItemId Id="%s" ChangeKey="%s"/><t:ItemClass>IPM.Note</t:ItemClass></t:Message></t:Create>`, id, ck)
		case i%20 < 17:
			fmt.Fprintf(&b, `<t:Update><t:CalendarItem><t:ItemId Id="%s" ChangeKey="%s"/><t:ItemClass>IPM.Appointment</t:ItemClass></t:CalendarItem></t:Update>`, id, ck)
		case i%20 < 19:
			fmt.Fprintf(&b, `<t:Delete><t:ItemId Id="%s" ChangeKey="%s"/></t:Delete>`, id, ck)
		default:
			fmt.Fprintf(&b, `<t:ReadFlagChange><t:ItemId Id="%s" ChangeKey="%s"/><t:IsRead>true</t:IsRead></t:ReadFlagChange>`, id, ck)
		}
	}
	b.WriteString(`</m:Changes></m:SyncFolderItemsResponseMessage></m:ResponseMessages></m:SyncFolderItemsResponse></s:Body></s:Envelope>`)
	return []byte(b.String())
}

// getItemResponse100 is a GetItem answer with 100 calendar items carrying
// what ShapeCalendar asks for, plus Mailbridge's extended property.
func getItemResponse100() []byte {
	var b strings.Builder
	b.WriteString(benchHeader)
	b.WriteString(`<m:GetItemResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><m:ResponseMessages>`)
	start := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for i := range 100 {
		s := start.Add(time.Duration(i) * time.Hour)
		fmt.Fprintf(&b, `<m:GetItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Items><t:CalendarItem>`+
			`<t:ItemId Id="%s" ChangeKey="%s"/><t:ParentFolderId Id="AAMkAGI2NGVhZTVlLTI1OGMtNDI4My1iZmE5LTA5OGJkZWMxNzU3OAAuAAAAAAC6jGvGzUd0R5OHpKCpL6e8AQBKX9NzPfW5SZKc5tEXWR9GAAAAAAENAAA=" ChangeKey="AgAAAA=="/>`+
			`<t:ItemClass>IPM.Appointment</t:ItemClass><t:Subject>Project sync #%d &amp; planning</t:Subject><t:DateTimeCreated>2026-11-01T10:00:00Z</t:DateTimeCreated>`+
			`<t:ExtendedProperty><t:ExtendedFieldURI PropertySetId="c11ff724-aa03-4555-9952-8fa248a11c3e" PropertyName="MailbridgeEventId" PropertyType="String"/><t:Value>evt-%d</t:Value></t:ExtendedProperty>`+
			`<t:LastModifiedTime>2026-11-20T08:00:00Z</t:LastModifiedTime><t:Preview>Agenda: review the milestones, open risks and the next release plan. Dial-in details below.</t:Preview>`+
			`<t:UID>040000008200E00074C5B7101A82E0080000000010C1F2C6%08d</t:UID><t:Start>%s</t:Start><t:End>%s</t:End><t:IsAllDayEvent>false</t:IsAllDayEvent><t:Location>Building 4, Room 210</t:Location>`+
			`<t:IsRecurring>false</t:IsRecurring><t:CalendarItemType>Single</t:CalendarItemType>`+
			`<t:Organizer><t:Mailbox><t:Name>Dana Park</t:Name><t:EmailAddress>dana.park@contoso.com</t:EmailAddress><t:RoutingType>SMTP</t:RoutingType><t:MailboxType>Mailbox</t:MailboxType></t:Mailbox></t:Organizer>`+
			`<t:RequiredAttendees>`+strings.Repeat(`<t:Attendee><t:Mailbox><t:Name>Lee Chen</t:Name><t:EmailAddress>lee.chen@contoso.com</t:EmailAddress><t:RoutingType>SMTP</t:RoutingType><t:MailboxType>Mailbox</t:MailboxType></t:Mailbox><t:ResponseType>Accept</t:ResponseType></t:Attendee>`, 3)+`</t:RequiredAttendees>`+
			`<t:OptionalAttendees><t:Attendee><t:Mailbox><t:Name>Sam Roe</t:Name><t:EmailAddress>sam.roe@contoso.com</t:EmailAddress><t:RoutingType>SMTP</t:RoutingType><t:MailboxType>Mailbox</t:MailboxType></t:Mailbox><t:ResponseType>NoResponseReceived</t:ResponseType></t:Attendee></t:OptionalAttendees>`+
			`<t:StartTimeZoneId>W. Europe Standard Time</t:StartTimeZoneId></t:CalendarItem></m:Items></m:GetItemResponseMessage>`,
			benchID(i), benchChangeKey(i), i, i, i, s.Format(time.RFC3339), s.Add(30*time.Minute).Format(time.RFC3339))
	}
	b.WriteString(`</m:ResponseMessages></m:GetItemResponse></s:Body></s:Envelope>`)
	return []byte(b.String())
}

func TestBenchFixturesDecode(t *testing.T) {
	resp, _, err := parseEnvelope(syncResponse512())
	if err != nil {
		t.Fatal(err)
	}
	r, err := decodeSyncFolderItems(resp)
	if err != nil || len(r.Changes) != 512 {
		t.Fatalf("sync: %v, %d changes", err, len(r.Changes))
	}
	resp, _, err = parseEnvelope(getItemResponse100())
	if err != nil {
		t.Fatal(err)
	}
	items, err := decodeGetItem(resp)
	if err != nil || len(items) != 100 || len(items[99].Item.RequiredAttendees) != 3 || items[99].Item.ExtendedProperties[0].Value != "evt-99" {
		t.Fatalf("getitem: %v, %d items", err, len(items))
	}
}

// runDecodeBench reports items/s and bytes allocated per item.
func runDecodeBench(b *testing.B, body []byte, items int, decode func([]byte) error) {
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for b.Loop() {
		if err := decode(body); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(items*b.N)/b.Elapsed().Seconds(), "items/s")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N*items), "B/item")
}

func BenchmarkDecodeSyncFolderItems512(b *testing.B) {
	runDecodeBench(b, syncResponse512(), 512, func(body []byte) error {
		resp, _, err := parseEnvelope(body)
		if err != nil {
			return err
		}
		_, err = decodeSyncFolderItems(resp)
		return err
	})
}

func BenchmarkDecodeGetItem100Calendar(b *testing.B) {
	runDecodeBench(b, getItemResponse100(), 100, func(body []byte) error {
		resp, _, err := parseEnvelope(body)
		if err != nil {
			return err
		}
		_, err = decodeGetItem(resp)
		return err
	})
}

// Baselines: the same bytes through plain encoding/xml Unmarshal into
// structs holding the same fields.

type stdID struct {
	ID        string `xml:"Id,attr"`
	ChangeKey string `xml:"ChangeKey,attr"`
}

type stdSyncItem struct {
	XMLName   xml.Name
	ItemID    stdID  `xml:"ItemId"`
	ItemClass string `xml:"ItemClass"`
}

type stdSyncChange struct {
	XMLName xml.Name
	Items   []stdSyncItem `xml:",any"`
	ItemID  stdID         `xml:"ItemId"`
	IsRead  bool          `xml:"IsRead"`
}

type stdSyncResponse struct {
	Messages []struct {
		Class        string `xml:"ResponseClass,attr"`
		Code         string `xml:"ResponseCode"`
		SyncState    string `xml:"SyncState"`
		IncludesLast bool   `xml:"IncludesLastItemInRange"`
		Changes      struct {
			List []stdSyncChange `xml:",any"`
		} `xml:"Changes"`
	} `xml:"Body>SyncFolderItemsResponse>ResponseMessages>SyncFolderItemsResponseMessage"`
}

type stdMailbox struct {
	Name, EmailAddress, RoutingType, MailboxType string
}

type stdAttendee struct {
	Mailbox      stdMailbox
	ResponseType string
}

type stdCalendarItem struct {
	ItemID           stdID `xml:"ItemId"`
	ParentFolderID   stdID `xml:"ParentFolderId"`
	ItemClass        string
	Subject          string
	DateTimeCreated  time.Time
	ExtendedProperty []struct {
		Field struct {
			PropertySetID string `xml:"PropertySetId,attr"`
			PropertyName  string `xml:"PropertyName,attr"`
			PropertyType  string `xml:"PropertyType,attr"`
		} `xml:"ExtendedFieldURI"`
		Value string
	}
	LastModifiedTime  time.Time
	Preview           string
	UID               string
	Start, End        time.Time
	IsAllDayEvent     bool
	Location          string
	IsRecurring       bool
	CalendarItemType  string
	Organizer         struct{ Mailbox stdMailbox }
	RequiredAttendees []stdAttendee `xml:"RequiredAttendees>Attendee"`
	OptionalAttendees []stdAttendee `xml:"OptionalAttendees>Attendee"`
	StartTimeZoneID   string        `xml:"StartTimeZoneId"`
}

type stdGetItemResponse struct {
	Messages []struct {
		Class string            `xml:"ResponseClass,attr"`
		Code  string            `xml:"ResponseCode"`
		Items []stdCalendarItem `xml:"Items>CalendarItem"`
	} `xml:"Body>GetItemResponse>ResponseMessages>GetItemResponseMessage"`
}

func BenchmarkBaselineXMLUnmarshalSyncFolderItems512(b *testing.B) {
	runDecodeBench(b, syncResponse512(), 512, func(body []byte) error {
		var r stdSyncResponse
		if err := xml.Unmarshal(body, &r); err != nil {
			return err
		}
		if len(r.Messages) != 1 || len(r.Messages[0].Changes.List) != 512 {
			return fmt.Errorf("baseline decoded %d messages", len(r.Messages))
		}
		return nil
	})
}

func BenchmarkBaselineXMLUnmarshalGetItem100Calendar(b *testing.B) {
	runDecodeBench(b, getItemResponse100(), 100, func(body []byte) error {
		var r stdGetItemResponse
		if err := xml.Unmarshal(body, &r); err != nil {
			return err
		}
		if len(r.Messages) != 100 || len(r.Messages[99].Items[0].RequiredAttendees) != 3 {
			return fmt.Errorf("baseline decoded %d messages", len(r.Messages))
		}
		return nil
	})
}
