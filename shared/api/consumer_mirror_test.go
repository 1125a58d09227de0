package api

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/aws/dynamostore"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ewsmailbox"
	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
	"github.com/mailbridge/mailbridge/shared/local/boltstore"
	"github.com/mailbridge/mailbridge/shared/platform/urlguard"
	"github.com/mailbridge/mailbridge/shared/testsupport/standin"
	"github.com/mailbridge/mailbridge/shared/testsupport/storetest"
)

// The consumer's contract, issue 12's must-show: a consumer mirrors a
// tenant through the API alone (list a mailbox's items, then read its feed
// from the listing's feedCursor, applying changes as upserts and deletes by
// item id) while the simulator's mailboxes change under it, including in
// the middle of a listing; falls behind the feed retention and resyncs on
// the 410 through the listing; sees a mailbox removed and added again. At
// the end the mirror holds exactly what Exchange holds. A mailbox's initial
// sync is in its own feed only; the tenant feed announces its end with one
// mailboxSynced, on which the tenant consumers list the mailbox (one of
// them bootstraps before anything is synced, so it learns every mailbox
// that way).

const mirrorRetention = 24 * time.Hour

// mirrorStack is the API over one store, the EWS simulator on TLS, and the
// syncer writing into the same store, on one clock.
type mirrorStack struct {
	t      *testing.T
	e      *env
	sim    *ewssim.Sim
	ds     ewssim.Dataset
	syncer *app.Syncer
	clock  *storetest.Clock
	// expire does what the store's retention does in time (bolt prunes on
	// append by itself; DynamoDB's TTL sweeper must be played).
	expire func()
}

func newMirrorStack(t *testing.T, storeKind string) *mirrorStack {
	t.Helper()
	clock := storetest.NewClock(storetest.Start)
	var st domain.Store
	expire := func() {}
	switch storeKind {
	case "bolt":
		st = openStore(t, boltstore.Options{Clock: clock, FeedRetention: mirrorRetention})
	case "dynamodb":
		client := dynamostore.NewClient(standin.AWSConfig(), standin.DynamoDB(t))
		table := fmt.Sprintf("mailbridge-mirror-%d", time.Now().UnixNano())
		ds, err := dynamostore.New(client, dynamostore.Options{Table: table,
			Clock: clock, FeedRetention: mirrorRetention, GapTimeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if err := ds.CreateTable(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = ds.DeleteTable(context.Background()) })
		st = ds
		expire = func() { sweepTTL(t, client, table, clock.Now()) }
	}
	sim := ewssim.New(ewssim.Options{Seed: 12, MaxConcurrency: -1})
	ds, err := sim.Generate(ewssim.GenOptions{Mailboxes: 3, ItemsPerMailbox: 24, Seed: 12})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sim.Start(true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	policy := urlguard.Policy{DevLoopback: true}
	tr := policy.Transport()
	tr.TLSClientConfig = &tls.Config{RootCAs: srv.CertPool(), MinVersion: tls.VersionTLS12}
	e := newEnvOn(t, st, openSecrets(t), func(d *Deps) {
		d.Clock = clock
		d.URLPolicy = policy
	})

	s := &mirrorStack{t: t, e: e, sim: sim, ds: ds, clock: clock, expire: expire}
	s.syncer = &app.Syncer{
		Store: st, Secrets: e.secrets, Clock: clock, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Connector: ewsmailbox.NewConnector(ewsmailbox.Options{URLGuard: &policy, HTTPClient: &http.Client{Transport: tr, Timeout: 30 * time.Second}}),
	}
	cred := basicCred(ds.Account.Username, ds.Account.Password)
	e.must(req{method: "POST", path: "/tenants", body: tenantBody("acme", srv.EWSURL, cred, "")}, 201)
	e.addMailboxes("acme", ds.Mailboxes...)
	return s
}

// sweepTTL deletes the table's items whose ttl has passed at now, as
// DynamoDB's TTL deletion eventually does.
func sweepTTL(t *testing.T, client *dynamodb.Client, table string, now time.Time) {
	t.Helper()
	ctx := context.Background()
	p := dynamodb.NewScanPaginator(client, &dynamodb.ScanInput{
		TableName:                 aws.String(table),
		FilterExpression:          aws.String("#ttl <= :now"),
		ExpressionAttributeNames:  map[string]string{"#ttl": "ttl"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": &types.AttributeValueMemberN{Value: strconv.FormatInt(now.Unix(), 10)}},
		ProjectionExpression:      aws.String("pk, sk"),
	})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range out.Items {
			if _, err := client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(table), Key: map[string]types.AttributeValue{"pk": it["pk"], "sk": it["sk"]}}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// registered is what the tenant's mailbox listing says.
func (s *mirrorStack) registered() []string {
	var page struct {
		Mailboxes []struct {
			Address string `json:"address"`
		} `json:"mailboxes"`
	}
	s.get("/tenants/acme/mailboxes?limit=1000", &page, 200)
	var out []string
	for _, m := range page.Mailboxes {
		out = append(out, m.Address)
	}
	return out
}

// get serves a GET and decodes its answer; it fails unless the status is
// one of want, and returns the status.
func (s *mirrorStack) get(path string, v any, want ...int) int {
	s.t.Helper()
	w := s.e.do(req{method: "GET", path: path})
	if !slices.Contains(want, w.Code) {
		s.t.Fatalf("GET %s = %d, want %v: %s", path, w.Code, want, w.Body)
	}
	if w.Code == 200 {
		if err := json.Unmarshal(w.Body.Bytes(), v); err != nil {
			s.t.Fatalf("GET %s: %v", path, err)
		}
	}
	return w.Code
}

func (s *mirrorStack) syncAll() {
	s.t.Helper()
	for _, m := range s.registered() {
		if _, err := s.syncer.SyncMailbox(context.Background(), domain.SyncJob{TenantID: "acme", Mailbox: m, Tick: s.clock.Now().Truncate(time.Minute)}); err != nil {
			s.t.Fatalf("sync %s: %v", m, err)
		}
	}
	s.clock.Advance(time.Minute)
}

var mirrorFolders = []string{"inbox", "sentitems", "calendar", "contacts"}

// mutate changes Exchange: in each of the given mailboxes one new message,
// one item renamed, one item deleted.
func (s *mirrorStack) mutate(rng *rand.Rand, mailboxes ...string) {
	s.t.Helper()
	for _, m := range mailboxes {
		if _, err := s.sim.AddItem(m, "inbox", ewssim.Item{Kind: ewssim.KindMessage, Subject: fmt.Sprintf("new %d", rng.Int()),
			From: ewssim.Address{Name: "Zoe", Email: "zoe@fabrikam.example"}, Received: storetest.Start}); err != nil {
			s.t.Fatal(err)
		}
		ids := s.simState(m)
		keys := slices.Sorted(maps.Keys(ids))
		if _, err := s.sim.UpdateItem(keys[rng.IntN(len(keys))], func(it *ewssim.Item) { it.Subject += " (edited)" }); err != nil {
			s.t.Fatal(err)
		}
		if err := s.sim.DeleteItem(keys[rng.IntN(len(keys))]); err != nil {
			s.t.Fatal(err)
		}
	}
}

// simState is Exchange's view of a mailbox: id → change key and subject.
func (s *mirrorStack) simState(m string) map[string]string {
	s.t.Helper()
	out := map[string]string{}
	for _, f := range mirrorFolders {
		refs, err := s.sim.ListItems(m, f)
		if err != nil {
			s.t.Fatal(err)
		}
		for _, r := range refs {
			it, _, err := s.sim.GetItem(r.ID)
			if err != nil {
				s.t.Fatal(err)
			}
			out[r.ID] = r.ChangeKey + " " + it.Subject
		}
	}
	return out
}

// consumer is the SaaS developer's mirror, driven by API answers alone.
type consumer struct {
	s       *mirrorStack
	items   map[string]map[string]domain.Item // mailbox → item id → item
	cursors map[string]string                 // mailbox → mailbox feed cursor
	// during, when set, runs once between the first and second page of a
	// listing (the simulator changing and a sync writing meanwhile).
	during                      func()
	bootstraps, gones, removals int
}

func mailboxPath(m, what string, q url.Values) string {
	p := "/tenants/acme/mailboxes/" + m + "/" + what
	if len(q) > 0 {
		p += "?" + q.Encode()
	}
	return p
}

// bootstrap replaces the mirror of m by a listing, then catches up on the
// feed from the listing's position.
func (c *consumer) bootstrap(m string) {
	c.bootstraps++
	mirror := map[string]domain.Item{}
	cursor, feed := "", ""
	for page := 0; ; page++ {
		q := url.Values{"limit": {"7"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var p struct {
			Items      []domain.Item `json:"items"`
			NextCursor string        `json:"nextCursor"`
			FeedCursor string        `json:"feedCursor"`
		}
		c.s.get(mailboxPath(m, "items", q), &p, 200)
		if page > 0 && p.FeedCursor != feed {
			c.s.t.Fatalf("listing of %s: page %d answers feedCursor %q, the first %q", m, page, p.FeedCursor, feed)
		}
		feed = p.FeedCursor
		for _, it := range p.Items {
			mirror[it.ID] = it
		}
		if p.NextCursor == "" {
			break
		}
		cursor = p.NextCursor
		if page == 0 && c.during != nil {
			during := c.during
			c.during = nil
			during()
		}
	}
	c.items[m], c.cursors[m] = mirror, feed
	c.poll(m)
}

// poll applies m's feed from the mirror's cursor: upserts and deletes by
// item id. A 410 resyncs through the listing; a 404 means the mailbox was
// removed: its items go.
func (c *consumer) poll(m string) {
	for {
		q := url.Values{"limit": {"10"}}
		if c.cursors[m] != "" {
			q.Set("cursor", c.cursors[m])
		}
		var p struct {
			Changes    []domain.Change `json:"changes"`
			NextCursor string          `json:"nextCursor"`
		}
		switch c.s.get(mailboxPath(m, "changes", q), &p, 200, 404, 410) {
		case 404:
			c.removals++
			delete(c.items, m)
			delete(c.cursors, m)
			return
		case 410:
			c.gones++
			c.bootstrap(m)
			return
		}
		for _, ch := range p.Changes {
			switch ch.Kind {
			case domain.ChangeCreate, domain.ChangeUpdate:
				c.items[m][ch.ItemID] = *ch.Item
			case domain.ChangeDelete:
				delete(c.items[m], ch.ItemID)
			}
		}
		c.cursors[m] = p.NextCursor
		if len(p.Changes) == 0 {
			return
		}
	}
}

// round follows the tenant: mailboxes new to the mirror are bootstrapped,
// the others polled, and mailboxes no longer registered dropped.
func (c *consumer) round() {
	reg := c.s.registered()
	for _, m := range reg {
		if _, ok := c.items[m]; ok {
			c.poll(m)
		} else {
			c.bootstrap(m)
		}
	}
	for m := range c.items {
		if !slices.Contains(reg, m) {
			c.poll(m) // answers 404
		}
	}
}

func (c *consumer) assertEqualsExchange(when string) {
	s := c.s
	s.t.Helper()
	reg := s.registered()
	if got := slices.Sorted(maps.Keys(c.items)); !slices.Equal(got, slices.Sorted(slices.Values(reg))) {
		s.t.Fatalf("%s: mirror holds mailboxes %v, tenant has %v", when, got, reg)
	}
	for _, m := range reg {
		want := s.simState(m)
		got := map[string]string{}
		for id, it := range c.items[m] {
			got[id] = it.ChangeKey + " " + it.Subject
		}
		if !maps.Equal(got, want) {
			var missing, extra, stale []string
			for id, v := range want {
				if g, ok := got[id]; !ok {
					missing = append(missing, id)
				} else if g != v {
					stale = append(stale, g+" ≠ "+v)
				}
			}
			for id := range got {
				if _, ok := want[id]; !ok {
					extra = append(extra, id)
				}
			}
			s.t.Fatalf("%s: mirror of %s differs from Exchange: %d missing, %d extra, %d stale %v", when, m, len(missing), len(extra), len(stale), stale)
		}
	}
}

func TestConsumerMirrorsTenantThroughListAndFeed(t *testing.T) {
	for _, storeKind := range []string{"bolt", "dynamodb"} {
		t.Run(storeKind, func(t *testing.T) {
			s := newMirrorStack(t, storeKind)
			rng := rand.New(rand.NewPCG(12, 12))
			mbs := s.ds.Mailboxes
			// A tenant consumer that starts before the first sync: its
			// listing is empty (every mailbox is in its initial sync), and
			// every mailbox reaches it as a mailboxSynced.
			early := &tenantConsumer{s: s}
			early.bootstrap()
			s.syncAll()

			// Bootstrap while Exchange changes and a sync writes between
			// the listing's pages.
			c := &consumer{s: s, items: map[string]map[string]domain.Item{}, cursors: map[string]string{}}
			c.during = func() { s.mutate(rng, mbs...); s.syncAll() }
			c.round()
			// The same for a consumer of the whole tenant: the tenant
			// listing, then the tenant feed.
			tc := &tenantConsumer{s: s}
			tc.during = func() { s.mutate(rng, mbs...); s.syncAll() }
			tc.bootstrap()
			round := func() { c.round(); tc.poll(); early.poll() }
			check := func(when string) {
				c.assertEqualsExchange(when)
				tc.assertEqualsExchange(when)
				early.assertEqualsExchange(when)
			}
			round()
			check("after the bootstrap")
			if early.announced != len(mbs) {
				t.Fatalf("the early tenant consumer saw %d mailboxSynced, want one per mailbox (%d)", early.announced, len(mbs))
			}
			for range 3 {
				s.mutate(rng, mbs...)
				s.syncAll()
				round()
			}
			check("after steady rounds")

			// The consumer stops reading; its unread changes outlive the
			// retention and go: its next read is a 410, and it resyncs.
			s.mutate(rng, mbs...)
			s.syncAll()
			s.clock.Advance(mirrorRetention + time.Hour)
			s.mutate(rng, mbs...)
			s.syncAll() // bolt drops the old changes on this append
			s.expire()
			s.clock.Advance(time.Minute) // past DynamoDB's gap timeout
			round()
			if c.gones == 0 || tc.gones == 0 || early.gones == 0 {
				t.Fatalf("reads answered 410 %d times for the mailbox consumer, %d and %d for the tenant consumers after the retention passed; want all", c.gones, tc.gones, early.gones)
			}
			check("after the 410 resync")

			// Removal: the tenant feed announces a delete per item.
			removed := mbs[0]
			tenantCursor := ""
			for {
				var p struct {
					Changes    []domain.Change `json:"changes"`
					NextCursor string          `json:"nextCursor"`
				}
				q := url.Values{"limit": {"1000"}}
				if tenantCursor != "" {
					q.Set("cursor", tenantCursor)
				}
				s.get("/tenants/acme/changes?"+q.Encode(), &p, 200)
				if len(p.Changes) == 0 {
					break
				}
				tenantCursor = p.NextCursor
			}
			held := len(c.items[removed])
			s.e.must(req{method: "DELETE", path: "/tenants/acme/mailboxes/" + removed}, 204)
			var after struct {
				Changes []domain.Change `json:"changes"`
			}
			s.get("/tenants/acme/changes?cursor="+url.QueryEscape(tenantCursor)+"&limit=1000", &after, 200)
			if len(after.Changes) != held {
				t.Fatalf("removal of %s appended %d changes, the mirror held %d items", removed, len(after.Changes), held)
			}
			for _, ch := range after.Changes {
				if ch.Kind != domain.ChangeDelete || ch.Mailbox != removed || ch.ItemKind == "" {
					t.Fatalf("removal appended %s of %s (kind %q) in %s", ch.Kind, ch.ItemID, ch.ItemKind, ch.Mailbox)
				}
			}
			s.mutate(rng, mbs[1:]...)
			s.syncAll()
			round()
			if c.removals != 1 {
				t.Fatalf("the mirror saw %d removals, want 1", c.removals)
			}
			check("after the removal")

			// Exchange changes the removed mailbox meanwhile; adding it
			// again syncs it from scratch, and the mirror bootstraps it.
			s.mutate(rng, removed)
			s.e.addMailboxes("acme", removed)
			var empty struct {
				FeedCursor string `json:"feedCursor"`
			}
			s.get(mailboxPath(removed, "items", nil), &empty, 200)
			mailboxHead := empty.FeedCursor
			s.syncAll()
			s.syncAll() // a second sync after the initial one announces nothing more
			var feed struct {
				Changes []domain.Change `json:"changes"`
			}
			// The full sync is in the mailbox feed as a create per item;
			// the tenant feed has one mailboxSynced of the mailbox, and
			// none of its items.
			s.get("/tenants/acme/changes?cursor="+url.QueryEscape(tenantCursor)+"&limit=1000", &feed, 200)
			announced, items := 0, 0
			for _, ch := range feed.Changes {
				switch {
				case ch.Mailbox != removed || ch.Kind == domain.ChangeDelete:
				case ch.Kind == domain.ChangeMailboxSynced:
					announced++
				default:
					items++
				}
			}
			if announced != 1 || items != 0 {
				t.Fatalf("re-adding %s put %d mailboxSynced and %d item changes in the tenant feed; want 1 and 0", removed, announced, items)
			}
			var mfeed struct {
				Changes []domain.Change `json:"changes"`
			}
			s.get(mailboxPath(removed, "changes", url.Values{"cursor": {mailboxHead}, "limit": {"1000"}}), &mfeed, 200)
			creates := 0
			for _, ch := range mfeed.Changes {
				if ch.Kind == domain.ChangeCreate {
					creates++
				}
			}
			if want := len(s.simState(removed)); creates != want {
				t.Fatalf("re-adding %s put %d creates in its mailbox feed, Exchange holds %d items", removed, creates, want)
			}
			round()
			s.mutate(rng, mbs...)
			s.syncAll()
			round()
			check("at the end")
			t.Logf("%s: mailbox consumer %d bootstraps, %d resyncs after 410, %d removals; tenant consumer %d bootstraps, %d resyncs after 410, %d mailboxSynced; the early one %d mailboxSynced; %d items mirrored",
				storeKind, c.bootstraps, c.gones, c.removals, tc.bootstraps, tc.gones, tc.announced, early.announced, len(c.items[mbs[0]])+len(c.items[mbs[1]])+len(c.items[mbs[2]]))
		})
	}
}

// tenantConsumer mirrors the whole tenant through the tenant listing and
// the tenant feed: a removal arrives as deletes, a mailbox's initial sync
// as one mailboxSynced, on which it lists that mailbox.
type tenantConsumer struct {
	s                            *mirrorStack
	items                        map[string]map[string]domain.Item // mailbox → item id → item
	cursor                       string                            // tenant feed cursor
	during                       func()
	bootstraps, gones, announced int
}

// listMailbox is what the docs tell a tenant consumer to do on a
// mailboxSynced: list the mailbox and replace what it holds of it; drop it
// if the mailbox is gone (404) or in its initial sync again (its next
// mailboxSynced is still to come).
func (c *tenantConsumer) listMailbox(m string) {
	c.announced++
	held := map[string]domain.Item{}
	cursor := ""
	for page := 0; ; page++ {
		q := url.Values{"limit": {"10"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var p struct {
			Items       []domain.Item `json:"items"`
			NextCursor  string        `json:"nextCursor"`
			InitialSync bool          `json:"initialSync"`
		}
		if c.s.get(mailboxPath(m, "items", q), &p, 200, 404) == 404 || (page == 0 && p.InitialSync) {
			delete(c.items, m)
			return
		}
		for _, it := range p.Items {
			held[it.ID] = it
		}
		if p.NextCursor == "" {
			break
		}
		cursor = p.NextCursor
	}
	c.items[m] = held
}

func (c *tenantConsumer) bootstrap() {
	c.bootstraps++
	c.items = map[string]map[string]domain.Item{}
	cursor, feed := "", ""
	for page := 0; ; page++ {
		q := url.Values{"limit": {"9"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var p struct {
			Items []struct {
				Mailbox string      `json:"mailbox"`
				Item    domain.Item `json:"item"`
			} `json:"items"`
			NextCursor string `json:"nextCursor"`
			FeedCursor string `json:"feedCursor"`
		}
		c.s.get("/tenants/acme/items?"+q.Encode(), &p, 200)
		if page > 0 && p.FeedCursor != feed {
			c.s.t.Fatalf("tenant listing: page %d answers feedCursor %q, the first %q", page, p.FeedCursor, feed)
		}
		feed = p.FeedCursor
		for _, it := range p.Items {
			c.upsert(it.Mailbox, it.Item)
		}
		if p.NextCursor == "" {
			break
		}
		cursor = p.NextCursor
		if page == 0 && c.during != nil {
			during := c.during
			c.during = nil
			during()
		}
	}
	c.cursor = feed
	c.poll()
}

func (c *tenantConsumer) upsert(m string, it domain.Item) {
	if c.items[m] == nil {
		c.items[m] = map[string]domain.Item{}
	}
	c.items[m][it.ID] = it
}

func (c *tenantConsumer) poll() {
	for {
		q := url.Values{"limit": {"25"}}
		if c.cursor != "" {
			q.Set("cursor", c.cursor)
		}
		var p struct {
			Changes    []domain.Change `json:"changes"`
			NextCursor string          `json:"nextCursor"`
		}
		if c.s.get("/tenants/acme/changes?"+q.Encode(), &p, 200, 410) == 410 {
			c.gones++
			c.bootstrap()
			return
		}
		for _, ch := range p.Changes {
			switch ch.Kind {
			case domain.ChangeDelete:
				delete(c.items[ch.Mailbox], ch.ItemID)
			case domain.ChangeMailboxSynced:
				c.listMailbox(ch.Mailbox)
			default:
				c.upsert(ch.Mailbox, *ch.Item)
			}
		}
		c.cursor = p.NextCursor
		if len(p.Changes) == 0 {
			return
		}
	}
}

// assertEqualsExchange: registered mailboxes hold what Exchange holds,
// others nothing.
func (c *tenantConsumer) assertEqualsExchange(when string) {
	s := c.s
	s.t.Helper()
	reg := s.registered()
	for m, items := range c.items {
		if !slices.Contains(reg, m) && len(items) > 0 {
			s.t.Fatalf("%s: the tenant mirror holds %d items of %s, which is not registered", when, len(items), m)
		}
	}
	for _, m := range reg {
		got := map[string]string{}
		for id, it := range c.items[m] {
			got[id] = it.ChangeKey + " " + it.Subject
		}
		if want := s.simState(m); !maps.Equal(got, want) {
			s.t.Fatalf("%s: the tenant mirror of %s holds %d items, Exchange %d, or versions differ", when, m, len(got), len(want))
		}
	}
}
