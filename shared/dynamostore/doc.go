// Package dynamostore is the DynamoDB domain.Store (tested against DynamoDB
// Local; `CreateTable` makes the table for tests and the local stack, the
// SAM template declares the same one).
//
// # One table
//
// Everything lives in one table: one thing to provision, alarm on and grant
// in IAM; transactions can span entity types; and the partition keys are
// chosen so PurgeTenant can find everything of a tenant with Queries, no
// Scan. Billing is on demand (PAY_PER_REQUEST).
//
//	AttributeDefinitions: pk (S), sk (S)
//	KeySchema:            pk HASH, sk RANGE
//	TimeToLiveSpecification: AttributeName ttl (epoch seconds), Enabled
//	No secondary indexes.
//
// Items (d is the record as JSON unless noted):
//
//	pk                     sk                  attributes         what
//	TENANTS                <tenantID>          v, d               tenant (v = version)
//	T#<tenantID>           M#<address>         st, d              mailbox (st = status, for filtering)
//	T#<tenantID>           D#<address>         -                  a deleted mailbox whose items remain
//	T#<tenantID>           H                   n                  tenant feed head: last sequence number
//	T#<tenantID>           F#<seq:020d>        d                  tenant feed entry
//	T#<tenantID>           A#<ns:020d>#<rand>  d, ttl             audit entry (expires after retention)
//	B#<tenantID>#<address> S                   v, z               sync state (z = gzip'd JSON, v = version)
//	B#<tenantID>#<address> H                   n                  mailbox feed head
//	B#<tenantID>#<address> I#<itemID>          n, ks, del, d      latest item (ks = recent change keys)
//	B#<tenantID>#<address> F#<seq:020d>        d                  mailbox feed entry
//	K#<scope>              <key>               exp, val, ttl      idempotency record
//
// Tenant ids may not contain '#', so the partitions of two tenants never
// collide. The checkpoint item (B#…/S) holds only the sync state, compressed:
// it is the item written on every sync that found changes, so it is kept
// small; callers compare before writing so an unchanged sync writes nothing.
//
// # The change feed
//
// ApplyChanges first reads (strongly consistent BatchGetItem) the stored
// change keys of the batch's items and both feed heads, decides which
// changes are news (shared/internal/storeplan), and writes nothing at all
// when none are. Otherwise one TransactWriteItems per chunk (at most 100
// actions and about 3 MB) does: update the tenant head and the mailbox head,
// each conditioned on the value read; put each touched item conditioned on
// its per-item counter n; put one tenant feed entry and one mailbox feed
// entry per change, numbered from the heads.
//
// Why this never skips or repeats:
//   - A sequence number is taken only by a committed transaction (the head
//     update is part of it), and each head value is taken once (the
//     condition), so both feeds are gap-free: 1, 2, 3, ...
//   - The item write and its feed entries commit together, and the item's
//     condition makes a concurrent or replayed apply of the same change fail;
//     it is then re-read and found not to be news.
//   - A reader returns only the contiguous run after its cursor. Concurrent
//     writers for different mailboxes of one tenant serialize on the tenant
//     head, so an entry numbered n is committed before n+1 is even allocated;
//     if a Query ever returns n+1 without n (DynamoDB's Query is only
//     read-committed across items), the reader stops before the hole and
//     picks n up on its next read. No settle window, no clock involved.
//
// A transaction cancelled by a lost head race (ConditionalCheckFailed or
// TransactionConflict) is re-read and re-planned a few times with a short
// jittered pause; this is compare-and-swap on the adapter's own bookkeeping,
// not a retry of a failing dependency. If it still loses, ApplyChanges
// returns an unavailable error and the job goes back to its queue.
//
// The price: a tenant's feed writes are serialized on one head item, about
// 1 / (transaction latency) transactions per second (roughly 50–100 on AWS),
// each carrying up to 32 changes: a few thousand changes per second per
// tenant, and 1,000 WCU per partition caps the tenant partition's feed
// entries at about 500 one-KB changes per second. A tenant that needs more
// would shard its feed (N heads, a cursor per shard).
//
// Costs per sync that found k changes (k ≤ 32): one BatchGetItem (k+2
// strongly consistent reads) and one transaction of 2+2k+items writes at the
// transactional rate (2 WRU per KB). A sync with no news costs only its
// reads of GetSyncState (one item).
//
// Audit entries carry ttl = time + retention, and reads filter out entries
// older than the retention, since TTL deletion runs up to days late.
package dynamostore
