package app

import (
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// Input limits. They bound what one request can make Mailbridge store or
// send to Exchange; the messages name the limit so callers can fix input.
const (
	MaxDisplayNameLen  = 200
	MaxCredentialField = 1024      // username, password, client id, secret, ...
	MaxPEMLen          = 16 * 1024 // certificate or key
	MaxAddressLen      = 254       // RFC 5321 path limit
	MaxCursorLen       = 2048
	MaxPageLimit       = 1000
	DefaultPageLimit   = 100
	MinSyncInterval    = time.Minute
	MaxSyncInterval    = 24 * time.Hour
)

var tenantIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{2,62}$`)

// ValidateTenantID checks a tenant id: it names a Secrets Manager secret and
// DynamoDB keys, so it is restricted to lower-case letters, digits and '-'.
func ValidateTenantID(id string) *domain.Error {
	if !tenantIDPattern.MatchString(id) {
		return domain.Invalid("id", "tenant id must be 3-63 characters of a-z, 0-9 and '-', starting with a letter or digit")
	}
	return nil
}

// ExchangeVersions are the RequestServerVersion values the EWS schema allows.
var ExchangeVersions = []string{
	"Exchange2007", "Exchange2007_SP1", "Exchange2009", "Exchange2010", "Exchange2010_SP1",
	"Exchange2010_SP2", "Exchange2012", "Exchange2013", "Exchange2013_SP1", "Exchange2015",
	"Exchange2016", "V2015_10_05", "V2016_01_06", "V2016_04_13", "V2016_07_13", "V2016_10_10",
	"V2017_01_07", "V2017_04_14", "V2017_07_11",
}

// FolderSelectors are the values Tenant.Folders may hold.
var FolderSelectors = []string{
	domain.FolderInbox, domain.FolderSentItems, domain.FolderCalendar, domain.FolderContacts, domain.FolderAll,
}

// NormalizeAddress validates a mailbox's primary SMTP address and returns it
// lower-cased. Addresses end up in SOAP bodies, the X-AnchorMailbox header
// and storage keys, so only a plain addr-spec of safe characters passes.
func NormalizeAddress(field, s string) (string, *domain.Error) {
	if s == "" {
		return "", domain.Invalid(field, "mailbox address is required")
	}
	if len(s) > MaxAddressLen {
		return "", domain.Invalid(field, "mailbox address is longer than %d characters", MaxAddressLen)
	}
	// ASCII only, checked before lower-casing: strings.ToLower folds the
	// Kelvin sign (U+212A) into 'k', so a look-alike address would pass as
	// another mailbox's.
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return "", domain.Invalid(field, "mailbox address must be ASCII (use punycode for international domains)")
		}
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return "", domain.Invalid(field, "mailbox address must be a plain address like user@example.com")
	}
	s = strings.ToLower(s)
	local, dom, _ := strings.Cut(s, "@")
	if len(local) > 64 {
		return "", domain.Invalid(field, "mailbox address local part is longer than 64 characters")
	}
	for _, r := range local {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune(".!#$%&'*+=?^_`{|}~-", r)) {
			return "", domain.Invalid(field, "mailbox address local part may hold only letters, digits and .!#$%%&'*+=?^_`{|}~-")
		}
	}
	if strings.HasPrefix(local, ".") || strings.HasSuffix(local, ".") || strings.Contains(local, "..") {
		return "", domain.Invalid(field, "mailbox address local part has a misplaced dot")
	}
	labels := strings.Split(dom, ".")
	if len(labels) < 2 {
		return "", domain.Invalid(field, "mailbox address domain must be a fully qualified name like example.com")
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || strings.HasPrefix(l, "-") || strings.HasSuffix(l, "-") {
			return "", domain.Invalid(field, "mailbox address domain is not a valid host name")
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return "", domain.Invalid(field, "mailbox address domain is not a valid host name (use punycode for international domains)")
			}
		}
	}
	return s, nil
}

// validateText checks a free-text field: valid UTF-8, bounded, no control
// characters and no markup (display names are shown in operator consoles).
func validateText(field, s string, max int) *domain.Error {
	if !utf8.ValidString(s) {
		return domain.Invalid(field, "must be valid UTF-8")
	}
	if utf8.RuneCountInString(s) > max {
		return domain.Invalid(field, "must be at most %d characters", max)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return domain.Invalid(field, "must not contain control characters")
		}
		if r == '<' || r == '>' {
			return domain.Invalid(field, "must not contain '<' or '>'")
		}
		// Bidirectional overrides and zero-width characters make a
		// name read differently from what it is ("Trojan Source").
		if unicode.Is(unicode.Cf, r) {
			return domain.Invalid(field, "must not contain invisible formatting characters (U+%04X)", r)
		}
	}
	return nil
}

// validateSecretField checks a credential field without ever quoting it.
func validateSecretField(field, s string, max int, multiline bool) *domain.Error {
	if len(s) > max {
		return domain.Invalid(field, "must be at most %d bytes", max)
	}
	if !utf8.ValidString(s) {
		return domain.Invalid(field, "must be valid UTF-8")
	}
	for _, r := range s {
		if multiline && (r == '\n' || r == '\r' || r == '\t') {
			continue
		}
		if unicode.IsControl(r) {
			return domain.Invalid(field, "must not contain control characters")
		}
	}
	return nil
}

// ValidateCredential checks c's shape and sizes. Messages name fields only:
// a credential value never appears in an error.
func ValidateCredential(c domain.Credential) *domain.Error {
	if err := c.Validate(); err != nil {
		return err
	}
	if err := validateCredentialKindFields(c); err != nil {
		return err
	}
	fields := []struct {
		name, value string
		max         int
		multiline   bool
	}{
		{"credentials.username", c.Username, MaxCredentialField, false},
		{"credentials.password", c.Password, MaxCredentialField, false},
		{"credentials.domain", c.Domain, MaxCredentialField, false},
		{"credentials.entraTenant", c.EntraTenant, MaxCredentialField, false},
		{"credentials.clientId", c.ClientID, MaxCredentialField, false},
		{"credentials.clientSecret", c.ClientSecret, MaxCredentialField, false},
		{"credentials.certPem", c.CertPEM, MaxPEMLen, true},
		{"credentials.keyPem", c.KeyPEM, MaxPEMLen, true},
		{"credentials.authority", c.Authority, MaxCredentialField, false},
	}
	for _, f := range fields {
		if err := validateSecretField(f.name, f.value, f.max, f.multiline); err != nil {
			return err
		}
	}
	// RFC 7617: Basic sends user-id ":" password, so a colon in the user
	// name would move the split; NTLM sends DOMAIN\user, so the domain
	// holds none of the separators an account name could be written with.
	if c.Kind == domain.AuthBasic && strings.Contains(c.Username, ":") {
		return domain.Invalid("credentials.username", "a basic-auth username must not contain ':'")
	}
	if c.Kind == domain.AuthNTLM && strings.ContainsAny(c.Domain, `\/@:`) {
		return domain.Invalid("credentials.domain", "the NTLM domain must be a plain domain name, without '\\', '/', '@' or ':'")
	}
	if c.Kind == domain.AuthOAuthCert {
		if !strings.Contains(c.CertPEM, "-----BEGIN ") {
			return domain.Invalid("credentials.certPem", "certPem must be a PEM-encoded certificate")
		}
		if !strings.Contains(c.KeyPEM, "-----BEGIN ") {
			return domain.Invalid("credentials.keyPem", "keyPem must be a PEM-encoded private key")
		}
	}
	if c.Kind == domain.AuthOAuthSecret || c.Kind == domain.AuthOAuthCert {
		if !validEntraTenant(c.EntraTenant) {
			return domain.Invalid("credentials.entraTenant", "entraTenant must be the directory (tenant) id, a GUID, or a verified domain such as contoso.onmicrosoft.com")
		}
	}
	return nil
}

// validateCredentialKindFields refuses fields another kind of credential
// uses: stored silently, they would be kept and shown as if in use.
func validateCredentialKindFields(c domain.Credential) *domain.Error {
	password := []domain.AuthKind{domain.AuthBasic, domain.AuthNTLM}
	oauth := []domain.AuthKind{domain.AuthOAuthSecret, domain.AuthOAuthCert}
	fields := []struct {
		name, value string
		kinds       []domain.AuthKind
	}{
		{"username", c.Username, password},
		{"password", c.Password, password},
		{"domain", c.Domain, []domain.AuthKind{domain.AuthNTLM}},
		{"entraTenant", c.EntraTenant, oauth},
		{"clientId", c.ClientID, oauth},
		{"clientSecret", c.ClientSecret, []domain.AuthKind{domain.AuthOAuthSecret}},
		{"certPem", c.CertPEM, []domain.AuthKind{domain.AuthOAuthCert}},
		{"keyPem", c.KeyPEM, []domain.AuthKind{domain.AuthOAuthCert}},
		{"authority", c.Authority, oauth},
	}
	for _, f := range fields {
		if f.value != "" && !slices.Contains(f.kinds, c.Kind) {
			return domain.Invalid("credentials."+f.name, "%s does not belong to %s credentials", f.name, c.Kind)
		}
	}
	return nil
}

var (
	guidPattern   = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	domainPattern = regexp.MustCompile(`^([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]{2,63}$`)
)

// validEntraTenant: the Entra tenant goes into the token endpoint's path,
// so only a tenant GUID or a fully qualified domain name passes.
func validEntraTenant(s string) bool {
	return guidPattern.MatchString(s) || (len(s) <= 253 && domainPattern.MatchString(s))
}

func validateAccessMode(field string, m domain.AccessMode) *domain.Error {
	if !m.Valid() {
		return domain.Invalid(field, "must be one of impersonation, delegate, folder-delegate (EWS) or application (Graph)")
	}
	return nil
}

func validateExchangeVersion(v string) *domain.Error {
	if !slices.Contains(ExchangeVersions, v) {
		return domain.Invalid("exchangeVersion", "must be an EWS RequestServerVersion such as Exchange2016 or Exchange2013_SP1")
	}
	return nil
}

// normalizeFolders validates folder selectors and removes duplicates.
func normalizeFolders(fs []string) ([]string, *domain.Error) {
	if len(fs) == 0 {
		return slices.Clone(domain.DefaultFolders), nil
	}
	var out []string
	for _, f := range fs {
		if !slices.Contains(FolderSelectors, f) {
			return nil, domain.Invalid("folders", "folders may hold only inbox, sentitems, calendar, contacts or all")
		}
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	if slices.Contains(out, domain.FolderAll) && len(out) > 1 {
		return nil, domain.Invalid("folders", "\"all\" cannot be combined with other folders")
	}
	return out, nil
}

func validateSyncInterval(d time.Duration) *domain.Error {
	if d < MinSyncInterval || d > MaxSyncInterval {
		return domain.Invalid("syncIntervalSeconds", "must be between %d and %d seconds", int(MinSyncInterval.Seconds()), int(MaxSyncInterval.Seconds()))
	}
	// The scheduler works in whole minutes; 61 would quietly become 120.
	if d%time.Minute != 0 {
		return domain.Invalid("syncIntervalSeconds", "must be a whole number of minutes (a multiple of 60)")
	}
	return nil
}

func validateCalendarWindow(w domain.CalendarWindow) *domain.Error {
	if w.PastDays < 0 || w.PastDays > domain.MaxCalendarPastDays {
		return domain.Invalid("calendarWindow.pastDays", "must be 1 to %d days (0 or absent: %d)", domain.MaxCalendarPastDays, domain.DefaultCalendarPastDays)
	}
	if w.FutureDays < 0 || w.FutureDays > domain.MaxCalendarFutureDays {
		return domain.Invalid("calendarWindow.futureDays", "must be 1 to %d days (0 or absent: %d)", domain.MaxCalendarFutureDays, domain.DefaultCalendarFutureDays)
	}
	return nil
}

// validateBodyFormat: a message body in the feed is text or HTML.
func validateBodyFormat(f string) *domain.Error {
	if f != domain.BodyFormatText && f != domain.BodyFormatHTML {
		return domain.Invalid("bodyFormat", "must be %q or %q", domain.BodyFormatText, domain.BodyFormatHTML)
	}
	return nil
}

func validateMaxJobs(n int) *domain.Error {
	if n < 1 || n > domain.MaxDelegateConcurrentJobs {
		return domain.Invalid("maxConcurrentJobs", "must be between 1 and %d (Exchange's EWSMaxConcurrency)", domain.MaxDelegateConcurrentJobs)
	}
	return nil
}

// ValidateCursor bounds an opaque paging cursor; the store decodes it.
func ValidateCursor(c string) *domain.Error {
	if len(c) > MaxCursorLen {
		return domain.Invalid("cursor", "cursor is longer than %d characters", MaxCursorLen)
	}
	for _, r := range c {
		if r < 0x21 || r > 0x7e {
			return domain.Invalid("cursor", "cursor must be the opaque value a previous page returned")
		}
	}
	return nil
}

// ValidateLimit applies the default page size and bounds it.
func ValidateLimit(n int) (int, *domain.Error) {
	if n == 0 {
		return DefaultPageLimit, nil
	}
	if n < 1 || n > MaxPageLimit {
		return 0, domain.Invalid("limit", "limit must be between 1 and %d", MaxPageLimit)
	}
	return n, nil
}

// ValidateMailboxStatus checks a status filter.
func ValidateMailboxStatus(s domain.MailboxStatus) *domain.Error {
	switch s {
	case domain.MailboxPending, domain.MailboxOK, domain.MailboxOutOfScope, domain.MailboxAccessDenied,
		domain.MailboxNotFound, domain.MailboxAuthFailed, domain.MailboxThrottled, domain.MailboxError, domain.MailboxDamaged:
		return nil
	}
	return domain.Invalid("status", "status must be one of pending, ok, out_of_scope, access_denied, not_found, auth_failed, throttled, error, damaged")
}
