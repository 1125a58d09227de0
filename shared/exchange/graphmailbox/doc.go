// Package graphmailbox implements the domain's mailbox ports over the
// Microsoft Graph client (shared/exchange/graph): domain.Connector (sync
// reads), domain.CalendarConnector (calendar writes) and
// domain.AccessChecker (verify), so the sync, calendar-write and verify
// use cases serve a Graph tenant exactly as an EWS one, and the change
// feed does not say which protocol served it.
//
// # Folders
//
// Mail folders keep their Graph id and get class IPF.Note. Graph has no
// folder id for the delta views of the default calendar and contacts, so
// they are synthetic folders: "calendar" (IPF.Appointment) and "contacts"
// (IPF.Contact), listed as created by every full hierarchy sync. A contact
// subfolder is "contacts:" + its Graph id, under "contacts" (Graph's
// contactFolders delta is flat, so contact folders are too).
//
// # Ids
//
// A tenant onboarded on Graph gets Graph's immutable ids. A tenant
// onboarded on EWS (domain.IDFormatEWS) keeps EWS ids after it switches:
// every id reported is translated with translateExchangeIds, at most one
// call per delta page (ewsids.go, which also says what cannot be
// translated).
//
// # Calendar window
//
// Graph v1.0 syncs events only through calendarView delta, which needs a
// window fixed by the round's first request. The window is
// Options.CalendarBack before to Options.CalendarAhead after the moment a
// round from scratch starts (default 30 days back, 365 days ahead). The
// window start is kept in the folder's state; once it is more than
// Options.CalendarSlack (default 7 days) older than a fresh window's would
// be, SyncItems answers AccessSyncStateInvalid and the sync use case
// resyncs the folder: events that left the window get deletes, unchanged
// events are not sent again (same change key).
//
// # Recurrence
//
// EWS sync reports series masters; calendarView delta reports
// occurrences and exceptions. For parity a page reports single instances
// and series masters only: an occurrence or exception stands for its
// series master (an update, fetched and normalized as the master).
//
// # Requests
//
// Every method is one Graph request wherever Graph allows it. SyncItems
// keeps the page's full items, so the GetItems call the sync use case
// makes right after it is served without a request; a miss (a resumed
// job, a series master) is fetched by id in $batch requests of 20.
//
// The adapter never retries and never sleeps: failures are classified
// once (classify.go) into *domain.AccessError, with the server's
// Retry-After on throttling.
package graphmailbox
