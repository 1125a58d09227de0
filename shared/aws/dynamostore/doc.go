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
//	T#<tenantID>           S#<address>         v, z               sync state (z = gzip'd JSON, v = version)
//	T#<tenantID>           H                   n, gen             tenant feed head: last number taken, generation
//	T#<tenantID>           H#<address>         n, gen             mailbox feed head (also how purge finds B#…)
//	T#<tenantID>           F#<seq:020d>        d, at | gap, at    tenant feed entry, or gap marker (ttl with FeedRetention)
//	T#<tenantID>           A#<ns:020d>#<r>     z, ttl             audit entries, packed (see AppendAudit)
//	T#<tenantID>           J#<jobID>           done (SS), ttl     finished mailboxes of a sync job that came back
//	T#<tenantID>           C#<room>#<itemID>   d, ttl             a room meeting's check-in or release (the first stands; roommarks.go)
//	B#<tenantID>#<address> I#<itemID>          n, ks, del, fld, knd, d  latest item (ks = recent change keys; fld, knd: folder and kind, kept by tombstones)
//	B#<tenantID>#<address> F#<seq:020d>        d, at | gap, at    mailbox feed entry, or gap marker (ttl with FeedRetention)
//	B#<tenantID>#<address> R#<fh>#<resync>#<h> z, ttl             ids a recovery resync saw (see below)
//	B#<tenantID>#<address> X#<immutableID>     to                 immutable-id index: the stored item's id (aliases.go)
//	B#<tenantID>#<address> W#<clientEventID>   v, d               calendar write state (v = version for compare-and-swap; writestate.go)
//	B#<tenantID>#<address> G                   f, tf, ini         feed fences: the mailbox and tenant feed positions listings took (items.go); ini: in its initial sync (initialsync.go)
//	T#<tenantID>           K#<hash>            kpk, ksk, ttl      pointer to an idempotency record saved for the tenant
//	T#<tenantID>           W#<address>         -                  the mailbox has calendar write states (how purge finds B#… of a mailbox never synced)
//	K#<scope>              <key>               exp, val, tn, ttl  idempotency record (tn = the tenant it belongs to)
//
// Tenant ids may not contain '#', so the partitions of two tenants never
// collide. The checkpoint item (T#…/S#<address>) holds only the sync state,
// compressed: it is the item written on every sync that found changes, so it
// is kept small; callers compare before writing so an unchanged sync writes
// nothing. The tenant partition also takes the job progress records
// (J#<jobID>, see jobs.go); no other sort key there starts with "M" or "S",
// so a range of mailbox records or of checkpoints holds nothing else.
//
// # Sync snapshots
//
// A sync job reads each of its mailboxes' record and checkpoint before it
// calls Exchange. A GetItem is billed per item rounded up to 4 KB (0.5 RRU
// eventually consistent), so two per mailbox cost 1 RRU per sync. A Query is
// billed for the bytes it reads, rounded up once: a job names up to ten
// mailboxes of one tenant, consecutive in address order where it can, so
// GetSyncSnapshots reads their records with one range Query (M#first ..
// M#last) and their checkpoints with another (S#first .. S#last). That is
// why checkpoints live in the tenant partition, next to the records, rather
// than in the mailbox partition. Measured on DynamoDB Local (snapshot_test.go):
// 10 consecutive small mailboxes cost 1.0 RRU instead of 10. For scattered
// addresses each Query stops after 2×n+10 items and the rest is read with
// BatchGetItem, billed like GetItem. Checkpoints used to be B#<tenant>#<address>/S;
// they moved before anything was deployed, so no data needs migrating.
//
// # The change feed
//
// ApplyChanges reads (strongly consistent BatchGetItem) the stored change
// keys of the batch's items, decides which changes are news
// (shared/internal/storeplan), and writes nothing at all when none are.
// Otherwise, per chunk of at most 100 actions and about 3 MB:
//
//  1. take k numbers from the tenant head and k from the mailbox head with
//     an atomic ADD (UpdateItem, no condition: concurrent writers of one
//     tenant never conflict on it);
//  2. one TransactWriteItems: put each touched item conditioned on its
//     per-item write counter n (or on its absence), and put one tenant feed
//     entry and one mailbox feed entry per change under the numbers taken,
//     each conditioned on the number being free.
//
// Why readers never skip or repeat a change:
//   - Numbers are handed out once each (atomic ADD). An entry is written
//     together with its item or not at all (transaction). A replayed or
//     concurrent apply of the same change loses on the item condition, is
//     re-read and found not to be news.
//   - A number can be taken and never written: the writer crashed, or its
//     transaction lost. A reader walks the numbers after its cursor one by
//     one and never jumps a missing one. While the gap is young (younger than
//     GapTimeout, judged by the time stamped on the next entry, which was
//     taken after the missing number was) the page ends there. Once it is
//     old, the reader closes it with a gap marker, conditional on the number
//     still being free. Exactly one of "the writer's transaction" and "the
//     reader's marker" can take the number: if the marker wins, the late
//     writer's transaction fails as a whole and it re-plans under new
//     numbers, landing after every reader's cursor. Correctness does not
//     depend on clocks; GapTimeout only trades reader latency after a crash
//     against wasted work of a writer slower than it.
//   - A writer whose transaction lost closes its own numbers at once, so
//     readers are not held up in the common case.
//
// Losing to a concurrent apply of the same mailbox is re-read and re-planned
// a few times with a short jittered pause: compare-and-swap on the adapter's
// own bookkeeping, not a retry of a failing dependency. If it still loses,
// ApplyChanges returns an unavailable error and the job goes back to its
// queue. Readers therefore write (gap markers): the API's role needs
// dynamodb:PutItem on the table.
//
// # The initial sync
//
// A mailbox added through the API starts in its initial sync
// (StartInitialSync sets ini on its fence item). Until the syncer has
// synced every folder and calls MarkMailboxSynced, its chunks take no
// tenant numbers and write no tenant feed entries: item, mailbox feed
// entry and fence check only, all in the mailbox partition, plus the
// mailbox head's ADD. MarkMailboxSynced then appends one mailboxSynced
// entry to the tenant feed and removes ini in one transaction (so at most
// once), after which the mailbox writes to both feeds. Every chunk's
// ConditionCheck requires the mode it was planned under, so no chunk
// straddles the switch. A tenant-feed consumer lists the mailbox when it
// reads the announcement (docs/architecture.md, "Bootstrap and resync").
// The point: a tenant's initial sync, most of all it ever writes, is
// spread over one partition per mailbox instead of the tenant's one.
//
// Cursors are storeplan's (position plus a check over tenant, feed,
// generation and position). The generation is set with the feed's first
// number (SET gen = if_not_exists(gen, :g) in the ADD that takes numbers),
// so a feed purged and started again refuses the old feed's cursors. A read
// takes one strongly consistent GetItem of the head (generation and last
// number, for the past-the-head check) besides its Query. Entries still
// carry "t<n>"/"m<n>" in their stored Seq; reads replace it.
//
// Limits (per partition 1,000 WRU/s; measured by `make bench` (i)): the
// tenant partition takes, per sync that found changes, the tenant feed
// entries (2 WRU per KB each, transactional), the tenant head's ADD and
// the mailbox head's ADD (1 each per chunk), the checkpoint and the
// mailbox record (1 each), about 7 WRU for a sync of one 1-KB change:
// some 140 changes per second per tenant when every sync carries one
// change, up to 500 when syncs carry many (2 WRU each). The tenant head
// item is one hot key, one ADD per chunk. An initial sync writes about
// 0.04 WRU per item to the tenant partition (heads, checkpoints, records,
// one announcement per mailbox) and 4 to its mailbox's: 50 million items
// take 0.5 h of the tenant partition, 20 s of each 5,000-item mailbox's,
// and 1.4 h of an on-demand table's default 40,000 WRU/s.
//
// Cost per sync that found k changes (k ≤ 32, one chunk): one BatchGetItem
// of k + 1 strongly consistent reads (the items and the fence item, which
// says whether the mailbox is in its initial sync), two head ADDs (one in
// the initial sync), and one transaction of
// (items + 2k) writes at 2 WRU per KB plus the fence's ConditionCheck
// (items.go: what makes a listing's feed position exact). A sync with no news writes nothing.
// Changes that carry an immutable id (EWS ids over Graph) add one read each
// (their index entry, in the same BatchGetItem), a second BatchGetItem for
// the items of removals and id-changing moves, and one index write (2 WRU)
// per new item or move, in the same transaction; a sync that found an
// unchanged item whose entry is missing (the first Graph sync after the
// switch from EWS, once per item) writes that entry alone, 100 to a
// transaction.
//
// # Recovery listings
//
// A resync from scratch (after ErrorInvalidSyncStateData) reports no
// deletes, so the syncer lists the stored items of the folder and deletes
// those the resync did not see. ListFolderItemIDs is a Query on the
// mailbox partition's I# range whose folder test runs on the item JSON in
// the adapter (the folder id is no key attribute, and adding one would cost
// every item write an index): it reads, and bills, every item of the
// mailbox, strongly consistent (a stale folder id must not cause a delete),
// about 1 RRU per 4 KB: some 20,000 RRU ($0.0025 at $0.125/M RRU) for a
// 50,000-item mailbox, per folder: a mailbox move invalidates every folder,
// so its recovery reads the mailbox once per synced folder. It runs only
// when a resync ends or a folder vanished.
//
// The ids a resync saw survive the jobs it spans in R# items (<fh> is a
// hash of the folder id, <h> a hash of the ids, so a replayed page
// overwrites its own item): up to 500 deflated ids each, at most some 75 KB
// for real EWS ids (about 150 bytes), so at most 7,500 WRU ($0.005) for a
// 50,000-item folder. They carry a ttl of SeenIDsTTL in case a resync is
// abandoned.
//
// Audit entries carry ttl = time + retention, and reads filter out entries
// older than the retention, since TTL deletion runs up to days late.
package dynamostore
