package graphsim

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // Windows zone names map to IANA zones, which need the database

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
)

// zoneLocation is the zone Graph accepts by its Windows or IANA name
// (shared/domain's table, the one the adapters use); "" is UTC.
func zoneLocation(name string) (*time.Location, bool) {
	if name == "" {
		return time.UTC, true
	}
	z, ok := domain.ResolveTimeZone(name)
	if !ok {
		return nil, false
	}
	loc, err := time.LoadLocation(z.IANA)
	return loc, err == nil
}

// outputZone is the zone of Prefer: outlook.timezone (UTC by default).
func (c *call) outputZone() (*time.Location, string, bool) {
	zone := parsePrefer(c.r.Header).timeZone
	if zone == "" {
		return time.UTC, "UTC", true
	}
	loc, ok := zoneLocation(zone)
	if !ok {
		c.fail(http.StatusBadRequest, "TimeZoneNotSupportedException", "A valid TimeZone value must be specified. The following TimeZone value is not supported: '"+zone+"'.")
		return nil, "", false
	}
	return loc, zone, true
}

func (s *Server) eventJSONFor(v ewssim.ItemView, loc *time.Location, zone string) obj {
	return s.withProps(v.ImmutableID, eventJSON(v, loc, zone, s.transactionOf(v.Mailbox, v.ImmutableID)))
}

func (e *eventIn) props() eventProps {
	return eventProps{showAs: e.ShowAs, isReminderOn: e.IsReminderOn, reminderMinutes: e.ReminderMinutes, responseRequested: e.ResponseRequested}
}

// --- users ---

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) {
	c := s.begin(w, r, "users.get")
	if !c.authenticate() {
		return
	}
	s.stats.call(c.op)
	id := r.PathValue("user")
	if !s.hasPermission(c.app.ClientID, PermUserReadAll) {
		c.fail(http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
		return
	}
	m, ok := s.sim.Mailbox(id)
	if !ok {
		c.fail(http.StatusNotFound, "Request_ResourceNotFound", "Resource '"+id+"' does not exist or one of its queried reference-property objects are not present.")
		return
	}
	all := append(userJSON(m), userExtra(m)...)
	sel, e := parseSelect(r.URL.Query().Get("$select"), typeUser, all)
	if e != nil {
		c.failWith(e)
		return
	}
	body := userJSON(m)
	ctx := c.base + "/$metadata#users/$entity"
	if sel != nil {
		body = sel.apply(all)
		ctx = c.base + "/$metadata#users(" + strings.Join(sel, ",") + ")/$entity"
	}
	c.json(http.StatusOK, append(obj{{"@odata.context", ctx}}, body...))
}

// --- items by id ---

// item finds {id} in the route's mailbox with the given kind.
func (c *call) item(kind ewssim.ItemKind) (ewssim.ItemView, bool) {
	v, err := c.s.sim.ItemByImmutableID(c.r.PathValue("id"))
	if err != nil || v.Mailbox != c.mb.Address || v.Kind != kind {
		c.failWith(errItemNotFound)
		return ewssim.ItemView{}, false
	}
	return v, true
}

// getItem serves GET message, event or contact by id, with $select and
// $expand=singleValueExtendedProperties. selectOnly renders the properties
// Graph returns only when $select names them (an event's
// cancelledOccurrences), nil for none.
func (c *call) getItem(kind ewssim.ItemKind, typeName, set string, render func(ewssim.ItemView) obj, selectOnly func(ewssim.ItemView) obj) {
	v, ok := c.item(kind)
	if !ok {
		return
	}
	q := c.r.URL.Query()
	body := render(v)
	var extra obj
	if selectOnly != nil {
		extra = selectOnly(v)
	}
	sel, e := parseSelect(q.Get("$select"), typeName, append(slices.Clone(body), extra...))
	if e != nil {
		c.failWith(e)
		return
	}
	x, e := parseExpand(q.Get("$expand"), kind == ewssim.KindCalendar)
	if e != nil {
		c.failWith(e)
		return
	}
	if sel != nil {
		body = sel.apply(append(body, extra...))
	}
	if x.extended {
		body = append(body, kv{"singleValueExtendedProperties", extendedJSON(v.Item, x.want)})
	}
	if x.exceptions {
		body = append(body, kv{"exceptionOccurrences", c.exceptionsOf(v, x.exSelect)})
	}
	ctx := c.base + "/$metadata#users('" + url.PathEscape(c.userParam) + "')/" + set + "/$entity"
	c.json(http.StatusOK, append(obj{{"@odata.context", ctx}}, body...))
}

// messageRender renders messages with the body type the request asked
// for (Prefer: outlook.body-content-type), confirmed in
// Preference-Applied as Graph does.
func (c *call) messageRender() func(ewssim.ItemView) obj {
	text := c.textBody()
	return func(v ewssim.ItemView) obj { return messageJSON(v, text) }
}

// textBody says whether the request asked for text bodies (Prefer:
// outlook.body-content-type="text"; HTML otherwise, Graph's default for
// messages and events alike), confirmed in Preference-Applied.
func (c *call) textBody() bool {
	switch parsePrefer(c.r.Header).bodyType {
	case "text":
		c.w.Header().Add("Preference-Applied", `outlook.body-content-type="text"`)
		return true
	case "html":
		c.w.Header().Add("Preference-Applied", `outlook.body-content-type="html"`)
	}
	return false
}

// eventRender renders events in the request's zone, their body in the
// type it asked for.
func (c *call) eventRender(loc *time.Location, zone string) func(ewssim.ItemView) obj {
	text := c.textBody()
	return func(v ewssim.ItemView) obj {
		e := c.s.eventJSONFor(v, loc, zone)
		if text {
			for i := range e {
				if e[i].k == "body" {
					e[i].v = messageBody(v.Body, true)
				}
			}
		}
		return e
	}
}

func (s *Server) getMessage(c *call) {
	c.getItem(ewssim.KindMessage, typeMessage, "messages", c.messageRender(), nil)
}

func (s *Server) getContact(c *call) {
	c.getItem(ewssim.KindContact, typeContact, "contacts", contactJSON, nil)
}

func (s *Server) getEvent(c *call) {
	loc, zone, ok := c.outputZone()
	if !ok {
		return
	}
	c.getItem(ewssim.KindCalendar, typeEvent, "events", c.eventRender(loc, zone), func(v ewssim.ItemView) obj {
		return obj{{"originalStart", nil}, {"cancelledOccurrences", cancelledJSON(v)}}
	})
}

// exceptionsOf is a series master's exceptionOccurrences ([] for any
// other event).
func (c *call) exceptionsOf(v ewssim.ItemView, sel selection) []obj {
	loc, zone, _ := c.outputZone()
	if loc == nil {
		loc, zone = time.UTC, "UTC"
	}
	return exceptionsJSON(v, loc, zone, sel)
}

// --- events: list with an extended property filter ---

// extFilter is the one $filter form Graph clients use to find their own
// events: singleValueExtendedProperties/Any(ep: ep/id eq '...' and
// ep/value eq '...').
var extFilter = regexp.MustCompile(`^singleValueExtendedProperties/any\((\w+):\s*(\w+)/id\s+eq\s+'((?:[^']|'')*)'\s+and\s+(\w+)/value\s+eq\s+'((?:[^']|'')*)'\s*\)$`)

func (s *Server) listEvents(c *call) {
	loc, zone, ok := c.outputZone()
	if !ok {
		return
	}
	q := c.r.URL.Query()
	var match func(ewssim.Item) bool
	if f := strings.TrimSpace(q.Get("$filter")); f != "" {
		// The lambda operator is case-insensitive in OData; the rest is not.
		norm := f
		if i := strings.Index(strings.ToLower(f), "/any("); i >= 0 {
			norm = f[:i] + "/any(" + f[i+5:]
		}
		m := extFilter.FindStringSubmatch(norm)
		if m == nil || m[2] != m[1] || m[4] != m[1] {
			c.fail(http.StatusBadRequest, "ErrorInvalidUrlQueryFilter", "The query filter contains one or more invalid nodes.")
			return
		}
		id, val := strings.ReplaceAll(m[3], "''", "'"), strings.ReplaceAll(m[5], "''", "'")
		want, ok := parseExtendedPropertyID(id)
		if !ok {
			c.fail(http.StatusBadRequest, "ErrorInvalidProperty", "The extended property id '"+id+"' is not valid.")
			return
		}
		match = func(it ewssim.Item) bool {
			return slices.ContainsFunc(it.Extended, func(p ewssim.ExtendedProperty) bool { return sameProperty(p, want) && p.Value == val })
		}
	}
	page, ok := c.readEventPage(q)
	if !ok {
		return
	}
	items, err := s.sim.Items(c.mb.Address, "calendar")
	if err != nil {
		c.failWith(errFolderNotFound)
		return
	}
	var hits []ewssim.ItemView
	for _, v := range items {
		if v.Kind == ewssim.KindCalendar && (match == nil || match(v.Item)) {
			hits = append(hits, v)
		}
	}
	page.answer(c, q, "events", len(hits), func(i int) obj { return s.eventJSONFor(hits[i], loc, zone) })
}

// --- events: writes ---

type dateTimeTimeZoneIn struct {
	DateTime string `json:"dateTime"`
	TimeZone string `json:"timeZone"`
}

func (d *dateTimeTimeZoneIn) parse() (time.Time, *apiError) {
	loc, ok := zoneLocation(d.TimeZone)
	if !ok {
		return time.Time{}, &apiError{http.StatusBadRequest, "TimeZoneNotSupportedException", "A valid TimeZone value must be specified. The following TimeZone value is not supported: '" + d.TimeZone + "'."}
	}
	s := strings.TrimSpace(d.DateTime)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	t, err := time.ParseInLocation("2006-01-02T15:04:05.9999999", s, loc)
	if err != nil {
		return time.Time{}, &apiError{http.StatusBadRequest, "UnableToDeserializePostBody", "Cannot convert the literal '" + d.DateTime + "' to the expected type 'Edm.DateTimeOffset'."}
	}
	return t, nil
}

type emailIn struct {
	Name    string `json:"name"`
	Address string `json:"address"`
}

// eventIn is the part of an event body the simulator stores.
type eventIn struct {
	Subject *string `json:"subject"`
	Body    *struct {
		Content string `json:"content"`
	} `json:"body"`
	Start    *dateTimeTimeZoneIn `json:"start"`
	End      *dateTimeTimeZoneIn `json:"end"`
	IsAllDay *bool               `json:"isAllDay"`
	Location *struct {
		DisplayName string `json:"displayName"`
	} `json:"location"`
	Attendees *[]struct {
		EmailAddress emailIn `json:"emailAddress"`
	} `json:"attendees"`
	TransactionID     *string       `json:"transactionId"`
	Recurrence        *recurrenceIn `json:"recurrence"`
	ShowAs            *string       `json:"showAs"`
	IsReminderOn      *bool         `json:"isReminderOn"`
	ReminderMinutes   *int          `json:"reminderMinutesBeforeStart"`
	ResponseRequested *bool         `json:"responseRequested"`
	Extended          []struct {
		ID    string `json:"id"`
		Value string `json:"value"`
	} `json:"singleValueExtendedProperties"`
}

func (c *call) readEvent() (*eventIn, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(c.w, c.r.Body, c.s.opts.MaxRequestBytes))
	if err != nil {
		c.fail(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "The request body is too large.")
		return nil, false
	}
	var in eventIn
	if err := json.Unmarshal(body, &in); err != nil {
		c.fail(http.StatusBadRequest, "UnableToDeserializePostBody", "Unable to deserialize the request body: "+err.Error())
		return nil, false
	}
	return &in, true
}

// apply copies the fields present in e into it.
func (e *eventIn) apply(it *ewssim.Item) *apiError {
	if e.Subject != nil {
		it.Subject = *e.Subject
	}
	if e.Body != nil {
		it.Body = e.Body.Content
	}
	if e.Start != nil {
		t, err := e.Start.parse()
		if err != nil {
			return err
		}
		it.Start = t
		if e.Start.TimeZone != "" {
			it.TimeZone = e.Start.TimeZone
		}
	}
	if e.End != nil {
		t, err := e.End.parse()
		if err != nil {
			return err
		}
		it.End = t
	}
	if e.IsAllDay != nil {
		it.IsAllDay = *e.IsAllDay
	}
	if e.Location != nil {
		it.Location = e.Location.DisplayName
	}
	if e.Attendees != nil {
		it.Attendees = it.Attendees[:0:0]
		for _, a := range *e.Attendees {
			it.Attendees = append(it.Attendees, ewssim.Address{Name: a.EmailAddress.Name, Email: a.EmailAddress.Address})
		}
	}
	for _, x := range e.Extended {
		p, ok := parseExtendedPropertyID(x.ID)
		if !ok {
			return &apiError{http.StatusBadRequest, "ErrorInvalidProperty", "The extended property id '" + x.ID + "' is not valid."}
		}
		p.Value = x.Value
		i := slices.IndexFunc(it.Extended, func(q ewssim.ExtendedProperty) bool { return sameProperty(p, q) })
		if i >= 0 {
			it.Extended[i].Value = x.Value
		} else {
			it.Extended = append(it.Extended, p)
		}
	}
	if err := e.props().check(); err != nil {
		return err
	}
	if e.ShowAs != nil {
		it.FreeBusy = freeBusyOf(*e.ShowAs)
	}
	if it.Start.IsZero() || it.End.IsZero() {
		return &apiError{http.StatusBadRequest, "ErrorPropertyValidationFailure", "An event needs a start and an end."}
	}
	if it.End.Before(it.Start) {
		return &apiError{http.StatusBadRequest, "ErrorInvalidRequest", "The end of the event is before its start."}
	}
	if e.Recurrence != nil {
		return e.setRecurrence(it)
	}
	return nil
}

func (s *Server) transactionOf(_, immutable string) string {
	s.txMu.Lock()
	defer s.txMu.Unlock()
	return s.txByID[immutable]
}

func (s *Server) createEvent(c *call) {
	in, ok := c.readEvent()
	if !ok {
		return
	}
	loc, zone, ok := c.outputZone()
	if !ok {
		return
	}
	it := ewssim.Item{Kind: ewssim.KindCalendar, Organizer: ewssim.Address{Name: c.mb.DisplayName, Email: c.mb.Address}}
	if e := in.apply(&it); e != nil {
		c.failWith(e)
		return
	}
	tx := ""
	if in.TransactionID != nil {
		tx = *in.TransactionID
	}
	// The lock makes the check and the create one step, so two concurrent
	// retries with one transactionId create one event.
	if tx != "" {
		s.txMu.Lock()
		defer s.txMu.Unlock()
		if id, ok := s.tx[c.mb.Address+"\x00"+tx]; ok {
			if v, err := s.sim.ItemByImmutableID(id); err == nil {
				c.json(http.StatusCreated, append(obj{{"@odata.context", c.base + "/$metadata#users('" + url.PathEscape(c.userParam) + "')/events/$entity"}}, s.withProps(v.ImmutableID, eventJSON(v, loc, zone, tx))...))
				return
			}
		}
	}
	ref, err := s.sim.AddItem(c.mb.Address, "calendar", it)
	if err != nil {
		c.fail(http.StatusInternalServerError, "ErrorInternalServerError", "An internal server error occurred. The operation failed.")
		return
	}
	id, _ := s.sim.ImmutableID(ref.ID)
	s.setProps(id, in.props())
	if tx != "" {
		s.tx[c.mb.Address+"\x00"+tx] = id
		s.txByID[id] = tx
	}
	v, err := s.sim.ItemByImmutableID(id)
	if err != nil {
		c.failWith(errItemNotFound)
		return
	}
	c.w.Header().Set("Location", c.base+"/users('"+c.mb.UserID+"')/events('"+id+"')")
	c.json(http.StatusCreated, append(obj{{"@odata.context", c.base + "/$metadata#users('" + url.PathEscape(c.userParam) + "')/events/$entity"}}, s.withProps(v.ImmutableID, eventJSON(v, loc, zone, tx))...))
}

func (s *Server) updateEvent(c *call) {
	if master, x, isInstance := c.instance(); isInstance {
		s.updateInstance(c, master, x)
		return
	}
	v, ok := c.item(ewssim.KindCalendar)
	if !ok {
		return
	}
	in, ok := c.readEvent()
	if !ok {
		return
	}
	loc, zone, ok := c.outputZone()
	if !ok {
		return
	}
	var applyErr *apiError
	_, err := s.sim.UpdateItem(v.ID, func(it *ewssim.Item) {
		next := *it
		next.Extended = slices.Clone(it.Extended)
		next.Attendees = slices.Clone(it.Attendees)
		if applyErr = in.apply(&next); applyErr == nil {
			*it = next
		}
	})
	switch {
	case applyErr != nil:
		c.failWith(applyErr)
		return
	case errors.Is(err, ewssim.ErrNotFound):
		c.failWith(errItemNotFound)
		return
	}
	s.setProps(v.ImmutableID, in.props())
	v, err = s.sim.ItemByImmutableID(v.ImmutableID)
	if err != nil {
		c.failWith(errItemNotFound)
		return
	}
	c.json(http.StatusOK, append(obj{{"@odata.context", c.base + "/$metadata#users('" + url.PathEscape(c.userParam) + "')/events/$entity"}}, s.eventJSONFor(v, loc, zone)...))
}

func (s *Server) deleteEvent(c *call) {
	if master, x, isInstance := c.instance(); isInstance {
		s.deleteInstance(c, master, x)
		return
	}
	v, ok := c.item(ewssim.KindCalendar)
	if !ok {
		return
	}
	s.dropProps(v.ImmutableID)
	if err := s.sim.DeleteItem(v.ID); err != nil {
		c.failWith(errItemNotFound)
		return
	}
	c.w.WriteHeader(http.StatusNoContent)
}

// --- the default calendar ---

// getCalendar serves the default calendar: its id is the calendar
// folder's restId, as in Exchange (a calendar is a folder).
func (s *Server) getCalendar(c *call) {
	f, err := s.sim.Folder(c.mb.Address, "calendar")
	if err != nil {
		c.failWith(errFolderNotFound)
		return
	}
	c.json(http.StatusOK, obj{{"@odata.context", c.base + "/$metadata#users('" + url.PathEscape(c.userParam) + "')/calendar/$entity"},
		{"id", ewssim.RestID(f.ID)}, {"name", f.Name}, {"canEdit", true}, {"isDefaultCalendar", true}})
}

// --- translateExchangeIds ---

func (s *Server) translateIDs(c *call) {
	var in struct {
		InputIDs     []string `json:"inputIds"`
		SourceIDType string   `json:"sourceIdType"`
		TargetIDType string   `json:"targetIdType"`
	}
	body, _ := io.ReadAll(http.MaxBytesReader(c.w, c.r.Body, c.s.opts.MaxRequestBytes))
	if err := json.Unmarshal(body, &in); err != nil || len(in.InputIDs) == 0 || len(in.InputIDs) > 1000 {
		c.fail(http.StatusBadRequest, "ErrorInvalidParameter", "inputIds must hold 1 to 1000 ids.")
		return
	}
	types := map[string]bool{"ewsId": true, "restId": true, "restImmutableEntryId": true, "entryId": false, "immutableEntryId": false}
	if !types[in.SourceIDType] || !types[in.TargetIDType] {
		c.fail(http.StatusBadRequest, "ErrorInvalidParameter", "sourceIdType and targetIdType must be ewsId, restId or restImmutableEntryId in the simulator.")
		return
	}
	value := []obj{}
	for _, id := range in.InputIDs {
		out, err := s.translate(id, in.SourceIDType, in.TargetIDType, c.mb.Address)
		if err != nil {
			value = append(value, obj{{"sourceId", id}, {"errorDetails", obj{{"code", "ErrorInvalidIdMalformed"}, {"message", "Id is malformed."}}}})
			continue
		}
		value = append(value, obj{{"targetId", out}, {"sourceId", id}})
	}
	c.json(http.StatusOK, obj{{"@odata.context", c.base + "/$metadata#Collection(microsoft.graph.convertIdResult)"}, {"value", value}})
}

// translate maps ids between EWS (standard base64), REST (URL-safe) and
// immutable forms. Folder ids have no separate immutable form.
func (s *Server) translate(id, from, to, mailbox string) (string, error) {
	ews := id
	if from == "restImmutableEntryId" {
		v, err := s.sim.ItemByImmutableID(id)
		if err != nil {
			return "", err
		}
		ews = v.ID
	} else if from == "restId" {
		ews = ewssim.EWSFromRestID(id)
	}
	switch to {
	case "ewsId":
		return ews, nil
	case "restId":
		return ewssim.RestID(ews), nil
	}
	imm, err := s.sim.ImmutableID(ews)
	if err != nil {
		if f, ferr := s.sim.Folder(mailbox, ews); ferr == nil {
			return ewssim.RestID(f.ID), nil
		}
		return "", err
	}
	return imm, nil
}

// eventPage is the $top, $skip and $select of a list of events
// (listEvents, calendarView).
type eventPage struct {
	top, skip int
	sel       selection
}

// readEventPage reads an events list's $top, $skip and $select; a bad
// value is answered 400 and ok is false.
func (c *call) readEventPage(q url.Values) (eventPage, bool) {
	top, skip, ok := c.topSkip(q)
	if !ok {
		return eventPage{}, false
	}
	sel, e := parseSelect(q.Get("$select"), typeEvent, eventJSON(ewssim.ItemView{}, time.UTC, "UTC", ""))
	if e != nil {
		c.failWith(e)
		return eventPage{}, false
	}
	return eventPage{top: top, skip: skip, sel: sel}, true
}

// answer sends the page of a list of n events, render(i) making the
// i-th, with the @odata.nextLink of the next page when there is one;
// collection ends the @odata.context ("events", "calendarView").
func (p eventPage) answer(c *call, q url.Values, collection string, n int, render func(i int) obj) {
	value := []obj{}
	for i := p.skip; i < n && i < p.skip+p.top; i++ {
		value = append(value, p.sel.apply(render(i)))
	}
	out := obj{{"@odata.context", c.base + "/$metadata#users('" + url.PathEscape(c.userParam) + "')/" + collection}}
	if p.skip+p.top < n {
		q.Set("$skip", strconv.Itoa(p.skip+p.top))
		out = append(out, kv{"@odata.nextLink", c.origin() + c.r.URL.Path + "?" + q.Encode()})
	}
	c.json(http.StatusOK, append(out, kv{"value", value}))
}

// topSkip reads $top (1-1000, default 10) and $skip (default 0) as Graph
// pages a collection; a bad value is answered 400 and ok is false.
func (c *call) topSkip(q url.Values) (top, skip int, ok bool) {
	top = 10
	if v := q.Get("$top"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			c.fail(http.StatusBadRequest, "BadRequest", "Invalid $top value: "+v)
			return 0, 0, false
		}
		top = n
	}
	if v := q.Get("$skip"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			c.fail(http.StatusBadRequest, "BadRequest", "Invalid $skip value: "+v)
			return 0, 0, false
		}
		skip = n
	}
	return top, skip, true
}
