package ewssim_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
)

// wellKnownNames reads every DistinguishedFolderIdNameType value from the
// newest EWS schema beside the repository.
func wellKnownNames(t *testing.T) []string {
	t.Helper()
	p := filepath.Join("..", "..", "..", "..", "shared", "ews", "schema", "v2017", "types.xsd")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("EWS schema not found: %v", err)
	}
	s := string(b)
	start := strings.Index(s, `name="DistinguishedFolderIdNameType"`)
	end := strings.Index(s[start:], "</xs:simpleType>")
	var names []string
	for _, m := range regexp.MustCompile(`value="([^"]+)"`).FindAllStringSubmatch(s[start:start+end], -1) {
		names = append(names, m[1])
	}
	if len(names) < 60 {
		t.Fatalf("read %d well-known folder names, want the whole enumeration", len(names))
	}
	return names
}

// mailboxFolders are the well-known folders a new mailbox has in the
// simulator; every other name is a folder the mailbox lacks.
var mailboxFolders = map[string]bool{
	"root": true, "msgfolderroot": true, "inbox": true, "drafts": true, "sentitems": true, "deleteditems": true,
	"outbox": true, "junkemail": true, "calendar": true, "contacts": true, "tasks": true, "notes": true, "journal": true,
	"searchfolders": true, "voicemail": true, "todosearch": true, "recoverableitemsroot": true,
	"recoverableitemsdeletions": true, "recoverableitemsversions": true, "recoverableitemspurges": true,
	"recoverableitemsdiscoveryholds": true,
}

// TestEveryWellKnownFolderName: each well-known folder name resolves in
// GetFolder, FindFolder, FindItem and SyncFolderItems: a folder a mailbox
// has answers NoError (empty), the others ErrorFolderNotFound, as
// Exchange answers for a well-known folder the mailbox lacks.
func TestEveryWellKnownFolderName(t *testing.T) {
	const alice = "alice@contoso.com"
	env := newEnv(t, ewssim.Options{}, alice)
	recordAll(env)
	hdr := impersonate(alice)
	for _, name := range wellKnownNames(t) {
		want := "ErrorFolderNotFound"
		if mailboxFolders[name] {
			want = "NoError"
		}
		t.Run(name, func(t *testing.T) {
			for _, op := range []struct{ name, body string }{
				{"GetFolder", `<m:GetFolder><m:FolderShape><t:BaseShape>AllProperties</t:BaseShape></m:FolderShape><m:FolderIds>` + dist(name, "") + `</m:FolderIds></m:GetFolder>`},
				{"FindFolder", `<m:FindFolder Traversal="Shallow"><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:ParentFolderIds>` + dist(name, "") + `</m:ParentFolderIds></m:FindFolder>`},
				{"FindItem", `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:IndexedPageItemView MaxEntriesReturned="10" Offset="0" BasePoint="Beginning"/><m:ParentFolderIds>` + dist(name, "") + `</m:ParentFolderIds></m:FindItem>`},
				{"SyncFolderItems", syncItemsBody(dist(name, ""), "", 10)},
			} {
				m := env.one(t, hdr, op.body)
				if m.Code != want {
					t.Errorf("%s answered %s, want %s", op.name, m.Code, want)
				}
				if want == "NoError" && op.name == "FindItem" && m.RootFolder.Total != 0 {
					t.Errorf("FindItem found %d items in a new mailbox's %s", m.RootFolder.Total, name)
				}
			}
		})
	}
	t.Run("hierarchy sync shows the IPM subtree only", func(t *testing.T) {
		status, b := env.call(t, hdr, `<m:SyncFolderHierarchy><m:FolderShape><t:BaseShape>AllProperties</t:BaseShape></m:FolderShape></m:SyncFolderHierarchy>`)
		if status != 200 {
			t.Fatalf("status %d", status)
		}
		s := string(b)
		if !strings.Contains(s, "<t:DisplayName>Journal</t:DisplayName>") {
			t.Error("Journal is missing from the hierarchy")
		}
		for _, hidden := range []string{"Recoverable Items", "Finder", "Voice Mail"} {
			if strings.Contains(s, "<t:DisplayName>"+hidden+"</t:DisplayName>") {
				t.Errorf("%s is outside the IPM subtree but was synced", hidden)
			}
		}
	})
	assertBodiesValid(t, env)
}
