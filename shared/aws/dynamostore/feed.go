package dynamostore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/platform/storeplan"
)

const (
	maxTxActions = 100
	// maxTxBytes keeps a transaction under DynamoDB's 4 MB request limit.
	maxTxBytes = 3 << 20
	// casAttempts bounds how often ApplyChanges re-plans after losing a
	// race (another apply of the same mailbox, or a reader that closed a
	// stale gap).
	casAttempts = 5
)

// itemRec is what ApplyChanges reads of a stored item: its write counter
// (the optimistic-concurrency condition) and its idempotency state.
type itemRec struct {
	n     int64
	state storeplan.ItemState
}

var errLostRace = errors.New("dynamostore: a concurrent writer or a gap-closing reader won")

// ApplyChanges upserts items and appends feed entries for the changes that
// are news; see the package documentation for why this is exactly-once.
// A batch larger than one transaction is stored chunk by chunk, so an error
// may leave the earlier chunks stored: applying the batch again is safe.
func (s *Store) ApplyChanges(ctx context.Context, tenantID, mailbox string, changes []domain.ItemChange) (int, error) {
	if err := storeplan.Validate(tenantID, mailbox, changes); err != nil {
		return 0, err
	}
	if err := checkTenantID(tenantID); err != nil {
		return 0, err
	}
	if len(changes) == 0 {
		return 0, nil
	}
	appended := 0
	for attempt := 1; ; attempt++ {
		items, index, initial, err := s.readItems(ctx, tenantID, mailbox, changes)
		if err != nil {
			return appended, err
		}
		stored := make(map[string]storeplan.ItemState, len(items))
		for id, r := range items {
			stored[id] = r.state
		}
		entries, _, aliases := storeplan.PlanIndexed(changes, stored, index)
		lost := false
		for len(entries) > 0 {
			n, err := s.commitChunk(ctx, tenantID, mailbox, initial, items, index, entries)
			if errors.Is(err, errLostRace) {
				lost = true
				break
			}
			if err != nil {
				return appended, err
			}
			appended += n
			entries = entries[n:]
		}
		if !lost && len(aliases) > 0 {
			err := s.writeAliases(ctx, mailboxPK(tenantID, mailbox), index, aliases)
			if err != nil && !errors.Is(err, errLostRace) {
				return appended, err
			}
			lost = err != nil
		}
		if !lost {
			return appended, nil
		}
		if attempt == casAttempts {
			return appended, &domain.Error{Code: domain.CodeUnavailable,
				Message: fmt.Sprintf("items of mailbox %s are being changed concurrently; try again", mailbox), Err: errLostRace}
		}
		// A lost race with a concurrent writer of the same items: wait a
		// few jittered milliseconds, but never past the caller's deadline.
		select {
		case <-ctx.Done():
			return appended, ctx.Err()
		case <-time.After(time.Duration(attempt*(1+rand.IntN(20))) * time.Millisecond):
		}
	}
}

// readItems reads the stored state of the batch's items, the index
// entries of its immutable ids and whether the mailbox is in its initial
// sync (its fence item, initialsync.go), strongly consistent: one
// BatchGetItem, and a second for the items the index names that the batch
// does not (a removal by immutable id, a move that changed the item's id).
func (s *Store) readItems(ctx context.Context, tenantID, mailbox string, changes []domain.ItemChange) (map[string]itemRec, map[string]string, bool, error) {
	items := map[string]itemRec{}
	index := map[string]string{}
	mpk := mailboxPK(tenantID, mailbox)
	var keys []item
	seen := map[string]bool{}
	for _, c := range changes {
		if c.ItemID != "" && !seen[c.ItemID] {
			seen[c.ItemID] = true
			keys = append(keys, key(mpk, "I#"+c.ItemID))
		}
	}
	for _, x := range storeplan.ImmutableIDs(changes) {
		keys = append(keys, aliasKey(mpk, x))
	}
	keys = append(keys, fenceKey(tenantID, mailbox))
	got, err := s.batchGet(ctx, keys, true, "sk, #n, #ks, #del, #fld, #knd, #to, #ini", map[string]string{"#n": "n", "#ks": "ks", "#del": "del", "#fld": "fld", "#knd": "knd", "#to": "to", "#ini": initialAttr})
	if err != nil {
		return nil, nil, false, fmt.Errorf("dynamostore: read items: %w", err)
	}
	var more []item
	initial := false
	for _, it := range got {
		if x, ok := strings.CutPrefix(getS(it, "sk"), aliasPrefix); ok {
			index[x] = getS(it, "to")
		}
		if getS(it, "sk") == fenceSK {
			_, initial = it[initialAttr]
		}
	}
	for _, id := range storeplan.ItemIDs(changes, index) {
		if !seen[id] {
			seen[id] = true
			more = append(more, key(mpk, "I#"+id))
		}
	}
	if len(more) > 0 {
		got2, err := s.batchGet(ctx, more, true, "sk, #n, #ks, #del, #fld, #knd", map[string]string{"#n": "n", "#ks": "ks", "#del": "del", "#fld": "fld", "#knd": "knd"})
		if err != nil {
			return nil, nil, false, fmt.Errorf("dynamostore: read items: %w", err)
		}
		got = append(got, got2...)
	}
	for _, it := range got {
		if !strings.HasPrefix(getS(it, "sk"), "I#") {
			continue
		}
		rec := itemRec{n: getN(it, "n")}
		if l, ok := it["ks"].(*types.AttributeValueMemberL); ok {
			for _, v := range l.Value {
				if s, ok := v.(*types.AttributeValueMemberS); ok {
					rec.state.Keys = append(rec.state.Keys, s.Value)
				}
			}
		}
		if b, ok := it["del"].(*types.AttributeValueMemberBOOL); ok {
			rec.state.Deleted = b.Value
		}
		rec.state.Folder = getS(it, "fld")
		rec.state.Kind = domain.ItemKind(getS(it, "knd"))
		items[getS(it, "sk")[len("I#"):]] = rec
	}
	return items, index, initial, nil
}

// allocate takes k sequence numbers from a feed head with an atomic ADD
// (no read, no condition, so concurrent writers never conflict on it) and
// returns the first.
func (s *Store) allocate(ctx context.Context, head item, k int) (int64, error) {
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: s.table,
		Key:       head,
		// The feed's generation is made with its first number (see
		// feedHead), in the same write, so no number exists without it.
		UpdateExpression:          aws.String("ADD #n :k SET #g = if_not_exists(#g, :g)"),
		ExpressionAttributeNames:  map[string]string{"#n": "n", "#g": "gen"},
		ExpressionAttributeValues: item{":k": num(int64(k)), ":g": str(storeplan.NewFeedGeneration())},
		ReturnValues:              types.ReturnValueUpdatedNew,
	})
	if err != nil {
		return 0, fmt.Errorf("dynamostore: allocate feed numbers: %w", err)
	}
	return getN(out.Attributes, "n") - int64(k) + 1, nil
}

// feedEntry is a stored feed entry; at (unix ms) lets readers judge the age
// of a gap before it.
func (s *Store) feedEntry(pk string, seq int64, cursor string, ch domain.Change) (item, error) {
	ch.Seq = cursor
	d, err := json.Marshal(ch)
	if err != nil {
		return nil, err
	}
	it := key(pk, seqSK(seq))
	it["d"] = str(string(d))
	it["at"] = num(ch.At.UnixMilli())
	s.expireFeedItem(it, ch.At)
	return it, nil
}

// chunkSize is how many of entries fit in one transaction with their items,
// each entry written to feeds feeds (2, or 1 in the initial sync).
func chunkSize(entries []storeplan.Entry, feeds int) int {
	itemsSeen := map[string]bool{}
	aliasSeen := map[string]bool{}
	actions, size := 1, 0 // the fence check (items.go)
	for i, e := range entries {
		add := feeds
		if !itemsSeen[e.ItemID] {
			add++
		}
		if e.Alias != "" && !aliasSeen[e.Alias] {
			add++
		}
		bytes := 1024
		if e.Item != nil {
			b, _ := json.Marshal(e.Item)
			bytes += (1 + feeds) * len(b) // the item and its feed copies
		}
		if i > 0 && (actions+add > maxTxActions || size+bytes > maxTxBytes) {
			return i
		}
		itemsSeen[e.ItemID] = true
		if e.Alias != "" {
			aliasSeen[e.Alias] = true
		}
		actions += add
		size += bytes
	}
	return len(entries)
}

// commitChunk numbers and writes as many of entries as fit in one
// transaction, returns how many, and updates items and index to what it
// wrote. In the mailbox's initial sync the entries take no tenant numbers
// and go to the mailbox feed only.
func (s *Store) commitChunk(ctx context.Context, tenantID, mailbox string, initial bool, items map[string]itemRec, index map[string]string, entries []storeplan.Entry) (int, error) {
	feeds := 2
	if initial {
		feeds = 1
	}
	n := chunkSize(entries, feeds)
	var tfirst int64 // 0: no tenant entries
	if !initial {
		var err error
		if tfirst, err = s.allocate(ctx, tenantHead(tenantID), n); err != nil {
			return 0, err
		}
	}
	mfirst, err := s.allocate(ctx, mailboxHead(tenantID, mailbox), n)
	if err != nil {
		return 0, err
	}
	return s.writeChunk(ctx, tenantID, mailbox, items, index, entries[:n], tfirst, mfirst)
}

// writeChunk writes entries under the numbers from tfirst (tenant feed) and
// mfirst (mailbox feed) in one transaction, with the index entries they
// carry (index: as stored, the condition of each).
func (s *Store) writeChunk(ctx context.Context, tenantID, mailbox string, items map[string]itemRec, index map[string]string, entries []storeplan.Entry, tfirst, mfirst int64) (int, error) {
	tpk, mpk := tenantPK(tenantID), mailboxPK(tenantID, mailbox)
	n := len(entries)
	// Stamped after allocation: a gap's numbers are older than any entry
	// after it, which is what readers rely on to judge a gap's age.
	now := s.clock.Now().UTC()
	var actions, feed []types.TransactWriteItem
	last := map[string]storeplan.Entry{} // item id → its last entry in this chunk
	var order []string
	notExists := aws.String("attribute_not_exists(pk)")
	for i, e := range entries {
		if _, ok := last[e.ItemID]; !ok {
			order = append(order, e.ItemID)
		}
		last[e.ItemID] = e
		ch := domain.Change{TenantID: tenantID, Mailbox: mailbox, Kind: e.Kind, ItemID: e.ItemID, ItemKind: e.State.Kind, Item: e.Item, At: now}
		mseq := mfirst + int64(i)
		if tfirst > 0 {
			tseq := tfirst + int64(i)
			te, err := s.feedEntry(tpk, tseq, "t"+strconv.FormatInt(tseq, 10), ch)
			if err != nil {
				return 0, err
			}
			// The condition loses to a reader that closed this number as a gap.
			feed = append(feed, types.TransactWriteItem{Put: &types.Put{TableName: s.table, Item: te, ConditionExpression: notExists}})
		}
		me, err := s.feedEntry(mpk, mseq, "m"+strconv.FormatInt(mseq, 10), ch)
		if err != nil {
			return 0, err
		}
		feed = append(feed, types.TransactWriteItem{Put: &types.Put{TableName: s.table, Item: me, ConditionExpression: notExists}})
	}
	for _, id := range order {
		e := last[id]
		prev, existed := items[id]
		it := key(mpk, "I#"+id)
		it["n"] = num(prev.n + 1)
		ks := make([]types.AttributeValue, len(e.State.Keys))
		for i, k := range e.State.Keys {
			ks[i] = str(k)
		}
		it["ks"] = &types.AttributeValueMemberL{Value: ks}
		it["del"] = &types.AttributeValueMemberBOOL{Value: e.State.Deleted}
		if e.State.Folder != "" {
			it["fld"] = str(e.State.Folder)
		}
		if e.State.Kind != "" {
			it["knd"] = str(string(e.State.Kind))
		}
		if e.Item != nil {
			d, err := json.Marshal(e.Item)
			if err != nil {
				return 0, err
			}
			it["d"] = str(string(d))
		}
		p := &types.Put{TableName: s.table, Item: it}
		if existed {
			p.ConditionExpression = aws.String("#n = :n")
			p.ExpressionAttributeNames = map[string]string{"#n": "n"}
			p.ExpressionAttributeValues = item{":n": num(prev.n)}
		} else {
			p.ConditionExpression = notExists
		}
		actions = append(actions, types.TransactWriteItem{Put: p})
	}
	aliases := storeplan.EntryAliases(entries) // one action per key in a transaction
	for x, id := range aliases {
		actions = append(actions, types.TransactWriteItem{Put: s.aliasPut(mpk, index, x, id)})
	}
	actions = append(actions, feed...)
	actions = append(actions, types.TransactWriteItem{ConditionCheck: s.fenceCheck(tenantID, mailbox, mfirst, tfirst)})
	_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: actions})
	if err != nil {
		var tce *types.TransactionCanceledException
		var tconf *types.TransactionConflictException
		if errors.As(err, &tce) || errors.As(err, &tconf) {
			// Nothing of the transaction was written; close the numbers we
			// took so readers need not wait for them to age.
			if tfirst > 0 {
				s.closeGaps(ctx, tpk, tfirst, n)
			}
			s.closeGaps(ctx, mpk, mfirst, n)
			return 0, errLostRace
		}
		return 0, fmt.Errorf("dynamostore: apply changes: %w", err)
	}
	for _, id := range order {
		items[id] = itemRec{n: items[id].n + 1, state: last[id].State}
	}
	maps.Copy(index, aliases)
	return n, nil
}

// closeGap writes a gap marker at seq unless an entry is there; it reports
// whether the number is now closed (false: an entry won the race).
func (s *Store) closeGap(ctx context.Context, pk string, seq int64) (bool, error) {
	it := key(pk, seqSK(seq))
	it["gap"] = &types.AttributeValueMemberBOOL{Value: true}
	now := s.clock.Now()
	it["at"] = num(now.UnixMilli())
	s.expireFeedItem(it, now)
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: s.table, Item: it, ConditionExpression: aws.String("attribute_not_exists(pk)")})
	if isConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("dynamostore: close feed gap: %w", err)
	}
	return true, nil
}

// closeGaps closes n numbers from first, best effort: a number left open
// is closed later by a reader.
func (s *Store) closeGaps(ctx context.Context, pk string, first int64, n int) {
	for i := 0; i < n; i++ {
		if _, err := s.closeGap(ctx, pk, first+int64(i)); err != nil {
			return
		}
	}
}

// ReadFeed returns the changes after q.Cursor in order. It walks the
// numbers after the cursor one by one and never jumps a missing one: a gap
// younger than the gap timeout ends the page (its writer is probably about
// to commit); an older one is closed with a gap marker, conditional on the
// number still being free, which also makes a late writer's transaction
// fail so that writer re-plans under new numbers.
func (s *Store) ReadFeed(ctx context.Context, q domain.FeedQuery) ([]domain.Change, string, error) {
	if err := checkTenantID(q.TenantID); err != nil {
		return nil, "", err
	}
	pk, head := tenantPK(q.TenantID), tenantHead(q.TenantID)
	if q.Mailbox != "" {
		pk, head = mailboxPK(q.TenantID, q.Mailbox), mailboxHead(q.TenantID, q.Mailbox)
	}
	gen, last, err := s.feedHead(ctx, head)
	if err != nil {
		return nil, "", err
	}
	pos, err := storeplan.DecodeFeedCursor(q.Cursor, q.TenantID, q.Mailbox, gen, uint64(max(last, 0)))
	if err != nil {
		return nil, "", err
	}
	if gen == "" {
		// No feed yet when the head was read. A first writer may have
		// begun since, but its entries belong to a generation this read
		// did not see: cursors made here would name none and be refused
		// on the next read. The next read sees the head and them.
		return nil, q.Cursor, nil
	}
	after := int64(pos) // at most the head's number
	limit := storeplan.Limit(q.Limit)
	var out []domain.Change
	expect := after + 1
	// prevAt is the time of the last change read (or the cursor's), for
	// telling an abandoned gap from an expired change under retention.
	var prevAt time.Time
	if s.feedRetention > 0 {
		start, at, wait, err := s.retainedStart(ctx, pk, q.Cursor, after)
		if err != nil || wait {
			return nil, q.Cursor, err
		}
		expect, prevAt = start, at
	}
	for len(out) < limit {
		want := limit - len(out) + 1
		var page []item
		err := s.queryAll(ctx, &dynamodb.QueryInput{
			KeyConditionExpression:    aws.String("pk = :pk AND sk BETWEEN :lo AND :hi"),
			ExpressionAttributeValues: item{":pk": str(pk), ":lo": str(seqSK(expect)), ":hi": str("F#99999999999999999999")},
			Limit:                     aws.Int32(int32(want)),
			ConsistentRead:            aws.Bool(true),
		}, func(it item) bool {
			page = append(page, it)
			return len(page) < want
		})
		if err != nil {
			return nil, "", fmt.Errorf("dynamostore: read feed: %w", err)
		}
		requery, stop := false, false
		for _, it := range page {
			if len(out) == limit {
				stop = true
				break
			}
			seq, _ := strconv.ParseInt(getS(it, "sk")[len("F#"):], 10, 64)
			if seq != expect {
				// Numbers expect..seq-1 were taken before seq was, so they
				// are at least as old as seq's entry.
				if s.clock.Now().Sub(time.UnixMilli(getN(it, "at"))) < s.gapTimeout {
					stop = true
					break
				}
				// TTL deletion keeps no order: the missing numbers may be
				// changes deleted before older ones were. A reader with a
				// cursor gets what it read so far, then Gone.
				if q.Cursor != "" && s.mayHaveExpired(prevAt) {
					if len(out) > 0 {
						stop = true
						break
					}
					return nil, q.Cursor, s.cursorGone(q.Cursor)
				}
				for ; expect < seq; expect++ {
					closed, err := s.closeGap(ctx, pk, expect)
					if err != nil {
						return nil, "", err
					}
					if !closed { // its entry arrived meanwhile: read it
						requery = true
						break
					}
				}
				if requery {
					break
				}
			}
			expect++
			if _, ok := it["gap"]; ok {
				continue
			}
			var ch domain.Change
			if err := json.Unmarshal([]byte(getS(it, "d")), &ch); err != nil {
				return nil, "", fmt.Errorf("dynamostore: feed entry %s: %w", getS(it, "sk"), err)
			}
			ch.Seq = storeplan.EncodeFeedCursor(q.TenantID, q.Mailbox, gen, uint64(seq))
			out = append(out, ch)
			prevAt = time.UnixMilli(getN(it, "at"))
		}
		if stop || (!requery && len(page) < want) {
			break
		}
	}
	next := q.Cursor
	if len(out) > 0 {
		next = out[len(out)-1].Seq
	}
	return out, next, nil
}

// feedHead reads a feed's generation and last number taken (strongly
// consistent: a cursor just returned must not look past the head). A head
// stored before generations existed gets one here, once (readers write
// already: gap markers). No head: no feed yet, generation "".
func (s *Store) feedHead(ctx context.Context, head item) (gen string, last int64, err error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: s.table, Key: head, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return "", 0, fmt.Errorf("dynamostore: read feed head: %w", err)
	}
	if out.Item == nil {
		return "", 0, nil
	}
	if gen = getS(out.Item, "gen"); gen != "" {
		return gen, getN(out.Item, "n"), nil
	}
	up, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: s.table, Key: head,
		UpdateExpression:          aws.String("SET #g = if_not_exists(#g, :g)"),
		ConditionExpression:       aws.String("attribute_exists(pk)"),
		ExpressionAttributeNames:  map[string]string{"#g": "gen"},
		ExpressionAttributeValues: item{":g": str(storeplan.NewFeedGeneration())},
		ReturnValues:              types.ReturnValueAllNew,
	})
	if isConditionFailed(err) { // purged meanwhile
		return "", 0, nil
	}
	if err != nil {
		return "", 0, fmt.Errorf("dynamostore: give the feed a generation: %w", err)
	}
	return getS(up.Attributes, "gen"), getN(up.Attributes, "n"), nil
}
