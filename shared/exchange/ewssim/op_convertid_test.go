package ewssim_test

import (
	"encoding/xml"
	"testing"

	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
)

type convertedID struct {
	Class string `xml:"ResponseClass,attr"`
	Code  string `xml:"ResponseCode"`
	ID    struct {
		Format  string `xml:"Format,attr"`
		ID      string `xml:"Id,attr"`
		Mailbox string `xml:"Mailbox,attr"`
	} `xml:"AlternateId"`
}

func (e *testEnv) convertID(t *testing.T, dest, sourceIDs string) []convertedID {
	t.Helper()
	status, b := e.call(t, "", `<m:ConvertId DestinationFormat="`+dest+`"><m:SourceIds>`+sourceIDs+`</m:SourceIds></m:ConvertId>`)
	if status != 200 {
		t.Fatalf("status %d:\n%s", status, b)
	}
	var r struct {
		Messages []convertedID `xml:"Body>ConvertIdResponse>ResponseMessages>ConvertIdResponseMessage"`
	}
	if err := xml.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r.Messages
}

func alternateID(format, id, mailbox string) string {
	return `<t:AlternateId Format="` + format + `" Id="` + id + `" Mailbox="` + mailbox + `"/>`
}

// TestConvertID: item and folder ids convert to every IdFormat and back
// to the same id (which GetItem then finds); an id given in the wrong
// format is ErrorInvalidIdMalformed; public folder ids are not converted.
func TestConvertID(t *testing.T) {
	const alice = "alice@contoso.com"
	env := newEnv(t, ewssim.Options{}, alice, "bob@contoso.com")
	recordAll(env)
	ref, err := env.sim.AddItem(alice, "inbox", ewssim.Item{Subject: "keep me"})
	must(t, err)
	folder, err := env.sim.FolderID(alice, "calendar")
	must(t, err)
	formats := []string{"EwsId", "EwsLegacyId", "EntryId", "HexEntryId", "StoreId", "OwaId"}
	for _, src := range []struct{ name, id string }{{"item", ref.ID}, {"folder", folder}} {
		for _, f := range formats {
			t.Run(src.name+" via "+f, func(t *testing.T) {
				// The client names another mailbox: the answer names the id's own.
				to := env.convertID(t, f, alternateID("EwsId", src.id, "bob@contoso.com"))
				if len(to) != 1 || to[0].Code != "NoError" || to[0].ID.Format != f || to[0].ID.Mailbox != alice {
					t.Fatalf("to %s: %+v", f, to)
				}
				if f != "EwsId" && to[0].ID.ID == src.id {
					t.Errorf("%s looks like the EwsId", f)
				}
				for _, g := range formats {
					via := env.convertID(t, g, alternateID(f, to[0].ID.ID, alice))
					if len(via) != 1 || via[0].Code != "NoError" {
						t.Fatalf("%s -> %s: %+v", f, g, via)
					}
					back := env.convertID(t, "EwsId", alternateID(g, via[0].ID.ID, alice))
					if len(back) != 1 || back[0].ID.ID != src.id {
						t.Errorf("EwsId -> %s -> %s -> EwsId gave %+v, want %s", f, g, back, src.id)
					}
				}
			})
		}
	}
	t.Run("the converted id works", func(t *testing.T) {
		hex := env.convertID(t, "HexEntryId", alternateID("EwsId", ref.ID, alice))[0].ID.ID
		ews := env.convertID(t, "EwsId", alternateID("HexEntryId", hex, alice))[0].ID.ID
		m := env.one(t, impersonate(alice), getItemBody(ews))
		if m.Code != "NoError" || len(m.Items.Items) != 1 || m.Items.Items[0].Subject != "keep me" {
			t.Errorf("GetItem of the converted id: %s %+v", m.Code, m.Items.Items)
		}
	})
	t.Run("errors", func(t *testing.T) {
		legacy := env.convertID(t, "EwsLegacyId", alternateID("EwsId", ref.ID, alice))[0].ID.ID
		hex := env.convertID(t, "HexEntryId", alternateID("EwsId", ref.ID, alice))[0].ID.ID
		got := env.convertID(t, "EwsId", alternateID("EwsId", legacy, alice)+alternateID("EntryId", hex, alice)+
			alternateID("OwaId", ref.ID, alice)+alternateID("StoreId", "not base64!", alice)+
			`<t:AlternatePublicFolderId Format="EwsId" FolderId="AAMkAAA="/>`+alternateID("EwsId", ref.ID, alice))
		want := []string{"ErrorInvalidIdMalformed", "ErrorInvalidIdMalformed", "ErrorInvalidIdMalformed", "ErrorInvalidIdMalformed", "ErrorUnsupportedTypeForConversion", "NoError"}
		if len(got) != len(want) {
			t.Fatalf("got %d messages, want %d", len(got), len(want))
		}
		for i := range want {
			if got[i].Code != want[i] {
				t.Errorf("message %d: %s, want %s", i, got[i].Code, want[i])
			}
		}
	})
	t.Run("unknown destination format", func(t *testing.T) {
		status, b := env.call(t, "", `<m:ConvertId DestinationFormat="Guid"><m:SourceIds>`+alternateID("EwsId", ref.ID, alice)+`</m:SourceIds></m:ConvertId>`)
		if code, _ := fault(t, status, b); code != "ErrorSchemaValidation" {
			t.Errorf("got %s", code)
		}
	})
	assertBodiesValid(t, env)
}
