package graph

import (
	"context"
	"strings"
)

// DefaultMessageSelect is the $select of MessagesDelta when none is given:
// what a sync stores, without the body (fetch it with GetMessage when
// needed; bodies make pages large and slow).
var DefaultMessageSelect = []string{
	"id", "changeKey", "createdDateTime", "lastModifiedDateTime", "categories", "parentFolderId",
	"conversationId", "internetMessageId", "subject", "bodyPreview", "importance", "from", "sender",
	"toRecipients", "ccRecipients", "bccRecipients", "replyTo", "receivedDateTime", "sentDateTime",
	"hasAttachments", "isRead", "isDraft", "webLink", "flag",
}

// MessagesDeltaOptions add the message properties to read.
type MessagesDeltaOptions struct {
	DeltaOptions
	Select []string // default DefaultMessageSelect; ignored with a Link
}

// MessagesDelta reads one page of
// GET /users/{user}/mailFolders/{folderID}/messages/delta. Delta is per
// folder; track each folder of MailFoldersDelta separately.
func (c *Client) MessagesDelta(ctx context.Context, user, folderID string, o MessagesDeltaOptions) (*DeltaPage[Message], error) {
	const op = "MessagesDelta"
	u := ""
	if o.Link == "" {
		if folderID == "" {
			return nil, invalidArg(op, "folder id is empty")
		}
		sel := o.Select
		if len(sel) == 0 {
			sel = DefaultMessageSelect
		}
		u = withQuery(c.path("users", user, "mailFolders", folderID, "messages", "delta"), query{{"$select", strings.Join(sel, ",")}})
	}
	return deltaCall[Message](c, ctx, op, user, u, o.DeltaOptions)
}
