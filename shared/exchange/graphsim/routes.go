package graphsim

import (
	"net/http"
	"strings"

	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
)

// BasePath is where Graph v1.0 is served.
const BasePath = "/v1.0"

func (s *Server) routes() {
	m := http.NewServeMux()
	u := BasePath + "/users/{user}"
	m.HandleFunc("GET "+u, s.getUser)
	m.HandleFunc("GET "+BasePath+"/users", s.listUsers)
	m.HandleFunc("GET "+u+"/mailFolders/delta", s.handle("mailFolders.delta", PermMailRead, s.mailFoldersDelta))
	m.HandleFunc("GET "+u+"/mailFolders/{folder}", s.handle("mailFolders.get", PermMailRead, s.getMailFolder))
	m.HandleFunc("GET "+u+"/mailFolders/{folder}/messages/delta", s.handle("messages.delta", PermMailRead, s.messagesDelta))
	m.HandleFunc("GET "+u+"/messages/{id}", s.handle("messages.get", PermMailRead, s.getMessage))
	m.HandleFunc("GET "+u+"/contactFolders/delta", s.handle("contactFolders.delta", PermContactsRead, s.contactFoldersDelta))
	m.HandleFunc("GET "+u+"/contactFolders/{folder}/contacts/delta", s.handle("contacts.delta", PermContactsRead, s.contactsDelta))
	m.HandleFunc("GET "+u+"/contacts/delta", s.handle("contacts.delta", PermContactsRead, s.contactsDelta))
	m.HandleFunc("GET "+u+"/contacts/{id}", s.handle("contacts.get", PermContactsRead, s.getContact))
	m.HandleFunc("GET "+u+"/calendar", s.handle("calendar.get", PermCalendarsRead, s.getCalendar))
	m.HandleFunc("GET "+u+"/calendarView/delta", s.handle("events.delta", PermCalendarsRead, s.eventsDelta))
	m.HandleFunc("GET "+u+"/events", s.handle("events.list", PermCalendarsRead, s.listEvents))
	m.HandleFunc("GET "+u+"/events/{id}", s.handle("events.get", PermCalendarsRead, s.getEvent))
	m.HandleFunc("POST "+u+"/events", s.handle("events.create", PermCalendarsReadWrite, s.createEvent))
	m.HandleFunc("POST "+u+"/calendar/events", s.handle("events.create", PermCalendarsReadWrite, s.createEvent))
	m.HandleFunc("PATCH "+u+"/events/{id}", s.handle("events.update", PermCalendarsReadWrite, s.updateEvent))
	m.HandleFunc("DELETE "+u+"/events/{id}", s.handle("events.delete", PermCalendarsReadWrite, s.deleteEvent))
	m.HandleFunc("POST "+u+"/events/{id}/decline", s.handle("events.decline", PermCalendarsReadWrite, s.declineEvent))
	m.HandleFunc("POST "+u+"/events/{id}/cancel", s.handle("events.cancel", PermCalendarsReadWrite, s.cancelEvent))
	m.HandleFunc("GET "+u+"/calendarView", s.handle("events.calendarView", PermCalendarsRead, s.calendarView))
	m.HandleFunc("POST "+u+"/calendar/getSchedule", s.handle("calendar.getSchedule", PermCalendarsRead, s.getSchedule))
	m.HandleFunc("POST "+u+"/translateExchangeIds", s.handle("translateExchangeIds", PermMailRead, s.translateIDs))
	s.placeRoutes(m)
	m.HandleFunc("POST "+BasePath+"/$batch", s.serveBatch)
	m.HandleFunc(BasePath+"/", s.notFound)
	s.mux = m
}

// notFound answers a path the simulator does not serve as Graph does for
// an unknown segment.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	c := s.begin(w, r, "unknown")
	segs := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, BasePath), "/"), "/")
	c.fail(http.StatusBadRequest, "BadRequest", "Resource not found for the segment '"+segs[len(segs)-1]+"'.")
}

// Handler serves Graph under /v1.0/ and everything else (EWS, the OAuth
// authority, stats) with the simulator's own handler, as one host.
func (s *Server) Handler() http.Handler {
	m := http.NewServeMux()
	m.Handle(BasePath+"/", s)
	m.Handle("/", s.sim.Handler())
	return m
}

// Running is a simulator serving EWS and Graph on one loopback host.
type Running struct {
	*ewssim.Server
	// GraphURL is the Graph base URL, URL + "/v1.0".
	GraphURL string
}

// Start serves EWS, Graph and the OAuth authority on one loopback port
// (TLS when useTLS, as MSAL requires).
func (s *Server) Start(useTLS bool) (*Running, error) { return s.Serve("127.0.0.1:0", useTLS) }

// Serve is Start on addr: Graph's delta links and the OAuth authority name
// the host, so a client that keeps them across restarts needs the same
// address.
func (s *Server) Serve(addr string, useTLS bool) (*Running, error) {
	srv, err := s.sim.ServeWith(addr, useTLS, s.Handler())
	if err != nil {
		return nil, err
	}
	return &Running{Server: srv, GraphURL: srv.URL + BasePath}, nil
}
