package dynamostore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/platform/storeplan"
)

func tenantItem(t domain.Tenant) (item, error) {
	d, err := json.Marshal(t)
	if err != nil {
		return nil, err
	}
	it := key(tenantsPK, t.ID)
	it["v"] = num(t.Version)
	it["d"] = str(string(d))
	return it, nil
}

// CreateTenant stores t with Version 1; ErrConflict if the id exists.
func (s *Store) CreateTenant(ctx context.Context, t domain.Tenant) error {
	if err := checkTenantID(t.ID); err != nil {
		return err
	}
	t.Version = 1
	it, err := tenantItem(t)
	if err != nil {
		return err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: s.table, Item: it,
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	if isConditionFailed(err) {
		return fmt.Errorf("tenant %s exists: %w", t.ID, domain.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("dynamostore: create tenant: %w", err)
	}
	return nil
}

// GetTenant returns ErrNotFound for an unknown id.
func (s *Store) GetTenant(ctx context.Context, id string) (domain.Tenant, error) {
	var t domain.Tenant
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: s.table, Key: key(tenantsPK, id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return t, fmt.Errorf("dynamostore: get tenant: %w", err)
	}
	if out.Item == nil {
		return t, fmt.Errorf("tenant %s: %w", id, domain.ErrNotFound)
	}
	return decodeTenant(out.Item, id)
}

// decodeTenant reads a stored tenant record; one that does not decode is a
// *domain.CorruptRecordError naming the tenant.
func decodeTenant(it item, id string) (domain.Tenant, error) {
	var t domain.Tenant
	d, ok := it["d"].(*types.AttributeValueMemberS)
	var err error
	if !ok {
		err = errors.New(`attribute "d" is not a string`)
	} else {
		err = json.Unmarshal([]byte(d.Value), &t)
	}
	if err != nil {
		return domain.Tenant{}, &domain.CorruptRecordError{Record: "tenant", TenantID: id, Key: id, Err: err}
	}
	return t, nil
}

// UpdateTenant replaces t if its Version is the stored one and stores it
// with Version+1.
func (s *Store) UpdateTenant(ctx context.Context, t domain.Tenant) error {
	if err := checkTenantID(t.ID); err != nil {
		return err
	}
	want := t.Version
	t.Version++
	it, err := tenantItem(t)
	if err != nil {
		return err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: s.table, Item: it,
		ConditionExpression:       aws.String("#v = :v"),
		ExpressionAttributeNames:  map[string]string{"#v": "v"},
		ExpressionAttributeValues: item{":v": num(want)},
	})
	if isConditionFailed(err) {
		// Absent or changed meanwhile: tell the two apart for the caller.
		if _, gerr := s.GetTenant(ctx, t.ID); gerr != nil {
			return gerr
		}
		return fmt.Errorf("tenant %s is not at version %d: %w", t.ID, want, domain.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("dynamostore: update tenant: %w", err)
	}
	return nil
}

// ListTenants pages through tenants in id order.
func (s *Store) ListTenants(ctx context.Context, cursor string, limit int) ([]domain.Tenant, string, error) {
	after, err := decodeCursor(cursor)
	if err != nil {
		return nil, "", err
	}
	limit = storeplan.Limit(limit)
	in := &dynamodb.QueryInput{
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: item{":pk": str(tenantsPK)},
		Limit:                     aws.Int32(int32(limit + 1)),
		ConsistentRead:            aws.Bool(true),
	}
	if cursor != "" {
		in.ExclusiveStartKey = key(tenantsPK, after)
	}
	// A record that does not decode is listed as damaged, so the other
	// tenants are still scheduled.
	decode := func(it item) (domain.Tenant, bool, error) {
		t, err := decodeTenant(it, getS(it, "sk"))
		if err != nil {
			t = domain.DamagedTenant(getS(it, "sk"))
		}
		return t, true, nil
	}
	out, next, err := queryDecoded(ctx, s, in, limit, func(v domain.Tenant) string { return v.ID }, decode)
	if err != nil {
		return nil, "", fmt.Errorf("dynamostore: list tenants: %w", err)
	}
	return out, next, nil
}

// PurgeTenant deletes the tenant and everything under it: the idempotency
// records saved for it (found through their pointers in the tenant
// partition), the mailbox partitions (found through the mailbox records and
// the mailbox feed heads), the tenant partition and the tenant record, in
// that order so an interrupted purge can simply be run again. Purging an
// absent tenant is not an error.
func (s *Store) PurgeTenant(ctx context.Context, id string) error {
	if err := checkTenantID(id); err != nil {
		return err
	}
	var boxes []string
	var idem []item // pointers to the tenant's idempotency records
	seen := map[string]bool{}
	err := s.queryAll(ctx, &dynamodb.QueryInput{
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: item{":pk": str(tenantPK(id))},
		ProjectionExpression:      aws.String("sk, kpk, ksk"),
		ConsistentRead:            aws.Bool(true),
	}, func(it item) bool {
		sk := getS(it, "sk")
		// M#: registered; H#: has a feed; W#: has calendar write states.
		if len(sk) > 2 && (sk[:2] == "M#" || sk[:2] == "H#" || sk[:2] == "W#") && !seen[sk[2:]] {
			seen[sk[2:]] = true
			boxes = append(boxes, sk[2:])
		}
		if len(sk) > 2 && sk[:2] == "K#" {
			idem = append(idem, it)
		}
		return true
	})
	if err != nil {
		return fmt.Errorf("dynamostore: purge tenant: %w", err)
	}
	// Before the tenant partition, which holds the pointers.
	if err := s.purgeIdempotent(ctx, id, idem); err != nil {
		return err
	}
	parts := make([]string, 0, len(boxes)+1)
	for _, b := range boxes {
		parts = append(parts, mailboxPK(id, b))
	}
	parts = append(parts, tenantPK(id))
	for _, pk := range parts {
		if err := s.deleteItems(ctx, pk, ""); err != nil {
			return fmt.Errorf("dynamostore: purge tenant: %w", err)
		}
	}
	if _, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: s.table, Key: key(tenantsPK, id)}); err != nil {
		return fmt.Errorf("dynamostore: purge tenant: %w", err)
	}
	return nil
}

// deleteItems deletes every item of partition pk whose sort key starts
// with skPrefix ("": the whole partition), 25 at a time.
func (s *Store) deleteItems(ctx context.Context, pk, skPrefix string) error {
	var batch []types.WriteRequest
	flush := func() error {
		err := s.batchWrite(ctx, batch)
		batch = batch[:0]
		return err
	}
	in := &dynamodb.QueryInput{
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: item{":pk": str(pk)},
		ProjectionExpression:      aws.String("pk, sk"),
		ConsistentRead:            aws.Bool(true),
	}
	if skPrefix != "" {
		in.KeyConditionExpression = aws.String("pk = :pk AND begins_with(sk, :p)")
		in.ExpressionAttributeValues[":p"] = str(skPrefix)
	}
	var ferr error
	err := s.queryAll(ctx, in, func(it item) bool {
		batch = append(batch, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: key(pk, getS(it, "sk"))}})
		if len(batch) == 25 {
			ferr = flush()
		}
		return ferr == nil
	})
	if err != nil {
		return err
	}
	if ferr != nil {
		return ferr
	}
	if len(batch) > 0 {
		return flush()
	}
	return nil
}
