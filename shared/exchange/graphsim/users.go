package graphsim

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// GET /users: the directory's users, with the one $filter form Mailbridge
// sends (people lookup): startswith(property,'value') terms on
// displayName, givenName, surname, mail or userPrincipalName joined by
// "or". As Graph: startswith compares ignoring case; $top is 1-999
// (default 100); $select as on GET /users/{id}; User.Read.All. Any other
// filter is refused as Graph refuses what it does not support.

const (
	defaultUsersPage = 100
	maxUsersPage     = 999
)

var startsWithTerm = regexp.MustCompile(`^startswith\((displayName|givenName|surname|mail|userPrincipalName),'((?:[^']|'')*)'\)`)

// usersFilter is a parsed $filter: property -> prefix terms (any matches).
type usersFilter []struct{ prop, prefix string }

func parseUsersFilter(raw string) (usersFilter, *apiError) {
	if strings.TrimSpace(raw) == "" {
		return nil, nil
	}
	unsupported := &apiError{http.StatusBadRequest, "Request_UnsupportedQuery", "Unsupported or invalid query filter clause specified for property or filter."}
	var f usersFilter
	rest := strings.TrimSpace(raw)
	for {
		// Terms are read whole (a quoted value may hold " or ").
		m := startsWithTerm.FindStringSubmatch(rest)
		if m == nil {
			return nil, unsupported
		}
		f = append(f, struct{ prop, prefix string }{m[1], strings.ReplaceAll(m[2], "''", "'")})
		rest = rest[len(m[0]):]
		if rest == "" {
			return f, nil
		}
		var ok bool
		if rest, ok = strings.CutPrefix(rest, " or "); !ok {
			return nil, unsupported
		}
	}
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) {
	c := s.begin(w, r, "users.list")
	if !c.authenticate() {
		return
	}
	s.stats.call(c.op)
	if !s.hasPermission(c.app.ClientID, PermUserReadAll) {
		c.fail(http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
		return
	}
	q := r.URL.Query()
	f, e := parseUsersFilter(q.Get("$filter"))
	if e != nil {
		c.failWith(e)
		return
	}
	top := defaultUsersPage
	if v := q.Get("$top"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxUsersPage {
			c.fail(http.StatusBadRequest, "Request_BadRequest", "Invalid page size specified: '"+v+"'. Must be between 1 and 999 inclusive.")
			return
		}
		top = n
	}
	var out []any
	var sel selection
	for _, addr := range s.sim.Mailboxes() {
		m, ok := s.sim.Mailbox(addr)
		if !ok {
			continue
		}
		all := append(userJSON(m), userExtra(m)...)
		if sel == nil {
			if sel, e = parseSelect(q.Get("$select"), typeUser, all); e != nil {
				c.failWith(e)
				return
			}
		}
		if !f.matches(all) {
			continue
		}
		if len(out) == top {
			break // one page: Mailbridge asks for no more
		}
		body := userJSON(m)
		if sel != nil {
			body = sel.apply(all)
		}
		out = append(out, body)
	}
	if out == nil {
		out = []any{}
	}
	c.json(http.StatusOK, obj{{"@odata.context", c.base + "/$metadata#users"}, {"value", out}})
}

func (f usersFilter) matches(user obj) bool {
	if f == nil {
		return true
	}
	for _, t := range f {
		for _, p := range user {
			if v, ok := p.v.(string); ok && p.k == t.prop && strings.HasPrefix(strings.ToLower(v), strings.ToLower(t.prefix)) {
				return true
			}
		}
	}
	return false
}
