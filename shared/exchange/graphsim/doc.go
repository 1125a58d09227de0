// Package graphsim serves Microsoft Graph v1.0 over the mailboxes of an
// ewssim.Sim, the way Exchange Online serves EWS and Graph over one
// mailbox store: a change made through EWS, Graph or the mutation API
// shows in both protocols. For tests, the local demo, benchmarks and
// third-party Graph clients.
//
// # Usage
//
//	sim := ewssim.New(ewssim.Options{Seed: 1})
//	ds, _ := sim.Generate(ewssim.GenOptions{Mailboxes: 10, ItemsPerMailbox: 200, Seed: 1})
//	g := graphsim.New(sim, graphsim.Options{Seed: 1})
//	srv, _ := g.Start(true) // EWS, Graph and the OAuth authority on one TLS loopback host
//	defer srv.Close()
//	// srv.EWSURL, srv.GraphURL (= srv.URL + "/v1.0"), srv.Authority(ds.Account.Tenant),
//	// srv.Client() trusts the certificate; scope ewssim.GraphScope.
//
// or mount g (paths under /v1.0/) or g.Handler() (Graph plus everything
// ewssim serves) on your own server.
//
// # Endpoints
//
//	GET    /v1.0/users/{id|upn}                          $select
//	GET    /v1.0/users                                   $filter=startswith(displayName|givenName|surname|mail|userPrincipalName,'…') or …, $top, $select (users.go)
//	GET    /v1.0/users/{u}/mailFolders/delta             mail folders under the root, flat
//	GET    /v1.0/users/{u}/mailFolders/{id|well-known}   inbox, drafts, sentitems, deleteditems, outbox, junkemail, msgfolderroot
//	GET    /v1.0/users/{u}/mailFolders/{f}/messages/delta  $select, $expand=singleValueExtendedProperties, Prefer: odata.maxpagesize, outlook.body-content-type
//	GET    /v1.0/users/{u}/messages/{id}                 $select, $expand
//	GET    /v1.0/users/{u}/contactFolders/delta          contact folders other than the default
//	GET    /v1.0/users/{u}/contactFolders/{f}/contacts/delta
//	GET    /v1.0/users/{u}/contacts/delta                the default Contacts folder
//	GET    /v1.0/users/{u}/contacts/{id}
//	GET    /v1.0/users/{u}/calendar                      the default calendar (id, name); $select ignored
//	GET    /v1.0/users/{u}/calendarView/delta?startDateTime=&endDateTime=
//	GET    /v1.0/users/{u}/calendarView?startDateTime=&endDateTime=   (series expanded as EWS's CalendarView; $skip paging)
//	GET    /v1.0/users/{u}/events                        $filter=singleValueExtendedProperties/Any(ep: ep/id eq '…' and ep/value eq '…'), $top, $skip
//	GET    /v1.0/users/{u}/events/{id}                   $select (cancelledOccurrences too), $expand=singleValueExtendedProperties($filter=id eq '…'),exceptionOccurrences($select=…)
//	POST   /v1.0/users/{u}/events (and /calendar/events) transactionId, singleValueExtendedProperties, recurrence, showAs
//	PATCH  /v1.0/users/{u}/events/{id}                   a master, a single event, or an instance (subject, location, start, end)
//	DELETE /v1.0/users/{u}/events/{id}                   an event, or one instance of a series
//	GET    /v1.0/users/{u}/calendarView?startDateTime=&endDateTime=  $top, $skip, $select; earliest first (respond.go)
//	POST   /v1.0/users/{u}/events/{id}/decline           {comment, sendResponse}: 202; the event leaves the calendar, the organizer gets the decline
//	POST   /v1.0/users/{u}/events/{id}/cancel            {comment}: 202; organizer only; the attendees get the cancellation
//	POST   /v1.0/users/{u}/calendar/getSchedule          at most 20 schedules, 62 days; series expanded, each instance with its showAs
//	POST   /v1.0/users/{u}/translateExchangeIds          ewsId, restId, restImmutableEntryId
//	POST   /v1.0/$batch                                  at most 20 requests
//	GET    /v1.0/places/microsoft.graph.roomlist         Place.Read.All; $top, $skip (pages of 100)
//	GET    /v1.0/places/microsoft.graph.room             every room (ewssim.AddRoom)
//	GET    /v1.0/places/{list}/microsoft.graph.roomlist/rooms  404 for an unknown room list
//
// Answers carry request-id and client-request-id headers; errors are
// Graph's {"error":{"code","message","innerError":{"date","request-id",
// "client-request-id"}}}. Entities use the property names and JSON types
// of the v1.0 metadata (metadata_test.go checks them); start and end of
// events are in UTC unless Prefer: outlook.timezone names a zone.
//
// # Auth and access
//
// Bearer tokens come from ewssim's token endpoint (client secret or
// certificate assertion) for scope https://graph.microsoft.com/.default.
// No token, an unknown one, or one for another audience (EWS's) answers
// 401 InvalidAuthenticationToken; EWS likewise refuses Graph tokens. An
// app's mailboxes are its ewssim impersonation scope (Account.
// ImpersonationScope or ImpersonateAll), standing in for an RBAC for
// Applications management scope: a mailbox outside it answers 403
// ErrorAccessDenied, an unknown mailbox 404 ErrorInvalidUser (GET
// /users/{id}: Request_ResourceNotFound). DenyPermission withdraws an
// application permission (e.g. Calendars.ReadWrite: event writes answer
// 403, reads still work).
//
// # Ids
//
// Graph ids are immutable: a message keeps its id when it moves
// (ewssim.Sim.MoveItem, EWS MoveToDeletedItems) although its EWS id
// changes, as in Exchange. A Graph restId is the EWS id in the URL-safe
// base64 alphabet; folder ids are restIds (folders do not move).
// translateExchangeIds and ewssim's ImmutableID / EWSIDOf map between the
// forms.
//
// # Delta
//
// Delta and skip tokens are opaque, checksummed positions in ewssim's
// per-folder change logs, the ones EWS SyncFolderItems and
// SyncFolderHierarchy read, plus what the round's first request fixed
// ($select, the calendarView window). Pages hold at most
// odata.maxpagesize entries (Options.MaxPageSize by default, 10); a page
// ends with @odata.nextLink until the log is read, then @odata.deltaLink.
// Later rounds report each changed item once with its current state (the
// $select'ed properties) and removals (deletes, moves out of the folder,
// events leaving the window) as {"id", "@removed":{"reason":"deleted"}}.
// ewssim.Sim.InvalidateSyncStates (or FaultInvalidateSyncState) also
// invalidates Graph tokens: they answer 410 Gone, syncStateNotFound, with
// the initial query in Location; so do unknown or edited tokens.
//
// # Mutation API
//
// The store is ewssim's: AddMailbox, AddFolder, RenameFolder,
// DeleteFolder, AddItem, UpdateItem, SetRead, MoveItem, DeleteItem,
// InvalidateSyncStates and the rest of ewssim.Sim.
//
// # Throttling and faults
//
// Each request to a mailbox holds a slot of its (app, mailbox) budget
// while it runs, including Options.Latency: more than
// Options.MaxConcurrency (default 4) at once, or more than Options.Quota
// (default 10,000) admitted in a sliding 10-minute window, answer 429
// ApplicationThrottled with Retry-After. $batch runs at most four of its
// requests to one mailbox at once, each through the same checks. Faults
// use ewssim.Fault by Graph operation name (Stats.Calls keys such as
// "messages.delta") and mailbox, drawn from Options.Seed: FaultHTTP429,
// FaultHTTP503 (with Retry-After), FaultSlow, FaultInvalidateSyncState,
// and the ones that break the HTTP exchange (FaultRaw, FaultHang,
// FaultTruncated, FaultReset, FaultDrop), which hit a $batch request as a
// whole rather than the requests inside it.
// Stats counts requests, admitted calls by operation, throttled requests
// (concurrency and quota), the peak in-flight requests per mailbox,
// injected faults, auth failures and error answers by status.
//
// # Simplifications
//
// Recurring series are the shared model's (ewssim's): a master with its
// pattern, exceptions and deleted occurrences, whichever protocol wrote
// it. POST /events and PATCH with a recurrence set the master's pattern
// (a new pattern drops its exceptions, as Exchange does; a relative
// pattern takes one day, every day, the weekdays or the weekend, the sets
// EWS can name); the master serves it as Graph renders a
// patternedRecurrence, its deleted occurrences as cancelledOccurrences
// ($select) and its modified ones as exceptionOccurrences ($expand), and
// calendarView and getSchedule expand it (each instance with the
// series' showAs). PATCH of an instance's subject, location, start or end
// makes it an exception and DELETE of an instance cancels it, in the
// model, as EWS does on an occurrence (instances.go; another property of
// an instance is refused); GET of an instance by id is not served, and
// calendarView delta lists the master itself. showAs is the model's
// LegacyFreeBusyStatus; an event's isReminderOn,
// reminderMinutesBeforeStart and responseRequested are held as POST and
// PATCH set them (a 15-minute reminder and true otherwise), beside the
// shared model;
// a message's or event's body is the stored text, or ewssim.HTMLBody of
// it unless Prefer: outlook.body-content-type="text" asks for text (event
// reads and calendarView delta honour it too); a message's
// conversation topic, sensitivity, In-Reply-To and References are served
// as the MAPI extended properties Graph reads them from; working hours are Monday to
// Friday 08:00-17:00 in the request's zone; DELETE hard-deletes an event;
// messages are read-only through Graph; Prefer: IdType is accepted and
// ids are always immutable.
package graphsim
