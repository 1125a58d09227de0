// Package ewsmailbox is the adapters over EWS that implement the domain's
// mailbox ports: domain.Connector and domain.MailboxAccess for sync reads,
// domain.CalendarConnector and domain.CalendarWriter for calendar writes,
// and domain.AccessChecker for access checks.
//
// One file per concern:
//
//   - connect.go: the EWS client per tenant, endpoint and credential (the
//     client cache), and the target an access mode addresses;
//   - read.go: sync reads (read operations only: the sync path has no
//     write to call);
//   - normalize.go: EWS items to domain.Item;
//   - calendar.go: calendar writes, only ever to items Mailbridge created;
//   - check.go: the access check, with the fallback from impersonation to
//     delegate access;
//   - classify.go: the one mapping of EWS failures to domain error kinds
//     and mailbox statuses, with each use's differences as data.
//
// Nothing here retries: the use cases own retries. Nothing here writes fix
// hints: the application owns their text (shared/app/hints.go).
package ewsmailbox
