package dynamostore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/internal/storeplan"
)

// auditSK orders entries by time, then by position in their AppendAudit
// call; the random tail keeps entries of concurrent writers apart.
func auditSK(at time.Time, i int) string {
	var r [8]byte
	rand.Read(r[:])
	return fmt.Sprintf("A#%020d#%04d#%s", at.UnixNano(), i, hex.EncodeToString(r[:]))
}

// AppendAudit stores entries (25 per BatchWriteItem) with a TTL of their
// time plus the retention.
func (s *Store) AppendAudit(ctx context.Context, entries ...domain.AuditEntry) error {
	var reqs []types.WriteRequest
	for i, e := range entries {
		if err := checkTenantID(e.TenantID); err != nil {
			return err
		}
		d, err := json.Marshal(e)
		if err != nil {
			return err
		}
		it := key(tenantPK(e.TenantID), auditSK(e.At, i))
		it["d"] = str(string(d))
		it["ttl"] = num(e.At.Add(s.retention).Unix())
		reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: it}})
	}
	for len(reqs) > 0 {
		n := min(len(reqs), 25)
		if err := s.batchWrite(ctx, reqs[:n]); err != nil {
			return fmt.Errorf("dynamostore: append audit: %w", err)
		}
		reqs = reqs[n:]
	}
	return nil
}

// ListAudit pages through a tenant's audit entries, oldest first, leaving
// out those past the retention (TTL deletion can run days late).
func (s *Store) ListAudit(ctx context.Context, tenantID, cursor string, limit int) ([]domain.AuditEntry, string, error) {
	after, err := decodeCursor(cursor)
	if err != nil {
		return nil, "", err
	}
	limit = storeplan.Limit(limit)
	lo := fmt.Sprintf("A#%020d", s.clock.Now().Add(-s.retention).UnixNano())
	in := &dynamodb.QueryInput{
		KeyConditionExpression:    aws.String("pk = :pk AND sk BETWEEN :lo AND :hi"),
		ExpressionAttributeValues: item{":pk": str(tenantPK(tenantID)), ":lo": str(lo), ":hi": str("A#~")},
		Limit:                     aws.Int32(int32(limit + 1)),
		ConsistentRead:            aws.Bool(true),
	}
	if cursor != "" && after >= lo {
		in.ExclusiveStartKey = key(tenantPK(tenantID), after)
	}
	var out []domain.AuditEntry
	var lastSK string
	more := false
	var derr error
	err = s.queryAll(ctx, in, func(it item) bool {
		if len(out) == limit {
			more = true
			return false
		}
		var e domain.AuditEntry
		if derr = json.Unmarshal([]byte(getS(it, "d")), &e); derr != nil {
			return false
		}
		out = append(out, e)
		lastSK = getS(it, "sk")
		return true
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		return nil, "", fmt.Errorf("dynamostore: list audit: %w", err)
	}
	next := ""
	if more {
		next = encodeCursor(lastSK)
	}
	return out, next, nil
}

// SaveIdempotent stores value under (scope, key) unless a live record
// exists, and returns the stored value.
func (s *Store) SaveIdempotent(ctx context.Context, scope, idemKey string, value []byte, ttl time.Duration) ([]byte, bool, error) {
	if idemKey == "" {
		return nil, false, domain.Invalid("Idempotency-Key", "idempotency key is empty")
	}
	now := s.clock.Now()
	it := key(idemPK(scope), idemKey)
	it["exp"] = num(now.Add(ttl).UnixMilli())
	it["val"] = bin(value)
	it["ttl"] = num(now.Add(ttl).Unix() + 1)
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: s.table, Item: it,
		// An expired record may linger until TTL deletion: replace it.
		ConditionExpression:       aws.String("attribute_not_exists(pk) OR #exp <= :now"),
		ExpressionAttributeNames:  map[string]string{"#exp": "exp"},
		ExpressionAttributeValues: item{":now": num(now.UnixMilli())},
	})
	if err == nil {
		return value, false, nil
	}
	if !isConditionFailed(err) {
		return nil, false, fmt.Errorf("dynamostore: save idempotency record: %w", err)
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: s.table, Key: key(idemPK(scope), idemKey), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, false, fmt.Errorf("dynamostore: read idempotency record: %w", err)
	}
	return getB(out.Item, "val"), true, nil
}
