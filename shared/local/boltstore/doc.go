// Package boltstore is the embedded domain.Store for the one-process local
// run (`make run`): one file under $MAILBRIDGE_DATA, kept between runs.
//
// Why bbolt rather than SQLite: it is pure Go (no cgo, so the same static
// build everywhere), a single file, and every Update is a serializable ACID
// transaction. That last point does most of the work: ApplyChanges upserts
// items and appends their feed entries in one transaction, so a crash leaves
// either both or neither; and since write transactions are serialized, the
// feed's sequence numbers are assigned in commit order, so a reader that has
// passed sequence n can never see an entry below n appear later. SQLite
// would give the same guarantees, but through cgo (or a large transpiled
// driver) and SQL we do not need: every access here is by key or key range.
//
// Layout (bucket → key → value, values are JSON):
//
//	tenants                  tenantID → Tenant
//	idem                     scope 0x00 key → {expires, value}
//	calretries               requestID 0x00 attempt (8 bytes) → CalendarRetry (calendar writes not yet finished, calretries.go)
//	t/<tenantID>             one bucket per tenant, so PurgeTenant is one DeleteBucket
//	  mailboxes              address → Mailbox
//	  sync                   address → SyncState
//	  items                  address 0x00 itemID → {changeKey, deleted, item}
//	  feed                   seq (8 bytes, big endian) → Change; seq from the bucket's sequence
//	  mfeed                  address 0x00 seq → nothing (index of feed for one mailbox)
//	  audit                  at (unix ns, 8 bytes) seq (8 bytes) → AuditEntry
//	  seen                   address 0x00 folderID 0x00 resync 0x00 itemID → nothing (ids a recovery resync saw)
//	  aliases                address 0x00 immutableID → itemID (immutable-id index, see aliases.go)
//	  jobs                   jobID → {expires, done} (finished mailboxes of a sync job that came back)
//	  writes                 address 0x00 clientEventID → WriteState (calendar write ordering and tracking, writestate.go)
//
// Feed cursors are the decimal sequence number of the last entry read, the
// same numbering for the tenant feed and each mailbox feed. Audit entries are
// filtered by age on read and pruned on append; idempotency records expire
// on read.
//
// A mailbox, checkpoint or tenant record that does not decode is reported
// by its key (domain.CorruptRecordError; listings show it as damaged) and
// never fails a read of the others.
//
// ListFolderItemIDs (the recovery paths of a lost SyncState or a vanished
// folder) walks the mailbox's items and decodes each: it is rare, and a
// folder index would cost every ApplyChanges a second write.
package boltstore
