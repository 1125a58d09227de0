// Package graph is Mailbridge's Microsoft Graph v1.0 client for Exchange
// Online mailboxes: delta sync of mail folders, messages, contact folders,
// contacts and calendar views, single-item reads, calendar event writes,
// free/busy (getSchedule), user look-ups and JSON batching. It is the
// successor of package ews for Exchange Online, which turns EWS off on
// 2027-04-01; on-premises Exchange stays with EWS.
//
// One file per operation holds its request and response side by side
// (messages_delta.go, events_write.go, getschedule.go, ...); client.go is
// the transport, errors.go the error model, auth.go the authenticators and
// types.go the resource types, named and typed after the official v1.0
// metadata.
//
// It uses net/http and encoding/json only: a Graph SDK is far too heavy
// for a Lambda, and Mailbridge needs a dozen calls.
//
// # Authentication
//
// App-only tokens (client credentials) for one tenant's Entra app, through
// MSAL: OAuthClientSecret and OAuthCertificate, scope
// https://graph.microsoft.com/.default; the authority is overridable for
// national clouds and the simulator. MSAL caches the token until shortly
// before it expires.
//
// # Where requests go
//
// Every request goes to Config.BaseURL's scheme and host and nowhere else,
// and the bearer token is added only to such requests. @odata.nextLink and
// @odata.deltaLink values come from the server; one that points at another
// scheme or host is refused as a protocol error (ErrForeignLink), so a
// hostile or confused server cannot steer the client, and its token,
// elsewhere. Redirects are not followed. Config.Transport takes the
// project's URL-guarded transport.
//
// # Headers
//
// Every mailbox call sends Prefer: IdType="ImmutableId" (ids survive moves
// between folders); delta calls send Prefer: odata.maxpagesize. Each
// request carries a fresh client-request-id; errors report it together
// with Graph's request-id, which Microsoft support asks for.
//
// # Concurrency
//
// A Client is safe for concurrent use. Outlook allows an app 4 concurrent
// requests per mailbox; the client enforces Config.MailboxConcurrency
// (default 4) itself with a semaphore per mailbox: a call waits for a slot
// within its context and never exceeds the cap, while calls for other
// mailboxes proceed. A $batch holds as many slots as Outlook runs of it
// at once (one per sub-request, at most 4): Outlook counts each
// sub-request against the 4, so a batch sent beside other calls to the
// mailbox must not count as one. One call at a time gathers several
// slots, so two batches never wait for each other.
//
// Outlook also allows 10,000 requests per app and mailbox in any 10
// minutes. The client counts what it sent (Config.MailboxQuota) and
// refuses the request that would pass it, before sending, with a
// throttling error (code MailboxQuotaReached) carrying the time until the
// window has room, so the caller requeues as for a 429. The count is per
// client (per process): across processes the bound holds because one
// mailbox's jobs never overlap (one sync job per mailbox at a time).
//
// # Errors
//
// Every failure is an *Error with its Layer: transport (no usable answer:
// network, token, HTTP status without a Graph error body, HTML, empty,
// truncated or oversized bodies), protocol (Graph answered an error object,
// or broke the protocol, e.g. a foreign link) or item (one schedule of a
// getSchedule answer, one sub-response of a $batch). Callers decide with
// Classify and read the server's requested delay with RetryAfter. The
// client never retries and never sleeps: one retry owner per failure, and
// it is the caller.
//
// # Safety
//
// Response bodies are bounded by Config.MaxResponseBytes. Secrets (the
// client secret, the private key, their base64 forms, bearer tokens) never
// appear in errors or String output.
//
// The package holds no Mailbridge domain logic: an adapter maps its types
// and error classes to the domain's.
package graph
