package dynamotable_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/mailbridge/mailbridge/shared/aws/dynamostore"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/testsupport/dynamotable"
	"github.com/mailbridge/mailbridge/shared/testsupport/standin"
)

func TestMain(m *testing.M) { standin.Main(m) }

// Two tests get two tables, each usable at once and gone when its test ends.
func TestNewGivesEachTestItsOwnTable(t *testing.T) {
	ctx := context.Background()
	client := dynamostore.NewClient(standin.AWSConfig(), standin.DynamoDB(t))
	var names []string
	for _, id := range []string{"a", "b"} {
		t.Run(id, func(t *testing.T) {
			store, name := dynamotable.New(t, client, "dynamotable")
			tenant := domain.Tenant{ID: id, DisplayName: id, EWSURL: "https://mail.example.com/EWS/Exchange.asmx",
				AuthKind: domain.AuthBasic, AccessMode: domain.AccessImpersonation, Status: domain.TenantActive}
			if err := store.CreateTenant(ctx, tenant); err != nil {
				t.Fatal(err)
			}
			tenants, _, err := store.ListTenants(ctx, "", 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(tenants) != 1 || tenants[0].ID != id {
				t.Errorf("table %s holds %+v, want only tenant %s", name, tenants, id)
			}
			names = append(names, name)
		})
	}
	if len(names) != 2 || names[0] == names[1] {
		t.Fatalf("tables %v, want two different ones", names)
	}
	for _, name := range names {
		_, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
		var nf *types.ResourceNotFoundException
		if !errors.As(err, &nf) {
			t.Errorf("table %s after its test: %v, want it deleted", name, err)
		}
	}
}
