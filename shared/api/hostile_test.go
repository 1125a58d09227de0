package api

import (
	"fmt"
	"strings"

	"github.com/mailbridge/mailbridge/shared/domain"
)

type hostileCase struct {
	name   string
	r      req
	status int
	field  string // the error must name this field ("" = no field check)
	msg    string // and its message must contain this
}

func createWith(extra string) string {
	return createWithURL("https://mail.contoso.com/EWS/Exchange.asmx", extra)
}

func createWithURL(url, extra string) string {
	return `{"id":"newco","ewsUrl":` + fmt.Sprintf("%q", url) +
		`,"credentials":{"kind":"basic","username":"svc","password":"Hostile-pw-42"}` + extra + `}`
}

func hostileCases() []hostileCase {
	post := func(body string) req { return req{method: "POST", path: "/tenants", body: body} }
	many := make([]string, domain.MaxMailboxesPerBulkRequest+1)
	for i := range many {
		many[i] = fmt.Sprintf(`{"address":"user%d@contoso.com"}`, i)
	}
	return []hostileCase{
		// Malformed bodies.
		{"truncated JSON", post(`{"id":"newco",`), 400, "", "truncated"},
		{"syntax error", post(`{"id":"newco",}`), 400, "", "not valid JSON"},
		{"empty body", req{method: "POST", path: "/tenants", header: map[string]string{"Content-Type": "application/json"}}, 400, "", "empty"},
		{"array body", post(`[{"id":"newco"}]`), 400, "", "must be a JSON object"},
		{"two objects", post(createWith("") + `{}`), 400, "", "exactly one JSON object"},
		{"oversize body", post(createWith(`,"displayName":"` + strings.Repeat("A", MaxBodyBytes) + `"`)), 413, "", "larger than"},
		{"text/plain", req{method: "POST", path: "/tenants", body: createWith(""), header: map[string]string{"Content-Type": "text/plain"}}, 415, "", "application/json"},
		{"no Content-Type", req{method: "POST", path: "/tenants", body: createWith(""), header: map[string]string{"Content-Type": ""}}, 415, "", "application/json"},
		{"CRLF in Content-Type", req{method: "POST", path: "/tenants", body: createWith(""), header: map[string]string{"Content-Type": "application/json\r\nX-Injected: 1"}}, 415, "", "application/json"},
		// Unknown fields and wrong types.
		{"unknown field", post(createWith(`,"isAdmin":true`)), 400, "isAdmin", "unknown field"},
		{"unknown nested field", post(`{"id":"newco","ewsUrl":"https://mail.contoso.com/EWS/Exchange.asmx","credentials":{"kind":"basic","username":"svc","password":"Hostile-pw-42","token":"x"}}`), 400, "token", "unknown field"},
		{"interval as string", post(createWith(`,"syncIntervalSeconds":"5m"`)), 400, "syncIntervalSeconds", "must be an integer"},
		{"fallback as string", post(createWith(`,"allowFallback":"yes"`)), 400, "allowFallback", "true or false"},
		{"password as number", post(`{"id":"newco","ewsUrl":"https://mail.contoso.com/","credentials":{"kind":"basic","username":"svc","password":987654321}}`), 400, "credentials.password", "must be a string"},
		{"folders as string", post(createWith(`,"folders":"inbox"`)), 400, "folders", "must be an array"},
		// Ids and names.
		{"upper-case id", post(strings.Replace(createWith(""), `"newco"`, `"NewCo"`, 1)), 400, "id", "a-z"},
		{"SQL injection id", post(strings.Replace(createWith(""), `"newco"`, `"x'; DROP TABLE tenants;--"`, 1)), 400, "id", "a-z"},
		{"path traversal id", post(strings.Replace(createWith(""), `"newco"`, `"../../etc/passwd"`, 1)), 400, "id", "a-z"},
		{"over-long id", post(strings.Replace(createWith(""), `"newco"`, `"`+strings.Repeat("a", 64)+`"`, 1)), 400, "id", "3-63"},
		{"XML in display name", post(createWith(`,"displayName":"<t:ImpersonatedUser>admin</t:ImpersonatedUser>"`)), 400, "displayName", "'<'"},
		{"CRLF in display name", post(createWith(`,"displayName":"Contoso\r\nX-Evil: 1"`)), 400, "displayName", "control"},
		{"over-long display name", post(createWith(`,"displayName":"` + strings.Repeat("n", 201) + `"`)), 400, "displayName", "at most 200"},
		// Enums and ranges.
		{"unknown access mode", post(createWith(`,"accessMode":"god-mode"`)), 400, "accessMode", "impersonation, delegate"},
		{"unknown exchange version", post(createWith(`,"exchangeVersion":"Exchange2099"`)), 400, "exchangeVersion", "RequestServerVersion"},
		{"unknown auth kind", post(`{"id":"newco","ewsUrl":"https://mail.contoso.com/","credentials":{"kind":"kerberos","username":"svc","password":"x"}}`), 400, "credentials.kind", "basic, ntlm"},
		{"missing password", post(`{"id":"newco","ewsUrl":"https://mail.contoso.com/","credentials":{"kind":"basic","username":"svc"}}`), 400, "credentials.password", "required"},
		{"missing credentials", post(`{"id":"newco","ewsUrl":"https://mail.contoso.com/"}`), 400, "credentials", "required"},
		{"CRLF in username", post(`{"id":"newco","ewsUrl":"https://mail.contoso.com/","credentials":{"kind":"basic","username":"svc\r\nHost: evil","password":"x"}}`), 400, "credentials.username", "control"},
		{"traversal folder", post(createWith(`,"folders":["../../etc"]`)), 400, "folders", "inbox, sentitems"},
		{"interval overflowing a duration", post(createWith(`,"syncIntervalSeconds":18446744074`)), 400, "syncIntervalSeconds", "between 60"},
		{"interval too short", post(createWith(`,"syncIntervalSeconds":1`)), 400, "syncIntervalSeconds", "between 60"},
		{"too many jobs", post(createWith(`,"maxConcurrentJobs":1000`)), 400, "maxConcurrentJobs", "between 1 and 27"},
		// SSRF through the EWS URL and the OAuth authority.
		{"metadata over http", post(createWithURL("http://169.254.169.254/latest/meta-data/", "")), 400, "ewsUrl", "https"},
		{"metadata over https", post(createWithURL("https://169.254.169.254/latest/meta-data/", "")), 400, "ewsUrl", "metadata"},
		{"private over http", post(createWithURL("http://10.0.0.1/EWS/Exchange.asmx", "")), 400, "ewsUrl", "https"},
		{"private over https", post(createWithURL("https://10.0.0.1/EWS/Exchange.asmx", "")), 400, "ewsUrl", "private"},
		{"localhost", post(createWithURL("https://localhost/EWS/Exchange.asmx", "")), 400, "ewsUrl", "loopback"},
		{"IPv6 loopback", post(createWithURL("https://[::1]/EWS/Exchange.asmx", "")), 400, "ewsUrl", "loopback"},
		{"hex IP", post(createWithURL("https://0x7f000001/EWS/Exchange.asmx", "")), 400, "ewsUrl", "numeric"},
		{"decimal IP", post(createWithURL("https://2130706433/EWS/Exchange.asmx", "")), 400, "ewsUrl", "numeric"},
		{"name resolving to private", post(createWithURL("https://internal.contoso.com/EWS/Exchange.asmx", "")), 400, "ewsUrl", "10.1.2.3"},
		{"name resolving to metadata", post(createWithURL("https://metadata.attacker.test/", "")), 400, "ewsUrl", "metadata"},
		{"name resolving to loopback", post(createWithURL("https://rebind.attacker.test/", "")), 400, "ewsUrl", "loopback"},
		{"userinfo in URL", post(createWithURL("https://admin:pw@mail.contoso.com/EWS/Exchange.asmx", "")), 400, "ewsUrl", "user information"},
		{"file URL", post(createWithURL("file:///etc/passwd", "")), 400, "ewsUrl", "https"},
		{"authority to metadata", post(`{"id":"newco","ewsUrl":"https://mail.contoso.com/","credentials":{"kind":"oauth_secret","entraTenant":"contoso.com","clientId":"app","clientSecret":"Hostile-secret-1","authority":"https://169.254.169.254/"}}`), 400, "credentials.authority", "metadata"},
		// Header injection.
		{"CRLF in Idempotency-Key", req{method: "POST", path: "/tenants", body: createWith(""), header: map[string]string{"Idempotency-Key": "k\r\nSet-Cookie: a=b"}}, 400, "Idempotency-Key", "1-64"},
		// Paths and query strings.
		{"upper-case id in path", req{method: "GET", path: "/tenants/CONTOSO"}, 400, "id", "a-z"},
		{"encoded traversal in path", req{method: "GET", path: "/tenants/..%2F..%2Fsecrets"}, 400, "path", "clean"},
		{"raw traversal in path", req{method: "GET", path: "/tenants/contoso/../globex"}, 400, "path", "clean"},
		{"injection in path", req{method: "GET", path: "/tenants/x'%3B%20DROP%20TABLE%20t"}, 400, "id", "a-z"},
		{"query on a create", req{method: "POST", path: "/tenants?admin=true", body: createWith("")}, 400, "admin", "unknown query parameter"},
		{"unknown query parameter", req{method: "GET", path: "/tenants/contoso/mailboxes?statuss=ok"}, 400, "statuss", "unknown query parameter"},
		{"bad status filter", req{method: "GET", path: "/tenants/contoso/mailboxes?status=pwned"}, 400, "status", "pending, ok"},
		{"negative limit", req{method: "GET", path: "/tenants/contoso/mailboxes?limit=-1"}, 400, "limit", "between 1 and 1000"},
		{"limit not a number", req{method: "GET", path: "/tenants/contoso/audit?limit=ten"}, 400, "limit", "integer"},
		{"CRLF in cursor", req{method: "GET", path: "/tenants/contoso/audit?cursor=%0D%0AX"}, 400, "cursor", "opaque"},
		{"repeated parameter", req{method: "GET", path: "/tenants/contoso/mailboxes?limit=1&limit=2"}, 400, "limit", "more than once"},
		// Over HTTP the query is malformed; API Gateway hands over "%zz" as the value.
		{"malformed query", req{method: "GET", path: "/tenants/contoso/mailboxes?limit=%zz"}, 400, "", ""},
		// Mailboxes.
		{"1001 mailboxes", req{method: "POST", path: "/tenants/contoso/mailboxes", body: `{"mailboxes":[` + strings.Join(many, ",") + `]}`}, 400, "mailboxes", "at most 1000"},
		{"no mailboxes", req{method: "POST", path: "/tenants/contoso/mailboxes", body: `{"mailboxes":[]}`}, 400, "mailboxes", "at least one"},
		{"mailboxes as object", req{method: "POST", path: "/tenants/contoso/mailboxes", body: `{"mailboxes":{"address":"a@contoso.com"}}`}, 400, "mailboxes", "must be an array"},
		{"CRLF address in path", req{method: "DELETE", path: "/tenants/contoso/mailboxes/bob%0D%0A@contoso.com"}, 400, "address", "plain address"},
		{"not an address", req{method: "DELETE", path: "/tenants/contoso/mailboxes/not-an-address"}, 400, "address", "plain address"},
		{"over-long address", req{method: "DELETE", path: "/tenants/contoso/mailboxes/" + strings.Repeat("a", 250) + "@contoso.com"}, 400, "address", "longer than 254"},
		{"XML address in verify", req{method: "POST", path: "/tenants/contoso/verify?mailbox=%3Cx%3Ea@contoso.com"}, 400, "mailbox", "plain address"},
		{"SQL address in verify", req{method: "POST", path: "/tenants/contoso/verify?mailbox=a'%3B%20DROP@contoso.com"}, 400, "mailbox", "plain address"},
		{"dotless domain", req{method: "POST", path: "/tenants/contoso/verify?mailbox=root@localhost"}, 400, "mailbox", "fully qualified"},
		// Changes and rotation.
		{"empty patch", req{method: "PATCH", path: "/tenants/contoso", body: `{}`}, 400, "", "no field"},
		{"patch to private URL", req{method: "PATCH", path: "/tenants/contoso", body: `{"ewsUrl":"https://10.0.0.1/EWS/Exchange.asmx"}`}, 400, "ewsUrl", "private"},
		{"patch empty folders", req{method: "PATCH", path: "/tenants/contoso", body: `{"folders":[]}`}, 400, "folders", "at least one"},
		{"rotate without credentials", req{method: "PUT", path: "/tenants/contoso/credentials", body: `{}`}, 400, "credentials", "required"},
		{"rotate with bad probe", req{method: "PUT", path: "/tenants/contoso/credentials", body: `{"credentials":{"kind":"basic","username":"svc","password":"Hostile-pw-43"},"probeMailbox":"nobody"}`}, 400, "probeMailbox", "plain address"},
		{"rotate with bad cert", req{method: "PUT", path: "/tenants/contoso/credentials", body: `{"credentials":{"kind":"oauth_cert","entraTenant":"t","clientId":"c","certPem":"x","keyPem":"Hostile-key-1"}}`}, 400, "credentials.certPem", "PEM"},
	}
}
