package api

import (
	"net/http"
	"strings"
)

// Version is the API's version, answered in every response's
// Mailbridge-Version header and equal to infra/openapi.yaml's info.version
// (a test keeps them in step). The compatibility promise (README, "The
// API"): within major version 1 changes are additive only: new routes,
// new optional request fields and query parameters, new response fields,
// new values of enums documented as open (statuses, codes); nothing is
// renamed, removed or given another meaning. The minor number grows with
// each addition, so a client can tell what a deployment offers. A change
// that breaks that would come as /v2 beside /v1.
const Version = "1.1"

// versionPrefix is accepted before every route as an alias ("/v1/tenants"
// is "/tenants"), so a client can pin the major version in its base URL.
const versionPrefix = "/v1"

// stripVersion removes the /v1 alias from r's path.
func stripVersion(r *http.Request) {
	p, ok := strings.CutPrefix(r.URL.Path, versionPrefix+"/")
	if !ok {
		return
	}
	r.URL.Path = "/" + p
	if r.URL.RawPath != "" {
		r.URL.RawPath = strings.TrimPrefix(r.URL.RawPath, versionPrefix)
	}
}
