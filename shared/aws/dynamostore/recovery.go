package dynamostore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/mailbridge/mailbridge/shared/platform/storeplan"
)

const (
	// seenPerItem is how many ids one seen-ids item holds: EWS ids are
	// about 150 bytes, so 500 stay far below DynamoDB's 400 KB item limit.
	seenPerItem = 500
	// SeenIDsTTL is how long seen ids of an abandoned resync are kept.
	SeenIDsTTL = 30 * 24 * time.Hour
)

func checkRecovery(tenantID, mailbox, folderID string) error {
	if err := checkTenantID(tenantID); err != nil {
		return err
	}
	return storeplan.CheckFolderRef(mailbox, folderID)
}

// ListFolderItemIDs queries the mailbox's items (I#…) and keeps those whose
// item JSON names folderID. Folder ids are not a key attribute, so the
// Query reads (and bills) every item of the mailbox; see the package
// documentation. Reads are strongly consistent: a stale folder id (an item
// just moved) would otherwise be deleted.
func (s *Store) ListFolderItemIDs(ctx context.Context, tenantID, mailbox, folderID, cursor string, limit int) ([]string, string, error) {
	if err := checkRecovery(tenantID, mailbox, folderID); err != nil {
		return nil, "", err
	}
	mpk := mailboxPK(tenantID, mailbox)
	in := &dynamodb.QueryInput{
		KeyConditionExpression:    aws.String("pk = :pk AND begins_with(sk, :i)"),
		FilterExpression:          aws.String("attribute_not_exists(#del) OR #del = :f"),
		ProjectionExpression:      aws.String("sk, #d"),
		ExpressionAttributeNames:  map[string]string{"#del": "del", "#d": "d"},
		ExpressionAttributeValues: item{":pk": str(mpk), ":i": str("I#"), ":f": &types.AttributeValueMemberBOOL{Value: false}},
		ConsistentRead:            aws.Bool(true),
	}
	if cursor != "" {
		after, err := decodeCursor(cursor)
		if err != nil {
			return nil, "", err
		}
		in.ExclusiveStartKey = key(mpk, "I#"+after)
	}
	limit = storeplan.Limit(limit)
	var ids []string
	next := ""
	var derr error
	err := s.queryAll(ctx, in, func(it item) bool {
		if getS(it, "d") == "" {
			return true // no version to read: nothing to list
		}
		var d struct {
			FolderID string `json:"folderId"`
		}
		if err := json.Unmarshal([]byte(getS(it, "d")), &d); err != nil {
			derr = fmt.Errorf("dynamostore: item %s: %w", getS(it, "sk"), err)
			return false
		}
		if d.FolderID != folderID {
			return true
		}
		ids = append(ids, getS(it, "sk")[len("I#"):])
		if len(ids) == limit {
			next = encodeCursor(ids[len(ids)-1])
			return false
		}
		return true
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		return nil, "", fmt.Errorf("dynamostore: list folder items: %w", err)
	}
	return ids, next, nil
}

// seenSK is the sort key prefix of a folder's seen ids; the folder id is
// hashed so any id is safe in a key.
func seenSK(folderID, resync string) string {
	h := sha256.Sum256([]byte(folderID))
	sk := "R#" + hex.EncodeToString(h[:8]) + "#"
	if resync != "" {
		sk += resync + "#"
	}
	return sk
}

// AddSeenIDs writes the ids in items of up to seenPerItem, each keyed by a
// hash of its ids: a replayed page overwrites its own item.
func (s *Store) AddSeenIDs(ctx context.Context, tenantID, mailbox, folderID, resync string, ids []string) error {
	if err := checkRecovery(tenantID, mailbox, folderID); err != nil {
		return err
	}
	if err := storeplan.CheckResync(resync); err != nil {
		return err
	}
	mpk, prefix := mailboxPK(tenantID, mailbox), seenSK(folderID, resync)
	ttl := num(s.clock.Now().Add(SeenIDsTTL).Unix())
	var reqs []types.WriteRequest
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), seenPerItem)]
		ids = ids[len(chunk):]
		h := sha256.Sum256([]byte(strings.Join(chunk, "\x00")))
		z, err := deflateJSON(chunk)
		if err != nil {
			return err
		}
		it := key(mpk, prefix+hex.EncodeToString(h[:12]))
		it["z"], it["ttl"] = bin(z), ttl
		reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: it}})
	}
	if err := s.batchWrite(ctx, reqs); err != nil {
		return fmt.Errorf("dynamostore: add seen ids: %w", err)
	}
	return nil
}

// SeenIDs reads the items of (folderID, resync) back.
func (s *Store) SeenIDs(ctx context.Context, tenantID, mailbox, folderID, resync string) ([]string, error) {
	if err := checkRecovery(tenantID, mailbox, folderID); err != nil {
		return nil, err
	}
	if err := storeplan.CheckResync(resync); err != nil {
		return nil, err
	}
	var ids []string
	var derr error
	err := s.queryAll(ctx, &dynamodb.QueryInput{
		KeyConditionExpression:    aws.String("pk = :pk AND begins_with(sk, :p)"),
		ExpressionAttributeValues: item{":pk": str(mailboxPK(tenantID, mailbox)), ":p": str(seenSK(folderID, resync))},
		ConsistentRead:            aws.Bool(true),
	}, func(it item) bool {
		var chunk []string
		if err := inflateJSON(getB(it, "z"), &chunk); err != nil {
			derr = fmt.Errorf("seen ids %s: %w", getS(it, "sk"), err)
			return false
		}
		ids = append(ids, chunk...)
		return true
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		return nil, fmt.Errorf("dynamostore: read seen ids: %w", err)
	}
	return ids, nil
}

// DropSeenIDs deletes the seen-ids items of every resync of folderID.
func (s *Store) DropSeenIDs(ctx context.Context, tenantID, mailbox, folderID string) error {
	if err := checkRecovery(tenantID, mailbox, folderID); err != nil {
		return err
	}
	if err := s.deleteItems(ctx, mailboxPK(tenantID, mailbox), seenSK(folderID, "")); err != nil {
		return fmt.Errorf("dynamostore: drop seen ids: %w", err)
	}
	return nil
}
