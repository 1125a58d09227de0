package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// The immutable-id index (domain.ItemChange.ImmutableID) is one item per
// immutable id in the mailbox partition, B#<tenant>#<address> / X#<id>,
// attribute to = the stored item's id. It is outside the I# range that
// ListFolderItemIDs reads, PurgeTenant deletes it with the partition, and
// DeleteMailbox keeps it, as it keeps the items it points at.
const aliasPrefix = "X#"

func aliasKey(mpk, immutableID string) item { return key(mpk, aliasPrefix+immutableID) }

// aliasPut writes an index entry on the condition that it still holds what
// ApplyChanges read (index), like the item puts' write counters: a
// concurrent apply that moved it makes the transaction lose and re-plan.
func (s *Store) aliasPut(mpk string, index map[string]string, x, id string) *types.Put {
	it := aliasKey(mpk, x)
	it["to"] = str(id)
	p := &types.Put{TableName: s.table, Item: it}
	if prev, ok := index[x]; ok {
		p.ConditionExpression = aws.String("#to = :to")
		p.ExpressionAttributeNames = map[string]string{"#to": "to"}
		p.ExpressionAttributeValues = item{":to": str(prev)}
	} else {
		p.ConditionExpression = aws.String("attribute_not_exists(pk)")
	}
	return p
}

// writeAliases writes index entries no feed entry carries (items a sync
// found unchanged whose immutable id the index lacked: the first Graph
// sync of a tenant that switched from EWS), up to 100 to a transaction.
func (s *Store) writeAliases(ctx context.Context, mpk string, index, aliases map[string]string) error {
	xs := slices.Sorted(maps.Keys(aliases))
	for chunk := range slices.Chunk(xs, maxTxActions) {
		actions := make([]types.TransactWriteItem, 0, len(chunk))
		for _, x := range chunk {
			// Only puts: the role grants dynamodb:PutItem for them.
			actions = append(actions, types.TransactWriteItem{Put: s.aliasPut(mpk, index, x, aliases[x])})
		}
		_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: actions})
		if err != nil {
			var tce *types.TransactionCanceledException
			var tconf *types.TransactionConflictException
			if errors.As(err, &tce) || errors.As(err, &tconf) {
				return errLostRace
			}
			return fmt.Errorf("dynamostore: write immutable-id index: %w", err)
		}
		for _, x := range chunk {
			index[x] = aliases[x]
		}
	}
	return nil
}
