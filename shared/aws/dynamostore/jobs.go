package dynamostore

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/platform/storeplan"
)

// Job progress lives in the tenant partition, so PurgeTenant deletes it:
//
//	T#<tenantID>  J#<jobID>  done (SS), ttl   mailboxes of a returning job that are done
//
// ttl is the expiry in epoch seconds, rounded up, and also the live test:
// a record is live while now < ttl, since TTL deletion runs days late.

var _ domain.JobProgressStore = (*Store)(nil)

func jobSK(jobID string) string { return "J#" + jobID }

func checkJob(tenantID, jobID string) error {
	if err := checkTenantID(tenantID); err != nil {
		return err
	}
	return storeplan.CheckJobID(jobID)
}

// jobTTL is the expiry now+ttl in epoch seconds, rounded up so neither the
// live test nor DynamoDB's deletion ends a record early.
func jobTTL(now time.Time, ttl time.Duration) int64 {
	exp := now.Add(ttl)
	secs := exp.Unix()
	if exp.Nanosecond() > 0 {
		secs++
	}
	return secs
}

// MarkJobDone adds mailboxes to the job's done set with one UpdateItem (ADD
// on a string set is a union: concurrent marks lose nothing, and no read is
// needed). The update is conditioned on the record not having expired: an
// expired record that TTL deletion has not removed yet is replaced instead,
// so its old members do not come back to life.
func (s *Store) MarkJobDone(ctx context.Context, tenantID, jobID string, mailboxes []string, ttl time.Duration) error {
	if err := checkTenantID(tenantID); err != nil {
		return err
	}
	set, err := storeplan.JobMark(jobID, mailboxes, ttl)
	if err != nil {
		return err
	}
	if len(set) == 0 {
		return nil
	}
	now := s.clock.Now()
	names := map[string]string{"#done": "done", "#ttl": "ttl"}
	values := item{
		":set": &types.AttributeValueMemberSS{Value: set},
		":ttl": num(jobTTL(now, ttl)),
		":now": num(now.Unix()),
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 s.table,
		Key:                       key(tenantPK(tenantID), jobSK(jobID)),
		UpdateExpression:          aws.String("ADD #done :set SET #ttl = :ttl"),
		ConditionExpression:       aws.String("attribute_not_exists(#ttl) OR #ttl > :now"),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	})
	if err == nil {
		return nil
	}
	if !isConditionFailed(err) {
		return fmt.Errorf("dynamostore: mark job done: %w", err)
	}
	// Rare: a job id came back after its record expired. Replace the
	// record unless a concurrent mark has just done so; then the record
	// is live and the union above applies.
	it := key(tenantPK(tenantID), jobSK(jobID))
	it["done"], it["ttl"] = values[":set"], values[":ttl"]
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 s.table,
		Item:                      it,
		ConditionExpression:       aws.String("#ttl <= :now"),
		ExpressionAttributeNames:  map[string]string{"#ttl": "ttl"},
		ExpressionAttributeValues: item{":now": values[":now"]},
	})
	if isConditionFailed(err) {
		_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                 s.table,
			Key:                       key(tenantPK(tenantID), jobSK(jobID)),
			UpdateExpression:          aws.String("ADD #done :set SET #ttl = :ttl"),
			ExpressionAttributeNames:  names,
			ExpressionAttributeValues: item{":set": values[":set"], ":ttl": values[":ttl"]},
		})
	}
	if err != nil {
		return fmt.Errorf("dynamostore: mark job done: %w", err)
	}
	return nil
}

// JobDone reads the job's done set with one strongly consistent GetItem
// (it runs only when a job is redelivered); an expired record is absent.
func (s *Store) JobDone(ctx context.Context, tenantID, jobID string) ([]string, error) {
	if err := checkJob(tenantID, jobID); err != nil {
		return nil, err
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:                s.table,
		Key:                      key(tenantPK(tenantID), jobSK(jobID)),
		ProjectionExpression:     aws.String("#done, #ttl"),
		ExpressionAttributeNames: map[string]string{"#done": "done", "#ttl": "ttl"},
		ConsistentRead:           aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("dynamostore: read job progress: %w", err)
	}
	if out.Item == nil || getN(out.Item, "ttl") <= s.clock.Now().Unix() {
		return nil, nil
	}
	done, _ := out.Item["done"].(*types.AttributeValueMemberSS)
	if done == nil {
		return nil, nil
	}
	return done.Value, nil
}
