// Package ewssim is a faithful in-memory Exchange served over HTTP, for
// tests, the local demo (make run), ewsctl sim and benchmarks.
//
// It answers EWS SOAP requests at /EWS/Exchange.asmx with responses shaped
// like Exchange's (soap:Envelope with ServerVersionInfo, m:XxxResponse /
// m:ResponseMessages / m:XxxResponseMessage with ResponseClass and
// ResponseCode) that validate against the official schema:
//
//	GetFolder, FindFolder, SyncFolderHierarchy, SyncFolderItems,
//	GetItem (batched, one message per id), FindItem (IndexedPageItemView,
//	FractionalPageItemView and CalendarView; Restriction and SortOrder),
//	CreateItem / DeleteItem for calendar items, UpdateItem (ordinary
//	message and calendar fields), CreateItem with a DeclineItem or
//	CancelCalendarItem (the meeting leaves the calendar; with
//	SendAndSaveCopy or SendOnly the organizer, or the attendees, get a
//	"Declined:"/"Canceled:" message in their Inbox; Responses lists what
//	was sent; op_respond.go), GetUserAvailability (with working hours),
//	ResolveNames, GetRoomLists and GetRooms (over the rooms and room lists
//	of AddRoom and AddRoomList; an address that is no room list answers
//	ErrorNameResolutionNoResults), GetServerTimeZones and ConvertId.
//
// Requests are parsed with encoding/xml (tokenized by lexer.go when they
// are the plain XML clients send, by encoding/xml itself otherwise, with
// the same outcome either way); an unknown operation answers
// ErrorInvalidRequest and a malformed one ErrorSchemaValidation, both as
// SOAP faults with HTTP 500.
//
// # Operations it does not implement
//
// Every other operation of the EWS WSDL (GetDelegate, CreateFolder,
// SendItem, Subscribe, GetUserOofSettings, FindConversation, ...; the
// table in unsupported_table.go is generated from the schema) is a valid
// request the simulator cannot carry out. It answers as Exchange answers
// such a request: HTTP 200 with the operation's own response element and
// one response message with ResponseClass="Error" and ResponseCode
// ErrorInvalidOperation, schema-valid. Not a SOAP fault: clients read
// ErrorInvalidRequest or ErrorSchemaValidation faults as "wrong server
// version" and give up on the server, and Outlook takes an HTTP 500 on an
// EWS call for an authentication failure (grommunio/gromox#261). The 17
// operations whose error response would still need content that cannot
// be empty (Create/Get/UpdateMeetingInstance, Create/Get/UpdateMeetingSpace,
// DeleteSearchSuggestion, ExecuteSearch, GetSearchSuggestions,
// FindAvailableMeetingTimes, FindMeetingTimeCandidates, GetAppManifests,
// GetLastPrivateCatalogUpdate, GetPasswordExpirationDate, GetPersona,
// GetSharingFolder, SetUserPhoto) keep the ErrorInvalidRequest fault.
//
// # FindItem
//
// Restriction: Exists, IsEqualTo, IsNotEqualTo, IsGreaterThan,
// IsGreaterThanOrEqualTo, IsLessThan, IsLessThanOrEqualTo (a property
// against a Constant or another property), Contains (ContainmentMode
// FullString (the default), Prefixed, Substring, PrefixOnWords,
// ExactPhrase; ContainmentComparison Exact (the default) or one that
// ignores case), And, Or, Not; on the FieldURIs of itemProperties in
// restriction.go (subject, body, times received/sent/created/modified,
// importance, categories, read flag, sender, calendar start/end/location,
// contact names, ...) and on extended properties. Strings compare
// ignoring case, a multi-valued property matches when one value does, and
// an item without the property matches no comparison (not even
// IsNotEqualTo), as a MAPI restriction. Excludes answers
// ErrorUnsupportedQueryFilter, an unknown property
// ErrorUnsupportedPathForQuery, a constant of the wrong type
// ErrorInvalidValueForProperty, Contains on a non-string
// ErrorContainsFilterWrongType, an unknown sort property
// ErrorUnsupportedPathForSortGroup, each as the folder's error response
// message (a malformed restriction is the ErrorSchemaValidation fault).
// SortOrder: FieldOrders on
// the same properties, first first, missing values lowest; without one,
// newest first. IndexedPageItemView from the Beginning or the End (the
// page reads forward; IndexedPagingOffset is the next Offset from the same
// base point; IncludesLastItemInRange says the next page would be empty);
// FractionalPageItemView answers NumeratorOffset and AbsoluteDenominator.
//
// # Well-known folders
//
// A mailbox has root, msgfolderroot, inbox, drafts, sentitems,
// deleteditems, outbox, junkemail, calendar, contacts, tasks, notes and
// journal, and outside the IPM subtree (so not in SyncFolderHierarchy)
// searchfolders, voicemail, todosearch and the recoverableitems* folders;
// all start empty. Every other DistinguishedFolderIdNameType name
// (archive*, publicfoldersroot, conversationhistory, syncissues,
// quickcontacts, adminauditlogs, the Exchange Online-only folders)
// answers ErrorFolderNotFound, as Exchange does for a well-known folder
// the mailbox lacks.
//
// # Time zones, ids, availability
//
// GetServerTimeZones describes every Windows zone of shared/domain's
// table (or the requested Ids; an unknown one is ErrorTimeZone) in the
// Exchange 2010 format: Standard and Daylight periods and the current
// year's two RecurringDayTransitions, derived from Go's tz database, not
// the zone's history. Display names are "(UTC±hh:mm) Id", not Windows'
// localized names. ConvertId converts item and folder ids between EwsId,
// EwsLegacyId, EntryId, HexEntryId, StoreId and OwaId reversibly (layouts
// in op_convertid.go; an id in the wrong format is
// ErrorInvalidIdMalformed, public folder ids
// ErrorUnsupportedTypeForConversion). GetUserAvailability gives each
// mailbox's WorkingHours (DefaultWorkingHours, or SetWorkingHours; none
// when set without days) for the FreeBusy, FreeBusyMerged, Detailed and
// DetailedMerged views.
//
// # HTTP
//
// GET and HEAD on the EWS path authenticate like POST, so an NTLM
// handshake may start (or run entirely) over GET, as IIS allows; an
// authenticated GET answers 200 with Exchange's service page. Other
// methods answer 405.
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
// # Recurring series
//
// A calendar item with a Recurrence is a RecurringMaster (recurrence.go):
// all six EWS patterns, the three ranges, expanded in the series' time
// zone with Go's zone database (the Windows id resolved through
// shared/domain), at the master's local time of day across DST; an
// absolute day a month lacks falls on its last day. CreateItem takes a
// Recurrence (ErrorCalendarInvalidRecurrence for values no series has) and
// moves the start to the first occurrence. Occurrences have ids of their
// own (and OccurrenceItemId names one by instance index): GetItem returns
// them as Occurrence or Exception, UpdateItem on one (subject, location,
// start, end) makes it an exception, DeleteItem on one adds it to the
// master's DeletedOccurrences (ErrorCalendarOccurrenceIsDeletedFromRecurrence
// after, ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange past the end).
// GetItem on the master renders Recurrence, FirstOccurrence,
// LastOccurrence, ModifiedOccurrences and DeletedOccurrences. FindItem
// with a CalendarView lists occurrences and exceptions in the window, never
// the master, in start order, at most MaxEntriesReturned (then
// IncludesLastItemInRange is false); over two years is
// ErrorCalendarViewRangeTooBig. SyncFolderItems reports the master: an
// exception or deletion changes the master's ChangeKey, as in Exchange.
// GetUserAvailability expands series the same way: each occurrence and
// exception overlapping the window is a CalendarEvent (IsException on an
// exception), deleted ones are not; every event has its item's
// LegacyFreeBusyStatus (Item.FreeBusy, Busy by default, set by CreateItem
// and UpdateItem), occurrences their master's, and MergedFreeBusy shows
// the busiest status per interval. The series model is the one graphsim
// serves too (series_view.go: SeriesExceptions, SeriesDeleted, and
// SetOccurrence / DeleteOccurrence for tests and Graph), so a series reads
// the same over both protocols.
//
// # Simplifications
//
// A generated item with
// IsRecurring but no Recurrence is a master without a pattern; FindItem's
// Traversal is Shallow only, it has no grouping (GroupBy) and ignores
// SortOrder in a CalendarView (which is in start order); UpdateItem does
// not detect conflicts under AutoResolve (a stale change key is only
// refused under NeverOverwrite) and reports no ConflictResults;
// CreateItem creates calendar items only; GetUserAvailability ignores
// daylight saving rules of the request's time zone; each MoveToDeletedItems
// or MoveItem gives the item a new EWS id in its new folder (its Graph
// immutable id stays).
package ewssim
