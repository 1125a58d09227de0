// Package dynamotable gives tests outside shared/aws/dynamostore a fresh table
// with the store's schema on DynamoDB Local. It is apart from standin
// because dynamostore's own tests import standin: standin cannot
// import dynamostore.
package dynamotable

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/mailbridge/mailbridge/shared/aws/dynamostore"
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
	return store, name
}
