package graph

import "context"

// MailFoldersDelta reads one page of GET /users/{user}/mailFolders/delta:
// the mailbox's folder hierarchy (all levels), then its changes.
func (c *Client) MailFoldersDelta(ctx context.Context, user string, o DeltaOptions) (*DeltaPage[MailFolder], error) {
	return deltaCall[MailFolder](c, ctx, "MailFoldersDelta", user, c.path("users", user, "mailFolders", "delta"), o)
}
