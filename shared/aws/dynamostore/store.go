package dynamostore

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// DefaultAuditRetention is how long audit entries are kept unless configured.
const DefaultAuditRetention = 90 * 24 * time.Hour

// DefaultGapTimeout is how long a feed reader waits for a missing number
// (taken by a writer that has not committed) before closing it.
const DefaultGapTimeout = 10 * time.Second

// Options configure a Store.
type Options struct {
	Table          string        // required
	Clock          domain.Clock  // nil: the system clock
	AuditRetention time.Duration // 0: DefaultAuditRetention
	GapTimeout     time.Duration // 0: DefaultGapTimeout
	// FeedRetention is how long changes stay in the feeds (TTL); 0 keeps
	// them. See feedretention.go.
	FeedRetention time.Duration
	// EventuallyConsistentReads reads the mailbox record (GetMailbox) and
	// the checkpoint (GetSyncState) eventually consistently, at half the
	// read units. For the sync worker only: a stale checkpoint makes its
	// conditional PutSyncState fail with ErrConflict (the job is retried,
	// and storing changes again is idempotent). Off, every read is strong,
	// which the API needs (read-your-writes).
	EventuallyConsistentReads bool
}

// Store is a domain.Store on one DynamoDB table.
type Store struct {
	db        *dynamodb.Client
	table     *string
	clock     domain.Clock
	retention time.Duration
	// gapTimeout only trades reader latency against wasted writer work;
	// correctness does not depend on it (see the package documentation).
	gapTimeout time.Duration
	// strongWorkerReads is false with EventuallyConsistentReads.
	strongWorkerReads bool
	feedRetention     time.Duration
}

var _ domain.Store = (*Store)(nil)

// NewClient is a DynamoDB client for cfg; a non-empty endpoint replaces
// AWS's (DynamoDB Local in tests and the local stack).
func NewClient(cfg aws.Config, endpoint string) *dynamodb.Client {
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
}

// New returns a Store on opts.Table.
func New(db *dynamodb.Client, opts Options) (*Store, error) {
	if opts.Table == "" {
		return nil, errors.New("dynamostore: table name is required")
	}
	s := &Store{db: db, table: aws.String(opts.Table), clock: opts.Clock, retention: opts.AuditRetention,
		strongWorkerReads: !opts.EventuallyConsistentReads, feedRetention: max(opts.FeedRetention, 0)}
	if s.clock == nil {
		s.clock = domain.SystemClock{}
	}
	if s.retention <= 0 {
		s.retention = DefaultAuditRetention
	}
	s.gapTimeout = opts.GapTimeout
	if s.gapTimeout <= 0 {
		s.gapTimeout = DefaultGapTimeout
	}
	return s, nil
}

// CreateTable creates the table (on demand billing, TTL on ttl) and waits
// until it is active. For tests and the local stack; in AWS the SAM template
// declares the same table.
func (s *Store) CreateTable(ctx context.Context) error {
	_, err := s.db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: s.table,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("sk"), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String("sk"), KeyType: types.KeyTypeRange},
		},
		BillingMode: types.BillingModePayPerRequest,
	})
	if err != nil {
		return fmt.Errorf("dynamostore: create table %s: %w", *s.table, err)
	}
	if err := dynamodb.NewTableExistsWaiter(s.db).Wait(ctx, &dynamodb.DescribeTableInput{TableName: s.table}, 2*time.Minute); err != nil {
		return fmt.Errorf("dynamostore: wait for table %s: %w", *s.table, err)
	}
	_, err = s.db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName: s.table,
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String("ttl"), Enabled: aws.Bool(true),
		},
	})
	if err != nil {
		return fmt.Errorf("dynamostore: enable TTL on %s: %w", *s.table, err)
	}
	return nil
}

// DeleteTable drops the table (tests).
func (s *Store) DeleteTable(ctx context.Context) error {
	_, err := s.db.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: s.table})
	return err
}

// --- keys and attribute helpers ---

const tenantsPK = "TENANTS"

func tenantPK(tenantID string) string           { return "T#" + tenantID }
func mailboxPK(tenantID, address string) string { return "B#" + tenantID + "#" + address }
func idemPK(scope string) string                { return "K#" + scope }
func seqSK(n int64) string                      { return fmt.Sprintf("F#%020d", n) }

// Feed heads live in the tenant partition. The mailbox head doubles as the
// record PurgeTenant finds a mailbox partition by: it is written before
// anything lands in that partition, registered mailbox or not.
func tenantHead(tenantID string) item           { return key(tenantPK(tenantID), "H") }
func mailboxHead(tenantID, address string) item { return key(tenantPK(tenantID), "H#"+address) }

func checkTenantID(id string) error {
	if id == "" {
		return domain.Invalid("tenantId", "tenant id is required")
	}
	if strings.Contains(id, "#") {
		return domain.Invalid("tenantId", "tenant id may not contain '#'")
	}
	return nil
}

type item = map[string]types.AttributeValue

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }
func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}
func bin(b []byte) types.AttributeValue { return &types.AttributeValueMemberB{Value: b} }

func key(pk, sk string) item { return item{"pk": str(pk), "sk": str(sk)} }

func getS(it item, name string) string {
	if v, ok := it[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func getN(it item, name string) int64 {
	if v, ok := it[name].(*types.AttributeValueMemberN); ok {
		n, _ := strconv.ParseInt(v.Value, 10, 64)
		return n
	}
	return 0
}

func getB(it item, name string) []byte {
	if v, ok := it[name].(*types.AttributeValueMemberB); ok {
		return v.Value
	}
	return nil
}

func isConditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

// Cursors over string sort keys are the last key read, base64url-encoded.
func encodeCursor(k string) string { return base64.RawURLEncoding.EncodeToString([]byte(k)) }

func decodeCursor(c string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return "", domain.Invalid("cursor", "cursor is not one this API returned")
	}
	return string(b), nil
}

// queryAll runs a Query, following LastEvaluatedKey, and calls fn for each
// item until fn returns false.
func (s *Store) queryAll(ctx context.Context, in *dynamodb.QueryInput, fn func(item) bool) error {
	in.TableName = s.table
	for {
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return err
		}
		for _, it := range out.Items {
			if !fn(it) {
				return nil
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// maxUnprocessedRounds bounds how often a batch call's unprocessed rest is
// sent again; DynamoDB leaves items unprocessed when the partition is
// throttled, so the rounds pause 25 ms, 50 ms, 100 ms, ... in between.
const maxUnprocessedRounds = 6

// batchWrite sends write requests with BatchWriteItem, 25 per request,
// sending the unprocessed rest again a bounded number of times.
func (s *Store) batchWrite(ctx context.Context, reqs []types.WriteRequest) error {
	for len(reqs) > 0 {
		n := min(len(reqs), 25)
		batch := map[string][]types.WriteRequest{*s.table: reqs[:n]}
		reqs = reqs[n:]
		for round := 0; len(batch[*s.table]) > 0; round++ {
			if round == maxUnprocessedRounds {
				return &domain.Error{Code: domain.CodeUnavailable, Message: "DynamoDB keeps writes unprocessed (throttled); try again"}
			}
			if round > 0 {
				if err := pause(ctx, round); err != nil {
					return err
				}
			}
			out, err := s.db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: batch})
			if err != nil {
				return err
			}
			batch = out.UnprocessedItems
		}
	}
	return nil
}

// batchGet reads keys with BatchGetItem, 100 per request, sending the
// unprocessed rest again (a throttled partition) a bounded number of times.
// Absent items are simply not returned. A projection (with its attribute
// names) reads only those attributes.
func (s *Store) batchGet(ctx context.Context, keys []item, consistent bool, projection string, names map[string]string) ([]item, error) {
	var items []item
	for len(keys) > 0 {
		n := min(len(keys), 100)
		ka := types.KeysAndAttributes{Keys: keys[:n], ConsistentRead: aws.Bool(consistent)}
		if projection != "" {
			ka.ProjectionExpression, ka.ExpressionAttributeNames = aws.String(projection), names
		}
		req := map[string]types.KeysAndAttributes{*s.table: ka}
		keys = keys[n:]
		for round := 0; len(req) > 0; round++ {
			if round == maxUnprocessedRounds {
				return nil, &domain.Error{Code: domain.CodeUnavailable, Message: "DynamoDB keeps reads unprocessed (throttled); try again"}
			}
			if round > 0 {
				if err := pause(ctx, round); err != nil {
					return nil, err
				}
			}
			out, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
			if err != nil {
				return nil, err
			}
			items = append(items, out.Responses[*s.table]...)
			req = out.UnprocessedKeys
		}
	}
	return items, nil
}

func pause(ctx context.Context, round int) error {
	t := time.NewTimer(25 * time.Millisecond << (round - 1))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// queryDecoded pages through records (tenants, mailboxes): at most limit
// of those decode keeps, and the cursor of the last when more follow.
// decode returns the record, whether the page keeps it, and an error that
// ends the query.
func queryDecoded[T any](ctx context.Context, s *Store, in *dynamodb.QueryInput, limit int, cursorOf func(T) string, decode func(item) (T, bool, error)) ([]T, string, error) {
	var out []T
	more := false
	var derr error
	err := s.queryAll(ctx, in, func(it item) bool {
		v, keep, err := decode(it)
		if derr = err; derr != nil {
			return false
		}
		if !keep {
			return true
		}
		if len(out) == limit {
			more = true
			return false
		}
		out = append(out, v)
		return true
	})
	if err == nil {
		err = derr
	}
	if err != nil || !more {
		return out, "", err
	}
	return out, encodeCursor(cursorOf(out[len(out)-1])), nil
}

// deflateJSON compresses v's JSON (audit packs, seen ids): their entries
// repeat much, so they shrink several times.
func deflateJSON(v any) ([]byte, error) {
	d, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return deflate(d)
}

func deflate(d []byte) ([]byte, error) {
	var z bytes.Buffer
	zw, _ := flate.NewWriter(&z, flate.BestCompression)
	if _, err := zw.Write(d); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return z.Bytes(), nil
}

// inflateJSON decodes what deflateJSON made into v.
func inflateJSON(z []byte, v any) error {
	raw, err := io.ReadAll(flate.NewReader(bytes.NewReader(z)))
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, v)
}
