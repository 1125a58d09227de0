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
	"hasAttachments", "isRead", "isDraft", "webLink", "flag", "body",
}

// The MAPI properties a message delta reads as extended properties: v1.0's
// message has no conversation topic, sensitivity, In-Reply-To or
// References (internetMessageHeaders comes only on a single message's
// $select, not on delta pages). Graph echoes an id in its own form
// (e.g. "String 0x70"): match them with SameExtendedID.
const (
	PropConversationTopic = "String 0x0070"  // PR_CONVERSATION_TOPIC
	PropSensitivity       = "Integer 0x0036" // PR_SENSITIVITY: 0 normal, 1 personal, 2 private, 3 confidential
	PropInReplyTo         = "String 0x1042"  // PR_IN_REPLY_TO_ID
	PropReferences        = "String 0x1039"  // PR_INTERNET_REFERENCES
)

// DefaultMessageExpand is the $expand of MessagesDelta when none is
// given: the properties above, on the same delta pages.
var DefaultMessageExpand = "singleValueExtendedProperties($filter=id eq '" + PropConversationTopic + "' or id eq '" + PropSensitivity +
	"' or id eq '" + PropInReplyTo + "' or id eq '" + PropReferences + "')"

// MessagesDeltaOptions add the message properties to read.
type MessagesDeltaOptions struct {
	DeltaOptions
	Select []string // default DefaultMessageSelect; ignored with a Link
	// Expand is the $expand; default DefaultMessageExpand, "-" for none;
	// ignored with a Link.
	Expand string
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
		q := query{{"$select", strings.Join(sel, ",")}}
		switch o.Expand {
		case "":
			q = append(q, [2]string{"$expand", DefaultMessageExpand})
		case "-":
		default:
			q = append(q, [2]string{"$expand", o.Expand})
		}
		u = withQuery(c.path("users", user, "mailFolders", folderID, "messages", "delta"), q)
	}
	return deltaCall[Message](c, ctx, op, user, u, o.DeltaOptions)
}
