package graphsim

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
)

// calendarView serves GET /users/{u}/calendarView?startDateTime=&endDateTime=:
// the default calendar's events in the window with series expanded into
// their occurrences and exceptions, as the EWS CalendarView expands them
// (the same store and code, ewssim.Sim.CalendarView), in start order.
// Pages hold Prefer: odata.maxpagesize entries (the server's page size
// otherwise); @odata.nextLink carries the window and the offset.
func (s *Server) calendarView(c *call) {
	loc, zone, ok := c.outputZone()
	if !ok {
		return
	}
	q := c.r.URL.Query()
	start, ok1 := parseGraphTime(q.Get("startDateTime"))
	end, ok2 := parseGraphTime(q.Get("endDateTime"))
	if !ok1 || !ok2 {
		c.fail(http.StatusBadRequest, "ErrorInvalidParameter", "This request requires a time window specified by the query string parameters StartDateTime and EndDateTime.")
		return
	}
	if !end.After(start) {
		c.fail(http.StatusBadRequest, "ErrorInvalidParameter", "The value of the parameter 'EndDateTime' must be later than 'StartDateTime'.")
		return
	}
	skip := 0
	if v := q.Get("$skip"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			c.fail(http.StatusBadRequest, "BadRequest", "Invalid $skip value.")
			return
		}
		skip = n
	}
	all, err := s.sim.CalendarView(c.mb.Address, start, end)
	if err != nil {
		c.failWith(errItemNotFound)
		return
	}
	size := c.pageSize()
	lo := min(skip, len(all))
	hi := min(lo+size, len(all))
	values := make([]obj, 0, hi-lo)
	for _, v := range all[lo:hi] {
		values = append(values, instanceJSON(s.eventJSONFor(v.ItemView, loc, zone), v))
	}
	out := obj{{"@odata.context", c.base + "/$metadata#users('" + url.PathEscape(c.userParam) + "')/calendarView"}}
	if hi < len(all) {
		next := url.Values{}
		next.Set("startDateTime", start.UTC().Format(time.RFC3339))
		next.Set("endDateTime", end.UTC().Format(time.RFC3339))
		next.Set("$skip", strconv.Itoa(hi))
		out = append(out, kv{"@odata.nextLink", c.origin() + c.r.URL.Path + "?" + next.Encode()})
	}
	c.json(http.StatusOK, append(out, kv{"value", values}))
}

// instanceJSON sets an instance's type, seriesMasterId and originalStart
// (Graph's event properties for occurrences and exceptions).
func instanceJSON(o obj, v ewssim.CalendarInstance) obj {
	set := func(k string, val any) {
		for i := range o {
			if o[i].k == k {
				o[i].v = val
				return
			}
		}
		o = append(o, kv{k, val})
	}
	set("type", v.Type)
	if v.SeriesMasterID != "" {
		set("seriesMasterId", v.SeriesMasterID)
		set("originalStart", v.OriginalStart.UTC().Format("2006-01-02T15:04:05Z"))
	}
	return o
}
