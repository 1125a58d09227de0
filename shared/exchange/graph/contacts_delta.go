package graph

import "context"

// ContactFoldersDelta reads one page of
// GET /users/{user}/contactFolders/delta: the user's contact folders, then
// their changes. The default Contacts folder may not be listed itself; its
// id is the parentFolderId of its subfolders and of its contacts.
func (c *Client) ContactFoldersDelta(ctx context.Context, user string, o DeltaOptions) (*DeltaPage[ContactFolder], error) {
	return deltaCall[ContactFolder](c, ctx, "ContactFoldersDelta", user, c.path("users", user, "contactFolders", "delta"), o)
}

// ContactsDelta reads one page of
// GET /users/{user}/contactFolders/{folderID}/contacts/delta.
func (c *Client) ContactsDelta(ctx context.Context, user, folderID string, o DeltaOptions) (*DeltaPage[Contact], error) {
	const op = "ContactsDelta"
	u := ""
	if o.Link == "" {
		if folderID == "" {
			return nil, invalidArg(op, "folder id is empty")
		}
		u = c.path("users", user, "contactFolders", folderID, "contacts", "delta")
	}
	return deltaCall[Contact](c, ctx, op, user, u, o)
}
