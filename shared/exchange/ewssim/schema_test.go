package ewssim_test

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
)

// validatorPath is ../shared/ews/validate-soap beside the repository
// (the repo is cloned as a sibling of the reference folder), or
// $EWS_VALIDATOR.
func validatorPath(t *testing.T) string {
	t.Helper()
	p := os.Getenv("EWS_VALIDATOR")
	if p == "" {
		p = filepath.Join("..", "..", "..", "..", "shared", "ews", "validate-soap")
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("EWS schema validator not found at %s (set EWS_VALIDATOR): %v", p, err)
	}
	if _, err := exec.LookPath("xmllint"); err != nil {
		t.Fatal("xmllint is missing: apt-get install -y libxml2-utils")
	}
	return p
}

// operationCase is one request and the response codes it must get: one
// per response message, or the SOAP fault's code with status 500.
type operationCase struct {
	name   string
	header string
	body   func() string
	status int
	codes  []string
}

// TestEveryOperationAnswersSchemaValidXML drives every operation through
// its success and error shapes, checks the codes, and validates one
// response of each case (and of the sync that precedes them) against the
// official EWS schema.
func TestEveryOperationAnswersSchemaValidXML(t *testing.T) {
	validator := validatorPath(t)
	const (
		alice = "alice@contoso.com"
		bob   = "bob@contoso.com"
		carol = "carol@contoso.com"
	)
	env := newEnv(t, ewssim.Options{}, alice, bob)
	must(t, env.sim.AddMailbox(carol, "Carol Folder-Only"))
	must(t, env.sim.GrantDelegate(svcUser, carol, "inbox"))
	must(t, env.sim.SetImpersonationScope(svcUser, []string{alice, bob}, false))
	must(t, env.sim.AddRoom(ewssim.Room{Address: "aurora@contoso.com", DisplayName: "Aurora <4th> & \"Co\"", Capacity: 8}))
	must(t, env.sim.AddRoom(ewssim.Room{Address: "borealis@contoso.com", DisplayName: "Borealis"}))
	must(t, env.sim.AddRoomList("floor1@contoso.com", "Floor 1 & 2", "aurora@contoso.com", "borealis@contoso.com"))
	must(t, env.sim.AddRoomList("empty@contoso.com", "No rooms yet"))
	env.rec = &recorder{files: map[string][]byte{}}
	sim := env.sim

	base := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	hostile := "Q3 <b>&amp; \"quotes\" \x01 ✓"
	msg, err := sim.AddItem(alice, "inbox", ewssim.Item{Subject: hostile, Body: "body & more", From: ewssim.Address{Name: "Bob", Email: bob},
		To: []ewssim.Address{{Name: "Alice", Email: alice}}, Received: base,
		Bcc: []ewssim.Address{{Name: "CRM", Email: "crm@contoso.com"}}, ReplyTo: []ewssim.Address{{Name: hostile, Email: "desk@contoso.com"}},
		Importance: "High", Categories: []string{hostile, "Clients"}, HasAttachments: true, InternetMessageID: "<a&b@contoso.com>", FlagStatus: "Complete",
		Sensitivity: "Private", InReplyTo: "<p&1@contoso.com>", References: "<root@contoso.com> <p&1@contoso.com>"})
	must(t, err)
	read, err := sim.AddItem(alice, "inbox", ewssim.Item{Subject: "to be read", Received: base})
	must(t, err)
	gone, err := sim.AddItem(alice, "inbox", ewssim.Item{Subject: "to be deleted", Received: base})
	must(t, err)
	ext := ewssim.ExtendedProperty{SetID: "c11ff724-aa03-4555-9952-8fa248a11c3e", Name: "MailbridgeEventId", Type: "String", Value: "evt-1"}
	ev, err := sim.AddItem(alice, "calendar", ewssim.Item{Kind: ewssim.KindCalendar, Subject: "Standup", Start: base, End: base.Add(30 * time.Minute),
		TimeZone: "UTC", Location: "Aurora", Organizer: ewssim.Address{Name: "Alice", Email: alice},
		Attendees: []ewssim.Address{{Name: "Bob", Email: bob}}, IsRecurring: true, Extended: []ewssim.ExtendedProperty{ext}})
	must(t, err)
	contact, err := sim.AddItem(alice, "contacts", ewssim.Item{Kind: ewssim.KindContact, DisplayName: "Dan Park", GivenName: "Dan", Surname: "Park",
		Company: "Contoso", Emails: []string{"dan@fabrikam.com"}, Phones: []string{"+1 555 0100"},
		JobTitle: hostile, Department: "Sales", Office: "B 4", Birthday: time.Date(1980, 5, 10, 11, 59, 0, 0, time.UTC), Body: "notes " + hostile,
		Addresses: []ewssim.PostalAddress{{Kind: "Home", City: "Lisbon"}, {Kind: "Business", Street: hostile, City: "Redmond", PostalCode: "98052", Country: "USA"}}})
	must(t, err)
	_, err = sim.AddFolder(alice, "inbox", "Projects", "")
	must(t, err)
	// A weekly series (Mondays 10:00 Berlin) with its second occurrence
	// moved and its third deleted.
	series, err := sim.AddItem(alice, "calendar", ewssim.Item{Kind: ewssim.KindCalendar, Subject: "Weekly", Start: base, End: base.Add(time.Hour),
		TimeZone: "W. Europe Standard Time", Organizer: ewssim.Address{Name: "Alice", Email: alice}, IsRecurring: true,
		Recurrence: &ewssim.Recurrence{Pattern: "WeeklyRecurrence", Interval: 1, DaysOfWeek: []string{"Monday"}, FirstDayOfWeek: "Monday",
			Range: "NumberedRecurrence", StartDate: "2026-03-02", Count: 10},
		Exceptions:         []ewssim.Exception{{Index: 2, Start: base.AddDate(0, 0, 8), End: base.AddDate(0, 0, 8).Add(time.Hour), Subject: "Weekly (moved) & <more>", Location: "B 4"}},
		DeletedOccurrences: []int{3}})
	must(t, err)
	occurrence := func(i int) string {
		return `<t:OccurrenceItemId RecurringMasterId="` + series.ID + `" InstanceIndex="` + strconv.Itoa(i) + `"/>`
	}
	seriesShape := func() string {
		var f strings.Builder
		for _, uri := range []string{"item:Subject", "calendar:Start", "calendar:End", "calendar:OriginalStart", "calendar:IsAllDayEvent",
			"calendar:LegacyFreeBusyStatus", "calendar:Location", "calendar:IsCancelled", "calendar:IsRecurring", "calendar:IsResponseRequested",
			"calendar:CalendarItemType", "calendar:MyResponseType", "calendar:Recurrence", "calendar:FirstOccurrence", "calendar:LastOccurrence",
			"calendar:ModifiedOccurrences", "calendar:DeletedOccurrences", "calendar:StartTimeZone", "calendar:EndTimeZone",
			"item:ReminderIsSet", "item:ReminderMinutesBeforeStart"} {
			f.WriteString(`<t:FieldURI FieldURI="` + uri + `"/>`)
		}
		return `<m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>` + f.String() + `</t:AdditionalProperties></m:ItemShape>`
	}
	recurringItem := func(rec string) string {
		return `<m:CreateItem SendMeetingInvitations="SendToNone"><m:SavedItemFolderId>` + dist("calendar", "") + `</m:SavedItemFolderId><m:Items><t:CalendarItem><t:Subject>Series</t:Subject>` +
			`<t:Start>2026-03-10T08:00:00Z</t:Start><t:End>2026-03-10T09:00:00Z</t:End><t:Recurrence>` + rec + `</t:Recurrence>` +
			`<t:StartTimeZone Id="Eastern Standard Time"/><t:EndTimeZone Id="Eastern Standard Time"/></t:CalendarItem></m:Items></m:CreateItem>`
	}

	// A first sync, then changes, so the second sync shows every change kind.
	_, state, _ := env.syncAll(t, impersonate(alice), dist("inbox", ""), "", 512)
	_, err = sim.UpdateItem(msg.ID, func(it *ewssim.Item) { it.Subject += " (edited)" })
	must(t, err)
	_, err = sim.SetRead(read.ID, true)
	must(t, err)
	must(t, sim.DeleteItem(gone.ID))
	_, err = sim.AddItem(alice, "inbox", ewssim.Item{Subject: "new"})
	must(t, err)

	extURI := `<t:ExtendedFieldURI PropertySetId="` + ext.SetID + `" PropertyName="MailbridgeEventId" PropertyType="String"/>`
	shapeDefault := `<m:ItemShape><t:BaseShape>Default</t:BaseShape><t:AdditionalProperties>` + extURI + `</t:AdditionalProperties></m:ItemShape>`
	getFolder := func(ref string) func() string {
		return func() string {
			return `<m:GetFolder><m:FolderShape><t:BaseShape>Default</t:BaseShape></m:FolderShape><m:FolderIds>` + ref + `</m:FolderIds></m:GetFolder>`
		}
	}
	findItem := func(view, folder string) func() string {
		return func() string {
			return `<m:FindItem Traversal="Shallow">` + shapeDefault + view + `<m:ParentFolderIds>` + folder + `</m:ParentFolderIds></m:FindItem>`
		}
	}
	const calendarItem = `<t:CalendarItem><t:Subject>Trip: Oslo</t:Subject><t:Body BodyType="Text">Flight SK 4035</t:Body>` +
		`<t:ExtendedProperty><t:ExtendedFieldURI PropertySetId="c11ff724-aa03-4555-9952-8fa248a11c3e" PropertyName="MailbridgeEventId" PropertyType="String"/><t:Value>evt-9</t:Value></t:ExtendedProperty>` +
		`<t:Start>2026-03-10T08:00:00Z</t:Start><t:End>2026-03-10T10:00:00Z</t:End><t:Location>OSL</t:Location>` +
		`<t:RequiredAttendees><t:Attendee><t:Mailbox><t:EmailAddress>bob@contoso.com</t:EmailAddress></t:Mailbox></t:Attendee></t:RequiredAttendees></t:CalendarItem>`
	availability := func(start, end string, addrs ...string) func() string {
		return func() string {
			var b strings.Builder
			b.WriteString(`<m:GetUserAvailabilityRequest><t:TimeZone><t:Bias>0</t:Bias><t:StandardTime><t:Bias>0</t:Bias><t:Time>02:00:00</t:Time><t:DayOrder>5</t:DayOrder><t:Month>10</t:Month><t:DayOfWeek>Sunday</t:DayOfWeek></t:StandardTime>` +
				`<t:DaylightTime><t:Bias>0</t:Bias><t:Time>02:00:00</t:Time><t:DayOrder>1</t:DayOrder><t:Month>4</t:Month><t:DayOfWeek>Sunday</t:DayOfWeek></t:DaylightTime></t:TimeZone><m:MailboxDataArray>`)
			for _, a := range addrs {
				b.WriteString(`<t:MailboxData><t:Email><t:Address>` + a + `</t:Address></t:Email><t:AttendeeType>Required</t:AttendeeType><t:ExcludeConflicts>false</t:ExcludeConflicts></t:MailboxData>`)
			}
			b.WriteString(`</m:MailboxDataArray><t:FreeBusyViewOptions><t:TimeWindow><t:StartTime>` + start + `</t:StartTime><t:EndTime>` + end +
				`</t:EndTime></t:TimeWindow><t:MergedFreeBusyIntervalInMinutes>30</t:MergedFreeBusyIntervalInMinutes><t:RequestedView>DetailedMerged</t:RequestedView></t:FreeBusyViewOptions></m:GetUserAvailabilityRequest>`)
			return b.String()
		}
	}
	resolve := func(q string) func() string {
		return func() string {
			return `<m:ResolveNames ReturnFullContactData="true"><m:UnresolvedEntry>` + q + `</m:UnresolvedEntry></m:ResolveNames>`
		}
	}
	update := func(ck, resolution string) func() string {
		return func() string {
			return `<m:UpdateItem ConflictResolution="` + resolution + `" SendMeetingInvitationsOrCancellations="SendToNone"><m:ItemChanges><t:ItemChange>` +
				`<t:ItemId Id="` + ev.ID + `" ChangeKey="` + ck + `"/><t:Updates>` +
				`<t:SetItemField><t:FieldURI FieldURI="item:Subject"/><t:CalendarItem><t:Subject>Standup (moved)</t:Subject></t:CalendarItem></t:SetItemField>` +
				`<t:SetItemField><t:FieldURI FieldURI="calendar:Start"/><t:CalendarItem><t:Start>2026-03-02T09:30:00Z</t:Start></t:CalendarItem></t:SetItemField>` +
				`<t:SetItemField><t:FieldURI FieldURI="calendar:End"/><t:CalendarItem><t:End>2026-03-02T10:00:00Z</t:End></t:CalendarItem></t:SetItemField>` +
				`</t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>`
		}
	}
	ok := []string{"NoError"}
	cases := []operationCase{
		{"GetFolder distinguished", impersonate(alice), getFolder(dist("inbox", "") + dist("calendar", "") + dist("contacts", "")), 200, []string{"NoError", "NoError", "NoError"}},
		{"GetFolder delegate and errors", "", getFolder(dist("inbox", bob) + dist("inbox", "nobody@contoso.com") + `<t:FolderId Id="bad"/>` + dist("calendar", carol)), 200,
			[]string{"NoError", "ErrorNonExistentMailbox", "ErrorInvalidIdMalformed", "ErrorAccessDenied"}},
		{"FindFolder deep", impersonate(alice), func() string {
			return `<m:FindFolder Traversal="Deep"><m:FolderShape><t:BaseShape>Default</t:BaseShape></m:FolderShape><m:IndexedPageFolderView MaxEntriesReturned="5" Offset="0" BasePoint="Beginning"/><m:ParentFolderIds>` + dist("msgfolderroot", "") + `</m:ParentFolderIds></m:FindFolder>`
		}, 200, ok},
		{"SyncFolderHierarchy", impersonate(alice), func() string {
			return `<m:SyncFolderHierarchy><m:FolderShape><t:BaseShape>AllProperties</t:BaseShape></m:FolderShape></m:SyncFolderHierarchy>`
		}, 200, ok},
		{"SyncFolderHierarchy folder delegate", "", func() string {
			return `<m:SyncFolderHierarchy><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:SyncFolderId>` + dist("msgfolderroot", carol) + `</m:SyncFolderId></m:SyncFolderHierarchy>`
		}, 200, ok},
		{"SyncFolderItems every change kind", impersonate(alice), func() string {
			return `<m:SyncFolderItems>` + shapeDefault + `<m:SyncFolderId>` + dist("inbox", "") + `</m:SyncFolderId><m:SyncState>` + state + `</m:SyncState><m:MaxChangesReturned>512</m:MaxChangesReturned></m:SyncFolderItems>`
		}, 200, ok},
		{"SyncFolderItems calendar and contacts", impersonate(alice), func() string {
			return `<m:SyncFolderItems>` + shapeDefault + `<m:SyncFolderId>` + dist("calendar", "") + `</m:SyncFolderId><m:MaxChangesReturned>512</m:MaxChangesReturned></m:SyncFolderItems>`
		}, 200, ok},
		{"SyncFolderItems invalid state", impersonate(alice), func() string { return syncItemsBody(dist("inbox", ""), "AAAA", 10) }, 200, []string{"ErrorInvalidSyncStateData"}},
		{"SyncFolderItems access denied", "", func() string { return syncItemsBody(dist("calendar", carol), "", 10) }, 200, []string{"ErrorAccessDenied"}},
		{"GetItem batch with unknown id", impersonate(alice), func() string {
			b := getItemBody(msg.ID, ev.ID, contact.ID, gone.ID)
			return strings.Replace(b, `<m:ItemShape><t:BaseShape>Default</t:BaseShape></m:ItemShape>`, shapeDefault, 1)
		}, 200, []string{"NoError", "NoError", "NoError", "ErrorItemNotFound"}},
		{"GetItem IdOnly plus fields", impersonate(alice), func() string {
			var f strings.Builder
			for _, uri := range []string{"item:ItemClass", "item:Subject", "item:ParentFolderId", "item:DateTimeReceived", "item:LastModifiedTime", "item:Preview",
				"message:From", "message:ToRecipients", "message:IsRead", "calendar:Start", "calendar:End", "calendar:Organizer", "calendar:RequiredAttendees",
				"calendar:IsRecurring", "calendar:CalendarItemType", "calendar:UID", "calendar:StartTimeZoneId", "contacts:DisplayName", "contacts:EmailAddresses",
				"item:Categories", "item:Importance", "item:IsDraft", "item:HasAttachments", "item:ConversationId", "message:BccRecipients", "message:ReplyTo",
				"message:InternetMessageId", "item:Flag", "item:Body", "contacts:CompanyName", "contacts:JobTitle", "contacts:Department", "contacts:OfficeLocation",
				"contacts:PhysicalAddresses", "contacts:Birthday", "item:Sensitivity", "message:ConversationTopic", "item:InReplyTo", "message:References"} {
				f.WriteString(`<t:FieldURI FieldURI="` + uri + `"/>`)
			}
			b := getItemBody(msg.ID, ev.ID, contact.ID)
			return strings.Replace(b, `<t:BaseShape>Default</t:BaseShape>`, `<t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>`+f.String()+extURI+`</t:AdditionalProperties>`, 1)
		}, 200, []string{"NoError", "NoError", "NoError"}},
		{"GetItem message fields with an HTML body", impersonate(alice), func() string {
			var f strings.Builder
			for _, uri := range []string{"item:Subject", "item:Sensitivity", "item:Importance", "item:InReplyTo", "message:ConversationTopic", "message:From",
				"message:InternetMessageId", "message:IsRead", "message:References", "message:ReplyTo", "item:Body"} {
				f.WriteString(`<t:FieldURI FieldURI="` + uri + `"/>`)
			}
			b := getItemBody(msg.ID)
			return strings.Replace(b, `<t:BaseShape>Default</t:BaseShape>`, `<t:BaseShape>IdOnly</t:BaseShape><t:BodyType>HTML</t:BodyType><t:AdditionalProperties>`+f.String()+`</t:AdditionalProperties>`, 1)
		}, 200, []string{"NoError"}},
		{"FindItem paged", impersonate(alice), findItem(`<m:IndexedPageItemView MaxEntriesReturned="2" Offset="0" BasePoint="Beginning"/>`, dist("inbox", "")), 200, ok},
		{"FindItem calendar view", impersonate(alice), findItem(`<m:CalendarView MaxEntriesReturned="10" StartDate="2026-03-01T00:00:00Z" EndDate="2026-03-31T00:00:00Z"/>`, dist("calendar", "")), 200, ok},
		{"FindItem calendar view too long", impersonate(alice), findItem(`<m:CalendarView StartDate="2026-01-01T00:00:00Z" EndDate="2029-01-01T00:00:00Z"/>`, dist("calendar", "")), 200, []string{"ErrorCalendarViewRangeTooBig"}},
		{"GetItem recurring master, occurrence, exception, deleted and out-of-range occurrences", impersonate(alice), func() string {
			return `<m:GetItem>` + seriesShape() + `<m:ItemIds><t:ItemId Id="` + series.ID + `"/>` + occurrence(1) + occurrence(2) + occurrence(3) + occurrence(11) + `</m:ItemIds></m:GetItem>`
		}, 200, []string{"NoError", "NoError", "NoError", "ErrorCalendarOccurrenceIsDeletedFromRecurrence", "ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange"}},
		{"FindItem calendar view expands a series", impersonate(alice), func() string {
			return `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties><t:FieldURI FieldURI="item:Subject"/>` +
				`<t:FieldURI FieldURI="calendar:Start"/><t:FieldURI FieldURI="calendar:End"/><t:FieldURI FieldURI="calendar:OriginalStart"/><t:FieldURI FieldURI="calendar:CalendarItemType"/>` +
				`</t:AdditionalProperties></m:ItemShape><m:CalendarView MaxEntriesReturned="3" StartDate="2026-03-01T00:00:00Z" EndDate="2026-04-30T00:00:00Z"/><m:ParentFolderIds>` + dist("calendar", "") + `</m:ParentFolderIds></m:FindItem>`
		}, 200, ok},
		{"CreateItem relative yearly, no end", impersonate(alice), func() string {
			return recurringItem(`<t:RelativeYearlyRecurrence><t:DaysOfWeek>Weekday</t:DaysOfWeek><t:DayOfWeekIndex>Last</t:DayOfWeekIndex><t:Month>March</t:Month></t:RelativeYearlyRecurrence><t:NoEndRecurrence><t:StartDate>2026-03-10</t:StartDate></t:NoEndRecurrence>`)
		}, 200, ok},
		{"CreateItem absolute yearly numbered", impersonate(alice), func() string {
			return recurringItem(`<t:AbsoluteYearlyRecurrence><t:DayOfMonth>29</t:DayOfMonth><t:Month>February</t:Month></t:AbsoluteYearlyRecurrence><t:NumberedRecurrence><t:StartDate>2026-03-10</t:StartDate><t:NumberOfOccurrences>5</t:NumberOfOccurrences></t:NumberedRecurrence>`)
		}, 200, ok},
		{"CreateItem relative monthly until a date", impersonate(alice), func() string {
			return recurringItem(`<t:RelativeMonthlyRecurrence><t:Interval>2</t:Interval><t:DaysOfWeek>Tuesday</t:DaysOfWeek><t:DayOfWeekIndex>Second</t:DayOfWeekIndex></t:RelativeMonthlyRecurrence><t:EndDateRecurrence><t:StartDate>2026-03-10</t:StartDate><t:EndDate>2026-12-31</t:EndDate></t:EndDateRecurrence>`)
		}, 200, ok},
		{"CreateItem absolute monthly on the 31st", impersonate(alice), func() string {
			return recurringItem(`<t:AbsoluteMonthlyRecurrence><t:Interval>1</t:Interval><t:DayOfMonth>31</t:DayOfMonth></t:AbsoluteMonthlyRecurrence><t:NoEndRecurrence><t:StartDate>2026-03-10</t:StartDate></t:NoEndRecurrence>`)
		}, 200, ok},
		{"CreateItem weekly", impersonate(alice), func() string {
			return recurringItem(`<t:WeeklyRecurrence><t:Interval>2</t:Interval><t:DaysOfWeek>Monday Thursday</t:DaysOfWeek><t:FirstDayOfWeek>Monday</t:FirstDayOfWeek></t:WeeklyRecurrence><t:NumberedRecurrence><t:StartDate>2026-03-10</t:StartDate><t:NumberOfOccurrences>4</t:NumberOfOccurrences></t:NumberedRecurrence>`)
		}, 200, ok},
		{"CreateItem daily with an impossible end", impersonate(alice), func() string {
			return recurringItem(`<t:DailyRecurrence><t:Interval>1</t:Interval></t:DailyRecurrence><t:EndDateRecurrence><t:StartDate>2026-03-10</t:StartDate><t:EndDate>2026-03-01</t:EndDate></t:EndDateRecurrence>`)
		}, 200, []string{"ErrorCalendarInvalidRecurrence"}},
		{"UpdateItem an occurrence", impersonate(alice), func() string {
			return `<m:UpdateItem ConflictResolution="AlwaysOverwrite" SendMeetingInvitationsOrCancellations="SendToNone"><m:ItemChanges><t:ItemChange>` +
				occurrence(4) + `<t:Updates><t:SetItemField><t:FieldURI FieldURI="item:Subject"/><t:CalendarItem><t:Subject>Fourth, retitled</t:Subject></t:CalendarItem></t:SetItemField>` +
				`</t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>`
		}, 200, ok},
		{"DeleteItem an occurrence, then again", impersonate(alice), func() string {
			return `<m:DeleteItem DeleteType="HardDelete" SendMeetingCancellations="SendToNone"><m:ItemIds>` + occurrence(5) + occurrence(5) + `</m:ItemIds></m:DeleteItem>`
		}, 200, []string{"NoError", "ErrorCalendarOccurrenceIsDeletedFromRecurrence"}},
		{"CreateItem calendar", impersonate(alice), func() string {
			return `<m:CreateItem SendMeetingInvitations="SendToNone"><m:SavedItemFolderId>` + dist("calendar", "") + `</m:SavedItemFolderId><m:Items>` + calendarItem + `</m:Items></m:CreateItem>`
		}, 200, ok},
		{"CreateItem in the inbox", impersonate(alice), func() string {
			return `<m:CreateItem SendMeetingInvitations="SendToNone"><m:SavedItemFolderId>` + dist("inbox", "") + `</m:SavedItemFolderId><m:Items>` + calendarItem + `</m:Items></m:CreateItem>`
		}, 200, []string{"ErrorCannotCreateCalendarItemInNonCalendarFolder"}},
		{"UpdateItem stale change key, NeverOverwrite", impersonate(alice), update("AAMkstale", "NeverOverwrite"), 200, []string{"ErrorIrresolvableConflict"}},
		{"UpdateItem current change key", impersonate(alice), func() string {
			_, ref, err := sim.GetItem(ev.ID)
			must(t, err)
			return update(ref.ChangeKey, "NeverOverwrite")()
		}, 200, ok},
		{"DeleteItem and unknown", impersonate(alice), func() string {
			return `<m:DeleteItem DeleteType="MoveToDeletedItems" SendMeetingCancellations="SendToNone"><m:ItemIds><t:ItemId Id="` + contact.ID + `"/><t:ItemId Id="` + gone.ID + `"/></m:ItemIds></m:DeleteItem>`
		}, 200, []string{"NoError", "ErrorItemNotFound"}},
		{"GetUserAvailability", "", availability("2026-03-01T00:00:00", "2026-03-08T00:00:00", alice, "nobody@contoso.com"), 200, nil},
		{"GetUserAvailability expands a series: an exception, a deleted occurrence", "", availability("2026-03-01T00:00:00", "2026-03-20T00:00:00", alice), 200, nil},
		{"CreateItem out of office", impersonate(alice), func() string {
			return `<m:CreateItem SendMeetingInvitations="SendToNone"><m:SavedItemFolderId>` + dist("calendar", "") + `</m:SavedItemFolderId><m:Items><t:CalendarItem><t:Subject>Leave</t:Subject>` +
				`<t:Start>2026-03-11T08:00:00Z</t:Start><t:End>2026-03-11T16:00:00Z</t:End><t:LegacyFreeBusyStatus>OOF</t:LegacyFreeBusyStatus></t:CalendarItem></m:Items></m:CreateItem>`
		}, 200, []string{"NoError"}},
		{"CreateItem with a free/busy status Exchange lacks", impersonate(alice), func() string {
			return `<m:CreateItem SendMeetingInvitations="SendToNone"><m:SavedItemFolderId>` + dist("calendar", "") + `</m:SavedItemFolderId><m:Items><t:CalendarItem><t:Subject>Nap</t:Subject>` +
				`<t:Start>2026-03-11T08:00:00Z</t:Start><t:End>2026-03-11T16:00:00Z</t:End><t:LegacyFreeBusyStatus>Asleep</t:LegacyFreeBusyStatus></t:CalendarItem></m:Items></m:CreateItem>`
		}, 200, []string{"ErrorSchemaValidation"}},
		{"GetUserAvailability window too long", "", availability("2026-03-01T00:00:00", "2026-05-01T00:00:00", alice), 200, nil},
		{"ResolveNames one", "", resolve("alice"), 200, ok},
		{"ResolveNames several", "", resolve("contoso"), 200, []string{"ErrorNameResolutionMultipleResults"}},
		{"ResolveNames none", "", resolve("zed"), 200, []string{"ErrorNameResolutionNoResults"}},
		// GetRoomLists and GetRooms have no ResponseMessages either: their
		// codes are checked in TestRoomOperations.
		{"GetRoomLists", impersonate(alice), func() string { return `<m:GetRoomLists/>` }, 200, nil},
		{"GetRooms", impersonate(alice), func() string {
			return `<m:GetRooms><m:RoomList><t:EmailAddress>floor1@contoso.com</t:EmailAddress></m:RoomList></m:GetRooms>`
		}, 200, nil},
		{"GetRooms unknown list", "", func() string {
			return `<m:GetRooms><m:RoomList><t:EmailAddress>nolist@contoso.com</t:EmailAddress></m:RoomList></m:GetRooms>`
		}, 200, nil},
		{"impersonation out of scope", impersonate(carol), getFolder(dist("inbox", "")), 500, []string{"ErrorImpersonateUserDenied"}},
		{"impersonation of unknown mailbox", impersonate("nobody@contoso.com"), getFolder(dist("inbox", "")), 500, []string{"ErrorNonExistentMailbox"}},
		{"MaxChangesReturned out of range", impersonate(alice), func() string { return syncItemsBody(dist("inbox", ""), "", 513) }, 500, []string{"ErrorSchemaValidation"}},
		{"not an EWS operation", "", func() string { return `<m:NoSuchOperation/>` }, 500, []string{"ErrorInvalidRequest"}},
		{"malformed XML", "", func() string { return `<m:GetItem><m:ItemIds>` }, 500, []string{"ErrorSchemaValidation"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env.rec.label = tc.name
			defer func() { env.rec.label = "" }()
			status, body := env.call(t, tc.header, tc.body())
			if tc.status == http.StatusInternalServerError {
				code, _ := fault(t, status, body)
				if code != tc.codes[0] {
					t.Fatalf("fault code %s, want %s", code, tc.codes[0])
				}
				return
			}
			if tc.codes == nil { // GetUserAvailability has no ResponseMessages
				if status != http.StatusOK {
					t.Fatalf("status %d:\n%s", status, body)
				}
				return
			}
			ms := messages(t, status, body)
			var got []string
			for _, m := range ms {
				got = append(got, m.Code)
			}
			if strings.Join(got, ",") != strings.Join(tc.codes, ",") {
				t.Fatalf("codes %v, want %v\n%s", got, tc.codes, body)
			}
		})
	}

	// Two validator processes: each xmllint run loads the whole schema.
	dirs := []string{t.TempDir(), t.TempDir()}
	n := env.rec.writeTo(t, dirs...)
	type result struct {
		out []byte
		err error
	}
	results := make(chan result, len(dirs))
	// A stuck validator fails the test instead of hanging go test.
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	for _, d := range dirs {
		go func() {
			out, err := exec.CommandContext(ctx, "python3", validator, d).CombinedOutput()
			results <- result{out, err}
		}()
	}
	passed := 0
	for range dirs {
		r := <-results
		summary := regexp.MustCompile(`(\d+) passed, (\d+) failed`).FindStringSubmatch(string(r.out))
		if r.err != nil || summary == nil || summary[2] != "0" {
			t.Fatalf("validate-soap failed (%v):\n%s", r.err, r.out)
		}
		p, _ := strconv.Atoi(summary[1])
		passed += p
	}
	t.Logf("validate-soap: %d responses, %d elements checked against the EWS schema, 0 failed", n, passed)
	for _, op := range []string{"GetFolder", "FindFolder", "SyncFolderHierarchy", "SyncFolderItems", "GetItem", "FindItem",
		"CreateItem", "UpdateItem", "DeleteItem", "GetUserAvailability", "ResolveNames", "GetRoomLists", "GetRooms"} {
		if !env.rec.has(op + "Response") {
			t.Errorf("no %s response was validated", op)
		}
	}
}
