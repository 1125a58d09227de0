// Package api serves Mailbridge's tenant API over net/http: the same handler
// runs behind API Gateway (see LambdaHandler) and on localhost in the local
// run. Handlers decode and validate requests, call the use cases in
// shared/app and map their errors to HTTP in one place (errors.go).
// infra/openapi.yaml describes it; a test keeps the two in step.
//
// Safety rules the handlers keep:
//   - bodies are application/json, at most MaxBodyBytes (MaxBulkBodyBytes
//     for bulk mailbox adds), one object, no unknown fields; errors name the
//     field and never echo a value that may be a secret;
//   - every route under /tenants/{id} is scoped by that id: mailboxes,
//     audit entries and feed entries of another tenant are never read or
//     changed through it, and only that tenant's secret is used;
//   - tenant-supplied URLs pass the URL policy (urlguard) when registered;
//     the EWS clients check it again when they connect;
//   - internal errors answer a generic message; the cause is logged with
//     the request id, which every answer carries in X-Request-Id.
//
// Authorization: API Gateway authenticates callers with IAM (SigV4). By
// default any caller allowed to invoke the API reaches every tenant. To
// give, say, each customer-facing service only its own tenants, set
// Deps.CallerTenants (MAILBRIDGE_CALLER_TENANTS in the deployment): a map
// from the caller's ARN, as API Gateway reports it in
// requestContext.identity.userArn, to tenant ids, "*" meaning all tenants
// and the right to create tenants; a key ending in "/*" covers every ARN it
// prefixes (all sessions of an assumed role). LambdaHandler takes the caller from the
// event, never from a header, so a client cannot claim another identity.
package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
)

// Deps is what the API needs; functions/api and the local run fill it.
type Deps struct {
	Store   domain.Store
	Secrets domain.SecretStore
	Checker domain.AccessChecker
	Clock   domain.Clock
	Logger  *slog.Logger
	// URLPolicy checks tenant-supplied URLs (urlguard.Policy).
	URLPolicy app.URLChecker
	// Archive is the deployment's archive store: DELETE /tenants/{id}
	// deletes the tenant's archived messages from it. Nil: no archive.
	Archive domain.ArchiveStore
	// VerifyConcurrency bounds parallel access checks per verify call.
	VerifyConcurrency int
	// VerifyTimeout bounds a verify call (API Gateway gives up after 29 s);
	// mailboxes not reached are listed as notChecked. Default 20 s.
	VerifyTimeout time.Duration
	// IdempotencyTTL is how long a POST /tenants answer is replayed for
	// the same Idempotency-Key; default 24 h.
	IdempotencyTTL time.Duration
	// CallerTenants, when not nil, restricts each IAM caller (the userArn
	// API Gateway reports) to the listed tenant ids; "*" allows all
	// tenants and creating tenants. A key ending in "/*" covers every ARN
	// it prefixes ("arn:aws:sts::123456789012:assumed-role/app/*": any
	// session of that role). A caller not listed gets 403. Nil leaves
	// authorization to IAM alone (any caller allowed to invoke the API
	// reaches every tenant).
	CallerTenants map[string][]string
	// CalendarQueue, when set, enables the calendar-write routes, which
	// queue writes there for the calendarwriter.
	CalendarQueue domain.Queue
	// Availability, when set, enables POST /tenants/{id}/availability
	// (app.Protocols routes it to the tenant's protocol).
	Availability domain.AvailabilityConnector
	// Rooms, when set, enables GET /tenants/{id}/roomlists and /rooms.
	Rooms domain.RoomConnector
	// People, when set, enables GET /tenants/{id}/mailboxes/{address}/people.
	People domain.PeopleConnector
	// CalendarView, when set, enables GET /tenants/{id}/mailboxes/{address}/calendar.
	CalendarView domain.CalendarViewConnector
	// RoomCalendar, when set (and Store keeps room marks), enables the
	// room meeting routes (POST /tenants/{id}/rooms/{address}/meetings/
	// {itemId}/end and /checkin); Rooms lists the rooms of a policy
	// covering all rooms.
	RoomCalendar domain.RoomCalendarConnector
	// Content, when set, enables the on-demand content routes (GET
	// .../items/{itemId} and .../attachments/{attachmentId}).
	Content domain.ContentConnector
	// ContentMaxBytes bounds what one content read serves; 0:
	// app.DefaultContentMaxBytes (MAILBRIDGE_CONTENT_MAX_BYTES).
	ContentMaxBytes int64
	// AvailabilityTimeout bounds the Exchange calls of one availability
	// request; default 20 s (API Gateway gives up after 29 s).
	AvailabilityTimeout time.Duration
	// RateLimit limits requests per tenant (and per caller on the routes
	// without a tenant) with 429s (ratelimit.go); the zero value is no
	// limit. The deployment and the local run set DefaultRateLimit unless
	// configured otherwise (MAILBRIDGE_API_RATE_LIMIT).
	RateLimit RateLimit
}

type server struct {
	tenants       *app.Tenants
	store         domain.Store
	log           *slog.Logger
	idemTTL       time.Duration
	verifyTimeout time.Duration
	callerTenants map[string][]string
	clock         domain.Clock
	mux           *http.ServeMux
	limiter       *limiter // nil: no rate limit
}

// route is one operation: its method and OpenAPI path, the statuses it can
// answer (checked against infra/openapi.yaml by a test) and its handler.
type route struct {
	method   string
	path     string
	statuses []int
	handle   func(s *server, w http.ResponseWriter, r *http.Request) error
}

// Statuses every tenant-scoped route can answer.
var scoped = []int{400, 403, 404, 500}

func with(base []int, extra ...int) []int {
	out := slices.Concat(base, extra)
	slices.Sort(out)
	return slices.Compact(out)
}

var routes = []route{
	{"GET", "/tenants", with(nil, 200, 400, 403, 500), (*server).listTenants},
	{"POST", "/tenants", with(nil, 201, 400, 403, 409, 413, 415, 500, 502, 503), (*server).createTenant},
	{"GET", "/tenants/{id}", with(scoped, 200), (*server).getTenant},
	{"PATCH", "/tenants/{id}", with(scoped, 200, 409, 413, 415), (*server).patchTenant},
	{"DELETE", "/tenants/{id}", with(scoped, 204, 409), (*server).deleteTenant},
	{"PUT", "/tenants/{id}/credentials", with(scoped, 200, 409, 413, 415, 502, 503), (*server).rotateCredentials},
	{"POST", "/tenants/{id}/mailboxes", with(scoped, 200, 409, 413, 415), (*server).addMailboxes},
	{"GET", "/tenants/{id}/mailboxes", with(scoped, 200), (*server).listMailboxes},
	{"DELETE", "/tenants/{id}/mailboxes/{address}", with(scoped, 204, 409), (*server).deleteMailbox},
	{"POST", "/tenants/{id}/verify", with(scoped, 200, 409), (*server).verify},
	{"GET", "/tenants/{id}/audit", with(scoped, 200), (*server).listAudit},
	{"GET", "/tenants/{id}/changes", with(scoped, 200, 410), (*server).tenantChanges},
	{"GET", "/tenants/{id}/mailboxes/{address}/changes", with(scoped, 200, 410), (*server).mailboxChanges},
}

// New returns the API's http.Handler.
func New(d Deps) http.Handler {
	logger := d.Logger
	if logger == nil {
		logger = slog.Default()
	}
	clock := d.Clock
	if clock == nil {
		clock = domain.SystemClock{}
	}
	s := &server{
		tenants: &app.Tenants{
			Store:             d.Store,
			Secrets:           d.Secrets,
			Checker:           d.Checker,
			Clock:             clock,
			URLs:              d.URLPolicy,
			Log:               logger,
			VerifyConcurrency: d.VerifyConcurrency,
			Archive:           d.Archive,
		},
		store:         d.Store,
		log:           logger,
		idemTTL:       d.IdempotencyTTL,
		verifyTimeout: d.VerifyTimeout,
		callerTenants: d.CallerTenants,
		clock:         clock,
		mux:           http.NewServeMux(),
		limiter:       newLimiter(d.RateLimit, clock),
	}
	if s.idemTTL == 0 {
		s.idemTTL = 24 * time.Hour
	}
	if s.verifyTimeout == 0 {
		s.verifyTimeout = 20 * time.Second
	}
	all := slices.Concat(routes, itemRoutes)
	if d.CalendarQueue != nil {
		all = slices.Concat(all, calendarRoutes(&app.CalendarRequests{Store: d.Store, Queue: d.CalendarQueue, Clock: clock}))
	}
	if d.Availability != nil {
		all = slices.Concat(all, availabilityRoutes(&app.Availability{Store: d.Store, Secrets: d.Secrets, Connector: d.Availability, Clock: clock,
			Log: logger, Timeout: d.AvailabilityTimeout}))
	}
	if d.Rooms != nil {
		all = slices.Concat(all, roomRoutes(&app.Rooms{Store: d.Store, Secrets: d.Secrets, Connector: d.Rooms, Clock: clock, Log: logger}))
	}
	if d.People != nil {
		all = slices.Concat(all, peopleRoutes(&app.People{Store: d.Store, Secrets: d.Secrets, Connector: d.People, Clock: clock, Log: logger}))
	}
	if d.CalendarView != nil {
		all = slices.Concat(all, calendarViewRoutes(&app.CalendarView{Store: d.Store, Secrets: d.Secrets, Connector: d.CalendarView, Clock: clock, Log: logger}))
	}
	if marks, ok := d.Store.(domain.RoomMarkStore); ok && d.RoomCalendar != nil {
		all = slices.Concat(all, roomMeetingRoutes(&app.RoomMeetings{Store: d.Store, Marks: marks, Secrets: d.Secrets,
			Calendars: d.RoomCalendar, Rooms: d.Rooms, Clock: clock, Log: logger}))
	}
	if d.Content != nil {
		all = slices.Concat(all, contentRoutes(&app.Content{Store: d.Store, Secrets: d.Secrets, Connector: d.Content, Clock: clock, Log: logger, MaxBytes: d.ContentMaxBytes}))
	}
	allowed := map[string][]string{}
	for _, rt := range all {
		s.mux.Handle(rt.method+" "+rt.path, s.wrap(rt))
		allowed[rt.path] = append(allowed[rt.path], rt.method)
	}
	// Known paths with an unsupported method, and unknown paths, answer
	// JSON errors too (the mux's own answers are plain text).
	for p, methods := range allowed {
		allow := strings.Join(methods, ", ")
		s.mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allow)
			writeJSON(w, http.StatusMethodNotAllowed, errorBody{Error: errorDetail{
				Code: "method_not_allowed", Message: r.Method + " is not supported here; use " + allow,
			}})
		})
	}
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, errorBody{Error: errorDetail{Code: domain.CodeNotFound, Message: "no such route"}})
	})
	return s
}

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

type callerKey struct{}

// withCaller records the authenticated caller (from API Gateway's request
// context), for CallerTenants.
func withCaller(ctx context.Context, caller string) context.Context {
	// The use cases' audit entries name it too (app.Caller).
	return app.WithCaller(context.WithValue(ctx, callerKey{}, caller), caller)
}

func callerOf(ctx context.Context) string {
	c, _ := ctx.Value(callerKey{}).(string)
	return c
}

// ServeHTTP tags the request with an id, refuses unclean paths (instead of
// the mux's redirect), logs one line per request and recovers panics.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	reqID := r.Header.Get("X-Request-Id")
	if !requestIDPattern.MatchString(reqID) {
		reqID = newRequestID()
	}
	ctx := app.WithRequestID(r.Context(), reqID)
	r = r.WithContext(ctx)
	w.Header().Set("X-Request-Id", reqID)
	w.Header().Set("Mailbridge-Version", Version)
	sw := &statusWriter{ResponseWriter: w}

	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				// A stream that failed after its headers: cut the
				// connection (content.go).
				s.log.Warn("request aborted mid-stream", "requestId", reqID, "route", r.Pattern)
				panic(p)
			}
			s.log.Error("panic", "requestId", reqID, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			if sw.status == 0 {
				status, body := toBody(nil)
				writeJSON(sw, status, body)
			}
		}
		// A calendar write answers its write's id (answerWrite): log that.
		attrs := []any{"requestId", w.Header().Get("X-Request-Id"), "method", r.Method, "route", r.Pattern,
			"status", sw.status, "durationMs", time.Since(start).Milliseconds()}
		if id := r.PathValue("id"); app.ValidateTenantID(id) == nil {
			attrs = append(attrs, "tenantId", id)
		}
		s.log.Info("request", attrs...)
	}()

	if len(r.URL.RequestURI()) > 4096 || !cleanPath(r.URL) {
		status, body := toBody(domain.Invalid("path", "the request path must be a clean absolute path of at most 4096 characters"))
		writeJSON(sw, status, body)
		return
	}
	stripVersion(r)
	s.mux.ServeHTTP(sw, r)
}

func (s *server) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var err error
		if id := r.PathValue("id"); id != "" || strings.Contains(rt.path, "{id}") {
			if verr := app.ValidateTenantID(id); verr != nil {
				err = verr
			} else if err = s.authorize(r.Context(), id); err == nil {
				// Counted only once authorized: a stranger cannot spend
				// a tenant's requests.
				err = s.rateLimited(w, "tenant\x00"+id)
			}
		} else {
			// No tenant (POST and GET /tenants): the caller's bucket.
			err = s.rateLimited(w, "caller\x00"+callerOf(r.Context()))
		}
		if err == nil {
			err = rt.handle(s, w, r)
		}
		if err != nil {
			s.writeError(w, r, err)
		}
	})
}

// cleanPath reports whether u's path is clean: absolute, no empty, "."
// or ".." segment, encoded or not. It looks at the escaped path, so an
// encoded slash inside a segment (EWS item ids hold "/", even "//") is
// part of that segment, as the mux reads it.
func cleanPath(u *url.URL) bool {
	p := u.EscapedPath()
	if !strings.HasPrefix(p, "/") || path.Clean(p) != p {
		return false
	}
	for _, seg := range strings.Split(p[1:], "/") {
		d, err := url.PathUnescape(seg)
		if err != nil {
			return false
		}
		// An encoded traversal ("..%2F..%2Fx") is refused as one, too.
		for _, part := range strings.Split(d, "/") {
			if part == "." || part == ".." {
				return false
			}
		}
	}
	return true
}

// authorize applies CallerTenants; tenant "" means creating a tenant.
func (s *server) authorize(ctx context.Context, tenantID string) error {
	if s.callerTenants == nil {
		return nil
	}
	allowed := callerGrants(s.callerTenants, callerOf(ctx))
	if slices.Contains(allowed, "*") || (tenantID != "" && slices.Contains(allowed, tenantID)) {
		return nil
	}
	return &domain.Error{Code: domain.CodeForbidden, Message: "this caller may not act on this tenant"}
}

// callerGrants returns the tenant ids granted to caller: by its exact ARN,
// plus those of every key ending in "/*" that prefixes it (an assumed
// role's ARN ends in a session name that changes per session).
func callerGrants(m map[string][]string, caller string) []string {
	if caller == "" {
		return nil
	}
	grants := slices.Clone(m[caller])
	for k, ids := range m {
		if prefix, ok := strings.CutSuffix(k, "*"); ok && strings.HasSuffix(prefix, "/") && strings.HasPrefix(caller, prefix) {
			grants = append(grants, ids...)
		}
	}
	return grants
}

func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, body := toBody(err)
	if status >= 500 {
		// The cause goes to the log only; it never reaches the client.
		attrs := []any{"requestId", app.RequestID(r.Context()), "route", r.Pattern, "status", status, "error", err.Error()}
		var de *domain.Error
		if errors.As(err, &de) && de.Err != nil {
			attrs = append(attrs, "cause", de.Err.Error())
		}
		s.log.Error("request failed", attrs...)
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only a programming error gets here: the bodies are plain structs.
		status, b = http.StatusInternalServerError, []byte(`{"error":{"code":"internal","message":"internal error"}}`)
	}
	writeRawJSON(w, status, b)
}

// writeRawJSON answers with an encoded JSON body.
func writeRawJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}
