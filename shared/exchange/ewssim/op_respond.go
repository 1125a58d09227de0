package ewssim

import (
	"errors"
	"strings"
	"time"
)

// Meeting responses (CreateItem with a response object), as Exchange
// handles them for a calendar item:
//
//   - DeclineItem: an attendee declines; the meeting leaves its calendar
//     (moved to Deleted Items) and, with MessageDisposition
//     SendAndSaveCopy, the organizer gets a "Declined: <subject>" message
//     in its Inbox carrying the response's body, a copy going to the
//     attendee's Sent Items. SaveOnly sends nothing.
//   - CancelCalendarItem: only the organizer cancels; the meeting leaves
//     its calendar and each attendee held by the simulator gets a
//     "Canceled: <subject>" message (SendAndSaveCopy or SendOnly).
//
// Other response objects are refused as unsupported.

var responseObjects = map[string]bool{"DeclineItem": true, "CancelCalendarItem": true, "AcceptItem": true, "TentativelyAcceptItem": true}

// Response is a meeting response the simulator delivered.
type Response struct {
	Kind    string // DeclineItem or CancelCalendarItem
	From    string // the mailbox that responded
	To      []string
	Subject string
	Body    string
}

func (r *createItemReq) respond(c *call, kind string, ref *itemRefXML, body, newBody *string) *ewsError {
	if kind != "DeclineItem" && kind != "CancelCalendarItem" {
		return errInvalidRequest("the simulator answers meetings with DeclineItem and CancelCalendarItem only, not " + kind)
	}
	switch r.MessageDisposition {
	case "SaveOnly", "SendOnly", "SendAndSaveCopy":
	case "":
		return ewsErr("ErrorMessageDispositionRequired", "MessageDisposition is required for this operation.")
	default:
		return errSchema("MessageDisposition must be SaveOnly, SendOnly or SendAndSaveCopy")
	}
	if ref == nil || ref.ID == "" {
		return errSchema("a response object needs a ReferenceItemId")
	}
	mb, idx, e := c.resolveItem(ref.ID)
	if e != nil {
		return e
	}
	text := ""
	if body != nil {
		text = *body
	}
	if newBody != nil {
		text = *newBody
	}
	err := c.s.respond(mb, idx, ref.ChangeKey, kind, text, r.MessageDisposition != "SaveOnly", r.MessageDisposition == "SendAndSaveCopy", c.now)
	switch err {
	case nil:
		return nil
	case ErrNotFound:
		return errItemNotFound
	case ErrChanged:
		return errConflict
	}
	return ewsErr("ErrorInvalidReferenceItem", "The reference item does not support the requested operation.")
}

// Errors of RespondToMeeting.
var (
	// ErrChanged: the item's change key is not the one given.
	ErrChanged = errors.New("ewssim: the item has changed")
	// ErrNotAMeetingResponse: a decline of a meeting the mailbox
	// organizes, a cancel of one it attends, or an item that is no
	// calendar item.
	ErrNotAMeetingResponse = errors.New("ewssim: the item does not support this response")
)

// RespondToMeeting answers the calendar item with EWS id id, as its
// mailbox: kind DeclineItem or CancelCalendarItem, with comment as the
// response's text; send delivers the response, saveCopy keeps one in
// Sent Items. Graph's decline and cancel use it too.
func (s *Sim) RespondToMeeting(id, kind, comment string, send, saveCopy bool) error {
	m, idx, ok := decodeID(tagItem, id)
	if !ok {
		return ErrNotFound
	}
	mb, ok := s.mailboxByIdx(m)
	if !ok {
		return ErrNotFound
	}
	return s.respond(mb, idx, "", kind, comment, send, saveCopy, s.clock.Now())
}

func (s *Sim) respond(mb *mailbox, idx uint32, ck, kind, text string, send, saveCopy bool, now time.Time) error {
	mb.mu.Lock()
	in, ok := mb.item(idx)
	if !ok {
		mb.mu.Unlock()
		return ErrNotFound
	}
	if in.Kind != KindCalendar {
		mb.mu.Unlock()
		return ErrNotAMeetingResponse
	}
	// A meeting answered already sits in Deleted Items (Graph's immutable
	// id still finds it): it is no longer in a calendar to answer from.
	if !strings.HasPrefix(mb.folders[in.folder].class, "IPF.Appointment") {
		mb.mu.Unlock()
		return ErrNotFound
	}
	if ck != "" && ck != changeKey(idx, in.version) {
		mb.mu.Unlock()
		return ErrChanged
	}
	organizes := strings.EqualFold(in.Organizer.Email, mb.addr)
	if (kind == "CancelCalendarItem") != organizes {
		mb.mu.Unlock()
		return ErrNotAMeetingResponse
	}
	subject, organizer, attendees := in.Subject, in.Organizer, append([]Address(nil), in.Attendees...)
	trash := distIndex["deleteditems"]
	if in.folder != trash {
		mb.moveLocked(idx, mb.folders[trash], now)
	}
	from := Address{Name: mb.name, Email: mb.addr}
	mb.mu.Unlock()
	if !send {
		return nil
	}
	var to []Address
	prefix := "Declined: "
	if kind == "DeclineItem" {
		to = []Address{organizer}
	} else {
		prefix = "Canceled: "
		for _, a := range attendees {
			if !strings.EqualFold(a.Email, mb.addr) {
				to = append(to, a)
			}
		}
	}
	msg := Item{Kind: KindMessage, Subject: prefix + subject, Body: text, From: from, To: to, Received: now}
	for _, a := range to {
		if _, ok := s.mailbox(normAddr(a.Email)); ok {
			_, _ = s.AddItem(a.Email, "inbox", msg)
		}
	}
	if saveCopy {
		sent := msg
		sent.IsRead = true
		_, _ = s.AddItem(mb.addr, "sentitems", sent)
	}
	resp := Response{Kind: kind, From: mb.addr, Subject: msg.Subject, Body: text}
	for _, a := range to {
		resp.To = append(resp.To, strings.ToLower(a.Email))
	}
	s.respMu.Lock()
	s.responses = append(s.responses, resp)
	s.respMu.Unlock()
	return nil
}

// Responses returns the meeting responses sent so far (declines to
// organizers, cancellations to attendees), oldest first.
func (s *Sim) Responses() []Response {
	s.respMu.Lock()
	defer s.respMu.Unlock()
	return append([]Response(nil), s.responses...)
}
