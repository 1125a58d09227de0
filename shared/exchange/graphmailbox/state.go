package graphmailbox

import (
	"encoding/base64"
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
// round. A calendar page's series masters still to read by id come first:
// "P<d|n><base64url of the ids, one a line>|" then the rest, d when the
// link is the round's deltaLink. The ids are at most a page's events
// (Options.PageSize, 100 by default: about 20 KB of state in the worst
// case, one page of series only), and only until they are read.
type itemState struct {
	initial bool
	start   time.Time // calendar window start; zero for other folders
	link    string
	// masters are the series masters of the last calendar page still to
	// read by id; linkDone says link is the round's deltaLink.
	masters  []string
	linkDone bool
}

func (s itemState) encode() string {
	if len(s.masters) > 0 {
		flag := "n"
		if s.linkDone {
			flag = "d"
		}
		rest := s
		rest.masters = nil
		return "P" + flag + base64.RawURLEncoding.EncodeToString([]byte(strings.Join(s.masters, "\n"))) + "|" + rest.encode()
	}
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
	if p, ok := strings.CutPrefix(s, "P"); ok {
		head, rest, ok := strings.Cut(p, "|")
		if !ok || len(head) < 2 || (head[0] != 'd' && head[0] != 'n') {
			return itemState{}, errBadState
		}
		ids, err := base64.RawURLEncoding.DecodeString(head[1:])
		if err != nil || len(ids) == 0 {
			return itemState{}, errBadState
		}
		st, err := parseItemState(rest)
		if err != nil || strings.HasPrefix(rest, "P") {
			return itemState{}, errBadState
		}
		st.masters, st.linkDone = strings.Split(string(ids), "\n"), head[0] == 'd'
		return st, nil
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
