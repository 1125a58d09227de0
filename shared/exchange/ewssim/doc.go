// Package ewssim is a faithful in-memory Exchange served over HTTP, for
// tests, the local demo (make run), ewsctl sim and benchmarks.
//
// It answers EWS SOAP requests at /EWS/Exchange.asmx with responses shaped
// like Exchange's (soap:Envelope with ServerVersionInfo, m:XxxResponse /
// m:ResponseMessages / m:XxxResponseMessage with ResponseClass and
// ResponseCode) that validate against the official schema:
//
//	GetFolder, FindFolder, SyncFolderHierarchy, SyncFolderItems,
//	GetItem (batched, one message per id), FindItem (IndexedPageItemView
//	and CalendarView), CreateItem / UpdateItem / DeleteItem for calendar
//	items, GetUserAvailability, ResolveNames, GetRoomLists and GetRooms
//	(over the rooms and room lists of AddRoom and AddRoomList; an address
//	that is no room list answers ErrorNameResolutionNoResults).
//
// Requests are parsed with encoding/xml (tokenized by lexer.go when they
// are the plain XML clients send, by encoding/xml itself otherwise, with
// the same outcome either way); an unknown operation answers
// ErrorInvalidRequest and a malformed one ErrorSchemaValidation, both as
// SOAP faults with HTTP 500.
//
// # Usage
//
//	sim := ewssim.New(ewssim.Options{MaxConcurrency: 27, Latency: 0, Seed: 1})
//	ds, _ := sim.Generate(ewssim.GenOptions{Mailboxes: 10, ItemsPerMailbox: 200, Seed: 1})
//	srv, _ := sim.Start(true) // TLS on a loopback port; srv.CertPool() to trust it
//	// srv.EWSURL, ds.Account.Username / Password, ds.Mailboxes ...
//
// or mount sim.Handler() yourself (set http.Server.ConnContext to
// ConnContext for NTLM, which authenticates connections).
//
// Mutation API (all safe for concurrent use): AddMailbox, AddFolder,
// RenameFolder, DeleteFolder, AddItem, UpdateItem, SetRead, MoveItem,
// DeleteItem, GetItem, ListItems, FolderID, InvalidateSyncStates, AddAccount,
// SetImpersonationScope, GrantDelegate, RevokeDelegate, InjectFault,
// ClearFaults, Stats, ResetStats.
//
// # Sync
//
// Every change appends to its folder's change log (hierarchy changes to
// the mailbox's) and bumps the item's ChangeKey. A SyncState is an opaque,
// checksummed position in that log (mailbox, folder, log position, the
// position where the client last had the whole folder, and an epoch).
// Only an item's latest log entry counts, so one sync reports each item
// once: created and updated since the last sync is one Create, created and
// deleted is nothing, only the read flag changed is a ReadFlagChange. When
// nothing changed the same SyncState comes back. InvalidateSyncStates (or
// FaultInvalidateSyncState) bumps the epoch: old states then answer
// ErrorInvalidSyncStateData.
//
// # Access control
//
// Accounts authenticate with Basic, NTLM (NTLMv2 verified against the
// password; per connection) or a Bearer token from the simulator's own
// OAuth 2.0 endpoints, which MSAL for Go can use as an authority:
//
//	GET  /{tenant}/v2.0/.well-known/openid-configuration
//	POST /{tenant}/oauth2/v2.0/token   client_credentials with client_secret,
//	                                   or client_assertion (RS256/PS256 JWT
//	                                   signed by the registered certificate)
//	GET  /common/discovery/instance
//
// MSAL requires https, hence Start(true). Impersonation
// (ExchangeImpersonation header) is allowed for the mailboxes in the
// account's scope, else a fault with ErrorImpersonateUserDenied; delegate
// access (a Mailbox in DistinguishedFolderId, or ids of another mailbox)
// needs a grant for the whole mailbox or the folder, else ErrorAccessDenied.
// An unknown mailbox is ErrorNonExistentMailbox; missing or bad
// credentials are HTTP 401.
//
// # Throttling and faults
//
// Each call holds one unit of its budget owner's concurrency budget
// (Options.MaxConcurrency, default 27; SetMaxConcurrency) while it runs,
// including the configured latency (Options.Latency, LatencyJitter and
// OpLatency; SetLatency): the account under delegate access, the target
// mailbox under impersonation. Options.MaxConcurrentSyncCalls adds a
// separate budget for sync operations, like Exchange Online's
// ConcurrentSyncCalls. A call beyond the budget gets a SOAP fault
// ErrorServerBusy with BackOffMilliseconds (HTTP 500), like Exchange
// Online. Faults are injected by operation, mailbox, rate and how many
// matching calls pass first (Fault.Skip), drawn from Options.Seed: SOAP
// fault, HTTP 503 or 429 with Retry-After, slow answer, invalidated sync
// state, and what a proxy or the network does to an answer: a verbatim
// answer (FaultRaw: an HTML login page, a gateway's 502, an empty body),
// no answer (FaultHang), a body cut short (FaultTruncated), a connection
// reset mid-body (FaultReset) or before any answer (FaultDrop), an answer
// that stalls half way (FaultStall). Options.ControlCharRefs makes
// item text carry &#x1;-style references as some servers send. Stats
// counts calls by operation, throttled calls, peak concurrency per owner,
// faults, auth failures and impersonated calls that lacked
// X-AnchorMailbox; GET /ewssim/stats serves them as JSON.
//
// # Microsoft Graph
//
// shared/exchange/graphsim serves Graph over the same store through the
// view in graphview.go: tokens remember the audience of their scope
// (GraphScope tokens are refused by EWS and EWS tokens by Graph), items
// have immutable ids that survive moves (ImmutableID, EWSIDOf), and
// ItemChanges / HierarchyChanges read the change logs SyncFolderItems and
// SyncFolderHierarchy read, so InvalidateSyncStates invalidates Graph
// delta tokens too. StartWith serves both protocols on one host.
//
// # Simplifications
//
// Recurring series are stored as one RecurringMaster (IsRecurring) and not
// expanded in CalendarView or availability; FindItem evaluates one
// IsEqualTo restriction on an extended property (others answer
// ErrorUnsupportedQueryFilter) and ignores SortOrder (newest first); its
// Traversal is Shallow only;
// CreateItem creates calendar items only; GetUserAvailability ignores
// daylight saving rules of the request's time zone; each MoveToDeletedItems
// or MoveItem gives the item a new EWS id in its new folder (its Graph
// immutable id stays).
package ewssim
