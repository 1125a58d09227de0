package api

import "strings"

// graphCreate is a Graph tenant's create body with extra fields.
func graphCreate(extra string) string {
	return `{"id":"newgraph","protocol":"graph","credentials":{"kind":"oauth_secret","entraTenant":"contoso.com","clientId":"app-1","clientSecret":"Hostile-graph-secret"}` + extra + `}`
}

// hostileGraphCases are hostile values of the tenant fields the Graph
// protocol brought (protocol, graphUrl, and the access modes, credentials
// and fallback each protocol allows); TestHostileSuite sends them.
func hostileGraphCases() []hostileCase {
	post := func(body string) req { return req{method: "POST", path: "/tenants", body: body} }
	patch := func(body string) req { return req{method: "PATCH", path: "/tenants/contoso", body: body} }
	graphURL := func(u string) string { return graphCreate(`,"graphUrl":"` + u + `"`) }
	return []hostileCase{
		{"unknown protocol", post(graphCreate(`,"protocol":"imap"`)), 400, "protocol", ""},
		{"protocol as number", post(strings.Replace(graphCreate(""), `"protocol":"graph"`, `"protocol":2`, 1)), 400, "protocol", ""},
		{"protocol as object", post(strings.Replace(graphCreate(""), `"protocol":"graph"`, `"protocol":{"name":"graph"}`, 1)), 400, "protocol", ""},
		{"protocol upper case", post(strings.Replace(graphCreate(""), `"protocol":"graph"`, `"protocol":"GRAPH"`, 1)), 400, "protocol", ""},
		{"protocol mixed case", post(strings.Replace(graphCreate(""), `"protocol":"graph"`, `"protocol":"Graph"`, 1)), 400, "protocol", ""},
		{"protocol EWS upper case", post(strings.Replace(createWith(""), `"id":"newco"`, `"id":"newco","protocol":"EWS"`, 1)), 400, "protocol", ""},
		{"patch unknown protocol", patch(`{"protocol":"mapi"}`), 400, "protocol", ""},
		{"graphUrl over http", post(graphURL("http://graph.microsoft.com/v1.0")), 400, "graphUrl", ""},
		{"graphUrl loopback", post(graphURL("https://127.0.0.1/v1.0")), 400, "graphUrl", ""},
		{"graphUrl localhost", post(graphURL("https://localhost/v1.0")), 400, "graphUrl", ""},
		{"graphUrl IPv6 loopback", post(graphURL("https://[::1]/v1.0")), 400, "graphUrl", ""},
		{"graphUrl private 10/8", post(graphURL("https://10.0.0.1/v1.0")), 400, "graphUrl", ""},
		{"graphUrl private 192.168/16", post(graphURL("https://192.168.1.10/v1.0")), 400, "graphUrl", ""},
		{"graphUrl private 172.16/12", post(graphURL("https://172.16.5.4/v1.0")), 400, "graphUrl", ""},
		{"graphUrl metadata", post(graphURL("https://169.254.169.254/latest/meta-data/")), 400, "graphUrl", ""},
		{"graphUrl userinfo", post(graphURL("https://admin:pw@graph.microsoft.com/v1.0")), 400, "graphUrl", ""},
		{"graphUrl too long", post(graphURL("https://graph.microsoft.com/" + strings.Repeat("a", 3000))), 400, "graphUrl", ""},
		{"graphUrl not a URL", post(graphURL("not a url")), 400, "graphUrl", ""},
		{"graphUrl as number", post(graphCreate(`,"graphUrl":42`)), 400, "graphUrl", ""},
		{"patch graphUrl private", patch(`{"graphUrl":"https://10.1.2.3/v1.0"}`), 400, "graphUrl", ""},
		{"application mode on EWS", post(createWith(`,"accessMode":"application"`)), 400, "accessMode", ""},
		{"delegate mode on Graph", post(graphCreate(`,"accessMode":"delegate"`)), 400, "accessMode", ""},
		{"impersonation mode on Graph", post(graphCreate(`,"accessMode":"impersonation"`)), 400, "accessMode", ""},
		{"basic credentials on Graph", post(`{"id":"newgraph","protocol":"graph","credentials":{"kind":"basic","username":"svc","password":"Hostile-pw-42"}}`), 400, "credentials.kind", ""},
		{"ntlm credentials on Graph", post(`{"id":"newgraph","protocol":"graph","credentials":{"kind":"ntlm","username":"svc","password":"Hostile-pw-42"}}`), 400, "credentials.kind", ""},
		{"allowFallback on Graph", post(graphCreate(`,"allowFallback":true`)), 400, "allowFallback", ""},
	}
}
