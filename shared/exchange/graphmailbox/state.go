package graphmailbox

import (
	"encoding/json"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// The opaque states the sync use case keeps for the adapter. They are
// small (a Graph link plus a few bytes) because they live in the
// mailbox's checkpoint item.

// itemState is a folder's SyncState: "<round>|<window start>|<link>".
// round is "i" while the first round (from scratch) pages, "n" after it;
// the window start (Unix seconds) is set for the calendar only; link is
// the nextLink to continue with or the deltaLink that ended the last
// round.
type itemState struct {
	initial bool
	start   time.Time // calendar window start; zero for other folders
	link    string
}

func (s itemState) encode() string {
	round := "n"
	if s.initial {
		round = "i"
	}
	start := ""
	if !s.start.IsZero() {
		start = strconv.FormatInt(s.start.Unix(), 10)
	}
	return round + "|" + start + "|" + s.link
}

var errBadState = errors.New("the folder's sync state is not one this adapter wrote")

func parseItemState(s string) (itemState, error) {
	if s == "" {
		return itemState{initial: true}, nil
	}
	round, rest, ok1 := strings.Cut(s, "|")
	start, link, ok2 := strings.Cut(rest, "|")
	if !ok1 || !ok2 || (round != "i" && round != "n") || link == "" {
		return itemState{}, errBadState
	}
	st := itemState{initial: round == "i", link: link}
	if start != "" {
		sec, err := strconv.ParseInt(start, 10, 64)
		if err != nil {
			return itemState{}, errBadState
		}
		st.start = time.Unix(sec, 0).UTC()
	}
	return st, nil
}

// hierarchy phases: which of the round's two delta requests (mail
// folders, contact folders) are still to read. Both run side by side;
// one that needs more pages than the other goes on alone.
const (
	phaseBoth     = 0 // both (a round's start)
	phaseContacts = 1 // the contact folders only: the mail folders' round is done
	phaseMail     = 2 // the mail folders only: the contact folders' round is done
)

// hierState is the hierarchy's SyncState (JSON): the phases the next
// call reads, each phase's link (a nextLink mid-round, else the deltaLink
// that ended the last round) and whether the round is the first. States
// written when the phases ran one after the other (0: mail, then
// contacts; 1: contacts) mean the same here.
type hierState struct {
	Phase    int    `json:"p,omitempty"`
	Mail     string `json:"m,omitempty"`
	Contacts string `json:"c,omitempty"`
	Initial  bool   `json:"i,omitempty"`
}

func parseHierState(s string) (hierState, bool, error) {
	if s == "" {
		return hierState{Initial: true}, true, nil
	}
	var h hierState
	if err := json.Unmarshal([]byte(s), &h); err != nil || (h.Phase != phaseBoth && h.Phase != phaseContacts && h.Phase != phaseMail) {
		return hierState{}, false, errBadState
	}
	return h, false, nil
}

func (h hierState) encode() string {
	b, _ := json.Marshal(h)
	return string(b)
}

// invalidState is the error for a state the adapter cannot continue from:
// the sync use case answers it with a resync from scratch.
func invalidState(code, folder string, err error) *domain.AccessError {
	return &domain.AccessError{Kind: domain.AccessSyncStateInvalid, Code: code, Folder: folder, Err: err}
}

// sameEndpoint reports whether a saved link points at the client's
// endpoint; one that does not (the tenant's Graph URL changed) cannot be
// continued, and the client would refuse it as a foreign link.
func sameEndpoint(link, base string) bool {
	l, err1 := url.Parse(link)
	b, err2 := url.Parse(base)
	return err1 == nil && err2 == nil && strings.EqualFold(l.Scheme, b.Scheme) && strings.EqualFold(l.Host, b.Host)
}
