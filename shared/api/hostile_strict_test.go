package api

import "strings"

// hostileStrictCases are inputs encoding/json and the validators used to
// let through: invalid UTF-8 and lone surrogates (silently replaced),
// repeated and case-variant keys, look-alike addresses, malformed Entra
// tenants, fields of another credential kind, intervals not in whole
// minutes and malformed percent-encodings in the path.
func hostileStrictCases() []hostileCase {
	post := func(body string) req { return req{method: "POST", path: "/tenants", body: body} }
	patch := func(body string) req { return req{method: "PATCH", path: "/tenants/contoso", body: body} }
	rotate := func(body string) req { return req{method: "PUT", path: "/tenants/contoso/credentials", body: body} }
	bulk := func(body string) req { return req{method: "POST", path: "/tenants/contoso/mailboxes", body: body} }
	oauth := func(extra string) string {
		return `{"id":"newco","ewsUrl":"https://mail.contoso.com/EWS/Exchange.asmx","credentials":{"kind":"oauth_secret","entraTenant":"contoso.onmicrosoft.com","clientId":"app","clientSecret":"Hostile-secret-1"` + extra + `}}`
	}
	return []hostileCase{
		// Encoding: encoding/json turns these into U+FFFD without a word.
		{"invalid UTF-8 in display name", post(createWith(`,"displayName":"Con` + "\xff" + `toso"`)), 400, "displayName", "UTF-8"},
		{"invalid UTF-8 in password", post(strings.Replace(createWith(""), "Hostile-pw-42", "Hostile-pw-42\xc3", 1)), 400, "credentials.password", "UTF-8"},
		{"overlong UTF-8 encoding", post(createWith(`,"displayName":"` + "\xc0\xaf" + `"`)), 400, "displayName", "UTF-8"},
		{"lone high surrogate", post(createWith(`,"displayName":"Contoso\ud800"`)), 400, "displayName", "surrogate"},
		{"lone low surrogate", post(strings.Replace(createWith(""), `"svc"`, `"s\udc00vc"`, 1)), 400, "credentials.username", "surrogate"},
		{"high surrogate then letter", post(createWith(`,"displayName":"\ud800\u0041"`)), 400, "displayName", "surrogate"},
		{"lone surrogate in a key", post(createWith(`,"display\udbffName":"x"`)), 400, "", "surrogate"},
		{"lone surrogate in an address", bulk(`{"mailboxes":[{"address":"bob\ud83d@contoso.com"}]}`), 400, "mailboxes.address", "surrogate"},
		// Keys: the last of repeated keys won; keys matched case-insensitively.
		{"repeated id", post(strings.Replace(createWith(""), `"id":"newco"`, `"id":"newco","id":"other"`, 1)), 400, "id", "more than once"},
		{"repeated password", post(strings.Replace(createWith(""), `"password":"Hostile-pw-42"`, `"password":"Hostile-pw-42","password":"Hostile-pw-42"`, 1)), 400, "credentials.password", "more than once"},
		{"repeated key in patch", patch(`{"displayName":"a","displayName":"b"}`), 400, "displayName", "more than once"},
		{"repeated key in a mailbox", bulk(`{"mailboxes":[{"address":"bob@contoso.com","address":"eve@contoso.com"}]}`), 400, "mailboxes.address", "more than once"},
		{"ID for id", post(strings.Replace(createWith(""), `"id":`, `"ID":`, 1)), 400, "ID", "case-sensitive"},
		{"EWSURL for ewsUrl", post(strings.Replace(createWith(""), `"ewsUrl":`, `"EWSURL":`, 1)), 400, "EWSURL", "case-sensitive"},
		{"AccessMode beside accessMode", post(createWith(`,"accessMode":"impersonation","AccessMode":"delegate"`)), 400, "AccessMode", "case-sensitive"},
		{"Kelvin sign in a key", post(strings.Replace(createWith(""), `"kind":`, `"\u212aind":`, 1)), 400, "credentials.\u212aind", "case-sensitive"},
		{"Credentials in rotate", rotate(`{"Credentials":{"kind":"basic","username":"svc","password":"Hostile-pw-43"}}`), 400, "Credentials", "case-sensitive"},
		{"Address in bulk add", bulk(`{"mailboxes":[{"Address":"bob@contoso.com"}]}`), 400, "mailboxes.Address", "case-sensitive"},
		{"VERSION in patch", patch(`{"displayName":"x","VERSION":1}`), 400, "VERSION", "case-sensitive"},
		// Addresses: strings.ToLower folded the Kelvin sign into 'k'.
		{"Kelvin sign in a path address", req{method: "DELETE", path: "/tenants/contoso/mailboxes/%E2%84%AAate@contoso.com"}, 400, "address", "ASCII"},
		{"Kelvin sign in a verify address", req{method: "POST", path: "/tenants/contoso/verify?mailbox=%E2%84%AAate@contoso.com"}, 400, "mailbox", "ASCII"},
		{"Kelvin sign in a path domain", req{method: "GET", path: "/tenants/contoso/mailboxes/kate@%E2%84%AAontoso.com/changes"}, 400, "address", "ASCII"},
		{"Kelvin sign in a probe mailbox", rotate(`{"credentials":{"kind":"basic","username":"svc","password":"Hostile-pw-43"},"probeMailbox":"\u212aate@contoso.com"}`), 400, "probeMailbox", "ASCII"},
		// Entra tenant: it goes into the token endpoint's path.
		{"traversal Entra tenant", post(strings.Replace(oauth(""), "contoso.onmicrosoft.com", "../../x", 1)), 400, "credentials.entraTenant", "GUID"},
		{"Entra tenant with a path", post(strings.Replace(oauth(""), "contoso.onmicrosoft.com", "contoso.com/../common", 1)), 400, "credentials.entraTenant", "GUID"},
		{"Entra tenant with a query", post(strings.Replace(oauth(""), "contoso.onmicrosoft.com", "contoso.com?x=1", 1)), 400, "credentials.entraTenant", "GUID"},
		{"Entra tenant with a space", post(strings.Replace(oauth(""), "contoso.onmicrosoft.com", "contoso com", 1)), 400, "credentials.entraTenant", "GUID"},
		{"Entra tenant half a GUID", post(strings.Replace(oauth(""), "contoso.onmicrosoft.com", "72f988bf-86f1-41af", 1)), 400, "credentials.entraTenant", "GUID"},
		// Fields of another credential kind were stored silently.
		{"password with oauth_secret", post(oauth(`,"password":"Hostile-pw-42"`)), 400, "credentials.password", "does not belong"},
		{"username with oauth_secret", post(oauth(`,"username":"svc"`)), 400, "credentials.username", "does not belong"},
		{"keyPem with oauth_secret", post(oauth(`,"keyPem":"Hostile-key-1"`)), 400, "credentials.keyPem", "does not belong"},
		{"clientSecret with basic", post(strings.Replace(createWith(""), `"password":"Hostile-pw-42"`, `"password":"Hostile-pw-42","clientSecret":"Hostile-secret-1"`, 1)), 400, "credentials.clientSecret", "does not belong"},
		{"domain with basic", post(strings.Replace(createWith(""), `"password":"Hostile-pw-42"`, `"password":"Hostile-pw-42","domain":"CONTOSO"`, 1)), 400, "credentials.domain", "does not belong"},
		{"authority with ntlm", rotate(`{"credentials":{"kind":"ntlm","username":"svc","password":"Hostile-pw-43","authority":"https://login.microsoftonline.com/"}}`), 400, "credentials.authority", "does not belong"},
		// Intervals: the scheduler works in whole minutes.
		{"interval 61 s", post(createWith(`,"syncIntervalSeconds":61`)), 400, "syncIntervalSeconds", "whole number of minutes"},
		{"interval 90 s in patch", patch(`{"syncIntervalSeconds":90}`), 400, "syncIntervalSeconds", "whole number of minutes"},
		// Paths: net/http answered a malformed escape in plain text.
		{"malformed escape in path", req{method: "GET", path: "/tenants/%zz"}, 400, "path", "malformed"},
		{"truncated escape in path", req{method: "DELETE", path: "/tenants/contoso/mailboxes/bob%2@contoso.com"}, 400, "path", "malformed"},
	}
}
