package ewssim_test

import (
	"encoding/xml"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
)

func updateItem(id, ck, resolution, updates string) string {
	ckAttr := ""
	if ck != "" {
		ckAttr = ` ChangeKey="` + ck + `"`
	}
	return `<m:UpdateItem ConflictResolution="` + resolution + `" MessageDisposition="SaveOnly" SendMeetingInvitationsOrCancellations="SendToNone"><m:ItemChanges><t:ItemChange>` +
		`<t:ItemId Id="` + id + `"` + ckAttr + `/><t:Updates>` + updates + `</t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>`
}

func set(uri, kind, content string) string {
	return `<t:SetItemField>` + field(uri) + `<t:` + kind + `>` + content + `</t:` + kind + `></t:SetItemField>`
}

func appendTo(uri, kind, content string) string {
	return `<t:AppendToItemField>` + field(uri) + `<t:` + kind + `>` + content + `</t:` + kind + `></t:AppendToItemField>`
}

func deleteField(uri string) string {
	return `<t:DeleteItemField>` + field(uri) + `</t:DeleteItemField>`
}

// TestUpdateItemOrdinaryFields: SetItemField, AppendToItemField and
// DeleteItemField on the ordinary message and calendar fields change what
// GetItem then returns.
func TestUpdateItemOrdinaryFields(t *testing.T) {
	const alice = "alice@contoso.com"
	env := newEnv(t, ewssim.Options{}, alice)
	recordAll(env)
	hdr := impersonate(alice)
	start := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	msg, err := env.sim.AddItem(alice, "inbox", ewssim.Item{Subject: "Hello", Body: "first", Categories: []string{"Red"}})
	must(t, err)
	ev, err := env.sim.AddItem(alice, "calendar", ewssim.Item{Kind: ewssim.KindCalendar, Subject: "Review", Location: "Room 1", Start: start, End: start.Add(time.Hour)})
	must(t, err)
	cats := func(c ...string) string {
		s := "<t:Categories>"
		for _, x := range c {
			s += "<t:String>" + x + "</t:String>"
		}
		return s + "</t:Categories>"
	}
	for _, tc := range []struct {
		name    string
		id      string
		updates string
		check   func(it ewssim.Item) string // "" when the item is as expected
	}{
		{"IsRead", msg.ID, set("message:IsRead", "Message", "<t:IsRead>true</t:IsRead>"), func(it ewssim.Item) string { return want(it.IsRead, true) }},
		{"Subject", msg.ID, set("item:Subject", "Message", "<t:Subject>Hello again</t:Subject>"), func(it ewssim.Item) string { return want(it.Subject, "Hello again") }},
		{"Importance", msg.ID, set("item:Importance", "Message", "<t:Importance>High</t:Importance>"), func(it ewssim.Item) string { return want(it.Importance, "High") }},
		{"Categories set", msg.ID, set("item:Categories", "Message", cats("Blue", "Green")), func(it ewssim.Item) string { return want(strings.Join(it.Categories, ","), "Blue,Green") }},
		{"Categories append", msg.ID, appendTo("item:Categories", "Message", cats("green", "Yellow")), func(it ewssim.Item) string {
			return want(strings.Join(it.Categories, ","), "Blue,Green,Yellow")
		}},
		{"Categories delete", msg.ID, deleteField("item:Categories"), func(it ewssim.Item) string { return want(len(it.Categories), 0) }},
		{"Flag", msg.ID, set("item:Flag", "Message", "<t:Flag><t:FlagStatus>Flagged</t:FlagStatus></t:Flag>"), func(it ewssim.Item) string { return want(it.FlagStatus, "Flagged") }},
		{"Flag delete", msg.ID, deleteField("item:Flag"), func(it ewssim.Item) string { return want(it.FlagStatus, "") }},
		{"Body set and append", msg.ID, set("item:Body", "Message", `<t:Body BodyType="Text">second</t:Body>`) + appendTo("item:Body", "Message", `<t:Body BodyType="Text"> and third</t:Body>`),
			func(it ewssim.Item) string { return want(it.Body, "second and third") }},
		{"Importance delete", msg.ID, deleteField("item:Importance"), func(it ewssim.Item) string { return want(it.Importance, "") }},
		{"calendar Subject and Location", ev.ID, set("item:Subject", "CalendarItem", "<t:Subject>Review (moved)</t:Subject>") + set("calendar:Location", "CalendarItem", "<t:Location>Room 2</t:Location>"),
			func(it ewssim.Item) string { return want(it.Subject+"@"+it.Location, "Review (moved)@Room 2") }},
		{"calendar Start and End", ev.ID, set("calendar:Start", "CalendarItem", "<t:Start>2026-04-02T10:00:00Z</t:Start>") + set("calendar:End", "CalendarItem", "<t:End>2026-04-02T11:30:00Z</t:End>"),
			func(it ewssim.Item) string {
				return want(it.Start.UTC().Format(time.RFC3339)+"/"+it.End.UTC().Format(time.RFC3339), "2026-04-02T10:00:00Z/2026-04-02T11:30:00Z")
			}},
		{"calendar all day", ev.ID, set("calendar:IsAllDayEvent", "CalendarItem", "<t:IsAllDayEvent>true</t:IsAllDayEvent>"), func(it ewssim.Item) string { return want(it.IsAllDay, true) }},
		{"calendar Body and categories", ev.ID, set("item:Body", "CalendarItem", `<t:Body BodyType="Text">agenda</t:Body>`) + set("item:Categories", "CalendarItem", cats("Team")),
			func(it ewssim.Item) string { return want(it.Body+"/"+strings.Join(it.Categories, ","), "agenda/Team") }},
		{"calendar Location delete", ev.ID, deleteField("calendar:Location"), func(it ewssim.Item) string { return want(it.Location, "") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, before, err := env.sim.GetItem(tc.id)
			must(t, err)
			m := env.one(t, hdr, updateItem(tc.id, before.ChangeKey, "NeverOverwrite", tc.updates))
			if m.Code != "NoError" {
				t.Fatalf("UpdateItem answered %s", m.Code)
			}
			it, after, err := env.sim.GetItem(tc.id)
			must(t, err)
			if problem := tc.check(it); problem != "" {
				t.Error(problem)
			}
			if after.ChangeKey == before.ChangeKey || m.Items.Items[0].ItemID.ChangeKey != after.ChangeKey {
				t.Errorf("the change key did not move to the one UpdateItem returned")
			}
		})
	}
	t.Run("GetItem shows the message fields", func(t *testing.T) {
		env.one(t, hdr, updateItem(msg.ID, "", "AlwaysOverwrite", set("item:Importance", "Message", "<t:Importance>Low</t:Importance>")+
			set("item:Categories", "Message", cats("Clients"))+set("item:Flag", "Message", "<t:Flag><t:FlagStatus>Complete</t:FlagStatus></t:Flag>")))
		status, b := env.call(t, hdr, strings.Replace(getItemBody(msg.ID), `<t:BaseShape>Default</t:BaseShape>`,
			`<t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>`+field("item:Importance")+field("item:Categories")+field("item:Flag")+`</t:AdditionalProperties>`, 1))
		var r struct {
			Importance string   `xml:"Body>GetItemResponse>ResponseMessages>GetItemResponseMessage>Items>Message>Importance"`
			Categories []string `xml:"Body>GetItemResponse>ResponseMessages>GetItemResponseMessage>Items>Message>Categories>String"`
			Flag       string   `xml:"Body>GetItemResponse>ResponseMessages>GetItemResponseMessage>Items>Message>Flag>FlagStatus"`
		}
		if status != 200 || xml.Unmarshal(b, &r) != nil {
			t.Fatalf("status %d:\n%s", status, b)
		}
		if r.Importance != "Low" || strings.Join(r.Categories, ",") != "Clients" || r.Flag != "Complete" {
			t.Errorf("GetItem shows %+v", r)
		}
	})
	t.Run("bad value", func(t *testing.T) {
		m := env.one(t, hdr, updateItem(msg.ID, "", "AlwaysOverwrite", set("item:Importance", "Message", "<t:Importance>Urgent</t:Importance>")))
		if m.Code != "ErrorSchemaValidation" {
			t.Errorf("got %s", m.Code)
		}
	})
	assertBodiesValid(t, env)
}

func want[T comparable](got, want T) string {
	if got != want {
		return fmt.Sprintf("got %v, want %v", got, want)
	}
	return ""
}

// TestUpdateItemChangeKey: a stale change key is ErrorIrresolvableConflict
// under NeverOverwrite and leaves the item alone; AutoResolve and
// AlwaysOverwrite apply the change; no change key applies it too.
func TestUpdateItemChangeKey(t *testing.T) {
	const alice = "alice@contoso.com"
	env := newEnv(t, ewssim.Options{}, alice)
	hdr := impersonate(alice)
	msg, err := env.sim.AddItem(alice, "inbox", ewssim.Item{Subject: "v1"})
	must(t, err)
	stale := msg.ChangeKey
	_, err = env.sim.UpdateItem(msg.ID, func(it *ewssim.Item) { it.Subject = "v2" }) // someone else edits it
	must(t, err)
	for _, tc := range []struct {
		name, resolution, ck, code, subject string
	}{
		{"stale, NeverOverwrite", "NeverOverwrite", stale, "ErrorIrresolvableConflict", "v2"},
		{"stale, AutoResolve", "AutoResolve", stale, "NoError", "AutoResolve"},
		{"stale, AlwaysOverwrite", "AlwaysOverwrite", stale, "NoError", "AlwaysOverwrite"},
		{"no change key, NeverOverwrite", "NeverOverwrite", "", "NoError", "no key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := env.one(t, hdr, updateItem(msg.ID, tc.ck, tc.resolution, set("item:Subject", "Message", "<t:Subject>"+tc.subject+"</t:Subject>")))
			if m.Code != tc.code {
				t.Fatalf("got %s, want %s", m.Code, tc.code)
			}
			it, _, err := env.sim.GetItem(msg.ID)
			must(t, err)
			if it.Subject != tc.subject {
				t.Errorf("subject %q, want %q", it.Subject, tc.subject)
			}
		})
	}
}
