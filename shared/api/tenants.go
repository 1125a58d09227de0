package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"time"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
)

// Request and response bodies. They are the API's own types, so the stored
// domain types can change without changing the wire format.

type createTenantRequest struct {
	ID                  string            `json:"id"`
	DisplayName         string            `json:"displayName"`
	EWSURL              string            `json:"ewsUrl"`
	ExchangeVersion     string            `json:"exchangeVersion"`
	Protocol            domain.Protocol   `json:"protocol"`
	GraphURL            string            `json:"graphUrl"`
	AccessMode          domain.AccessMode `json:"accessMode"`
	AllowFallback       bool              `json:"allowFallback"`
	Folders             []string          `json:"folders"`
	SyncIntervalSeconds int               `json:"syncIntervalSeconds"`
	MaxConcurrentJobs   int               `json:"maxConcurrentJobs"`
	CalendarWindow      *calendarWindow   `json:"calendarWindow"`
	// RoomPolicy: omitempty keeps the Idempotency-Key hash of requests
	// without it as it was.
	RoomPolicy  *roomPolicy        `json:"roomPolicy,omitempty"`
	Credentials *domain.Credential `json:"credentials"`
	// BodyFormat: omitempty keeps the Idempotency-Key hash of requests
	// without it as it was.
	BodyFormat string `json:"bodyFormat,omitempty"`
	// Archive: omitempty keeps the Idempotency-Key hash of requests
	// without it as it was.
	Archive *archiveRequest `json:"archive,omitempty"`
	// ProbeMailbox and CredentialCheck: the credential check on create
	// (app.OnboardChecked). omitempty keeps the Idempotency-Key hash of
	// requests without them as it was.
	ProbeMailbox    string              `json:"probeMailbox,omitempty"`
	CredentialCheck app.CredentialCheck `json:"credentialCheck,omitempty"`
}

type patchTenantRequest struct {
	DisplayName         *string            `json:"displayName"`
	EWSURL              *string            `json:"ewsUrl"`
	ExchangeVersion     *string            `json:"exchangeVersion"`
	Protocol            *domain.Protocol   `json:"protocol"`
	GraphURL            *string            `json:"graphUrl"`
	AccessMode          *domain.AccessMode `json:"accessMode"`
	AllowFallback       *bool              `json:"allowFallback"`
	Folders             *[]string          `json:"folders"`
	SyncIntervalSeconds *int               `json:"syncIntervalSeconds"`
	MaxConcurrentJobs   *int               `json:"maxConcurrentJobs"`
	CalendarWindow      *calendarWindow    `json:"calendarWindow"`
	RoomPolicy          *roomPolicy        `json:"roomPolicy"`
	BodyFormat          *string            `json:"bodyFormat"`
	Archive             *archiveRequest    `json:"archive"`
	Version             *int64             `json:"version"`
}

type rotateRequest struct {
	Credentials  *domain.Credential `json:"credentials"`
	ProbeMailbox string             `json:"probeMailbox"`
}

type credentialView struct {
	Kind        domain.AuthKind `json:"kind"`
	Fingerprint string          `json:"fingerprint"`
}

type tenantView struct {
	ID                  string              `json:"id"`
	DisplayName         string              `json:"displayName"`
	EWSURL              string              `json:"ewsUrl"`
	ExchangeVersion     string              `json:"exchangeVersion"`
	Protocol            domain.Protocol     `json:"protocol"`
	GraphURL            string              `json:"graphUrl"`
	ItemIDFormat        domain.IDFormat     `json:"itemIdFormat"`
	AccessMode          domain.AccessMode   `json:"accessMode"`
	AllowFallback       bool                `json:"allowFallback"`
	Folders             []string            `json:"folders"`
	SyncIntervalSeconds int                 `json:"syncIntervalSeconds"`
	MaxConcurrentJobs   int                 `json:"maxConcurrentJobs"`
	CalendarWindow      calendarWindow      `json:"calendarWindow"`
	RoomPolicy          roomPolicy          `json:"roomPolicy"`
	BodyFormat          string              `json:"bodyFormat"`
	Archive             archiveView         `json:"archive"`
	Status              domain.TenantStatus `json:"status"`
	// Credentials is null while no credential is stored (an onboarding
	// interrupted between its steps); a rotation fixes it.
	Credentials *credentialView `json:"credentials"`
	// Warnings: what the operator should act on before it breaks (an EWS
	// tenant on Exchange Online nearing or past the EWS cutoff).
	Warnings []app.TenantWarning `json:"warnings,omitempty"`
	// CredentialCheck: only in the answer to POST /tenants, the check of
	// the credential made before the tenant was created.
	CredentialCheck *domain.AccessReport `json:"credentialCheck,omitempty"`
	CreatedAt       time.Time            `json:"createdAt"`
	UpdatedAt       time.Time            `json:"updatedAt"`
	Version         int64                `json:"version"`
}

func (s *server) viewTenant(t domain.Tenant) tenantView {
	v := tenantView{
		ID:                  t.ID,
		DisplayName:         t.DisplayName,
		EWSURL:              t.EWSURL,
		ExchangeVersion:     t.ExchangeVersion,
		Protocol:            t.ProtocolOf(),
		GraphURL:            graphURLView(t),
		ItemIDFormat:        t.IDFormatOf(),
		AccessMode:          t.AccessMode,
		AllowFallback:       t.AllowFallback,
		Folders:             t.Folders,
		SyncIntervalSeconds: int(t.SyncInterval / time.Second),
		MaxConcurrentJobs:   t.MaxConcurrentJobs,
		CalendarWindow:      viewWindow(t.CalendarWindow),
		RoomPolicy:          viewRoomPolicy(t.RoomPolicy),
		BodyFormat:          t.BodyFormatOf(),
		Archive:             viewArchive(t.Archive),
		Status:              t.Status,
		CreatedAt:           t.CreatedAt,
		UpdatedAt:           t.UpdatedAt,
		Version:             t.Version,
		Warnings:            app.TenantWarnings(t, s.clock.Now()),
	}
	if t.CredentialFingerprint != "" {
		v.Credentials = &credentialView{Kind: t.AuthKind, Fingerprint: t.CredentialFingerprint}
	}
	return v
}

// graphURLView is the Graph endpoint a graph tenant uses; empty for EWS
// tenants that never set one.
func graphURLView(t domain.Tenant) string {
	if t.ProtocolOf() == domain.ProtocolGraph {
		return t.GraphEndpoint()
	}
	return t.GraphURL
}

// calendarWindow is a tenant's calendar window on the wire: the days it
// covers, defaults filled in on answers.
type calendarWindow struct {
	PastDays   int `json:"pastDays"`
	FutureDays int `json:"futureDays"`
}

func (w *calendarWindow) domain() domain.CalendarWindow {
	if w == nil {
		return domain.CalendarWindow{}
	}
	return domain.CalendarWindow{PastDays: w.PastDays, FutureDays: w.FutureDays}
}

func viewWindow(w domain.CalendarWindow) calendarWindow {
	past, future := w.Days()
	return calendarWindow{PastDays: past, FutureDays: future}
}

// roomPolicy is a tenant's room policy on the wire. notifyOrganizer is
// true when left out: a release tells the organizer unless asked not to.
type roomPolicy struct {
	Enabled         bool     `json:"enabled"`
	Rooms           []string `json:"rooms"`
	AllRooms        bool     `json:"allRooms"`
	CheckInMinutes  int      `json:"checkInMinutes"`
	NotifyOrganizer *bool    `json:"notifyOrganizer,omitempty"`
}

func (p *roomPolicy) domain() domain.RoomPolicy {
	if p == nil {
		return domain.RoomPolicy{}
	}
	quiet := p.NotifyOrganizer != nil && !*p.NotifyOrganizer
	return domain.RoomPolicy{Enabled: p.Enabled, Rooms: p.Rooms, AllRooms: p.AllRooms, CheckInMinutes: p.CheckInMinutes, QuietRelease: quiet}
}

func viewRoomPolicy(p domain.RoomPolicy) roomPolicy {
	rooms := p.Rooms
	if rooms == nil {
		rooms = []string{}
	}
	notify := !p.QuietRelease
	return roomPolicy{Enabled: p.Enabled, Rooms: rooms, AllRooms: p.AllRooms, CheckInMinutes: p.CheckInMinutes, NotifyOrganizer: &notify}
}

// archiveRequest is the archive setting asked for: enabled is required
// (an empty object would say nothing).
type archiveRequest struct {
	Enabled *bool `json:"enabled"`
}

func (a *archiveRequest) enabled() (bool, error) {
	if a == nil {
		return false, nil
	}
	if a.Enabled == nil {
		return false, domain.Invalid("archive.enabled", "is required: true or false")
	}
	return *a.Enabled, nil
}

// archiveView is the archive setting in answers; since is when archiving
// starts (messages received from then on are archived).
type archiveView struct {
	Enabled bool       `json:"enabled"`
	Since   *time.Time `json:"since,omitempty"`
}

func viewArchive(a domain.ArchiveSettings) archiveView {
	if !a.Enabled {
		return archiveView{}
	}
	since := a.Since
	return archiveView{Enabled: true, Since: &since}
}

type mailboxView struct {
	Address           string               `json:"address"`
	AccessMode        domain.AccessMode    `json:"accessMode,omitempty"`
	EWSURL            string               `json:"ewsUrl,omitempty"`
	EffectiveMode     domain.AccessMode    `json:"effectiveAccessMode,omitempty"`
	Status            domain.MailboxStatus `json:"status"`
	UnreadableFolders []string             `json:"unreadableFolders,omitempty"`
	LastSync          *time.Time           `json:"lastSync,omitempty"`
	LastError         string               `json:"lastError,omitempty"`
	Hint              string               `json:"hint,omitempty"`
	UpdatedAt         time.Time            `json:"updatedAt"`
}

func viewMailbox(m domain.Mailbox) mailboxView {
	v := mailboxView{
		Address:           m.Address,
		AccessMode:        m.AccessMode,
		EWSURL:            m.EWSURL,
		EffectiveMode:     m.EffectiveMode,
		Status:            m.Status,
		UnreadableFolders: m.UnreadableFolders,
		LastError:         m.LastError,
		Hint:              m.Hint,
		UpdatedAt:         m.UpdatedAt,
	}
	if !m.LastSync.IsZero() {
		ls := m.LastSync
		v.LastSync = &ls
	}
	return v
}

// idempotentRecord is what POST /tenants stores under an Idempotency-Key.
type idempotentRecord struct {
	RequestHash string          `json:"requestHash"`
	Status      int             `json:"status"`
	Body        json.RawMessage `json:"body"`
}

func (s *server) createTenant(w http.ResponseWriter, r *http.Request) error {
	if err := s.authorize(r.Context(), ""); err != nil {
		return err
	}
	if _, err := query(r); err != nil {
		return err
	}
	key := r.Header.Get("Idempotency-Key")
	if key != "" && !requestIDPattern.MatchString(key) {
		return domain.Invalid("Idempotency-Key", "Idempotency-Key must be 1-64 characters of A-Z, a-z, 0-9, '.', '_' and '-'")
	}
	var req createTenantRequest
	if err := decodeJSON(w, r, &req, MaxBodyBytes); err != nil {
		return err
	}
	if req.Credentials == nil {
		return domain.Invalid("credentials", "credentials are required")
	}
	interval, err := syncInterval(req.SyncIntervalSeconds)
	if err != nil {
		return err
	}
	var reqHash, token string
	if key != "" {
		reqHash = requestHash(req)
		token = createToken(callerOf(r.Context()), key, reqHash)
		// Decided before anything is created: a key reused with another
		// body must not make a second tenant.
		if replayed, err := s.replayIdempotent(w, r, idempotencyScope(r), key, reqHash); replayed || err != nil {
			return err
		}
	}
	archiveOn, err := req.Archive.enabled()
	if err != nil {
		return err
	}
	t, check, err := s.tenants.OnboardChecked(r.Context(), app.NewTenant{
		ID:                req.ID,
		DisplayName:       req.DisplayName,
		EWSURL:            req.EWSURL,
		ExchangeVersion:   req.ExchangeVersion,
		Protocol:          req.Protocol,
		GraphURL:          req.GraphURL,
		AccessMode:        req.AccessMode,
		AllowFallback:     req.AllowFallback,
		Folders:           req.Folders,
		SyncInterval:      interval,
		MaxConcurrentJobs: req.MaxConcurrentJobs,
		CalendarWindow:    req.CalendarWindow.domain(),
		RoomPolicy:        req.RoomPolicy.domain(),
		BodyFormat:        req.BodyFormat,
		Archive:           archiveOn,
		Credential:        *req.Credentials,
		CreateToken:       token,
	}, req.ProbeMailbox, req.CredentialCheck)
	if key == "" {
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusCreated, s.createdView(t, check))
		return nil
	}
	return s.answerIdempotent(w, r, key, reqHash, req.ID, t, check, err)
}

// createdView is the answer to a create: the tenant and its credential
// check.
func (s *server) createdView(t domain.Tenant, check *domain.AccessReport) tenantView {
	v := s.viewTenant(t)
	v.CredentialCheck = check
	return v
}

// createToken names a create request (caller, Idempotency-Key, request
// hash) on the tenant it makes, so that a retry with the same key after a
// crash or timeout finishes that onboarding and answers 201 again, rather
// than meeting "exists" (see app.NewTenant.CreateToken).
func createToken(caller, key, reqHash string) string {
	sum := sha256.Sum256([]byte(caller + "\x00" + key + "\x00" + reqHash))
	return hex.EncodeToString(sum[:])
}

// syncInterval converts seconds, refusing values that would overflow a
// time.Duration (and wrap into the allowed range).
func syncInterval(seconds int) (time.Duration, error) {
	if seconds < 0 || seconds > int(app.MaxSyncInterval/time.Second) {
		return 0, domain.Invalid("syncIntervalSeconds", "must be between %d and %d seconds",
			int(app.MinSyncInterval/time.Second), int(app.MaxSyncInterval/time.Second))
	}
	return time.Duration(seconds) * time.Second, nil
}

// requestHash identifies a create request for Idempotency-Key reuse checks.
// The credential enters only as its fingerprint, which is derived from no
// secret (a stored hash of a password could be brute-forced), so a reuse
// differing only in the password replays the original answer.
func requestHash(req createTenantRequest) string {
	fp := req.Credentials.Fingerprint()
	req.Credentials = nil
	b, _ := json.Marshal(req)
	sum := sha256.Sum256(append(b, fp...))
	return hex.EncodeToString(sum[:])
}

// idempotencyScope is the scope of POST /tenants records: the key is the
// caller's, so two callers' keys never meet. The records belong to the
// tenant the request names, so offboarding it forgets them.
func idempotencyScope(r *http.Request) string { return "POST /tenants " + callerOf(r.Context()) }

// errKeyReused answers a key used before with another request body.
func errKeyReused() error {
	return &domain.Error{Code: domain.CodeConflict, Field: "Idempotency-Key",
		Message: "this Idempotency-Key was used with a different request body; use a new Idempotency-Key for a different request"}
}

// replayIdempotent answers from the record stored under key in scope (a
// tenant create's or a calendar write's), if any: the stored answer for
// the same request, 409 for another body. replayed is false (and nothing
// written) when no record is stored.
func (s *server) replayIdempotent(w http.ResponseWriter, r *http.Request, scope, key, reqHash string) (replayed bool, err error) {
	stored, found, err := s.store.GetIdempotent(r.Context(), scope, key)
	if err != nil {
		return false, &domain.Error{Code: domain.CodeInternal, Message: "internal error while reading the idempotency record", Err: err}
	}
	if !found {
		return false, nil
	}
	prev, err := decodeIdempotent(stored)
	if err != nil {
		return false, err
	}
	if prev.RequestHash != reqHash {
		return false, errKeyReused()
	}
	w.Header().Set("Idempotent-Replayed", "true")
	writeRawJSON(w, prev.Status, prev.Body)
	return true, nil
}

// decodeIdempotent reads a stored idempotency record.
func decodeIdempotent(stored []byte) (idempotentRecord, error) {
	var rec idempotentRecord
	if err := json.Unmarshal(stored, &rec); err != nil {
		return rec, &domain.Error{Code: domain.CodeInternal, Message: "bad idempotency record", Err: err}
	}
	return rec, nil
}

// answerIdempotent stores the outcome of a create under its key and answers
// with the first outcome stored for that key. A retry of a create that
// succeeded meets "tenant exists" and is answered with the original 201.
// Only successes and conflicts are stored: a validation error would repeat
// anyway, and an internal error must stay retriable.
//
// The record belongs to the tenant the request names (the one created, or
// the one whose existence made it a conflict).
func (s *server) answerIdempotent(w http.ResponseWriter, r *http.Request, key, reqHash, tenantID string, t domain.Tenant, check *domain.AccessReport, opErr error) error {
	rec := idempotentRecord{RequestHash: reqHash}
	switch {
	case opErr == nil:
		rec.Status = http.StatusCreated
		rec.Body, _ = json.Marshal(s.createdView(t, check))
	case domain.IsConflict(opErr):
		status, body := toBody(opErr)
		rec.Status = status
		rec.Body, _ = json.Marshal(body)
	default:
		return opErr
	}
	value, _ := json.Marshal(rec)
	stored, existed, err := s.store.SaveIdempotent(r.Context(), tenantID, idempotencyScope(r), key, value, s.idemTTL)
	if err != nil {
		// The create itself is done; answer it rather than fail it.
		s.log.Error("idempotency record not saved", "requestId", app.RequestID(r.Context()), "error", err.Error())
		existed = false
	}
	if existed {
		prev, err := decodeIdempotent(stored)
		if err != nil {
			return err
		}
		if prev.RequestHash != rec.RequestHash {
			if opErr == nil {
				// Another body took the key between the check and
				// now (concurrent requests): undo this create, so a
				// reused key never makes a second tenant.
				s.log.Warn("Idempotency-Key reused with a different body concurrently; removing the tenant this request created",
					"requestId", app.RequestID(r.Context()), "tenantId", t.ID)
				if err := s.tenants.Offboard(r.Context(), t.ID); err != nil {
					return err
				}
			}
			return errKeyReused()
		}
		rec = prev
		w.Header().Set("Idempotent-Replayed", "true")
	}
	writeRawJSON(w, rec.Status, rec.Body)
	return nil
}

func (s *server) getTenant(w http.ResponseWriter, r *http.Request) error {
	if _, err := query(r); err != nil {
		return err
	}
	t, err := s.tenants.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.viewTenant(t))
	return nil
}

func (s *server) patchTenant(w http.ResponseWriter, r *http.Request) error {
	if _, err := query(r); err != nil {
		return err
	}
	var req patchTenantRequest
	if err := decodeJSON(w, r, &req, MaxBodyBytes); err != nil {
		return err
	}
	p := app.TenantPatch{
		DisplayName:       req.DisplayName,
		EWSURL:            req.EWSURL,
		ExchangeVersion:   req.ExchangeVersion,
		Protocol:          req.Protocol,
		GraphURL:          req.GraphURL,
		AccessMode:        req.AccessMode,
		AllowFallback:     req.AllowFallback,
		Folders:           req.Folders,
		MaxConcurrentJobs: req.MaxConcurrentJobs,
		Version:           req.Version,
	}
	if req.CalendarWindow != nil {
		w := req.CalendarWindow.domain()
		p.CalendarWindow = &w
	}
	if req.RoomPolicy != nil {
		rp := req.RoomPolicy.domain()
		p.RoomPolicy = &rp
	}
	p.BodyFormat = req.BodyFormat
	if req.Archive != nil {
		on, err := req.Archive.enabled()
		if err != nil {
			return err
		}
		p.Archive = &on
	}
	if req.SyncIntervalSeconds != nil {
		d, err := syncInterval(*req.SyncIntervalSeconds)
		if err != nil {
			return err
		}
		p.SyncInterval = &d
	}
	t, err := s.tenants.Update(r.Context(), r.PathValue("id"), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.viewTenant(t))
	return nil
}

func (s *server) deleteTenant(w http.ResponseWriter, r *http.Request) error {
	if _, err := query(r); err != nil {
		return err
	}
	if err := s.tenants.Offboard(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type rotateResponse struct {
	Tenant tenantView          `json:"tenant"`
	Check  domain.AccessReport `json:"check"`
	// Recheck: mailboxes whose login had failed, set back to pending for
	// their next sync to try the new credentials (app.Rotation).
	Recheck int `json:"recheck"`
}

func (s *server) rotateCredentials(w http.ResponseWriter, r *http.Request) error {
	if _, err := query(r); err != nil {
		return err
	}
	var req rotateRequest
	if err := decodeJSON(w, r, &req, MaxBodyBytes); err != nil {
		return err
	}
	if req.Credentials == nil {
		return domain.Invalid("credentials", "credentials are required")
	}
	rot, err := s.tenants.Rotate(r.Context(), r.PathValue("id"), *req.Credentials, req.ProbeMailbox)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rotateResponse{Tenant: s.viewTenant(rot.Tenant), Check: rot.Check, Recheck: rot.Recheck})
	return nil
}

type addMailboxesRequest struct {
	Mailboxes []struct {
		Address    string            `json:"address"`
		AccessMode domain.AccessMode `json:"accessMode"`
		EWSURL     string            `json:"ewsUrl"`
	} `json:"mailboxes"`
}

type mailboxResultView struct {
	Address string       `json:"address"`
	Outcome string       `json:"outcome"`
	Error   *errorDetail `json:"error,omitempty"`
}

type addMailboxesResponse struct {
	Added   int                 `json:"added"`
	Exists  int                 `json:"exists"`
	Invalid int                 `json:"invalid"`
	Results []mailboxResultView `json:"results"`
}

func (s *server) addMailboxes(w http.ResponseWriter, r *http.Request) error {
	if _, err := query(r); err != nil {
		return err
	}
	var req addMailboxesRequest
	if err := decodeJSON(w, r, &req, MaxBulkBodyBytes); err != nil {
		return err
	}
	in := make([]app.NewMailbox, len(req.Mailboxes))
	for i, m := range req.Mailboxes {
		in[i] = app.NewMailbox{Address: m.Address, AccessMode: m.AccessMode, EWSURL: m.EWSURL}
	}
	results, err := s.tenants.AddMailboxes(r.Context(), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	resp := addMailboxesResponse{Results: make([]mailboxResultView, len(results))}
	for i, res := range results {
		v := mailboxResultView{Address: res.Address, Outcome: res.Outcome}
		switch res.Outcome {
		case app.MailboxAdded:
			resp.Added++
		case app.MailboxExists:
			resp.Exists++
		default:
			resp.Invalid++
			if res.Error != nil {
				v.Error = &errorDetail{Code: res.Error.Code, Message: res.Error.Message, Field: res.Error.Field}
			}
		}
		resp.Results[i] = v
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

func (s *server) deleteMailbox(w http.ResponseWriter, r *http.Request) error {
	if _, err := query(r); err != nil {
		return err
	}
	if err := s.tenants.RemoveMailbox(r.Context(), r.PathValue("id"), r.PathValue("address")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type mailboxPage struct {
	Mailboxes  []mailboxView `json:"mailboxes"`
	NextCursor string        `json:"nextCursor,omitempty"`
}

func (s *server) listMailboxes(w http.ResponseWriter, r *http.Request) error {
	q, err := query(r, "status", "cursor", "limit")
	if err != nil {
		return err
	}
	limit, err := queryLimit(q, "limit")
	if err != nil {
		return err
	}
	ms, next, err := s.tenants.ListMailboxes(r.Context(), r.PathValue("id"), domain.MailboxQuery{
		Status: domain.MailboxStatus(q["status"]), Cursor: q["cursor"], Limit: limit,
	})
	if err != nil {
		return err
	}
	page := mailboxPage{Mailboxes: make([]mailboxView, len(ms)), NextCursor: next}
	for i, m := range ms {
		page.Mailboxes[i] = viewMailbox(m)
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

type verifyResponse struct {
	TenantID   string                       `json:"tenantId"`
	CheckedAt  time.Time                    `json:"checkedAt"`
	Summary    map[domain.MailboxStatus]int `json:"summary"`
	Mailboxes  []domain.AccessReport        `json:"mailboxes"`
	NotChecked []string                     `json:"notChecked,omitempty"`
}

func (s *server) verify(w http.ResponseWriter, r *http.Request) error {
	q, err := query(r, "mailbox")
	if err != nil {
		return err
	}
	if _, ok := q["mailbox"]; ok && q["mailbox"] == "" {
		return domain.Invalid("mailbox", "mailbox must be an address when given")
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.verifyTimeout)
	defer cancel()
	rep, err := s.tenants.Verify(ctx, r.PathValue("id"), q["mailbox"])
	if err != nil {
		return err
	}
	if rep.Mailboxes == nil {
		rep.Mailboxes = []domain.AccessReport{}
	}
	writeJSON(w, http.StatusOK, verifyResponse{
		TenantID: rep.TenantID, CheckedAt: rep.CheckedAt, Summary: rep.Summary, Mailboxes: rep.Mailboxes, NotChecked: rep.NotChecked,
	})
	return nil
}

type auditPage struct {
	Entries    []domain.AuditEntry `json:"entries"`
	NextCursor string              `json:"nextCursor,omitempty"`
}

func (s *server) listAudit(w http.ResponseWriter, r *http.Request) error {
	q, err := query(r, "cursor", "limit", "mailbox", "operation", "since", "until")
	if err != nil {
		return err
	}
	limit, err := queryLimit(q, "limit")
	if err != nil {
		return err
	}
	aq := domain.AuditQuery{Mailbox: q["mailbox"], Operation: q["operation"], Cursor: q["cursor"], Limit: limit}
	for _, f := range []struct {
		name string
		to   *time.Time
	}{{"since", &aq.Since}, {"until", &aq.Until}} {
		v, given := q[f.name]
		if !given {
			continue
		}
		t, perr := time.Parse(time.RFC3339, v)
		if perr != nil || t.IsZero() {
			return domain.Invalid(f.name, "%s must be an RFC 3339 time with an offset, like 2026-12-01T09:00:00Z", f.name)
		}
		*f.to = t
	}
	for _, name := range []string{"mailbox", "operation"} {
		if v, given := q[name]; given && v == "" {
			return domain.Invalid(name, "%s must not be empty when given", name)
		}
	}
	es, next, err := s.tenants.ListAudit(r.Context(), r.PathValue("id"), aq)
	if err != nil {
		return err
	}
	if es == nil {
		es = []domain.AuditEntry{}
	}
	writeJSON(w, http.StatusOK, auditPage{Entries: es, NextCursor: next})
	return nil
}

type feedPage struct {
	Changes []domain.Change `json:"changes"`
	// NextCursor continues the feed; it equals the given cursor when
	// nothing is new, so a poller can keep it.
	NextCursor string `json:"nextCursor"`
}

func (s *server) tenantChanges(w http.ResponseWriter, r *http.Request) error {
	return s.feed(w, r, "")
}

func (s *server) mailboxChanges(w http.ResponseWriter, r *http.Request) error {
	return s.feed(w, r, r.PathValue("address"))
}

func (s *server) feed(w http.ResponseWriter, r *http.Request, mailbox string) error {
	q, err := query(r, "cursor", "limit")
	if err != nil {
		return err
	}
	limit, err := queryLimit(q, "limit")
	if err != nil {
		return err
	}
	cs, next, err := s.tenants.ReadFeed(r.Context(), r.PathValue("id"), mailbox, q["cursor"], limit)
	if err != nil {
		return err
	}
	if cs == nil {
		cs = []domain.Change{}
	}
	writeJSON(w, http.StatusOK, feedPage{Changes: cs, NextCursor: next})
	return nil
}
