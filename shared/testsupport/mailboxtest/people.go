package mailboxtest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
)

// People cases (PeopleDirectory.FindPeople): the organisation's people
// found by the start of a name or an address, none for a name nobody
// has, and never more than asked for.
func runPeople(t *testing.T, newEnv func(t testing.TB) Env) {
	env := newEnv(t)
	ctx := context.Background()
	// Thirty colleagues named "Ines Navarro 01".."30" at inav01@...
	var addrs []string
	for i := 1; i <= 30; i++ {
		a := fmt.Sprintf("inav%02d@contoso.com", i)
		if err := env.Sim.AddMailbox(a, fmt.Sprintf("Ines Navarro %02d", i)); err != nil {
			t.Fatal(err)
		}
		addrs = append(addrs, a)
	}
	dir, err := env.People.ConnectPeople(ctx, env.Tenant, env.Credential)
	if err != nil {
		t.Fatal(err)
	}
	ref := domain.MailboxRef{Address: env.Mailboxes[0], Mode: env.Tenant.AccessMode}

	t.Run("by address", func(t *testing.T) {
		got, err := dir.FindPeople(ctx, ref, "inav07@contoso.com", 25)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Address != "inav07@contoso.com" || got[0].DisplayName != "Ines Navarro 07" || got[0].Kind != domain.PersonUser {
			t.Fatalf("found %+v, want Ines Navarro 07 alone, a user", got)
		}
	})
	t.Run("by the start of a name, several", func(t *testing.T) {
		got, err := dir.FindPeople(ctx, ref, "Ines Nav", 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(addrs) {
			t.Fatalf("found %d, want the %d colleagues: %+v", len(got), len(addrs), got)
		}
		for _, p := range got {
			if !strings.HasPrefix(p.Address, "inav") || !strings.HasPrefix(p.DisplayName, "Ines Navarro") {
				t.Errorf("found %+v, not one of the colleagues", p)
			}
		}
	})
	t.Run("bounded", func(t *testing.T) {
		for _, limit := range []int{5, 25} {
			got, err := dir.FindPeople(ctx, ref, "Ines", limit)
			if err != nil || len(got) != limit {
				t.Fatalf("found %d (%v), want the %d asked for", len(got), err, limit)
			}
		}
	})
	t.Run("nobody", func(t *testing.T) {
		got, err := dir.FindPeople(ctx, ref, "Zebulon Quaxley", 25)
		if err != nil || len(got) != 0 {
			t.Fatalf("found %+v (%v), want nobody and no error", got, err)
		}
	})
	t.Run("the mailbox's contacts", func(t *testing.T) {
		if _, err := env.Sim.AddItem(env.Mailboxes[0], "contacts", ewssim.Item{Kind: ewssim.KindContact, DisplayName: "Quentin Oyelaran",
			Emails: []string{"Quentin.Oyelaran@fabrikam.com"}}); err != nil {
			t.Fatal(err)
		}
		got, err := dir.FindPeople(ctx, ref, "Quentin Oye", 25)
		if err != nil {
			t.Fatal(err)
		}
		want := []domain.Person{{DisplayName: "Quentin Oyelaran", Address: "quentin.oyelaran@fabrikam.com", Kind: domain.PersonContact}}
		if !env.PeopleContacts {
			want = []domain.Person{} // the directory's users only
		}
		if !slices.Equal(got, want) {
			t.Fatalf("found %+v, want %+v", got, want)
		}
	})
	t.Run("quotes and markup are text", func(t *testing.T) {
		for _, q := range []string{"O'Brien", "<Ines>", "' or startswith(mail,'i", "Ines & co"} {
			got, err := dir.FindPeople(ctx, ref, q, 25)
			if err != nil || len(got) != 0 {
				t.Errorf("FindPeople(%q) = %+v, %v; want nobody and no error", q, got, err)
			}
		}
	})
}
