package dynamostore

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/platform/storeplan"
)

// A mailbox's record and its checkpoint both live in the tenant partition,
// each in a range of its own, so the records (and the checkpoints) of
// mailboxes consecutive in address order are read with one range Query
// (GetSyncSnapshots). No other sort key of the partition starts with "M" or
// "S", so a range between two addresses holds only records (checkpoints).
const (
	mailboxPrefix   = "M#"
	syncStatePrefix = "S#"
)

func mailboxSK(address string) string   { return mailboxPrefix + address }
func syncStateSK(address string) string { return syncStatePrefix + address }

func mailboxItem(m domain.Mailbox) (item, error) {
	if err := checkTenantID(m.TenantID); err != nil {
		return nil, err
	}
	if m.Address == "" {
		return nil, domain.Invalid("address", "mailbox address is required")
	}
	d, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	it := key(tenantPK(m.TenantID), mailboxSK(m.Address))
	it["st"] = str(string(m.Status))
	it["d"] = str(string(d))
	return it, nil
}

// AddMailbox stores m if absent; ErrConflict if the address exists.
func (s *Store) AddMailbox(ctx context.Context, m domain.Mailbox) error {
	it, err := mailboxItem(m)
	if err != nil {
		return err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: s.table, Item: it, ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	if isConditionFailed(err) {
		return fmt.Errorf("mailbox %s exists: %w", m.Address, domain.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("dynamostore: add mailbox: %w", err)
	}
	return nil
}

// PutMailbox creates or replaces m.
func (s *Store) PutMailbox(ctx context.Context, m domain.Mailbox) error {
	it, err := mailboxItem(m)
	if err != nil {
		return err
	}
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: s.table, Item: it}); err != nil {
		return fmt.Errorf("dynamostore: put mailbox: %w", err)
	}
	return nil
}

// GetMailbox returns ErrNotFound if absent.
func (s *Store) GetMailbox(ctx context.Context, tenantID, address string) (domain.Mailbox, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: s.table, Key: key(tenantPK(tenantID), mailboxSK(address)), ConsistentRead: aws.Bool(s.strongWorkerReads),
	})
	if err != nil {
		return domain.Mailbox{}, fmt.Errorf("dynamostore: get mailbox: %w", err)
	}
	if out.Item == nil {
		return domain.Mailbox{}, fmt.Errorf("mailbox %s: %w", address, domain.ErrNotFound)
	}
	return decodeMailbox(out.Item, tenantID)
}

// decodeMailbox reads a stored mailbox record (GetMailbox, ListMailboxes,
// GetSyncSnapshots). One that does not decode (an attribute of the wrong
// type, JSON that is not a mailbox) is a *domain.CorruptRecordError naming
// the address.
func decodeMailbox(it item, tenantID string) (domain.Mailbox, error) {
	var m domain.Mailbox
	d, ok := it["d"].(*types.AttributeValueMemberS)
	var err error
	if !ok {
		err = errors.New(`attribute "d" is not a string`)
	} else {
		err = json.Unmarshal([]byte(d.Value), &m)
	}
	if err != nil {
		return domain.Mailbox{}, &domain.CorruptRecordError{Record: "mailbox", TenantID: tenantID, Key: strings.TrimPrefix(getS(it, "sk"), mailboxPrefix), Err: err}
	}
	return m, nil
}

// DeleteMailbox removes the mailbox and its sync state in one transaction;
// its items and feed stay (PurgeTenant finds them through the feed head).
func (s *Store) DeleteMailbox(ctx context.Context, tenantID, address string) error {
	if err := checkTenantID(tenantID); err != nil {
		return err
	}
	_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Delete: &types.Delete{TableName: s.table, Key: key(tenantPK(tenantID), mailboxSK(address)), ConditionExpression: aws.String("attribute_exists(pk)")}},
		{Delete: &types.Delete{TableName: s.table, Key: key(tenantPK(tenantID), syncStateSK(address))}},
	}})
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) && len(tce.CancellationReasons) > 0 && aws.ToString(tce.CancellationReasons[0].Code) == "ConditionalCheckFailed" {
		return fmt.Errorf("mailbox %s: %w", address, domain.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("dynamostore: delete mailbox: %w", err)
	}
	return nil
}

// ListMailboxes pages through a tenant's mailboxes in address order. The
// status filter runs in DynamoDB (FilterExpression), so reads are billed for
// the mailboxes skipped too.
func (s *Store) ListMailboxes(ctx context.Context, tenantID string, q domain.MailboxQuery) ([]domain.Mailbox, string, error) {
	after, err := decodeCursor(q.Cursor)
	if err != nil {
		return nil, "", err
	}
	limit := storeplan.Limit(q.Limit)
	in := &dynamodb.QueryInput{
		KeyConditionExpression:    aws.String("pk = :pk AND begins_with(sk, :m)"),
		ExpressionAttributeValues: item{":pk": str(tenantPK(tenantID)), ":m": str("M#")},
		Limit:                     aws.Int32(int32(limit + 1)),
		ConsistentRead:            aws.Bool(true),
	}
	if q.Status != "" {
		// Limit counts items before the filter: read wider pages so a rare
		// status does not take one round trip per few mailboxes.
		in.Limit = aws.Int32(int32(min(4*(limit+1), 1000)))
	}
	if q.Status != "" && q.Status != domain.MailboxDamaged {
		// A damaged record's stored status says what it was, so status
		// damaged is filtered here, after decoding, and the rest in
		// DynamoDB.
		in.FilterExpression = aws.String("#st = :st")
		in.ExpressionAttributeNames = map[string]string{"#st": "st"}
		in.ExpressionAttributeValues[":st"] = str(string(q.Status))
	}
	if q.Cursor != "" {
		in.ExclusiveStartKey = key(tenantPK(tenantID), mailboxSK(after))
	}
	// A record that does not decode is listed as damaged, so the
	// tenant's other mailboxes still list and schedule.
	decode := func(it item) (domain.Mailbox, bool, error) {
		m, err := decodeMailbox(it, tenantID)
		if err != nil {
			m = domain.DamagedMailbox(tenantID, strings.TrimPrefix(getS(it, "sk"), mailboxPrefix), "mailbox record")
		}
		return m, q.Status == "" || m.Status == q.Status, nil
	}
	out, next, err := queryDecoded(ctx, s, in, limit, func(v domain.Mailbox) string { return v.Address }, decode)
	if err != nil {
		return nil, "", fmt.Errorf("dynamostore: list mailboxes: %w", err)
	}
	return out, next, nil
}

// --- sync state ---

// GetSyncState returns a zero SyncState (Version 0) when none is stored.
func (s *Store) GetSyncState(ctx context.Context, tenantID, mailbox string) (domain.SyncState, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: s.table, Key: key(tenantPK(tenantID), syncStateSK(mailbox)), ConsistentRead: aws.Bool(s.strongWorkerReads),
	})
	if err != nil {
		return domain.SyncState{TenantID: tenantID, Mailbox: mailbox}, fmt.Errorf("dynamostore: get sync state: %w", err)
	}
	return decodeSyncState(out.Item, tenantID, mailbox)
}

// decodeSyncState reads a stored checkpoint item (GetSyncState,
// GetSyncSnapshots); a nil item is the zero state of a mailbox never synced.
func decodeSyncState(it item, tenantID, mailbox string) (domain.SyncState, error) {
	st := domain.SyncState{TenantID: tenantID, Mailbox: mailbox}
	if it == nil {
		return st, nil
	}
	damaged := func(err error) (domain.SyncState, error) {
		return domain.SyncState{TenantID: tenantID, Mailbox: mailbox}, &domain.CorruptRecordError{Record: "sync state", TenantID: tenantID, Key: mailbox, Err: err}
	}
	z, ok := it["z"].(*types.AttributeValueMemberB)
	if !ok {
		return damaged(errors.New(`attribute "z" is not binary`))
	}
	zr, err := gzip.NewReader(bytes.NewReader(z.Value))
	if err != nil {
		return damaged(err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		return damaged(err)
	}
	if err := json.Unmarshal(data, &st); err != nil {
		return damaged(err)
	}
	st.Version = getN(it, "v")
	return st, nil
}

// PutSyncState stores st with Version+1 if st.Version is the stored one
// (0 = none stored); ErrConflict otherwise.
func (s *Store) PutSyncState(ctx context.Context, st domain.SyncState) error {
	if err := checkTenantID(st.TenantID); err != nil {
		return err
	}
	if st.Mailbox == "" {
		return domain.Invalid("mailbox", "sync state needs a mailbox")
	}
	want := st.Version
	st.Version++
	data, err := json.Marshal(st)
	if err != nil {
		return err
	}
	var z bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
	zw.Write(data)
	if err := zw.Close(); err != nil {
		return err
	}
	it := key(tenantPK(st.TenantID), syncStateSK(st.Mailbox))
	it["v"] = num(st.Version)
	it["z"] = bin(z.Bytes())
	in := &dynamodb.PutItemInput{TableName: s.table, Item: it}
	if want == 0 {
		in.ConditionExpression = aws.String("attribute_not_exists(pk)")
	} else {
		in.ConditionExpression = aws.String("#v = :v")
		in.ExpressionAttributeNames = map[string]string{"#v": "v"}
		in.ExpressionAttributeValues = item{":v": num(want)}
	}
	_, err = s.db.PutItem(ctx, in)
	if isConditionFailed(err) {
		return fmt.Errorf("sync state of %s is not at version %d: %w", st.Mailbox, want, domain.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("dynamostore: put sync state: %w", err)
	}
	return nil
}
