package domain

import "context"

// People lookup (GET .../mailboxes/{address}/people?q=): directory and
// contact entries matching what a user typed, for picking invitees. Read
// from Exchange on each call, as the mailbox; nothing is stored.

// PersonKind is what an entry is.
type PersonKind string

const (
	PersonUser    PersonKind = "user"    // a user of the organisation
	PersonRoom    PersonKind = "room"    // a room mailbox
	PersonContact PersonKind = "contact" // a contact (the mailbox's own, or the organisation's)
	PersonGroup   PersonKind = "group"   // a distribution list or group
)

// Person is one match.
type Person struct {
	DisplayName string     `json:"displayName"`
	Address     string     `json:"address"`
	Kind        PersonKind `json:"kind"`
	JobTitle    string     `json:"jobTitle,omitempty"`
	Department  string     `json:"department,omitempty"`
}

// PeopleDirectory looks people up as one mailbox of a tenant.
type PeopleDirectory interface {
	// FindPeople returns at most limit entries matching q (a name or an
	// address, or the start of one), best first; none is an empty list.
	FindPeople(ctx context.Context, m MailboxRef, q string, limit int) ([]Person, error)
}

// PeopleConnector opens a tenant's PeopleDirectory.
type PeopleConnector interface {
	ConnectPeople(ctx context.Context, t Tenant, c Credential) (PeopleDirectory, error)
}
