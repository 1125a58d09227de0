package dynamostore

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/testsupport/storetest"
)

// The record lives in the tenant partition (PurgeTenant deletes it) and
// carries the table's TTL attribute, so DynamoDB deletes it once expired;
// a sub-second expiry is rounded up, never down.
func TestJobProgressRecord(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, Options{Clock: storetest.NewClock(storetest.Start)})
	if err := s.MarkJobDone(ctx, "acme", "job-1", []string{"bob@acme.example", "ann@acme.example", "ann@acme.example"}, 90*time.Minute+time.Millisecond); err != nil {
		t.Fatal(err)
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: s.table, Key: key("T#acme", "J#job-1"), ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := getN(out.Item, "ttl"), storetest.Start.Add(90*time.Minute).Unix()+1; got != want {
		t.Errorf("ttl = %d, want %d", got, want)
	}
	done, _ := out.Item["done"].(*types.AttributeValueMemberSS)
	if done == nil || !slices.Equal(slices.Sorted(slices.Values(done.Value)), []string{"ann@acme.example", "bob@acme.example"}) {
		t.Errorf("done = %#v, want the string set of ann and bob", out.Item["done"])
	}
}

// A tenant id with '#' could reach into another tenant's partition.
func TestJobProgressRefusesHashInTenantID(t *testing.T) {
	s := newTestStore(t, Options{})
	err := s.MarkJobDone(context.Background(), "acme#x", "job-1", []string{"ann@acme.example"}, time.Hour)
	if domain.ErrorCodeOf(err) != domain.CodeInvalid {
		t.Fatalf("MarkJobDone: %v, want an invalid-input error", err)
	}
	if _, err := s.JobDone(context.Background(), "acme#x", "job-1"); domain.ErrorCodeOf(err) != domain.CodeInvalid {
		t.Fatalf("JobDone: %v, want an invalid-input error", err)
	}
}
