// Package ews is Mailbridge's Exchange Web Services client.
//
// One file per operation holds its request and response types side by
// side (syncfolderitems.go, getitem.go, ...); envelope.go builds the SOAP
// envelope and reads responses, errors.go is the error model, auth.go the
// authenticators (ntlm.go NTLM and its connection pool), client.go the
// transport and trace.go the recorder.
//
// # Concurrency
//
// A Client is safe for concurrent use. NTLM authenticates a connection,
// not a request, so an NTLM client lends each call a transport of one
// connection for its whole handshake and request; up to
// Config.NTLMConnections calls run at once and the rest wait, within their
// Timeout. Every auth kind speaks HTTP/1.1 on the client's own transport,
// NTLM also on a caller's.
//
// # Addressing
//
// Every call names a Target. ModeImpersonation sends the
// ExchangeImpersonation header (PrimarySmtpAddress); ModeDelegate names the
// mailbox inside DistinguishedFolderId; ModeSelf acts on the account's own
// mailbox. Calls that target a mailbox send X-AnchorMailbox.
//
// # Errors
//
// Every failure of a call is an *Error with its Layer (transport, SOAP
// fault, response message). Callers decide what to do with one function,
// Classify, and read the server's requested delay with RetryAfter. The
// client never retries: one retry owner per failure, and it is the caller.
// Batch operations (GetItem, GetFolder, GetUserAvailability) return one
// result per requested element, so one bad item does not hide the others.
//
// # Decoding
//
// Responses are read by a small non-validating XML parser (xmltree.go) that
// is several times faster than encoding/xml and tolerates the invalid
// character references Exchange emits. DecodeResponse exposes the same
// decoder for saved responses (`ewsctl decode`).
//
// # Safety
//
// Requests are built with encoding/xml, so every value is escaped. TLS is
// always verified (Config.RootCAs trusts a private CA). Response bodies are
// bounded by Config.MaxResponseBytes. Credentials never appear in errors,
// String output or trace files. Every connection (to Exchange and to the
// OAuth token endpoint) is checked by Config.URLGuard, which New requires:
// a client cannot be built that would call an address the deployment does
// not allow.
//
// The package holds no Mailbridge domain logic: callers map Item to their
// own types.
package ews
