// Package dynamotable gives tests outside shared/aws/dynamostore a fresh table
// with the store's schema on DynamoDB Local. It is apart from standin
// because dynamostore's own tests import standin: standin cannot
// import dynamostore.
package dynamotable

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/mailbridge/mailbridge/shared/aws/dynamostore"
	"github.com/mailbridge/mailbridge/shared/testsupport/secretscan"
)

// New creates a table named prefix-<nanoseconds> through client (tests
// share one DynamoDB Local, so each gets its own table) and deletes it when
// the test ends. It returns a store on the table with default options and
// the table's name, for stores with other options on the same table.
func New(t testing.TB, client *dynamodb.Client, prefix string) (*dynamostore.Store, string) {
	t.Helper()
	name := fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano())
	store, err := dynamostore.New(client, dynamostore.Options{Table: name})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.CreateTable(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.DeleteTable(context.Background()) })
	// Tests run the store on fixed clocks in the past, so the expiry times
	// it writes are already past in real time, and DynamoDB Local's TTL
	// sweeper (which runs on real time) would delete records the test still
	// holds live, at random moments: an idempotency record vanished in the
	// middle of a race test. Expiry is the store's rule (it checks the
	// expiry on read), tested on its own clock; the sweeper is only AWS's
	// clean-up, so tests turn it off.
	if _, err := client.UpdateTimeToLive(context.Background(), &dynamodb.UpdateTimeToLiveInput{
		TableName:               aws.String(name),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String("ttl"), Enabled: aws.Bool(false)},
	}); err != nil {
		t.Fatal(err)
	}
	// Runs before the delete above: the package's secret scan reads every
	// record the test left.
	secretscan.WatchStore(t, "DynamoDB table "+name, func() (string, error) { return Dump(context.Background(), client, name) })
	return store, name
}

// Dump lists every item of the table, one JSON object per line (each
// attribute as its typed member, {"Value":...}), sorted, so two dumps of
// the same records are equal.
func Dump(ctx context.Context, client *dynamodb.Client, table string) (string, error) {
	var items []string
	p := dynamodb.NewScanPaginator(client, &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return "", err
		}
		for _, m := range page.Items {
			b, err := json.Marshal(m)
			if err != nil {
				return "", err
			}
			items = append(items, string(b))
		}
	}
	sort.Strings(items)
	return strings.Join(items, "\n"), nil
}
