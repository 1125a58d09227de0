package ewssim

import (
	"fmt"
	"os"
	"reflect"
	"testing"
	"time"
)

// TestMain checks, after every test of the package, that no change wrote
// into a shared zero group (item_store.go) or a distinguished folder's
// shared name (model.go): such a write would change every item without
// that group, or that folder in every mailbox.
func TestMain(m *testing.M) {
	code := m.Run()
	for name, g := range map[string]any{"message": zeroMessage, "calendar": zeroCalendar, "contact": zeroContact, "extra": zeroExtra} {
		if !reflect.ValueOf(g).IsZero() {
			fmt.Fprintf(os.Stderr, "ewssim: the shared zero %s group was written: %+v\n", name, g)
			code = 1
		}
	}
	for i, d := range distinguished {
		if distMeta[i] != (folderMeta{name: d.name, class: d.class, dist: d.id}) {
			fmt.Fprintf(os.Stderr, "ewssim: the shared name of distinguished folder %s was written: %+v\n", d.id, distMeta[i])
			code = 1
		}
	}
	os.Exit(code)
}

// filled sets field f of it to a value that is not zero.
func filled(t *testing.T, it *Item, f int) {
	t.Helper()
	v := reflect.ValueOf(it).Elem().Field(f)
	switch v.Kind() {
	case reflect.String:
		v.SetString("x" + v.Type().Name())
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Uint8:
		v.SetUint(2)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
	case reflect.Struct:
		switch p := v.Addr().Interface().(type) {
		case *time.Time:
			*p = time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
		case *Address:
			*p = Address{Name: "Kim", Email: "kim@contoso.com"}
		default:
			t.Fatalf("field %s: no value for %T", v.Type(), p)
		}
	default:
		t.Fatalf("field %d: no value for kind %s", f, v.Kind())
	}
}

// An item gives back exactly the Item it was given: each field alone (so a
// group holding one field is kept), all fields at once, and none.
func TestItemContentRoundTrip(t *testing.T) {
	typ := reflect.TypeFor[Item]()
	all := Item{}
	for f := range typ.NumField() {
		t.Run(typ.Field(f).Name, func(t *testing.T) {
			var it Item
			filled(t, &it, f)
			filled(t, &all, f)
			if got := newItem(it).content(); !reflect.DeepEqual(got, it) {
				t.Fatalf("content() = %+v, want %+v", got, it)
			}
		})
	}
	t.Run("all", func(t *testing.T) {
		if got := newItem(all).content(); !reflect.DeepEqual(got, all) {
			t.Fatalf("content() = %+v, want %+v", got, all)
		}
	})
	t.Run("none", func(t *testing.T) {
		in := newItem(Item{})
		if got := in.content(); !reflect.DeepEqual(got, Item{}) {
			t.Fatalf("content() = %+v, want the zero Item", got)
		}
		if in.itemMessage != &zeroMessage || in.itemCalendar != &zeroCalendar || in.itemContact != &zeroContact || in.itemExtra != &zeroExtra {
			t.Fatal("an empty item allocated a group")
		}
	})
}

// A message keeps no calendar or contact group, and its size stays at
// what the memory figure of make bench (b) counts on.
func TestItemMessageSize(t *testing.T) {
	in := newItem(Item{Kind: KindMessage, Subject: "Budget", From: Address{Email: "a@contoso.com"}, Received: time.Now()})
	if in.itemCalendar != &zeroCalendar || in.itemContact != &zeroContact || in.itemExtra != &zeroExtra {
		t.Fatal("a message allocated a calendar, contact or extra group")
	}
	if n := reflect.TypeFor[item]().Size() + reflect.TypeFor[itemMessage]().Size(); n > 512 {
		t.Fatalf("a message takes %d bytes, want at most 512", n)
	}
}

// Renaming a distinguished folder renames it in its own mailbox only (the
// distinguished folders' names are shared by all mailboxes).
func TestRenameDistinguishedFolderKeepsOtherMailboxes(t *testing.T) {
	sim := New(Options{})
	for _, a := range []string{"a@contoso.com", "b@contoso.com"} {
		if err := sim.AddMailbox(a, a); err != nil {
			t.Fatal(err)
		}
	}
	if err := sim.RenameFolder("a@contoso.com", "inbox", "Posteingang"); err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]string{"a@contoso.com": "Posteingang", "b@contoso.com": "Inbox"} {
		f, err := sim.Folder(addr, "inbox")
		if err != nil {
			t.Fatal(err)
		}
		if f.Name != want || f.Distinguished != "inbox" || f.Class != "IPF.Note" {
			t.Errorf("%s inbox = %q (%s, %s), want %q (inbox, IPF.Note)", addr, f.Name, f.Distinguished, f.Class, want)
		}
	}
}
