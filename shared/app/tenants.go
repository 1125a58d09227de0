package app

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net/url"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// URLChecker decides whether Mailbridge may call a tenant-supplied URL
// (urlguard.Policy implements it). Its error message is shown to the caller.
type URLChecker interface {
	CheckURL(ctx context.Context, raw string) (*url.URL, error)
}

// Tenants holds the tenant use cases: onboarding, changes, credential
// rotation, offboarding, mailboxes, access verification, audit and feed.
// It knows nothing of HTTP: the API and the nightly verifier both call it.
type Tenants struct {
	Store   domain.Store
	Secrets domain.SecretStore
	Checker domain.AccessChecker
	Clock   domain.Clock
	URLs    URLChecker
	Log     *slog.Logger
	// Archive is the deployment's archive store (archive export); nil:
	// none configured, so offboarding has no archive to delete.
	Archive domain.ArchiveStore
	// VerifyConcurrency bounds parallel access checks of an impersonation
	// tenant; delegate tenants use their MaxConcurrentJobs (their calls
	// share the service account's EWS budget). Default 8.
	VerifyConcurrency int
}

type requestIDKey struct{}

// WithRequestID tags ctx with the request id that logs and audit entries carry.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the id WithRequestID stored, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

type callerKey struct{}

// WithCaller tags ctx with the API caller the audit entries of reads name.
func WithCaller(ctx context.Context, caller string) context.Context {
	return context.WithValue(ctx, callerKey{}, caller)
}

// Caller returns the caller WithCaller stored, or "".
func Caller(ctx context.Context) string {
	c, _ := ctx.Value(callerKey{}).(string)
	return c
}

func (s *Tenants) now() time.Time { return s.Clock.Now().UTC() }

func (s *Tenants) logger(ctx context.Context) *slog.Logger { return requestLogger(ctx, s.Log) }

// internal wraps a store or secrets failure: the caller sees a generic
// message, the cause stays in Err for the log.
func internal(err error, what string) error {
	var de *domain.Error
	if errors.As(err, &de) && de.Code != domain.CodeInternal {
		return err
	}
	return &domain.Error{Code: domain.CodeInternal, Message: "internal error while " + what, Err: err}
}

func (s *Tenants) checkURL(ctx context.Context, field, raw string) *domain.Error {
	if _, err := s.URLs.CheckURL(ctx, raw); err != nil {
		return domain.Invalid(field, "%s", err.Error())
	}
	return nil
}

// NewTenant is the input of Onboard.
type NewTenant struct {
	ID                string
	DisplayName       string
	EWSURL            string
	ExchangeVersion   string
	Protocol          domain.Protocol // empty: DefaultProtocol
	GraphURL          string          // empty: the cloud's Graph endpoint
	AccessMode        domain.AccessMode
	AllowFallback     bool
	Folders           []string
	SyncInterval      time.Duration
	MaxConcurrentJobs int
	CalendarWindow    domain.CalendarWindow // Graph tenants; zero: defaults
	RoomPolicy        domain.RoomPolicy     // zero: off
	BodyFormat        string                // empty: domain.BodyFormatText
	// Archive turns archive export on (domain.ArchiveSettings).
	Archive    bool
	Credential domain.Credential
	// CreateToken, when set, identifies the request (see
	// domain.Tenant.CreateToken): Onboard meeting a tenant that the same
	// token created finishes its onboarding instead of refusing it.
	CreateToken string
}

func (s *Tenants) validateNew(ctx context.Context, in *NewTenant) *domain.Error {
	if err := ValidateTenantID(in.ID); err != nil {
		return err
	}
	if in.DisplayName == "" {
		in.DisplayName = in.ID
	}
	if err := validateText("displayName", in.DisplayName, MaxDisplayNameLen); err != nil {
		return err
	}
	if in.ExchangeVersion == "" {
		in.ExchangeVersion = domain.DefaultExchangeVersion
	}
	if err := validateExchangeVersion(in.ExchangeVersion); err != nil {
		return err
	}
	if in.AccessMode != "" {
		if err := validateAccessMode("accessMode", in.AccessMode); err != nil {
			return err
		}
	}
	folders, err := normalizeFolders(in.Folders)
	if err != nil {
		return err
	}
	in.Folders = folders
	if in.SyncInterval == 0 {
		in.SyncInterval = domain.DefaultSyncInterval
	}
	if err := validateSyncInterval(in.SyncInterval); err != nil {
		return err
	}
	if in.MaxConcurrentJobs == 0 {
		in.MaxConcurrentJobs = domain.DefaultMaxConcurrentJobs
	}
	if err := validateMaxJobs(in.MaxConcurrentJobs); err != nil {
		return err
	}
	if err := validateCalendarWindow(in.CalendarWindow); err != nil {
		return err
	}
	if in.BodyFormat == "" {
		in.BodyFormat = domain.BodyFormatText
	}
	if err := validateBodyFormat(in.BodyFormat); err != nil {
		return err
	}
	if err := validateRoomPolicy(&in.RoomPolicy); err != nil {
		return err
	}
	if err := ValidateCredential(in.Credential); err != nil {
		return err
	}
	if in.EWSURL != "" {
		if err := s.checkURL(ctx, "ewsUrl", in.EWSURL); err != nil {
			return err
		}
	}
	settings := domain.Tenant{EWSURL: in.EWSURL, Protocol: in.Protocol, AccessMode: in.AccessMode,
		AllowFallback: in.AllowFallback, AuthKind: in.Credential.Kind}
	if err := validateProtocol(&settings, in.AccessMode != ""); err != nil {
		return err
	}
	in.Protocol, in.AccessMode = settings.Protocol, settings.AccessMode
	if in.GraphURL != "" {
		if err := s.checkURL(ctx, "graphUrl", in.GraphURL); err != nil {
			return err
		}
	} else if in.Protocol == domain.ProtocolGraph {
		in.GraphURL = defaultGraphURL(in.EWSURL)
	}
	if in.Credential.Authority != "" {
		if err := s.checkURL(ctx, "credentials.authority", in.Credential.Authority); err != nil {
			return err
		}
	}
	return nil
}

// Onboard creates a tenant and stores its credential.
//
// Order: the tenant record is created first without a fingerprint (claiming
// the id, so a concurrent create cannot overwrite another tenant's secret),
// then the secret is stored, then the fingerprint recorded. If storing the
// secret fails the record is removed so the call can be retried; a crash
// after that leaves a tenant showing no credential, fixed by a rotation or
// by retrying the same request with its CreateToken (an Idempotency-Key),
// which stores the credential again and answers as the first call would.
//
// An Offboard may land between any two steps. Recording the fingerprint is
// a conditional write on the record this call created, so it is also the
// check that the tenant is still there and active after the secret was
// stored: if it is gone or being offboarded, the offboarding may already
// have deleted the secret before this call stored it, so this call deletes
// the secret it stored and answers 409. No secret outlives its tenant.
//
// The secret is written under a lease (domain.Tenant.SecretWriteUntil):
// the record is created with it (a resumed onboarding takes it with a
// conditional write on the active record), the secret is written only
// before it ends, and recording the fingerprint clears it. An offboarding
// meeting a live lease does not purge the record, so the id cannot be
// onboarded again while this call's write may still land: a create that
// stalled here could otherwise replace the newer tenant's secret.
func (s *Tenants) Onboard(ctx context.Context, in NewTenant) (domain.Tenant, error) {
	if err := s.validateNew(ctx, &in); err != nil {
		return domain.Tenant{}, err
	}
	now := s.now()
	token := in.CreateToken
	if token == "" {
		token = "r:" + rand.Text()
	}
	t := domain.Tenant{
		ID:              in.ID,
		DisplayName:     in.DisplayName,
		EWSURL:          in.EWSURL,
		ExchangeVersion: in.ExchangeVersion,
		Protocol:        in.Protocol,
		GraphURL:        in.GraphURL,
		// Fixed for the tenant's life: a later protocol switch keeps the
		// ids the consumer already holds.
		IDFormat:          idFormatFor(in.Protocol),
		AuthKind:          in.Credential.Kind,
		AccessMode:        in.AccessMode,
		AllowFallback:     in.AllowFallback,
		Folders:           in.Folders,
		SyncInterval:      in.SyncInterval,
		MaxConcurrentJobs: in.MaxConcurrentJobs,
		CalendarWindow:    in.CalendarWindow,
		RoomPolicy:        in.RoomPolicy,
		BodyFormat:        in.BodyFormat,
		Archive:           archiveSetting(in.Archive, domain.ArchiveSettings{}, s.now()),
		Status:            domain.TenantActive,
		CreateToken:       token,
		SecretWriteUntil:  now.Add(SecretWriteLease),
		CreatedAt:         now,
		UpdatedAt:         now,
		Version:           1,
	}
	resumed := false
	if err := s.Store.CreateTenant(ctx, t); err != nil {
		if !domain.IsConflict(err) {
			return domain.Tenant{}, internal(err, "creating the tenant")
		}
		prev, err := s.madeBy(ctx, t.ID, in.CreateToken)
		if err != nil {
			return domain.Tenant{}, err
		}
		if prev.CredentialFingerprint != "" {
			// It finished; only the answer was lost. Answer again and
			// change nothing (a retry differing only in the password
			// must not replace the stored secret).
			return prev, nil
		}
		// It ended before storing the credential: finish with this one,
		// under a lease of this call's own.
		t, err = s.leaseSecretWrite(ctx, t.ID, func(cur domain.Tenant) error {
			switch {
			case cur.CreateToken != prev.CreateToken:
				return domain.Conflict("tenant %q already exists", t.ID)
			case cur.CredentialFingerprint != "":
				return errOnboarded
			}
			return nil
		})
		if errors.Is(err, errOnboarded) { // a retried twin finished it meanwhile
			return t, nil
		}
		if err != nil {
			return domain.Tenant{}, err
		}
		resumed = true
		s.logger(ctx).Info("onboard: finishing the onboarding a retried request started", "tenantId", t.ID)
	}
	if err := s.putUnderLease(ctx, t, in.Credential); err != nil {
		if resumed {
			// The tenant may be in use already: keep it; a retry finishes.
			return domain.Tenant{}, internal(err, "storing the credentials")
		}
		// Remove the record, unless an offboarding took it meanwhile (the
		// id may belong to a newer tenant by now).
		if cur, gerr := s.Store.GetTenant(ctx, t.ID); gerr == nil && cur.CreateToken == t.CreateToken {
			if perr := s.Store.PurgeTenant(ctx, t.ID); perr != nil {
				s.logger(ctx).Error("onboard: removing tenant after failed secret write", "tenantId", t.ID, "error", perr.Error())
			}
		}
		return domain.Tenant{}, internal(err, "storing the credentials")
	}
	fp := in.Credential.Fingerprint()
	for attempt := 0; ; attempt++ {
		t.CredentialFingerprint, t.SecretWriteUntil = fp, time.Time{}
		err := s.Store.UpdateTenant(ctx, t)
		if err == nil {
			break
		}
		if !domain.IsConflict(err) && !domain.IsNotFound(err) {
			return domain.Tenant{}, internal(err, "recording the credential fingerprint")
		}
		cur, gerr := s.Store.GetTenant(ctx, t.ID)
		if gerr != nil && !domain.IsNotFound(gerr) {
			return domain.Tenant{}, internal(gerr, "reading the tenant")
		}
		if gerr == nil && cur.CreateToken == t.CreateToken && cur.Status == domain.TenantActive && attempt < 3 {
			t = cur // changed meanwhile (a PATCH, a retried twin): record on top
			continue
		}
		ours := gerr == nil && cur.CreateToken == t.CreateToken
		err = s.abandonOnboard(ctx, t.ID, in.Credential, ours)
		if ours && domain.IsConflict(err) { // the secret it wrote is gone
			s.releaseSecretWrite(ctx, t.ID)
		}
		return domain.Tenant{}, err
	}
	t.Version++
	s.logger(ctx).Info("tenant onboarded", "tenantId", t.ID, "authKind", t.AuthKind, "accessMode", t.AccessMode)
	return t, nil
}

// abandonOnboard ends an onboarding whose tenant was offboarded (or
// replaced) after its record was created: the secret it stored is deleted
// if it is still the one stored, and the caller is told to retry.
func (s *Tenants) abandonOnboard(ctx context.Context, id string, c domain.Credential, ours bool) error {
	log := s.logger(ctx).With("tenantId", id)
	stored, err := s.Secrets.GetCredential(ctx, id)
	switch {
	case err == nil && stored.MemoryKey() == c.MemoryKey() && !ours && s.activeNow(ctx, id):
		// A newer tenant of this id exists and this call overwrote its
		// secret (the lease keeps the id from being onboarded again while
		// this write may land, so only a write the secret store applied
		// after the lease ended gets here): deleting would leave it with
		// none, keeping leaves it with this call's. Keep, and say so: a
		// rotation fixes it.
		log.Error("onboard: a stalled create overwrote the secret of a newer tenant with the same id; rotate its credentials")
	case err == nil && stored.MemoryKey() == c.MemoryKey():
		if derr := s.Secrets.DeleteCredential(ctx, id); derr != nil && !domain.IsNotFound(derr) {
			return internal(derr, "removing the credentials of a tenant offboarded while it was created")
		}
	case err != nil && !domain.IsNotFound(err):
		return internal(err, "reading the credentials of a tenant offboarded while it was created")
	}
	log.Info("onboard: the tenant was offboarded while it was created; its secret is removed")
	return domain.Conflict("tenant %q was offboarded while it was being created; nothing was kept", id)
}

// SecretWriteLease bounds how long a credential write may take, from the
// conditional write that records its lease on the tenant to the end of its
// secret write (one call, bounded by the lease too). An offboarding that
// meets a live lease deletes the secret and marks the tenant, but purges it
// only when sent again after the lease (409 until then). It must exceed
// the clock skew between API instances; the write itself takes well under
// a second.
const SecretWriteLease = time.Minute

// errOnboarded: the onboarding a retry meant to finish is finished.
var errOnboarded = errors.New("onboarding finished")

// leaseSecretWrite records a lease for a credential write on the tenant, if
// it is active and check (may be nil) accepts it, and returns the tenant
// as stored.
func (s *Tenants) leaseSecretWrite(ctx context.Context, id string, check func(domain.Tenant) error) (domain.Tenant, error) {
	return s.update(ctx, id, func(t *domain.Tenant) error {
		if t.Status != domain.TenantActive {
			return domain.Conflict("tenant %q is being offboarded", id)
		}
		if check != nil {
			if err := check(*t); err != nil {
				return err
			}
		}
		t.SecretWriteUntil = s.now().Add(SecretWriteLease)
		return nil
	})
}

// putUnderLease writes the tenant's secret if t's lease has not ended, and
// gives the write no longer than the lease.
func (s *Tenants) putUnderLease(ctx context.Context, t domain.Tenant, c domain.Credential) error {
	left := t.SecretWriteUntil.Sub(s.now())
	if left <= 0 {
		return &domain.Error{Code: domain.CodeInternal, Message: "storing the credentials took too long; send the request again"}
	}
	ctx, cancel := context.WithTimeout(ctx, left)
	defer cancel()
	return s.Secrets.PutCredential(ctx, t.ID, c)
}

// releaseSecretWrite clears the tenant's lease once a write that lost to an
// offboarding has removed its secret, so sending DELETE again need not wait
// for the lease to end. Best effort: the lease ends by itself.
func (s *Tenants) releaseSecretWrite(ctx context.Context, id string) {
	if _, err := s.update(ctx, id, func(t *domain.Tenant) error {
		t.SecretWriteUntil = time.Time{}
		return nil
	}); err != nil && !domain.IsNotFound(err) {
		s.logger(ctx).Warn("releasing the credential write lease failed; it ends by itself", "tenantId", id, "error", err.Error())
	}
}

// activeNow reports whether an active tenant of the id is stored now.
func (s *Tenants) activeNow(ctx context.Context, id string) bool {
	t, err := s.Store.GetTenant(ctx, id)
	return err == nil && t.Status == domain.TenantActive
}

// madeBy returns the existing tenant id if the create request named by
// token made it (a retry after a crash or timeout); otherwise the id is
// taken: a conflict.
func (s *Tenants) madeBy(ctx context.Context, id, token string) (domain.Tenant, error) {
	prev, err := s.Store.GetTenant(ctx, id)
	if err != nil && !domain.IsNotFound(err) {
		return domain.Tenant{}, internal(err, "reading the tenant")
	}
	if err != nil || prev.Status != domain.TenantActive {
		// Gone since the create met it, or on its way out.
		return domain.Tenant{}, domain.Conflict("tenant %q is being offboarded; try again once it is gone", id)
	}
	if token == "" || prev.CreateToken != token {
		return domain.Tenant{}, domain.Conflict("tenant %q already exists", id)
	}
	return prev, nil
}

// Get returns a tenant (offboarded ones too, until their purge completes).
func (s *Tenants) Get(ctx context.Context, id string) (domain.Tenant, error) {
	if err := ValidateTenantID(id); err != nil {
		return domain.Tenant{}, err
	}
	t, err := s.Store.GetTenant(ctx, id)
	if err != nil {
		if domain.IsNotFound(err) {
			return domain.Tenant{}, domain.NotFound("tenant %q not found", id)
		}
		return domain.Tenant{}, internal(err, "reading the tenant")
	}
	return t, nil
}

// active returns the tenant if it exists and is not being offboarded.
func (s *Tenants) active(ctx context.Context, id string) (domain.Tenant, error) {
	t, err := s.Get(ctx, id)
	if err != nil {
		return t, err
	}
	if t.Status == domain.TenantOffboarded {
		return t, domain.Conflict("tenant %q is being offboarded", id)
	}
	return t, nil
}

// update re-reads the tenant and applies change until the optimistic write
// wins; only for changes that do not depend on what the caller last saw.
func (s *Tenants) update(ctx context.Context, id string, change func(*domain.Tenant) error) (domain.Tenant, error) {
	const attempts = 3
	for i := 0; ; i++ {
		t, err := s.Get(ctx, id)
		if err != nil {
			return t, err
		}
		if err := change(&t); err != nil {
			return t, err
		}
		t.UpdatedAt = s.now()
		err = s.Store.UpdateTenant(ctx, t)
		if err == nil {
			t.Version++
			return t, nil
		}
		if domain.IsNotFound(err) { // removed since it was read
			return t, domain.NotFound("tenant %q not found", id)
		}
		if !domain.IsConflict(err) {
			return t, internal(err, "updating the tenant")
		}
		if i == attempts-1 {
			return t, domain.Conflict("tenant %q kept changing while updating; try again", id)
		}
	}
}

// TenantPatch names the fields to change; nil leaves a field as it is.
type TenantPatch struct {
	DisplayName       *string
	EWSURL            *string
	ExchangeVersion   *string
	Protocol          *domain.Protocol
	GraphURL          *string
	AccessMode        *domain.AccessMode
	AllowFallback     *bool
	Folders           *[]string
	SyncInterval      *time.Duration
	MaxConcurrentJobs *int
	CalendarWindow    *domain.CalendarWindow
	RoomPolicy        *domain.RoomPolicy // replaces the whole policy
	BodyFormat        *string
	// Archive turns archive export on or off; turning it on starts it a
	// minute from now (ArchiveSettings.Since, archiveSetting), and on
	// again keeps its start.
	Archive *bool
	// Version, when set, must equal the stored version (optimistic
	// concurrency for read-modify-write clients).
	Version *int64
}

func (p TenantPatch) empty() bool {
	return p.DisplayName == nil && p.EWSURL == nil && p.ExchangeVersion == nil && p.AccessMode == nil &&
		p.Protocol == nil && p.GraphURL == nil && p.CalendarWindow == nil && p.RoomPolicy == nil && p.BodyFormat == nil && p.Archive == nil &&
		p.AllowFallback == nil && p.Folders == nil && p.SyncInterval == nil && p.MaxConcurrentJobs == nil
}

// Update applies a patch to a tenant's settings. Credentials change only
// through RotateCredential.
func (s *Tenants) Update(ctx context.Context, id string, p TenantPatch) (domain.Tenant, error) {
	if err := ValidateTenantID(id); err != nil {
		return domain.Tenant{}, err
	}
	if p.empty() {
		return domain.Tenant{}, domain.Invalid("", "the request names no field to change")
	}
	t, err := s.active(ctx, id)
	if err != nil {
		return t, err
	}
	if p.Version != nil && *p.Version != t.Version {
		return domain.Tenant{}, domain.Conflict("tenant %q is at version %d, not %d; read it again and retry", id, t.Version, *p.Version)
	}
	if p.DisplayName != nil {
		if err := validateText("displayName", *p.DisplayName, MaxDisplayNameLen); err != nil {
			return domain.Tenant{}, err
		}
		if *p.DisplayName == "" {
			return domain.Tenant{}, domain.Invalid("displayName", "must not be empty")
		}
		t.DisplayName = *p.DisplayName
	}
	if p.EWSURL != nil {
		if err := s.checkURL(ctx, "ewsUrl", *p.EWSURL); err != nil {
			return domain.Tenant{}, err
		}
		t.EWSURL = *p.EWSURL
	}
	if p.ExchangeVersion != nil {
		if err := validateExchangeVersion(*p.ExchangeVersion); err != nil {
			return domain.Tenant{}, err
		}
		t.ExchangeVersion = *p.ExchangeVersion
	}
	if p.AccessMode != nil {
		if err := validateAccessMode("accessMode", *p.AccessMode); err != nil {
			return domain.Tenant{}, err
		}
		t.AccessMode = *p.AccessMode
	}
	if p.AllowFallback != nil {
		t.AllowFallback = *p.AllowFallback
	}
	// A record stored before Graph existed names no protocol: it is EWS,
	// whatever DefaultProtocol would pick for a new tenant.
	t.Protocol = t.ProtocolOf()
	if p.GraphURL != nil {
		if *p.GraphURL != "" {
			if err := s.checkURL(ctx, "graphUrl", *p.GraphURL); err != nil {
				return domain.Tenant{}, err
			}
		}
		t.GraphURL = *p.GraphURL
	}
	if p.Protocol != nil {
		if !p.Protocol.Valid() {
			return domain.Tenant{}, domain.Invalid("protocol", "must be ews or graph")
		}
		if *p.Protocol == domain.ProtocolGraph && t.ProtocolOf() != domain.ProtocolGraph {
			// Switching to Graph leaves fallback behind; a graph
			// tenant's only mode is application access.
			if p.AllowFallback == nil {
				t.AllowFallback = false
			}
			if p.GraphURL == nil && t.GraphURL == "" {
				t.GraphURL = defaultGraphURL(t.EWSURL)
			}
		}
		t.Protocol = *p.Protocol
	}
	if err := validateProtocol(&t, p.AccessMode != nil); err != nil {
		return domain.Tenant{}, err
	}
	if p.Folders != nil {
		if len(*p.Folders) == 0 {
			return domain.Tenant{}, domain.Invalid("folders", "must name at least one folder")
		}
		fs, err := normalizeFolders(*p.Folders)
		if err != nil {
			return domain.Tenant{}, err
		}
		t.Folders = fs
	}
	if p.SyncInterval != nil {
		if err := validateSyncInterval(*p.SyncInterval); err != nil {
			return domain.Tenant{}, err
		}
		t.SyncInterval = *p.SyncInterval
	}
	if p.MaxConcurrentJobs != nil {
		if err := validateMaxJobs(*p.MaxConcurrentJobs); err != nil {
			return domain.Tenant{}, err
		}
		t.MaxConcurrentJobs = *p.MaxConcurrentJobs
	}
	if p.CalendarWindow != nil {
		if err := validateCalendarWindow(*p.CalendarWindow); err != nil {
			return domain.Tenant{}, err
		}
		t.CalendarWindow = *p.CalendarWindow
	}
	if p.RoomPolicy != nil {
		rp := *p.RoomPolicy
		if err := validateRoomPolicy(&rp); err != nil {
			return domain.Tenant{}, err
		}
		t.RoomPolicy = rp
	}
	if p.BodyFormat != nil {
		if err := validateBodyFormat(*p.BodyFormat); err != nil {
			return domain.Tenant{}, err
		}
		t.BodyFormat = *p.BodyFormat
	}
	if p.Archive != nil {
		t.Archive = archiveSetting(*p.Archive, t.Archive, s.now())
	}
	t.UpdatedAt = s.now()
	if err := s.Store.UpdateTenant(ctx, t); err != nil {
		if domain.IsConflict(err) {
			return domain.Tenant{}, domain.Conflict("tenant %q changed while updating; read it again and retry", id)
		}
		return domain.Tenant{}, internal(err, "updating the tenant")
	}
	t.Version++
	return t, nil
}

// Offboard stops a tenant and removes everything Mailbridge holds for it.
//
// Order, chosen so a crash at any point is safe and a retry finishes:
//  1. mark the tenant offboarded: the scheduler stops enqueuing, the API
//     refuses changes, workers refuse its jobs, and a create of the same
//     id meets "being offboarded" (409) rather than a missing tenant; a
//     create already under way notices at its last step and removes the
//     secret it stored (see Onboard);
//  2. schedule the secret's deletion (recovery window in Secrets Manager);
//     an already deleted secret counts as done;
//  3. delete the tenant's archived messages (archive export), every time:
//     archive may have been on once and turned off since; a tenant with
//     nothing archived costs one List;
//  4. purge the tenant's data, tenant record last (the store's job), so the
//     tenant stays visible as offboarded until everything else is gone.
//     A failure at step 3 or 4 answers 5xx and a repeat finishes: the
//     record, still there, says what is left to do. Step 4 not while a credential write's lease is live (an onboarding or a
//     rotation that took it before step 1 may still write the secret):
//     purging would free the id, and that late write could then replace
//     the secret of a tenant onboarded again under it. The call answers
//     409 instead, asking to be sent again after the lease; the writer,
//     finding the tenant offboarded, deletes what it wrote.
func (s *Tenants) Offboard(ctx context.Context, id string) error {
	t, err := s.Get(ctx, id)
	if err != nil {
		return err
	}
	if t.Status != domain.TenantOffboarded { // a retry need not write it again
		if t, err = s.update(ctx, id, func(t *domain.Tenant) error {
			t.Status = domain.TenantOffboarded
			return nil
		}); err != nil {
			return err
		}
	}
	if err := s.Secrets.DeleteCredential(ctx, id); err != nil && !domain.IsNotFound(err) {
		return internal(err, "scheduling the secret's deletion")
	}
	if until := t.SecretWriteUntil; s.now().Before(until) {
		return domain.Conflict("tenant %q is offboarded and its secret deleted, but a credential write begun before may still land until %s; send DELETE again after that to remove the rest",
			id, until.Format(time.RFC3339))
	}
	if s.Archive != nil {
		if err := s.Archive.DeleteTenant(ctx, id); err != nil {
			return internal(err, "deleting the tenant's archived messages")
		}
	}
	if err := s.Store.PurgeTenant(ctx, id); err != nil {
		return internal(err, "purging the tenant's data")
	}
	s.logger(ctx).Info("tenant offboarded", "tenantId", id)
	return nil
}

// archiveSetting is the archive setting after asking for on (or off):
// turning it on starts it a tenant-cache period from now (a warm sync
// worker may hold the tenant as it was for that long, and would store a
// message received meanwhile without archiving it), asking again for on
// keeps its start (a repeated PATCH does not leave messages out), off
// forgets it.
func archiveSetting(on bool, cur domain.ArchiveSettings, now time.Time) domain.ArchiveSettings {
	switch {
	case !on:
		return domain.ArchiveSettings{}
	case cur.Enabled:
		return cur
	}
	return domain.ArchiveSettings{Enabled: true, Since: now.UTC().Add(DefaultTenantCacheTTL)}
}
