package ewssim_test

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
)

func TestDelegateAccessPerMailboxAndFolder(t *testing.T) {
	const (
		full   = "full@contoso.com"
		folder = "folder@contoso.com"
		none   = "none@contoso.com"
	)
	sim := ewssim.New(ewssim.Options{})
	for _, m := range []string{full, folder, none} {
		must(t, sim.AddMailbox(m, m))
	}
	must(t, sim.AddAccount(ewssim.Account{Username: svcUser, Password: svcPass}))
	must(t, sim.GrantDelegate(svcUser, full, ""))
	must(t, sim.GrantDelegate(svcUser, folder, "inbox"))
	env := newEnvFor(t, sim, svcUser, svcPass)

	tests := []struct {
		mailbox, folder, want string
	}{
		{full, "inbox", "NoError"},
		{full, "calendar", "NoError"},
		{folder, "inbox", "NoError"},
		{folder, "calendar", "ErrorAccessDenied"},
		{none, "inbox", "ErrorAccessDenied"},
		{"ghost@contoso.com", "inbox", "ErrorNonExistentMailbox"},
	}
	for _, tc := range tests {
		t.Run(tc.mailbox+"/"+tc.folder, func(t *testing.T) {
			m := env.one(t, "", syncItemsBody(dist(tc.folder, tc.mailbox), "", 10))
			if m.Code != tc.want {
				t.Fatalf("got %s, want %s", m.Code, tc.want)
			}
		})
	}

	t.Run("a new folder is visible but unreadable until shared", func(t *testing.T) {
		id, err := sim.AddFolder(folder, "inbox", "Escalations", "")
		must(t, err)
		status, body := env.call(t, "", `<m:SyncFolderHierarchy><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:SyncFolderId>`+dist("msgfolderroot", folder)+`</m:SyncFolderId></m:SyncFolderHierarchy>`)
		if status != http.StatusOK || !strings.Contains(string(body), id) {
			t.Fatalf("hierarchy does not list the new folder %s:\n%s", id, body)
		}
		ref := `<t:FolderId Id="` + id + `"/>`
		if m := env.one(t, "", syncItemsBody(ref, "", 10)); m.Code != "ErrorAccessDenied" {
			t.Fatalf("unshared folder: %s, want ErrorAccessDenied", m.Code)
		}
		must(t, sim.GrantDelegate(svcUser, folder, id))
		if m := env.one(t, "", syncItemsBody(ref, "", 10)); m.Code != "NoError" {
			t.Fatalf("after sharing: %s", m.Code)
		}
	})
	t.Run("revoked access is denied", func(t *testing.T) {
		must(t, sim.RevokeDelegate(svcUser, full))
		if m := env.one(t, "", syncItemsBody(dist("inbox", full), "", 10)); m.Code != "ErrorAccessDenied" {
			t.Fatalf("got %s, want ErrorAccessDenied", m.Code)
		}
	})
	t.Run("items of an unreadable folder are denied by id", func(t *testing.T) {
		ref, err := sim.AddItem(folder, "calendar", ewssim.Item{Kind: ewssim.KindCalendar, Subject: "private",
			Start: time.Now(), End: time.Now().Add(time.Hour)})
		must(t, err)
		if m := env.one(t, "", getItemBody(ref.ID)); m.Code != "ErrorAccessDenied" {
			t.Fatalf("got %s, want ErrorAccessDenied", m.Code)
		}
	})
}

func TestImpersonationScopeChangesApplyAtOnce(t *testing.T) {
	env := newEnv(t, ewssim.Options{}, "alice@contoso.com", "bob@contoso.com")
	must(t, env.sim.SetImpersonationScope(svcUser, []string{"alice@contoso.com"}, false))
	body := syncItemsBody(dist("inbox", ""), "", 10)
	if m := env.one(t, impersonate("alice@contoso.com"), body); m.Code != "NoError" {
		t.Fatalf("in scope: %s", m.Code)
	}
	status, b := env.call(t, impersonate("bob@contoso.com"), body)
	if code, _ := fault(t, status, b); code != "ErrorImpersonateUserDenied" {
		t.Fatalf("out of scope: %s", code)
	}
	must(t, env.sim.SetImpersonationScope(svcUser, []string{"alice@contoso.com", "BOB@contoso.com"}, false))
	if m := env.one(t, impersonate("bob@contoso.com"), body); m.Code != "NoError" {
		t.Fatalf("after widening the scope: %s", m.Code)
	}
	// Impersonating alice gives no access to bob's folders.
	if m := env.one(t, impersonate("alice@contoso.com"), syncItemsBody(dist("inbox", "bob@contoso.com"), "", 10)); m.Code != "ErrorAccessDenied" {
		t.Fatalf("cross-mailbox under impersonation: %s", m.Code)
	}
}

func findItemPage(max, offset int, base string) string {
	return fmt.Sprintf(`<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape>`+
		`<m:IndexedPageItemView MaxEntriesReturned="%d" Offset="%d" BasePoint="%s"/><m:ParentFolderIds>%s</m:ParentFolderIds></m:FindItem>`,
		max, offset, base, dist("inbox", ""))
}

func TestFindItemIndexedPaging(t *testing.T) {
	const mbx = "alice@contoso.com"
	env := newEnv(t, ewssim.Options{}, mbx)
	var ids []string
	for i := range 25 {
		ref, err := env.sim.AddItem(mbx, "inbox", ewssim.Item{Subject: fmt.Sprint("m", i)})
		must(t, err)
		ids = append(ids, ref.ID)
	}
	slices.Reverse(ids) // newest first
	var got []string
	offset := 0
	for _, want := range []struct {
		next int
		last bool
	}{{10, false}, {20, false}, {25, true}} {
		m := env.one(t, impersonate(mbx), findItemPage(10, offset, "Beginning"))
		rf := m.RootFolder
		if rf.Total != 25 || rf.Offset != want.next || rf.IncludesLast != want.last {
			t.Fatalf("offset %d: got TotalItemsInView=%d IndexedPagingOffset=%d IncludesLast=%v, want 25/%d/%v",
				offset, rf.Total, rf.Offset, rf.IncludesLast, want.next, want.last)
		}
		for _, it := range rf.Items.Items {
			got = append(got, it.ItemID.ID)
		}
		offset = rf.Offset
	}
	if !slices.Equal(got, ids) {
		t.Fatalf("paging returned %d ids, not the folder's 25 newest first", len(got))
	}
	m := env.one(t, impersonate(mbx), findItemPage(5, 0, "End"))
	var tail []string
	for _, it := range m.RootFolder.Items.Items {
		tail = append(tail, it.ItemID.ID)
	}
	if !slices.Equal(tail, ids[20:]) {
		t.Errorf("BasePoint=End returned %v, want the last five", tail)
	}
}

func TestCalendarViewReturnsOverlappingItemsInOrder(t *testing.T) {
	const mbx = "alice@contoso.com"
	env := newEnv(t, ewssim.Options{}, mbx)
	day := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	add := func(subject string, start time.Time, d time.Duration) {
		_, err := env.sim.AddItem(mbx, "calendar", ewssim.Item{Kind: ewssim.KindCalendar, Subject: subject, Start: start, End: start.Add(d)})
		must(t, err)
	}
	add("late", day.Add(15*time.Hour), time.Hour)
	add("before", day.Add(-2*time.Hour), time.Hour)
	add("early", day.Add(9*time.Hour), time.Hour)
	add("spanning midnight", day.Add(-time.Hour), 2*time.Hour)
	add("next day", day.Add(25*time.Hour), time.Hour)
	view := func(max int) string {
		return fmt.Sprintf(`<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>Default</t:BaseShape></m:ItemShape>`+
			`<m:CalendarView MaxEntriesReturned="%d" StartDate="2026-03-02T00:00:00Z" EndDate="2026-03-03T00:00:00Z"/>`+
			`<m:ParentFolderIds>%s</m:ParentFolderIds></m:FindItem>`, max, dist("calendar", ""))
	}
	subjects := func(m responseMessage) []string {
		var out []string
		for _, it := range m.RootFolder.Items.Items {
			out = append(out, it.Subject)
		}
		return out
	}
	m := env.one(t, impersonate(mbx), view(10))
	if got, want := subjects(m), []string{"spanning midnight", "early", "late"}; !slices.Equal(got, want) || !m.RootFolder.IncludesLast {
		t.Fatalf("got %v (last=%v), want %v", got, m.RootFolder.IncludesLast, want)
	}
	m = env.one(t, impersonate(mbx), view(2))
	if got := subjects(m); len(got) != 2 || m.RootFolder.IncludesLast || m.RootFolder.Total != 3 {
		t.Fatalf("MaxEntriesReturned=2: got %v last=%v total=%d", got, m.RootFolder.IncludesLast, m.RootFolder.Total)
	}
}

func TestCalendarWritesAndConflicts(t *testing.T) {
	const mbx = "room-aurora@contoso.com"
	env := newEnv(t, ewssim.Options{}, mbx)
	h := impersonate(mbx)
	_, state, _ := env.syncAll(t, h, dist("calendar", ""), "", 50)

	create := `<m:CreateItem SendMeetingInvitations="SendToNone"><m:SavedItemFolderId>` + dist("calendar", "") + `</m:SavedItemFolderId><m:Items>` +
		`<t:CalendarItem><t:Subject>Board prep</t:Subject><t:ExtendedProperty><t:ExtendedFieldURI DistinguishedPropertySetId="PublicStrings" PropertyName="MailbridgeEventId" PropertyType="String"/><t:Value>evt-42</t:Value></t:ExtendedProperty>` +
		`<t:Start>2026-03-10T08:00:00Z</t:Start><t:End>2026-03-10T09:00:00Z</t:End><t:StartTimeZone Id="W. Europe Standard Time"/></t:CalendarItem></m:Items></m:CreateItem>`
	m := env.one(t, h, create)
	if m.Code != "NoError" || len(m.Items.Items) != 1 {
		t.Fatalf("CreateItem: %s", m.Code)
	}
	created := m.Items.Items[0].ItemID
	it, ref, err := env.sim.GetItem(created.ID)
	must(t, err)
	if it.Subject != "Board prep" || it.TimeZone != "W. Europe Standard Time" || len(it.Extended) != 1 || it.Extended[0].Value != "evt-42" || ref.ChangeKey != created.ChangeKey {
		t.Fatalf("stored item %+v (ck %s), response ck %s", it, ref.ChangeKey, created.ChangeKey)
	}

	update := func(ck, resolution, subject string) responseMessage {
		return env.one(t, h, `<m:UpdateItem ConflictResolution="`+resolution+`" SendMeetingInvitationsOrCancellations="SendToNone"><m:ItemChanges><t:ItemChange>`+
			`<t:ItemId Id="`+created.ID+`" ChangeKey="`+ck+`"/><t:Updates><t:SetItemField><t:FieldURI FieldURI="item:Subject"/><t:CalendarItem><t:Subject>`+subject+
			`</t:Subject></t:CalendarItem></t:SetItemField></t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>`)
	}
	m = update(created.ChangeKey, "NeverOverwrite", "Board prep v2")
	if m.Code != "NoError" || m.Items.Items[0].ItemID.ChangeKey == created.ChangeKey {
		t.Fatalf("update with the current ChangeKey: %s, ck %s", m.Code, m.Items.Items[0].ItemID.ChangeKey)
	}
	if m = update(created.ChangeKey, "NeverOverwrite", "lost update"); m.Code != "ErrorIrresolvableConflict" {
		t.Fatalf("stale ChangeKey with NeverOverwrite: %s", m.Code)
	}
	if it, _, _ := env.sim.GetItem(created.ID); it.Subject != "Board prep v2" {
		t.Fatalf("a conflicting update changed the item: %q", it.Subject)
	}
	if m = update(created.ChangeKey, "AlwaysOverwrite", "forced"); m.Code != "NoError" {
		t.Fatalf("stale ChangeKey with AlwaysOverwrite: %s", m.Code)
	}

	changes, state, _ := env.syncAll(t, h, dist("calendar", ""), state, 50)
	if len(changes) != 1 || changes[0].Kind != "Create" || changes[0].ID != created.ID {
		t.Fatalf("sync after create+updates: %v, want one Create", changes)
	}
	m = env.one(t, h, `<m:DeleteItem DeleteType="MoveToDeletedItems" SendMeetingCancellations="SendToNone"><m:ItemIds><t:ItemId Id="`+created.ID+`"/></m:ItemIds></m:DeleteItem>`)
	if m.Code != "NoError" {
		t.Fatalf("DeleteItem: %s", m.Code)
	}
	changes, _, _ = env.syncAll(t, h, dist("calendar", ""), state, 50)
	if len(changes) != 1 || changes[0].Kind != "Delete" {
		t.Fatalf("sync after delete: %v", changes)
	}
	if trash, _ := env.sim.ListItems(mbx, "deleteditems"); len(trash) != 1 {
		t.Fatalf("MoveToDeletedItems left %d items in Deleted Items, want 1", len(trash))
	}
	if m = env.one(t, h, `<m:DeleteItem DeleteType="HardDelete"><m:ItemIds><t:ItemId Id="`+created.ID+`"/></m:ItemIds></m:DeleteItem>`); m.Code != "ErrorItemNotFound" {
		t.Fatalf("deleting twice: %s", m.Code)
	}
}

func TestSyncFolderHierarchyReportsFolderChangesOnce(t *testing.T) {
	const mbx = "alice@contoso.com"
	env := newEnv(t, ewssim.Options{}, mbx)
	h := impersonate(mbx)
	sync := func(state string) (kinds []string, next string) {
		st := ""
		if state != "" {
			st = `<m:SyncState>` + state + `</m:SyncState>`
		}
		status, body := env.call(t, h, `<m:SyncFolderHierarchy><m:FolderShape><t:BaseShape>Default</t:BaseShape></m:FolderShape>`+st+`</m:SyncFolderHierarchy>`)
		var r struct {
			State   string `xml:"Body>SyncFolderHierarchyResponse>ResponseMessages>SyncFolderHierarchyResponseMessage>SyncState"`
			Changes struct {
				Changes []struct {
					XMLName xml.Name
					Folder  struct {
						Name string `xml:"DisplayName"`
					} `xml:",any"`
				} `xml:",any"`
			} `xml:"Body>SyncFolderHierarchyResponse>ResponseMessages>SyncFolderHierarchyResponseMessage>Changes"`
		}
		if status != http.StatusOK || xml.Unmarshal(body, &r) != nil {
			t.Fatalf("SyncFolderHierarchy: %d\n%s", status, body)
		}
		for _, c := range r.Changes.Changes {
			kinds = append(kinds, c.XMLName.Local+":"+c.Folder.Name)
		}
		return kinds, r.State
	}
	initial, state := sync("")
	for _, want := range []string{"Create:Inbox", "Create:Calendar", "Create:Contacts", "Create:Sent Items"} {
		if !slices.Contains(initial, want) {
			t.Errorf("initial hierarchy %v lacks %s", initial, want)
		}
	}
	for _, k := range initial {
		if strings.Contains(k, "Top of Information Store") {
			t.Errorf("hierarchy lists the root itself: %s", k)
		}
	}
	id, err := env.sim.AddFolder(mbx, "inbox", "Projects", "")
	must(t, err)
	_, err = env.sim.AddFolder(mbx, id, "Alpha", "")
	must(t, err)
	got, state := sync(state)
	if !slices.Equal(got, []string{"Create:Projects", "Create:Alpha"}) {
		t.Fatalf("after adding folders: %v", got)
	}
	must(t, env.sim.RenameFolder(mbx, id, "Projects 2026"))
	if got, state = sync(state); !slices.Equal(got, []string{"Update:Projects 2026"}) {
		t.Fatalf("after rename: %v", got)
	}
	must(t, env.sim.DeleteFolder(mbx, id))
	if got, state = sync(state); len(got) != 2 || !strings.HasPrefix(got[0], "Delete") || !strings.HasPrefix(got[1], "Delete") {
		t.Fatalf("after deleting a folder with a subfolder: %v", got)
	}
	if got, again := sync(state); len(got) != 0 || again != state {
		t.Fatalf("idle sync: %v, state changed %v", got, again != state)
	}
	must(t, env.sim.InvalidateSyncStates(mbx, ""))
	m := env.one(t, h, `<m:SyncFolderHierarchy><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:SyncState>`+state+`</m:SyncState></m:SyncFolderHierarchy>`)
	if m.Code != "ErrorInvalidSyncStateData" {
		t.Fatalf("invalidated hierarchy state: %s", m.Code)
	}
}

func TestFaultInjection(t *testing.T) {
	const mbx = "alice@contoso.com"
	body := syncItemsBody(dist("inbox", ""), "", 10)
	tests := []struct {
		name  string
		fault ewssim.Fault
		check func(t *testing.T, resp *http.Response, b []byte)
	}{
		{"SOAP fault", ewssim.Fault{Kind: ewssim.FaultSOAP, Code: "ErrorMailboxStoreUnavailable"}, func(t *testing.T, resp *http.Response, b []byte) {
			if code, _ := fault(t, resp.StatusCode, b); code != "ErrorMailboxStoreUnavailable" {
				t.Fatalf("fault code %s", code)
			}
		}},
		{"server busy with back-off", ewssim.Fault{Kind: ewssim.FaultSOAP, Code: "ErrorServerBusy", BackOff: 5 * time.Second}, func(t *testing.T, resp *http.Response, b []byte) {
			if code, backOff := fault(t, resp.StatusCode, b); code != "ErrorServerBusy" || backOff != "5000" {
				t.Fatalf("got %s backoff %q", code, backOff)
			}
		}},
		{"HTTP 503", ewssim.Fault{Kind: ewssim.FaultHTTP503, RetryAfter: 30 * time.Second}, func(t *testing.T, resp *http.Response, _ []byte) {
			if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "30" {
				t.Fatalf("status %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
			}
		}},
		{"HTTP 429", ewssim.Fault{Kind: ewssim.FaultHTTP429, RetryAfter: 2 * time.Second}, func(t *testing.T, resp *http.Response, _ []byte) {
			if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "2" {
				t.Fatalf("status %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
			}
		}},
		{"truncated body", ewssim.Fault{Kind: ewssim.FaultTruncated}, func(t *testing.T, resp *http.Response, b []byte) {
			var v struct{}
			if resp.StatusCode != http.StatusOK || xml.Unmarshal(b, &v) == nil {
				t.Fatalf("status %d, body parses: %s", resp.StatusCode, b)
			}
		}},
		{"raw answer (a proxy's page)", ewssim.Fault{Kind: ewssim.FaultRaw, Status: 502, ContentType: "text/html", Header: map[string]string{"Via": "1.1 proxy"}, Body: "<html>bad gateway</html>"},
			func(t *testing.T, resp *http.Response, b []byte) {
				if resp.StatusCode != http.StatusBadGateway || resp.Header.Get("Content-Type") != "text/html" || resp.Header.Get("Via") != "1.1 proxy" || string(b) != "<html>bad gateway</html>" {
					t.Fatalf("status %d, headers %v, body %q", resp.StatusCode, resp.Header, b)
				}
			}},
		{"empty raw answer", ewssim.Fault{Kind: ewssim.FaultRaw}, func(t *testing.T, resp *http.Response, b []byte) {
			if resp.StatusCode != http.StatusOK || len(b) != 0 {
				t.Fatalf("status %d, body %q", resp.StatusCode, b)
			}
		}},
		{"connection reset mid-body", ewssim.Fault{Kind: ewssim.FaultReset}, func(t *testing.T, resp *http.Response, b []byte) {
			if resp.StatusCode != http.StatusOK || len(b) == 0 || resp.ContentLength <= int64(len(b)) {
				t.Fatalf("status %d, %d of %d bytes arrived", resp.StatusCode, len(b), resp.ContentLength)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t, ewssim.Options{}, mbx, "bob@contoso.com")
			f := tc.fault
			f.Op, f.Mailbox, f.Count = "SyncFolderItems", mbx, 1
			env.sim.InjectFault(f)
			// Another mailbox and another operation are not affected.
			if m := env.one(t, impersonate("bob@contoso.com"), body); m.Code != "NoError" {
				t.Fatalf("other mailbox: %s", m.Code)
			}
			resp, b := rawCall(t, env, impersonate(mbx), body)
			tc.check(t, resp, b)
			if m := env.one(t, impersonate(mbx), body); m.Code != "NoError" {
				t.Fatalf("after Count=1 fault: %s", m.Code)
			}
			if st := env.sim.Stats(); st.FaultsInjected != 1 {
				t.Errorf("FaultsInjected = %d", st.FaultsInjected)
			}
		})
	}
	t.Run("slow answer", func(t *testing.T) {
		env := newEnv(t, ewssim.Options{}, mbx)
		env.sim.InjectFault(ewssim.Fault{Kind: ewssim.FaultSlow, Delay: 2 * time.Second})
		client := env.srv.Client()
		client.Timeout = 100 * time.Millisecond
		req, _ := http.NewRequest(http.MethodPost, env.srv.URL+ewssim.EWSPath, strings.NewReader(envelope(impersonate(mbx), body)))
		req.SetBasicAuth(svcUser, svcPass)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			t.Fatal("a slow answer arrived before the client's timeout")
		}
	})
	t.Run("hang and drop: no answer", func(t *testing.T) {
		for _, kind := range []ewssim.FaultKind{ewssim.FaultHang, ewssim.FaultDrop} {
			env := newEnv(t, ewssim.Options{}, mbx)
			env.sim.InjectFault(ewssim.Fault{Kind: kind})
			client := env.srv.Client()
			client.Timeout = 200 * time.Millisecond
			req, _ := http.NewRequest(http.MethodPost, env.srv.URL+ewssim.EWSPath, strings.NewReader(envelope(impersonate(mbx), body)))
			req.SetBasicAuth(svcUser, svcPass)
			if resp, err := client.Do(req); err == nil {
				resp.Body.Close()
				t.Fatalf("fault kind %d: an answer arrived (%d)", kind, resp.StatusCode)
			}
		}
	})
	t.Run("skip lets the first calls through", func(t *testing.T) {
		env := newEnv(t, ewssim.Options{}, mbx)
		env.sim.InjectFault(ewssim.Fault{Kind: ewssim.FaultHTTP503, Skip: 2, Count: 1})
		var got []int
		for range 4 {
			resp, _ := rawCall(t, env, impersonate(mbx), body)
			got = append(got, resp.StatusCode)
		}
		if want := []int{200, 200, 503, 200}; !slices.Equal(got, want) {
			t.Fatalf("statuses %v, want %v", got, want)
		}
	})
	t.Run("rate is deterministic for a seed", func(t *testing.T) {
		pattern := func() string {
			env := newEnv(t, ewssim.Options{Seed: 42}, mbx)
			env.sim.InjectFault(ewssim.Fault{Kind: ewssim.FaultHTTP503, Rate: 0.3})
			var b strings.Builder
			for range 40 {
				resp, _ := rawCall(t, env, impersonate(mbx), body)
				b.WriteString(map[bool]string{true: "x", false: "."}[resp.StatusCode == http.StatusServiceUnavailable])
			}
			return b.String()
		}
		a, b := pattern(), pattern()
		if a != b || !strings.Contains(a, "x") || !strings.Contains(a, ".") {
			t.Fatalf("patterns %s and %s should be equal and mixed", a, b)
		}
	})
}

func rawCall(t *testing.T, env *testEnv, header, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, env.srv.URL+ewssim.EWSPath, strings.NewReader(envelope(header, body)))
	must(t, err)
	req.SetBasicAuth(env.user, env.pass)
	resp, err := env.srv.Client().Do(req)
	must(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func TestGetUserAvailabilityReturnsBusyTimesInTheRequestZone(t *testing.T) {
	env := newEnv(t, ewssim.Options{}, "room@contoso.com")
	start := time.Date(2026, 3, 2, 16, 0, 0, 0, time.UTC)
	_, err := env.sim.AddItem("room@contoso.com", "calendar", ewssim.Item{Kind: ewssim.KindCalendar, Subject: "Review", Start: start, End: start.Add(time.Hour)})
	must(t, err)
	_, err = env.sim.AddItem("room@contoso.com", "calendar", ewssim.Item{Kind: ewssim.KindCalendar, Subject: "Outside", Start: start.AddDate(0, 1, 0), End: start.AddDate(0, 1, 0).Add(time.Hour)})
	must(t, err)
	// Bias 480 = UTC-8 (Pacific standard time).
	req := `<m:GetUserAvailabilityRequest><t:TimeZone><t:Bias>480</t:Bias><t:StandardTime><t:Bias>0</t:Bias><t:Time>02:00:00</t:Time><t:DayOrder>1</t:DayOrder><t:Month>11</t:Month><t:DayOfWeek>Sunday</t:DayOfWeek></t:StandardTime><t:DaylightTime><t:Bias>-60</t:Bias><t:Time>02:00:00</t:Time><t:DayOrder>2</t:DayOrder><t:Month>3</t:Month><t:DayOfWeek>Sunday</t:DayOfWeek></t:DaylightTime></t:TimeZone>` +
		`<m:MailboxDataArray><t:MailboxData><t:Email><t:Address>room@contoso.com</t:Address></t:Email><t:AttendeeType>Room</t:AttendeeType></t:MailboxData></m:MailboxDataArray>` +
		`<t:FreeBusyViewOptions><t:TimeWindow><t:StartTime>2026-03-02T06:00:00</t:StartTime><t:EndTime>2026-03-02T12:00:00</t:EndTime></t:TimeWindow><t:MergedFreeBusyIntervalInMinutes>60</t:MergedFreeBusyIntervalInMinutes><t:RequestedView>DetailedMerged</t:RequestedView></t:FreeBusyViewOptions></m:GetUserAvailabilityRequest>`
	status, body := env.call(t, "", req)
	var r struct {
		Merged string `xml:"Body>GetUserAvailabilityResponse>FreeBusyResponseArray>FreeBusyResponse>FreeBusyView>MergedFreeBusy"`
		Events []struct {
			Start   string `xml:"StartTime"`
			End     string `xml:"EndTime"`
			Subject string `xml:"CalendarEventDetails>Subject"`
		} `xml:"Body>GetUserAvailabilityResponse>FreeBusyResponseArray>FreeBusyResponse>FreeBusyView>CalendarEventArray>CalendarEvent"`
	}
	if status != http.StatusOK || xml.Unmarshal(body, &r) != nil {
		t.Fatalf("status %d:\n%s", status, body)
	}
	if len(r.Events) != 1 || r.Events[0].Start != "2026-03-02T08:00:00" || r.Events[0].End != "2026-03-02T09:00:00" || r.Events[0].Subject != "Review" {
		t.Fatalf("events %+v, want Review 08:00-09:00 local", r.Events)
	}
	if r.Merged != "002000" { // 06:00-12:00 local in hours, busy 08-09
		t.Errorf("MergedFreeBusy %q, want 002000", r.Merged)
	}
}

func TestGenerateIsDeterministic(t *testing.T) {
	gen := func(seed uint64) (*ewssim.Sim, ewssim.Dataset) {
		sim := ewssim.New(ewssim.Options{})
		ds, err := sim.Generate(ewssim.GenOptions{Mailboxes: 3, ItemsPerMailbox: 60, Seed: seed, Domain: "fabrikam.com"})
		must(t, err)
		return sim, ds
	}
	summary := func(sim *ewssim.Sim, ds ewssim.Dataset) string {
		var b strings.Builder
		for _, m := range ds.Mailboxes {
			for _, f := range []string{"inbox", "sentitems", "calendar", "contacts"} {
				refs, err := sim.ListItems(m, f)
				must(t, err)
				for _, r := range refs {
					it, _, err := sim.GetItem(r.ID)
					must(t, err)
					fmt.Fprintf(&b, "%s|%s|%v|%s;", r.ID, it.Subject, it.Start.Unix(), it.DisplayName)
				}
			}
		}
		return b.String()
	}
	a, dsA := gen(1)
	b, dsB := gen(1)
	c, dsC := gen(2)
	if summary(a, dsA) != summary(b, dsB) {
		t.Fatal("the same seed produced different datasets")
	}
	if summary(a, dsA) == summary(c, dsC) {
		t.Fatal("different seeds produced the same dataset")
	}
	if dsA.Mailboxes[0] != "user0001@fabrikam.com" || dsA.Account.Username != "svc-mailbridge@fabrikam.com" {
		t.Fatalf("dataset %+v", dsA.Mailboxes)
	}
	total := 0
	kinds := map[string]int{}
	for _, f := range []string{"inbox", "sentitems", "calendar", "contacts"} {
		refs, _ := a.ListItems(dsA.Mailboxes[0], f)
		total += len(refs)
		kinds[f] = len(refs)
	}
	if total != 60 || kinds["inbox"] == 0 || kinds["calendar"] == 0 || kinds["contacts"] == 0 {
		t.Fatalf("items per folder %v, want 60 mixed", kinds)
	}
	if _, err := ewssim.New(ewssim.Options{}).Generate(ewssim.GenOptions{}); err == nil {
		t.Error("Generate with no mailboxes succeeded")
	}
}

func TestMutationAPIRejectsBadInput(t *testing.T) {
	sim := ewssim.New(ewssim.Options{})
	must(t, sim.AddMailbox("alice@contoso.com", "Alice"))
	tests := []struct {
		name string
		err  error
	}{
		{"duplicate mailbox", sim.AddMailbox("ALICE@contoso.com", "again")},
		{"address without @", sim.AddMailbox("alice", "x")},
		{"item in unknown mailbox", func() error { _, err := sim.AddItem("nobody@contoso.com", "inbox", ewssim.Item{}); return err }()},
		{"item in unknown folder", func() error { _, err := sim.AddItem("alice@contoso.com", "nowhere", ewssim.Item{}); return err }()},
		{"delete distinguished folder", sim.DeleteFolder("alice@contoso.com", "inbox")},
		{"update unknown item", func() error { _, err := sim.UpdateItem("bogus", func(*ewssim.Item) {}); return err }()},
		{"grant to unknown account", sim.GrantDelegate("nobody", "alice@contoso.com", "")},
		{"account without name", sim.AddAccount(ewssim.Account{})},
		{"bad certificate", sim.AddAccount(ewssim.Account{ClientID: "x", CertPEM: "not pem"})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.err == nil {
				t.Fatal("no error")
			}
		})
	}
	if got := sim.Mailboxes(); len(got) != 1 {
		t.Fatalf("bad input changed the mailboxes: %v", got)
	}
}

func TestControlCharactersInItemText(t *testing.T) {
	const mbx = "alice@contoso.com"
	tests := []struct {
		name       string
		charRefs   bool
		want       string
		wellFormed bool
	}{
		{"dropped by default", false, "<t:Subject>Q3 report</t:Subject>", true},
		{"character references like Exchange", true, "<t:Subject>Q3&#x1; report</t:Subject>", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t, ewssim.Options{ControlCharRefs: tc.charRefs}, mbx)
			ref, err := env.sim.AddItem(mbx, "inbox", ewssim.Item{Subject: "Q3\x01 report"})
			must(t, err)
			status, body := env.call(t, impersonate(mbx), getItemBody(ref.ID))
			if status != http.StatusOK || !strings.Contains(string(body), tc.want) {
				t.Fatalf("status %d, body lacks %s:\n%s", status, tc.want, body)
			}
			var v struct{}
			if err := xml.Unmarshal(body, &v); (err == nil) != tc.wellFormed {
				t.Fatalf("well-formed = %v, want %v (%v)", err == nil, tc.wellFormed, err)
			}
		})
	}
}

func TestLatencyPerOperation(t *testing.T) {
	const mbx = "alice@contoso.com"
	env := newEnv(t, ewssim.Options{OpLatency: map[string]time.Duration{"GetFolder": 3 * time.Second}}, mbx)
	client := env.srv.Client()
	client.Timeout = 500 * time.Millisecond
	post := func(body string) error {
		req, _ := http.NewRequest(http.MethodPost, env.srv.URL+ewssim.EWSPath, strings.NewReader(envelope(impersonate(mbx), body)))
		req.SetBasicAuth(svcUser, svcPass)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	if err := post(syncItemsBody(dist("inbox", ""), "", 10)); err != nil {
		t.Fatalf("SyncFolderItems has no added latency but failed: %v", err)
	}
	if err := post(`<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds>` + dist("inbox", "") + `</m:FolderIds></m:GetFolder>`); err == nil {
		t.Fatal("GetFolder answered before its 3s latency")
	}
}

func TestStatsEndpoint(t *testing.T) {
	env := newEnv(t, ewssim.Options{}, "alice@contoso.com")
	env.call(t, impersonate("alice@contoso.com"), syncItemsBody(dist("inbox", ""), "", 10))
	resp, err := env.srv.Client().Get(env.srv.URL + ewssim.StatsPath)
	must(t, err)
	defer resp.Body.Close()
	var st ewssim.Stats
	must(t, json.NewDecoder(resp.Body).Decode(&st))
	if st.Calls["SyncFolderItems"] != 1 || st.PeakConcurrency["mailbox:alice@contoso.com"] != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestGetUserAvailabilityExpandsSeries: a daily series answers one
// CalendarEvent per occurrence in the window with the master's
// LegacyFreeBusyStatus (set by UpdateItem), an exception at its new time
// with IsException, a deleted occurrence not at all, and MergedFreeBusy
// shows the busiest status per hour (OOF over the single busy meeting).
func TestGetUserAvailabilityExpandsSeries(t *testing.T) {
	env := newEnv(t, ewssim.Options{}, "room@contoso.com")
	at := func(d, h int) time.Time { return time.Date(2026, 7, d, h, 0, 0, 0, time.UTC) }
	ref, err := env.sim.AddItem("room@contoso.com", "calendar", ewssim.Item{Kind: ewssim.KindCalendar, Subject: "Daily", Start: at(1, 9), End: at(1, 10),
		TimeZone: "UTC", IsRecurring: true, Recurrence: &ewssim.Recurrence{Pattern: "DailyRecurrence", Interval: 1, Range: "NoEndRecurrence", StartDate: "2026-07-01"}})
	must(t, err)
	must(t, env.sim.SetOccurrence(ref.ID, at(6, 9), ewssim.Exception{Start: at(6, 14), End: at(6, 15), Subject: "Moved"}))
	must(t, env.sim.DeleteOccurrence(ref.ID, at(7, 9)))
	_, err = env.sim.AddItem("room@contoso.com", "calendar", ewssim.Item{Kind: ewssim.KindCalendar, Subject: "Single", Start: at(6, 14), End: at(6, 16)})
	must(t, err)
	update := `<m:UpdateItem ConflictResolution="AlwaysOverwrite" SendMeetingInvitationsOrCancellations="SendToNone"><m:ItemChanges><t:ItemChange><t:ItemId Id="` + ref.ID + `"/><t:Updates>` +
		`<t:SetItemField><t:FieldURI FieldURI="calendar:LegacyFreeBusyStatus"/><t:CalendarItem><t:LegacyFreeBusyStatus>OOF</t:LegacyFreeBusyStatus></t:CalendarItem></t:SetItemField>` +
		`</t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>`
	if status, body := env.call(t, "", update); status != http.StatusOK || !strings.Contains(string(body), "NoError") {
		t.Fatalf("UpdateItem LegacyFreeBusyStatus: %d\n%s", status, body)
	}
	status, body := env.call(t, "", availabilityRequest("DetailedMerged", "room@contoso.com"))
	var r struct {
		Merged string `xml:"Body>GetUserAvailabilityResponse>FreeBusyResponseArray>FreeBusyResponse>FreeBusyView>MergedFreeBusy"`
		Events []struct {
			Start     string `xml:"StartTime"`
			BusyType  string `xml:"BusyType"`
			Subject   string `xml:"CalendarEventDetails>Subject"`
			Exception bool   `xml:"CalendarEventDetails>IsException"`
		} `xml:"Body>GetUserAvailabilityResponse>FreeBusyResponseArray>FreeBusyResponse>FreeBusyView>CalendarEventArray>CalendarEvent"`
	}
	if status != http.StatusOK || xml.Unmarshal(body, &r) != nil {
		t.Fatalf("status %d:\n%s", status, body)
	}
	var got []string
	for _, e := range r.Events {
		got = append(got, fmt.Sprintf("%s %s %s %v", e.Start, e.BusyType, e.Subject, e.Exception))
	}
	want := []string{"2026-07-06T14:00:00 OOF Moved true", "2026-07-06T14:00:00 Busy Single false"}
	if !slices.Equal(got, want) {
		t.Errorf("events\n got %v\nwant %v", got, want)
	}
	// 48 hours from 6 July 00:00: OOF at 14:00 (over Busy), Busy at 15:00.
	if want := strings.Repeat("0", 14) + "32" + strings.Repeat("0", 32); r.Merged != want {
		t.Errorf("MergedFreeBusy %s, want %s", r.Merged, want)
	}
}
