package api

import "strings"

// hostileContentCases are inputs to the on-demand content routes: ids
// that are no Exchange id (wrong characters, too long, traversals,
// control characters), include and bodyType values the route does not
// take, parameters it does not know, and ids of items the mailbox did not
// sync. Each is refused before Exchange is asked, storing nothing (not
// even an audit entry).
func hostileContentCases() []hostileCase {
	const item = "/tenants/contoso/mailboxes/alice@contoso.com/items/"
	const id = "AAMkAGI2TG93AAA%3D"
	get := func(p string) req { return req{method: "GET", path: p} }
	return []hostileCase{
		{"item id with markup", get(item + "AA%3Cscript%3E"), 400, "itemId", "id from the feed"},
		{"item id with a quote", get(item + "AA%22BB"), 400, "itemId", "id from the feed"},
		{"item id with a NUL", get(item + "AA%00BB"), 400, "itemId", "id from the feed"},
		{"item id with a space", get(item + "AA%20BB"), 400, "itemId", "id from the feed"},
		{"item id with a newline", get(item + "AA%0D%0AX-Injected:%201"), 400, "itemId", "id from the feed"},
		{"item id in UTF-8", get(item + "AA%C3%A9"), 400, "itemId", "id from the feed"},
		{"item id not UTF-8", get(item + "AA%FF"), 400, "itemId", "id from the feed"},
		{"item id of 1025 characters", get(item + strings.Repeat("A", 1025)), 400, "itemId", "1 to 1024"},
		{"item id with an encoded traversal", get(item + "..%2F..%2Fchanges"), 400, "path", "clean"},
		{"item id as a dot", get(item + "%2E"), 400, "path", "clean"},
		{"item id with a percent", get(item + "AA%25BB"), 400, "itemId", "id from the feed"},
		{"unknown include", get(item + id + "?include=headers"), 400, "include", "body, mime and attachments"},
		{"include mime with body", get(item + id + "?include=mime,body"), 400, "include", "alone"},
		{"include mime with attachments", get(item + id + "?include=attachments,mime"), 400, "include", "alone"},
		{"include twice", get(item + id + "?include=body&include=mime"), 400, "include", "more than once"},
		{"include empty element", get(item + id + "?include=body,,attachments"), 400, "include", "body, mime and attachments"},
		{"include upper case", get(item + id + "?include=BODY"), 400, "include", "body, mime and attachments"},
		{"bodyType rtf", get(item + id + "?include=body&bodyType=rtf"), 400, "bodyType", "text or html"},
		{"unknown item parameter", get(item + id + "?expand=all"), 400, "expand", "unknown"},
		{"item not synced", get(item + id), 404, "", "among the items Mailbridge synced"},
		{"item of an unregistered mailbox", get("/tenants/contoso/mailboxes/mallory@contoso.com/items/" + id), 404, "", "not registered"},
		{"item of an unknown tenant", get("/tenants/nosuchco/mailboxes/alice@contoso.com/items/" + id), 404, "", ""},
		{"item with a bad address", get("/tenants/contoso/mailboxes/not-an-address/items/" + id), 400, "address", ""},
		{"attachment id with markup", get(item + id + "/attachments/%3Cx%3E"), 400, "attachmentId", "id from the feed"},
		{"attachment id with a NUL", get(item + id + "/attachments/AA%00"), 400, "attachmentId", "id from the feed"},
		{"attachment id of 1025 characters", get(item + id + "/attachments/" + strings.Repeat("B", 1025)), 400, "attachmentId", "1 to 1024"},
		{"attachment id with an encoded traversal", get(item + id + "/attachments/..%2F..%2F..%2Fcredentials"), 400, "path", "clean"},
		{"attachment with a query", get(item + id + "/attachments/AAMkA1%3D?download=1"), 400, "download", "unknown"},
		{"attachment of an item not synced", get(item + id + "/attachments/AAMkA1%3D"), 404, "", "among the items Mailbridge synced"},
		{"attachment with a bad item id", get(item + "A%3BB/attachments/AAMkA1%3D"), 400, "itemId", "id from the feed"},
		{"attachment route by POST", req{method: "POST", path: item + id + "/attachments/AAMkA1%3D", body: `{}`}, 405, "", "not supported"},
		{"item route by DELETE", req{method: "DELETE", path: item + id}, 405, "", "not supported"},
	}
}
