package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
)

// Calendar writes (room booking and travel products): the API validates a request, queues
// it on the calendar-writes queue and answers 202 with the request id; the
// calendarwriter Lambda makes the write and Step Functions its retries.
//
// The routes are served when Deps.CalendarQueue is set (functions/api and
// the local run), so deployments without calendar writes need no queue.

// MaxEventRequestBytes bounds a calendar write request: the event body (64 KiB)
// plus everything else, with room for JSON escaping.
const MaxEventRequestBytes = 256 * 1024

const (
	eventsPath = "/tenants/{id}/mailboxes/{address}/events"
	eventPath  = eventsPath + "/{clientEventId}"
)

// calendarRoutes are the calendar-write operations, served with c.
func calendarRoutes(c *app.CalendarRequests) []route {
	return []route{
		{"POST", eventsPath, with(scoped, 202, 409, 413, 415, 503), func(s *server, w http.ResponseWriter, r *http.Request) error {
			return s.putEvent(c, w, r)
		}},
		{"DELETE", eventPath, with(scoped, 202, 409, 503), func(s *server, w http.ResponseWriter, r *http.Request) error {
			return s.deleteEvent(c, w, r)
		}},
		{"POST", eventPath + "/end", with(scoped, 202, 409, 503), func(s *server, w http.ResponseWriter, r *http.Request) error {
			return s.endEvent(c, w, r)
		}},
		{"GET", eventPath, with(scoped, 200), func(_ *server, w http.ResponseWriter, r *http.Request) error {
			return getEventWrite(c, w, r)
		}},
	}
}

// putEventRequest is the body of POST .../events. Times are strings so a
// malformed one gets an answer naming the field and the expected form.
type putEventRequest struct {
	ClientEventID   string           `json:"clientEventId"`
	Subject         string           `json:"subject"`
	Start           string           `json:"start"`
	End             string           `json:"end"`
	TimeZone        string           `json:"timeZone"`
	Location        string           `json:"location"`
	Body            string           `json:"body"`
	Attendees       []domain.Address `json:"attendees"`
	SendInvitations bool             `json:"sendInvitations"`
}

// writeAccepted is the 202 answer: the write is queued, not yet made; the
// audit trail records its outcome under RequestID, which the answer's
// X-Request-Id header carries too (one id per write, answerWrite).
type writeAccepted struct {
	RequestID     string             `json:"requestId"`
	State         domain.WriteStatus `json:"state"`
	Operation     domain.WriteOp     `json:"operation"`
	TenantID      string             `json:"tenantId"`
	Mailbox       string             `json:"mailbox"`
	ClientEventID string             `json:"clientEventId"`
}

func acceptedBody(req domain.WriteRequest) writeAccepted {
	return writeAccepted{
		RequestID: req.ID, State: domain.WritePending, Operation: req.Op, TenantID: req.TenantID, Mailbox: req.Mailbox, ClientEventID: req.ClientEventID,
	}
}

func parseEventTime(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil // the use case says it is required
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, domain.Invalid(field, "%s must be an RFC 3339 time with a zone, like 2026-12-01T09:00:00+01:00", field)
	}
	return t, nil
}

func (s *server) putEvent(c *app.CalendarRequests, w http.ResponseWriter, r *http.Request) error {
	if _, err := query(r); err != nil {
		return err
	}
	key, err := calendarKey(r)
	if err != nil {
		return err
	}
	var body putEventRequest
	if err := decodeJSON(w, r, &body, MaxEventRequestBytes); err != nil {
		return err
	}
	start, err := parseEventTime("start", body.Start)
	if err != nil {
		return err
	}
	end, err := parseEventTime("end", body.End)
	if err != nil {
		return err
	}
	in := app.EventInput{
		ClientEventID: body.ClientEventID, Subject: body.Subject, Start: start, End: end, TimeZone: body.TimeZone,
		Location: body.Location, Body: body.Body, Attendees: body.Attendees, SendInvitations: body.SendInvitations,
	}
	var hash string
	if key != "" {
		hash = writeRequestHash("POST", r.PathValue("id"), r.PathValue("address"), body.ClientEventID, body)
		if replayed, err := s.replayWrite(w, r, key, hash); replayed || err != nil {
			return err
		}
		in.RequestID = writeRequestID(r, key, hash)
	}
	req, err := c.RequestPut(r.Context(), r.PathValue("id"), r.PathValue("address"), in)
	if err != nil {
		return err
	}
	return s.answerWrite(w, r, key, hash, req)
}

func (s *server) deleteEvent(c *app.CalendarRequests, w http.ResponseWriter, r *http.Request) error {
	q, err := query(r, "sendCancellations")
	if err != nil {
		return err
	}
	key, err := calendarKey(r)
	if err != nil {
		return err
	}
	notify := false
	if v, ok := q["sendCancellations"]; ok {
		if notify, err = strconv.ParseBool(v); err != nil {
			return domain.Invalid("sendCancellations", "sendCancellations must be true or false")
		}
	}
	var hash, requestID string
	if key != "" {
		hash = writeRequestHash("DELETE", r.PathValue("id"), r.PathValue("address"), r.PathValue("clientEventId"), map[string]bool{"sendCancellations": notify})
		if replayed, err := s.replayWrite(w, r, key, hash); replayed || err != nil {
			return err
		}
		requestID = writeRequestID(r, key, hash)
	}
	req, err := c.RequestDeleteAs(r.Context(), requestID, r.PathValue("id"), r.PathValue("address"), r.PathValue("clientEventId"), notify)
	if err != nil {
		return err
	}
	return s.answerWrite(w, r, key, hash, req)
}

// endEvent queues ending an event now (its end moved to the current
// minute). It takes no query; a body is ignored, as on POST .../verify.
func (s *server) endEvent(c *app.CalendarRequests, w http.ResponseWriter, r *http.Request) error {
	if _, err := query(r); err != nil {
		return err
	}
	key, err := calendarKey(r)
	if err != nil {
		return err
	}
	var hash, requestID string
	if key != "" {
		hash = writeRequestHash("END", r.PathValue("id"), r.PathValue("address"), r.PathValue("clientEventId"), nil)
		if replayed, err := s.replayWrite(w, r, key, hash); replayed || err != nil {
			return err
		}
		requestID = writeRequestID(r, key, hash)
	}
	req, err := c.RequestEnd(r.Context(), requestID, r.PathValue("id"), r.PathValue("address"), r.PathValue("clientEventId"))
	if err != nil {
		return err
	}
	return s.answerWrite(w, r, key, hash, req)
}

// eventWriteView is the answer of GET .../events/{clientEventId}: where
// the writes of one client event stand. State, Attempts, NextAttemptAt and
// the reason are those of the latest accepted request; ItemID and
// ChangeKey name the Exchange item as Mailbridge last wrote it.
type eventWriteView struct {
	TenantID      string               `json:"tenantId"`
	Mailbox       string               `json:"mailbox"`
	ClientEventID string               `json:"clientEventId"`
	State         domain.WriteStatus   `json:"state"`
	RequestID     string               `json:"requestId"`
	Operation     domain.WriteOp       `json:"operation"`
	ItemID        string               `json:"itemId,omitempty"`
	ChangeKey     string               `json:"changeKey,omitempty"`
	Attempts      int                  `json:"attempts"`
	NextAttemptAt *time.Time           `json:"nextAttemptAt,omitempty"`
	ReasonCode    string               `json:"reasonCode,omitempty"`
	Reason        string               `json:"reason,omitempty"`
	History       []domain.WriteRecord `json:"history"`
}

func getEventWrite(c *app.CalendarRequests, w http.ResponseWriter, r *http.Request) error {
	if _, err := query(r); err != nil {
		return err
	}
	st, err := c.WriteState(r.Context(), r.PathValue("id"), r.PathValue("address"), r.PathValue("clientEventId"))
	if err != nil {
		return err
	}
	v := eventWriteView{TenantID: st.TenantID, Mailbox: st.Mailbox, ClientEventID: st.ClientEventID, History: st.Requests}
	if v.History == nil {
		v.History = []domain.WriteRecord{}
	}
	if n := len(st.Requests); n > 0 {
		last := st.Requests[n-1]
		v.State, v.RequestID, v.Operation, v.Attempts = last.Status, last.RequestID, last.Op, last.Attempts
		v.ReasonCode, v.Reason = last.ReasonCode, last.Reason
		if !last.NextAttemptAt.IsZero() {
			at := last.NextAttemptAt
			v.NextAttemptAt = &at
		}
		if last.Status == domain.WriteWritten && last.Op != domain.WriteDelete {
			v.ItemID, v.ChangeKey = st.ItemID, st.ChangeKey
		}
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}
