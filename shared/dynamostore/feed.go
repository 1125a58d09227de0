package dynamostore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/internal/storeplan"
)

const (
	maxTxActions = 100
	// maxTxBytes keeps a transaction under DynamoDB's 4 MB request limit.
	maxTxBytes = 3 << 20
	// casAttempts bounds how often ApplyChanges re-plans after losing a
	// race for a feed head.
	casAttempts = 10
)

// itemRec is what ApplyChanges reads of a stored item: its write counter
// (the optimistic-concurrency condition) and its idempotency state.
type itemRec struct {
	n     int64
	state storeplan.ItemState
}

// snapshot is what one planning round read.
type snapshot struct {
	tenantHead, mailboxHead int64
	items                   map[string]itemRec
}

// ApplyChanges upserts items and appends feed entries for the changes that
// are news; see the package documentation for why this is exactly-once.
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
		snap, err := s.readSnapshot(ctx, tenantID, mailbox, changes)
		if err != nil {
			return appended, err
		}
		stored := make(map[string]storeplan.ItemState, len(snap.items))
		for id, r := range snap.items {
			stored[id] = r.state
		}
		entries, _ := storeplan.Plan(changes, stored)
		if len(entries) == 0 {
			return appended, nil
		}
		lost := false
		for len(entries) > 0 {
			n, err := s.commitChunk(ctx, tenantID, mailbox, &snap, entries)
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
		if !lost {
			return appended, nil
		}
		if attempt == casAttempts {
			return appended, &domain.Error{Code: domain.CodeUnavailable,
				Message: fmt.Sprintf("change feed of tenant %s is busy; try again", tenantID), Err: errLostRace}
		}
		time.Sleep(time.Duration(attempt) * time.Duration(1+rand.IntN(10)) * time.Millisecond)
	}
}

var errLostRace = errors.New("dynamostore: another writer moved the feed head or the item")

// readSnapshot reads both heads and the batch's items, strongly consistent.
func (s *Store) readSnapshot(ctx context.Context, tenantID, mailbox string, changes []domain.ItemChange) (snapshot, error) {
	snap := snapshot{items: map[string]itemRec{}}
	mpk := mailboxPK(tenantID, mailbox)
	keys := []item{key(tenantPK(tenantID), "H"), key(mpk, "H")}
	seen := map[string]bool{}
	for _, c := range changes {
		if !seen[c.ItemID] {
			seen[c.ItemID] = true
			keys = append(keys, key(mpk, "I#"+c.ItemID))
		}
	}
	for len(keys) > 0 {
		n := min(len(keys), 100)
		req := map[string]types.KeysAndAttributes{*s.table: {
			Keys: keys[:n], ConsistentRead: aws.Bool(true),
			ProjectionExpression:     aws.String("pk, sk, #n, #ks, #del"),
			ExpressionAttributeNames: map[string]string{"#n": "n", "#ks": "ks", "#del": "del"},
		}}
		keys = keys[n:]
		// Unprocessed keys are part of BatchGetItem's answer: ask again.
		for len(req) > 0 {
			out, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
			if err != nil {
				return snap, fmt.Errorf("dynamostore: read items: %w", err)
			}
			for _, it := range out.Responses[*s.table] {
				sk := getS(it, "sk")
				switch {
				case sk == "H" && getS(it, "pk") == mpk:
					snap.mailboxHead = getN(it, "n")
				case sk == "H":
					snap.tenantHead = getN(it, "n")
				default:
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
					snap.items[sk[len("I#"):]] = rec
				}
			}
			req = out.UnprocessedKeys
		}
	}
	return snap, nil
}

// feedEntry is a stored feed entry.
func feedEntry(pk string, seq int64, cursor string, ch domain.Change) (item, int, error) {
	ch.Seq = cursor
	d, err := json.Marshal(ch)
	if err != nil {
		return nil, 0, err
	}
	it := key(pk, seqSK(seq))
	it["d"] = str(string(d))
	return it, len(d), nil
}

// headPut writes a feed head conditioned on the value read.
func (s *Store) headPut(pk string, old, new int64) types.TransactWriteItem {
	it := key(pk, "H")
	it["n"] = num(new)
	p := &types.Put{TableName: s.table, Item: it, ExpressionAttributeNames: map[string]string{"#n": "n"}}
	if old == 0 {
		p.ConditionExpression = aws.String("attribute_not_exists(pk)")
		p.ExpressionAttributeNames = nil
	} else {
		p.ConditionExpression = aws.String("#n = :old")
		p.ExpressionAttributeValues = item{":old": num(old)}
	}
	return types.TransactWriteItem{Put: p}
}

// commitChunk writes as many of entries as fit in one transaction and
// returns how many it wrote, updating snap to what it wrote.
func (s *Store) commitChunk(ctx context.Context, tenantID, mailbox string, snap *snapshot, entries []storeplan.Entry) (int, error) {
	tpk, mpk := tenantPK(tenantID), mailboxPK(tenantID, mailbox)
	now := s.clock.Now().UTC()
	var feed []types.TransactWriteItem
	last := map[string]storeplan.Entry{} // item id → its last entry in this chunk
	var order []string
	size, n := 0, 0
	for _, e := range entries {
		newItem := 0
		if _, ok := last[e.ItemID]; !ok {
			newItem = 1
		}
		ch := domain.Change{TenantID: tenantID, Mailbox: mailbox, Kind: e.Kind, ItemID: e.ItemID, Item: e.Item, At: now}
		tseq, mseq := snap.tenantHead+int64(n)+1, snap.mailboxHead+int64(n)+1
		te, tsize, err := feedEntry(tpk, tseq, "t"+strconv.FormatInt(tseq, 10), ch)
		if err != nil {
			return 0, err
		}
		me, _, err := feedEntry(mpk, mseq, "m"+strconv.FormatInt(mseq, 10), ch)
		if err != nil {
			return 0, err
		}
		add := 3 * tsize // two feed copies and the item
		if n > 0 && (2+len(order)+newItem+len(feed)+2 > maxTxActions || size+add > maxTxBytes) {
			break
		}
		size += add
		if newItem == 1 {
			order = append(order, e.ItemID)
		}
		last[e.ItemID] = e
		notExists := aws.String("attribute_not_exists(pk)")
		feed = append(feed,
			types.TransactWriteItem{Put: &types.Put{TableName: s.table, Item: te, ConditionExpression: notExists}},
			types.TransactWriteItem{Put: &types.Put{TableName: s.table, Item: me, ConditionExpression: notExists}})
		n++
	}
	actions := []types.TransactWriteItem{
		s.headPut(tpk, snap.tenantHead, snap.tenantHead+int64(n)),
		s.headPut(mpk, snap.mailboxHead, snap.mailboxHead+int64(n)),
	}
	for _, id := range order {
		e := last[id]
		prev, existed := snap.items[id]
		it := key(mpk, "I#"+id)
		it["n"] = num(prev.n + 1)
		ks := make([]types.AttributeValue, len(e.State.Keys))
		for i, k := range e.State.Keys {
			ks[i] = str(k)
		}
		it["ks"] = &types.AttributeValueMemberL{Value: ks}
		it["del"] = &types.AttributeValueMemberBOOL{Value: e.State.Deleted}
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
			p.ConditionExpression = aws.String("attribute_not_exists(pk)")
		}
		actions = append(actions, types.TransactWriteItem{Put: p})
	}
	actions = append(actions, feed...)
	_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: actions})
	if err != nil {
		var tce *types.TransactionCanceledException
		var tconf *types.TransactionConflictException
		if errors.As(err, &tce) {
			for _, r := range tce.CancellationReasons {
				if c := aws.ToString(r.Code); c == "ConditionalCheckFailed" || c == "TransactionConflict" {
					return 0, errLostRace
				}
			}
		}
		if errors.As(err, &tconf) {
			return 0, errLostRace
		}
		return 0, fmt.Errorf("dynamostore: apply changes: %w", err)
	}
	snap.tenantHead += int64(n)
	snap.mailboxHead += int64(n)
	for _, id := range order {
		snap.items[id] = itemRec{n: snap.items[id].n + 1, state: last[id].State}
	}
	return n, nil
}

// ReadFeed returns the changes after q.Cursor in order: only the gap-free
// run that follows the cursor, so an entry not yet visible is never jumped.
func (s *Store) ReadFeed(ctx context.Context, q domain.FeedQuery) ([]domain.Change, string, error) {
	pk, prefix := tenantPK(q.TenantID), "t"
	if q.Mailbox != "" {
		pk, prefix = mailboxPK(q.TenantID, q.Mailbox), "m"
	}
	var after int64
	if q.Cursor != "" {
		n, err := strconv.ParseInt(q.Cursor[min(1, len(q.Cursor)):], 10, 64)
		if err != nil || n < 0 || q.Cursor[:1] != prefix {
			what := "tenant"
			if prefix == "m" {
				what = "mailbox"
			}
			return nil, "", domain.Invalid("cursor", "cursor is not one this %s feed returned", what)
		}
		after = n
	}
	limit := storeplan.Limit(q.Limit)
	var out []domain.Change
	expect := after + 1
	var derr error
	err := s.queryAll(ctx, &dynamodb.QueryInput{
		KeyConditionExpression:    aws.String("pk = :pk AND sk BETWEEN :lo AND :hi"),
		ExpressionAttributeValues: item{":pk": str(pk), ":lo": str(seqSK(after + 1)), ":hi": str("F#99999999999999999999")},
		Limit:                     aws.Int32(int32(limit)),
		ConsistentRead:            aws.Bool(true),
	}, func(it item) bool {
		if len(out) == limit || getS(it, "sk") != seqSK(expect) {
			return false
		}
		var ch domain.Change
		if derr = json.Unmarshal([]byte(getS(it, "d")), &ch); derr != nil {
			return false
		}
		out = append(out, ch)
		expect++
		return true
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		return nil, "", fmt.Errorf("dynamostore: read feed: %w", err)
	}
	next := q.Cursor
	if len(out) > 0 {
		next = out[len(out)-1].Seq
	}
	return out, next, nil
}
