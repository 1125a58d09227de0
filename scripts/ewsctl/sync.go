package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ews"
	"github.com/mailbridge/mailbridge/shared/exchange/ewsmailbox"
)

// Throttling retries of `ewsctl sync`: the command is the caller that owns
// retries, so it waits as long as Exchange asks, a bounded number of times.
const (
	maxThrottleRetries  = 5
	defaultThrottleWait = time.Second
	maxThrottleWait     = time.Minute
)

// changeLine is one change on stdout.
type changeLine struct {
	Mailbox   string            `json:"mailbox"`
	Folder    string            `json:"folder"`
	FolderID  string            `json:"folderId"`
	Kind      domain.ChangeKind `json:"changeType"`
	ItemID    string            `json:"itemId"`
	ChangeKey string            `json:"changeKey,omitempty"`
	Item      *domain.Item      `json:"item,omitempty"` // nil for deletes and items gone meanwhile
	// ImmutableID: Graph's immutable id where itemId is an EWS id read
	// over Graph (a removal has only it).
	ImmutableID string `json:"immutableId,omitempty"`
}

func runSync(ctx context.Context, args []string, e env) error {
	var cf connFlags
	var pageSize int
	fs := newFlagSet("sync", "--url U <auth flags> --mailbox M [--mode impersonation|delegate|folder-delegate] [--trace DIR]\n       ewsctl sync --protocol graph [--graph-url G] <oauth flags> --mailbox M", e)
	cf.register(fs)
	fs.IntVar(&pageSize, "page-size", ews.MaxSyncChanges, "changes per page: SyncFolderItems MaxChangesReturned (1-512); graph: odata.maxpagesize, at most the adapter's 100")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected argument %q", fs.Arg(0))
	}
	if pageSize < 1 || pageSize > ews.MaxSyncChanges {
		return usageErr("--page-size must be between 1 and %d", ews.MaxSyncChanges)
	}
	t, err := cf.resolve(e.getenv)
	if err != nil {
		return err
	}
	opts, err := cf.clientOptions(t, e)
	if err != nil {
		return err
	}
	// The connector of the target's protocol, the one the sync worker
	// routes the tenant to.
	var connector domain.Connector = ewsmailbox.NewConnector(opts)
	ops := ewsOps
	if t.graph() {
		connector, ops = t.graphConnector(), graphOps
	}
	access, err := connector.Connect(ctx, t.tenant, t.cred)
	if err != nil {
		return err
	}
	s := &syncer{ctx: ctx, e: e, access: access, pageSize: pageSize, start: time.Now(), ops: ops,
		ref: domain.MailboxRef{Address: t.mailbox.Address, Mode: t.tenant.AccessMode}, enc: json.NewEncoder(e.stdout)}
	return s.run()
}

// syncOps names a protocol's calls in the progress and errors.
type syncOps struct {
	hierarchy, items, get, calls string
	// unreadable is the fix for folders the account cannot read.
	unreadable string
}

var (
	ewsOps = syncOps{hierarchy: "SyncFolderHierarchy", items: "SyncFolderItems", get: "GetItem", calls: "EWS calls",
		unreadable: "share them: Add-MailboxFolderPermission -Identity \"%s:\\<folder>\" -User <service account> -AccessRights Reviewer"}
	graphOps = syncOps{hierarchy: "folders delta", items: "delta", get: "get items", calls: "Graph requests",
		unreadable: "grant the app the application permission they need; run 'ewsctl probe --protocol graph' for %s"}
)

// syncer is one full sync in progress.
type syncer struct {
	ops      syncOps
	ctx      context.Context
	e        env
	access   domain.MailboxAccess
	ref      domain.MailboxRef
	pageSize int
	enc      *json.Encoder
	start    time.Time

	calls, changes      int
	unreadable, skipped []string
}

func (s *syncer) progress(format string, args ...any) {
	fmt.Fprintf(s.e.stderr, format+"\n", args...)
}

func (s *syncer) run() error {
	folders, err := s.hierarchy()
	if err != nil {
		return s.mailboxFailed(s.ops.hierarchy, err)
	}
	s.progress("%s: %d folders (%s access)", s.ref.Address, len(folders), s.ref.Mode)
	synced := 0
	for _, f := range folders {
		kind, ok := folderKind(f.FolderClass)
		if !ok {
			s.skipped = append(s.skipped, f.DisplayName)
			continue
		}
		err := s.folder(f, kind)
		var ae *domain.AccessError
		switch {
		case err == nil:
			synced++
		case errors.As(err, &ae) && ae.Kind == domain.AccessDenied:
			s.unreadable = append(s.unreadable, f.DisplayName)
			s.progress("  %s: not readable (%s): not shared with the service account, skipped", f.DisplayName, ae.Code)
		default:
			return s.mailboxFailed("folder "+f.DisplayName, err)
		}
	}
	s.progress("done: %d folders synced, %d changes, %d %s in %s", synced, s.changes, s.calls, s.ops.calls, time.Since(s.start).Round(time.Millisecond))
	if len(s.unreadable) > 0 {
		s.progress("unreadable folders: %s ("+s.ops.unreadable+")", strings.Join(s.unreadable, ", "), s.ref.Address)
	}
	if len(s.skipped) > 0 {
		s.progress("skipped folders (not mail, calendar or contacts): %s", strings.Join(s.skipped, ", "))
	}
	return nil
}

// mailboxFailed explains a failure that stops the whole sync.
func (s *syncer) mailboxFailed(during string, err error) error {
	ae := domain.AccessErrorOf(err)
	msg := fmt.Sprintf("%s failed: %s", during, ae.Kind)
	if ae.Code != "" {
		msg += " (" + ae.Code + ")"
	}
	if ae.Kind == domain.AccessTransient || ae.Kind == domain.AccessPermanent {
		msg += ": " + err.Error()
	}
	return &exitError{code: exitFailed, msg: msg + "; run 'ewsctl probe' with the same flags for a diagnosis and a fix"}
}

// hierarchy lists every folder of the mailbox.
func (s *syncer) hierarchy() ([]domain.FolderInfo, error) {
	var folders []domain.FolderInfo
	index := map[string]int{}
	state := ""
	for {
		var page domain.HierarchyPage
		err := s.retry(s.ops.hierarchy, func() (err error) {
			page, err = s.access.SyncHierarchy(s.ctx, s.ref, state)
			return err
		})
		if err != nil {
			return nil, err
		}
		for _, f := range append(page.Created, page.Updated...) {
			if i, ok := index[f.ID]; ok {
				folders[i] = f
				continue
			}
			index[f.ID] = len(folders)
			folders = append(folders, f)
		}
		for _, id := range page.Deleted {
			if i, ok := index[id]; ok {
				folders[i].ID = "" // dropped below
			}
		}
		if page.Done || page.State == state {
			break
		}
		state = page.State
	}
	out := folders[:0]
	for _, f := range folders {
		if f.ID != "" {
			out = append(out, f)
		}
	}
	return out, nil
}

// folder syncs one folder from scratch, page by page, fetching the items
// of each page before the next.
func (s *syncer) folder(f domain.FolderInfo, kind domain.ItemKind) error {
	state, pages, n := "", 0, 0
	for {
		var page domain.ItemsPage
		err := s.retry(s.ops.items+" "+f.DisplayName, func() (err error) {
			page, err = s.access.SyncItems(s.ctx, s.ref, f.ID, state, s.pageSize)
			return err
		})
		if err != nil {
			return err
		}
		pages++
		if err := s.emit(f, kind, page.Changes); err != nil {
			return err
		}
		n += len(page.Changes)
		if page.Done || page.State == state {
			break
		}
		state = page.State
	}
	s.progress("  %s: %d changes in %d pages", f.DisplayName, n, pages)
	return nil
}

// emit fetches the created and updated items of one page (GetItem in
// batches) and prints every change.
func (s *syncer) emit(f domain.FolderInfo, kind domain.ItemKind, changes []domain.ItemChangeRef) error {
	var ids []string
	for _, c := range changes {
		if c.Kind != domain.ChangeDelete {
			ids = append(ids, c.ItemID)
		}
	}
	items := make(map[string]domain.Item, len(ids))
	for start := 0; start < len(ids); start += ews.MaxGetItemIDs {
		batch := ids[start:min(start+ews.MaxGetItemIDs, len(ids))]
		var got []domain.Item
		err := s.retry(s.ops.get, func() (err error) {
			got, err = s.access.GetItems(s.ctx, s.ref, kind, batch)
			return err
		})
		if err != nil {
			return err
		}
		for _, it := range got {
			items[it.ID] = it
		}
	}
	for _, c := range changes {
		line := changeLine{Mailbox: s.ref.Address, Folder: f.DisplayName, FolderID: f.ID, Kind: c.Kind, ItemID: c.ItemID, ChangeKey: c.ChangeKey, ImmutableID: c.ImmutableID}
		if it, ok := items[c.ItemID]; ok {
			line.Item = &it
			line.ChangeKey = it.ChangeKey
		}
		if err := s.enc.Encode(line); err != nil {
			return err
		}
		s.changes++
	}
	return nil
}

// retry runs one EWS call, waiting out throttling as Exchange asks.
func (s *syncer) retry(what string, call func() error) error {
	for attempt := 0; ; attempt++ {
		s.calls++
		err := call()
		if err == nil {
			return nil
		}
		ae := domain.AccessErrorOf(err)
		if ae.Kind != domain.AccessThrottled || attempt == maxThrottleRetries {
			return err
		}
		wait := ae.RetryAfter
		if wait <= 0 {
			wait = defaultThrottleWait
		}
		wait = min(wait, maxThrottleWait)
		s.progress("  %s: throttled (%s), waiting %s", what, ae.Code, wait)
		t := time.NewTimer(wait)
		select {
		case <-s.ctx.Done():
			t.Stop()
			return s.ctx.Err()
		case <-t.C:
		}
	}
}

// folderKind is the item kind a folder class holds; folders of other
// kinds (tasks, notes, journal, search folders) are not synced.
func folderKind(class string) (domain.ItemKind, bool) {
	switch {
	case class == "" || class == "IPF.Note" || strings.HasPrefix(class, "IPF.Note."):
		return domain.KindMessage, true
	case class == "IPF.Appointment" || strings.HasPrefix(class, "IPF.Appointment."),
		class == "IPF.Contact" || strings.HasPrefix(class, "IPF.Contact."):
		return domain.KindOfFolderClass(class), true
	}
	return "", false
}
