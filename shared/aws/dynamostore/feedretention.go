package dynamostore

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// Feed retention. With Options.FeedRetention set, every feed entry and gap
// marker carries the table's TTL attribute at its time plus the retention,
// and DynamoDB deletes it some time after that (within days; until then it
// is still read). Numbers are taken in time order, so what expires first is
// a feed's start. A reader must never walk past an expired number as if it
// were an abandoned gap (closing it would skip a change silently), so
// before the usual walk retainedStart decides where a read begins:
//
//   - With a cursor whose change is kept and younger than the retention,
//     every later number was taken later still and cannot have expired:
//     the walk starts after it, as without retention.
//   - Otherwise (the cursor's change is older, or gone) the next number
//     must still be there. If it is, the walk starts at it; a quiet reader
//     whose own last change expired reads on. If it is missing while a
//     later entry exists, it may have expired: the cursor is refused with
//     CodeGone (unless that later entry is younger than the gap timeout:
//     then the number is probably being written, and the read waits).
//   - Without a cursor the walk starts at the oldest entry still stored,
//     once that entry is older than the gap timeout (numbers before it may
//     still be in flight until then). Numbers before it are not closed
//     with gap markers: they are expired, or abandoned long ago.
//
// TTL deletion keeps no order, so an expired change may be deleted while an
// older one is still stored. During the walk, a reader with a cursor
// therefore closes a missing number only when the change before it is
// younger than the retention (numbers after it were taken later still);
// otherwise it gets the page read so far, and then CodeGone.
//
// One extra read (two items at most) per ReadFeed call.

// expireFeedItem sets the TTL of a feed entry or gap marker made at at.
func (s *Store) expireFeedItem(it item, at time.Time) {
	if s.feedRetention > 0 {
		it["ttl"] = num(at.Add(s.feedRetention).Unix() + 1)
	}
}

// mayHaveExpired tells whether numbers taken after a change made at at may
// have expired (and been deleted): then a missing one among them is not
// known to be an abandoned gap. A zero at (not known) may have.
func (s *Store) mayHaveExpired(at time.Time) bool {
	return s.feedRetention > 0 && s.clock.Now().Sub(at) >= s.feedRetention
}

// cursorGone refuses a cursor after which a change may have been dropped.
func (s *Store) cursorGone(cursor string) error {
	return &domain.Error{Code: domain.CodeGone, Message: fmt.Sprintf(
		"cursor %s has expired: changes after it were older than the feed retention (%s) and are no longer kept; read the feed again without a cursor", cursor, s.feedRetention)}
}

// retainedStart returns the number a read of feed pk begins at, or wait
// when the read should return nothing for now. after is the cursor's
// number (0 without a cursor). prevAt is the time of the cursor's change
// when it is kept and young (for mayHaveExpired), else zero.
func (s *Store) retainedStart(ctx context.Context, pk, cursor string, after int64) (start int64, prevAt time.Time, wait bool, err error) {
	limit := int32(2)
	if cursor == "" {
		limit = 1
	}
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName:                 s.table,
		KeyConditionExpression:    aws.String("pk = :pk AND sk BETWEEN :lo AND :hi"),
		ExpressionAttributeValues: item{":pk": str(pk), ":lo": str(seqSK(after)), ":hi": str("F#99999999999999999999")},
		Limit:                     aws.Int32(limit),
		ConsistentRead:            aws.Bool(true),
	})
	if err != nil {
		return 0, time.Time{}, false, fmt.Errorf("dynamostore: read feed: %w", err)
	}
	now := s.clock.Now()
	seqOf := func(it item) int64 {
		n, _ := strconv.ParseInt(getS(it, "sk")[len("F#"):], 10, 64)
		return n
	}
	age := func(it item) time.Duration { return now.Sub(time.UnixMilli(getN(it, "at"))) }
	items := out.Items
	if cursor == "" {
		if len(items) == 0 || seqOf(items[0]) <= 1 {
			return 1, time.Time{}, false, nil
		}
		if age(items[0]) < s.gapTimeout {
			return 0, time.Time{}, true, nil
		}
		return seqOf(items[0]), time.Time{}, false, nil
	}
	if len(items) > 0 && seqOf(items[0]) == after {
		if at := time.UnixMilli(getN(items[0], "at")); !s.mayHaveExpired(at) {
			return after + 1, at, false, nil
		}
		items = items[1:] // the cursor's change is old: look at what follows
	}
	switch {
	case len(items) == 0, seqOf(items[0]) == after+1:
		return after + 1, time.Time{}, false, nil
	case age(items[0]) < s.gapTimeout:
		return 0, time.Time{}, true, nil
	}
	return 0, time.Time{}, false, s.cursorGone(cursor)
}
