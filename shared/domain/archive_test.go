package domain

import (
	"strings"
	"testing"
	"time"
)

func TestArchivesOnlyNewMessages(t *testing.T) {
	since := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	on := Tenant{ID: "acme", Archive: ArchiveSettings{Enabled: true, Since: since}}
	for _, c := range []struct {
		name   string
		tenant Tenant
		item   *Item
		want   bool
	}{
		{"message received at the start", on, &Item{Kind: KindMessage, Received: since}, true},
		{"message received later", on, &Item{Kind: KindMessage, Received: since.Add(time.Hour)}, true},
		{"message received before", on, &Item{Kind: KindMessage, Received: since.Add(-time.Second)}, false},
		{"message without a received time", on, &Item{Kind: KindMessage}, false},
		{"event", on, &Item{Kind: KindCalendar, Received: since.Add(time.Hour)}, false},
		{"contact", on, &Item{Kind: KindContact, Received: since.Add(time.Hour)}, false},
		{"delete (no item)", on, nil, false},
		{"archive off", Tenant{ID: "acme"}, &Item{Kind: KindMessage, Received: since.Add(time.Hour)}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := c.tenant.Archives(c.item); got != c.want {
				t.Fatalf("Archives = %v, want %v", got, c.want)
			}
		})
	}
}

func TestArchiveKeyIsStableAndPathSafe(t *testing.T) {
	id := "AAMkADk0/Zjg+MTIt==" // EWS ids hold '/' and '+'
	k := ArchiveKey("acme", "Ann.Lee@Contoso.com", id)
	if k != ArchiveKey("acme", "ann.lee@contoso.com", id) {
		t.Fatal("the key depends on the address's case")
	}
	parts := strings.Split(k, "/")
	if len(parts) != 3 || parts[0] != "acme" || parts[1] != "ann.lee@contoso.com" || len(parts[2]) != 64+len(".eml") || !strings.HasSuffix(k, ".eml") {
		t.Fatalf("key %q is not <tenant>/<mailbox>/<64 hex>.eml", k)
	}
	if ArchiveKey("acme", "ann.lee@contoso.com", id+"x") == k || ArchiveKey("acme2", "ann.lee@contoso.com", id) == k {
		t.Fatal("different items or tenants share a key")
	}
}
