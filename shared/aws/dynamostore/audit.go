package dynamostore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/platform/storeplan"
)

// Audit packing: the entries of one AppendAudit call for one tenant are
// stored several to an item, because a write is billed per item (1 WRU per
// started KB) and the sync worker appends one entry per job, a batch of
// jobs at a time. An item holds at most auditPackEntries entries and about
// auditPackBytes of JSON (before compression), so a write stays small.
// An item's entries also span at most auditPackSpan, so a listing that
// ends at a time (until) stops reading at the items keyed auditPackSpan
// after it (items written before the bound came from one call's entries,
// whose times are those of one request or one batch of jobs).
const (
	auditPackEntries = 20
	auditPackBytes   = 3500
	auditPackSpan    = 15 * time.Minute
)

// auditScanItems bounds the items one filtered ListAudit reads (about
// 350 KB, some 90 read units): a filter that matches little answers a
// short page with a cursor rather than reading the whole retention.
const auditScanItems = 100

// packedAudit is an entry inside a packed item: the tenant is the
// partition's.
type packedAudit struct {
	Mailbox    string            `json:"m,omitempty"`
	Operation  string            `json:"o,omitempty"`
	AccessMode domain.AccessMode `json:"a,omitempty"`
	Result     string            `json:"r,omitempty"`
	At         time.Time         `json:"t"`
	RequestID  string            `json:"q,omitempty"`
}

// auditSK orders items by the time of their last (latest) entry, so an
// item holds no entry newer than its key: ListAudit's lower bound (now -
// retention) finds every item with a live entry, and an item's TTL (its
// key's time + retention) never deletes a live entry. The random tail keeps
// items of concurrent writers apart.
func auditSK(last time.Time) string {
	var r [8]byte
	rand.Read(r[:])
	return fmt.Sprintf("A#%020d#%s", last.UnixNano(), hex.EncodeToString(r[:]))
}

// AppendAudit stores entries, those of one tenant packed into as few items
// as the limits above allow (25 items per BatchWriteItem), with a TTL of
// the item's latest entry time plus the retention. Within a call, entries
// are kept in time order, equal times in the order given.
func (s *Store) AppendAudit(ctx context.Context, entries ...domain.AuditEntry) error {
	byTenant := map[string][]domain.AuditEntry{}
	var tenants []string
	for _, e := range entries {
		if err := checkTenantID(e.TenantID); err != nil {
			return err
		}
		if _, ok := byTenant[e.TenantID]; !ok {
			tenants = append(tenants, e.TenantID)
		}
		byTenant[e.TenantID] = append(byTenant[e.TenantID], e)
	}
	var reqs []types.WriteRequest
	for _, id := range tenants {
		es := byTenant[id]
		slices.SortStableFunc(es, func(a, b domain.AuditEntry) int { return a.At.Compare(b.At) })
		for len(es) > 0 {
			// The pack's JSON array is built from each entry's JSON, so an
			// entry is marshalled once, and its size is what is stored.
			pack, n := []byte{'['}, 0
			for _, e := range es {
				d, err := json.Marshal(packedAudit{Mailbox: e.Mailbox, Operation: e.Operation, AccessMode: e.AccessMode, Result: e.Result, At: e.At, RequestID: e.RequestID})
				if err != nil {
					return err
				}
				if n > 0 && (n == auditPackEntries || len(pack)+len(d)+1 > auditPackBytes || e.At.Sub(es[0].At) > auditPackSpan) {
					break
				}
				if n > 0 {
					pack = append(pack, ',')
				}
				pack, n = append(pack, d...), n+1
			}
			last := es[n-1].At
			es = es[n:]
			z, err := deflate(append(pack, ']'))
			if err != nil {
				return err
			}
			it := key(tenantPK(id), auditSK(last))
			it["z"] = bin(z)
			it["ttl"] = num(last.Add(s.retention).Unix())
			reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: it}})
		}
	}
	if err := s.batchWrite(ctx, reqs); err != nil {
		return fmt.Errorf("dynamostore: append audit: %w", err)
	}
	return nil
}

// auditItemEntries decodes an audit item (its entries, packed in z).
func auditItemEntries(tenantID string, it item) ([]domain.AuditEntry, error) {
	var pack []packedAudit
	if err := inflateJSON(getB(it, "z"), &pack); err != nil {
		return nil, err
	}
	out := make([]domain.AuditEntry, len(pack))
	for i, p := range pack {
		out[i] = domain.AuditEntry{TenantID: tenantID, Mailbox: p.Mailbox, Operation: p.Operation, AccessMode: p.AccessMode, Result: p.Result, At: p.At, RequestID: p.RequestID}
	}
	return out, nil
}

// Audit cursors name the item of the last entry returned and its index in
// the item: "<sk>|<index>".
func auditCursor(sk string, i int) string { return encodeCursor(sk + "|" + strconv.Itoa(i)) }

func decodeAuditCursor(c string) (sk string, index int, err error) {
	if c == "" {
		return "", -1, nil
	}
	raw, err := decodeCursor(c)
	if err != nil {
		return "", 0, err
	}
	sk, n, ok := strings.Cut(raw, "|")
	index, cerr := strconv.Atoi(n)
	if !ok || cerr != nil || index < 0 || !strings.HasPrefix(sk, "A#") {
		return "", 0, domain.Invalid("cursor", "cursor is not one this API returned")
	}
	return sk, index, nil
}

// ListAudit pages through a tenant's audit entries that match q, oldest
// first (by item, then by position in the item), leaving out those past
// the retention (TTL deletion can run days late, and an item's older
// entries expire before its key does). The time filters bound the key
// range; the others are checked per entry (entries are packed, out of a
// filter expression's reach), and a filtered listing reads at most
// auditScanItems items a call.
func (s *Store) ListAudit(ctx context.Context, tenantID string, q domain.AuditQuery) ([]domain.AuditEntry, string, error) {
	afterSK, afterIndex, err := decodeAuditCursor(q.Cursor)
	if err != nil {
		return nil, "", err
	}
	limit := storeplan.Limit(q.Limit)
	cutoff := s.clock.Now().Add(-s.retention)
	from := cutoff
	if q.Since.After(from) {
		from = q.Since
	}
	lo := fmt.Sprintf("A#%020d", from.UnixNano())
	hi := "A#~"
	if !q.Until.IsZero() {
		hi = fmt.Sprintf("A#%020d~", q.Until.Add(auditPackSpan).UnixNano())
	}
	if afterSK > lo {
		// The cursor's item is read again: it may hold more entries.
		lo = afterSK
	} else {
		afterSK = ""
	}
	filtered := q.Mailbox != "" || q.Operation != "" || !q.Since.IsZero() || !q.Until.IsZero()
	perPage := limit + 2 // every item holds at least one entry
	if filtered {
		perPage = auditScanItems
	}
	in := &dynamodb.QueryInput{
		KeyConditionExpression:    aws.String("pk = :pk AND sk BETWEEN :lo AND :hi"),
		ExpressionAttributeValues: item{":pk": str(tenantPK(tenantID)), ":lo": str(lo), ":hi": str(hi)},
		Limit:                     aws.Int32(int32(perPage)),
		ConsistentRead:            aws.Bool(true),
	}
	var out []domain.AuditEntry
	next := ""
	var lastSK string
	lastIndex, read := 0, 0
	var derr error
	err = s.queryAll(ctx, in, func(it item) bool {
		sk := getS(it, "sk")
		var es []domain.AuditEntry
		if es, derr = auditItemEntries(tenantID, it); derr != nil {
			return false
		}
		for i, e := range es {
			if (sk == afterSK && i <= afterIndex) || e.At.Before(cutoff) || !q.Matches(e) {
				continue
			}
			if len(out) == limit {
				next = auditCursor(lastSK, lastIndex)
				return false
			}
			out = append(out, e)
			lastSK, lastIndex = sk, i
		}
		if read++; filtered && read == auditScanItems {
			// Go on after this item next time, whatever it held.
			next = auditCursor(sk, len(es)-1)
			return false
		}
		return true
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		return nil, "", fmt.Errorf("dynamostore: list audit: %w", err)
	}
	return out, next, nil
}

// idemPointerSK is the sort key, in the tenant partition, of the pointer
// to an idempotency record saved for the tenant (PurgeTenant follows it):
// a hash, since scope and key may hold any character.
func idemPointerSK(scope, idemKey string) string {
	sum := sha256.Sum256([]byte(scope + "\x00" + idemKey))
	return "K#" + hex.EncodeToString(sum[:])
}

// GetIdempotent returns the live record under (scope, key).
func (s *Store) GetIdempotent(ctx context.Context, scope, idemKey string) ([]byte, bool, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: s.table, Key: key(idemPK(scope), idemKey), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, false, fmt.Errorf("dynamostore: read idempotency record: %w", err)
	}
	if out.Item == nil || getN(out.Item, "exp") <= s.clock.Now().UnixMilli() {
		return nil, false, nil
	}
	return getB(out.Item, "val"), true, nil
}

// SaveIdempotent stores value under (scope, key) for tenantID unless a live
// record exists, and returns the stored value. The record and its pointer
// in the tenant partition are written in one transaction.
func (s *Store) SaveIdempotent(ctx context.Context, tenantID, scope, idemKey string, value []byte, ttl time.Duration) ([]byte, bool, error) {
	if idemKey == "" {
		return nil, false, domain.Invalid("Idempotency-Key", "idempotency key is empty")
	}
	if err := checkTenantID(tenantID); err != nil {
		return nil, false, err
	}
	now := s.clock.Now()
	it := key(idemPK(scope), idemKey)
	it["exp"] = num(now.Add(ttl).UnixMilli())
	it["val"] = bin(value)
	it["ttl"] = num(now.Add(ttl).Unix() + 1)
	it["tn"] = str(tenantID)
	ptr := key(tenantPK(tenantID), idemPointerSK(scope, idemKey))
	ptr["kpk"], ptr["ksk"] = str(idemPK(scope)), str(idemKey)
	ptr["ttl"] = it["ttl"]
	in := &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{
			TableName: s.table, Item: it,
			// An expired record may linger until TTL deletion: replace it.
			ConditionExpression:       aws.String("attribute_not_exists(pk) OR #exp <= :now"),
			ExpressionAttributeNames:  map[string]string{"#exp": "exp"},
			ExpressionAttributeValues: item{":now": num(now.UnixMilli())},
		}},
		{Put: &types.Put{TableName: s.table, Item: ptr}},
	}}
	var err error
	// Concurrent requests with one key meet as a TransactionConflict
	// (another transaction is writing the record) rather than as a failed
	// condition. Such a request must still learn whose record won, or it
	// would answer as if it had taken the key: so the write is tried
	// again until one of the two outcomes below is known.
	for attempt := 0; ; attempt++ {
		_, err = s.db.TransactWriteItems(ctx, in)
		if err == nil {
			return value, false, nil
		}
		if !isTransactionConflict(err) || attempt == idemConflictRetries {
			break
		}
		select {
		case <-ctx.Done():
			return nil, false, fmt.Errorf("dynamostore: save idempotency record: %w", ctx.Err())
		case <-time.After(time.Duration(attempt+1) * 20 * time.Millisecond):
		}
	}
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) || len(tce.CancellationReasons) == 0 || aws.ToString(tce.CancellationReasons[0].Code) != "ConditionalCheckFailed" {
		return nil, false, fmt.Errorf("dynamostore: save idempotency record: %w", err)
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: s.table, Key: key(idemPK(scope), idemKey), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, false, fmt.Errorf("dynamostore: read idempotency record: %w", err)
	}
	return getB(out.Item, "val"), true, nil
}

// idemConflictRetries bounds the retries of an idempotency record write
// that met a concurrent one (about 1 s in all).
const idemConflictRetries = 8

// isTransactionConflict reports a transaction cancelled because another
// one was writing the same item: nothing was written, and trying again
// gives a definite answer.
func isTransactionConflict(err error) bool {
	var tconf *types.TransactionConflictException
	if errors.As(err, &tconf) {
		return true
	}
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		return false
	}
	conflict := false
	for _, r := range tce.CancellationReasons {
		switch aws.ToString(r.Code) {
		case "ConditionalCheckFailed":
			return false
		case "TransactionConflict":
			conflict = true
		}
	}
	return conflict
}

// purgeIdempotent deletes the idempotency records the pointers name, each
// only if it still belongs to tenant id (an expired one may have been
// replaced for another tenant).
func (s *Store) purgeIdempotent(ctx context.Context, id string, pointers []item) error {
	for _, p := range pointers {
		_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
			TableName: s.table, Key: key(getS(p, "kpk"), getS(p, "ksk")),
			ConditionExpression:       aws.String("#tn = :t"),
			ExpressionAttributeNames:  map[string]string{"#tn": "tn"},
			ExpressionAttributeValues: item{":t": str(id)},
		})
		if err != nil && !isConditionFailed(err) {
			return fmt.Errorf("dynamostore: purge idempotency record: %w", err)
		}
	}
	return nil
}
