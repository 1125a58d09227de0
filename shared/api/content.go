package api

import (
	"context"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
)

// On-demand content: an item with its body and attachment list, its MIME,
// and one attachment, read live from Exchange (app.Content). Served when
// Deps.Content is set.

const (
	itemPath       = "/tenants/{id}/mailboxes/{address}/items/{itemId}"
	attachmentPath = itemPath + "/attachments/{attachmentId}"
)

func contentRoutes(c *app.Content) []route {
	statuses := with(scoped, 200, 409, 413, 502, 503)
	return []route{
		{"GET", itemPath, statuses, func(_ *server, w http.ResponseWriter, r *http.Request) error { return getItemContent(c, w, r) }},
		{"GET", attachmentPath, statuses, func(_ *server, w http.ResponseWriter, r *http.Request) error { return getAttachment(c, w, r) }},
	}
}

func contentRequest(r *http.Request) app.ContentRequest {
	req := app.ContentRequest{TenantID: r.PathValue("id"), Address: r.PathValue("address"), ItemID: r.PathValue("itemId"),
		AttachmentID: r.PathValue("attachmentId"), Caller: callerOf(r.Context())}
	if n := responseLimit(r.Context()); n > 0 {
		req.Limit, req.LimitReason = n, "API Gateway answers at most 6 MB, base64-encoded for binary content; a larger item or attachment cannot be read through the AWS deployment's API"
	}
	return req
}

func getItemContent(c *app.Content, w http.ResponseWriter, r *http.Request) error {
	q, err := query(r, "include", "bodyType")
	if err != nil {
		return err
	}
	include, err := app.ParseInclude(q["include"])
	if err != nil {
		return err
	}
	html := false
	switch q["bodyType"] {
	case "", "text":
	case "html":
		html = true
	default:
		return domain.Invalid("bodyType", "bodyType is text or html")
	}
	req := contentRequest(r)
	if len(include) == 1 && include[0] == app.IncludeMIME {
		return streamContent(w, r, func(sink domain.ContentSink) error { return c.StreamMIME(r.Context(), req, sink) },
			safeFilename(req.ItemID, "message")+".eml")
	}
	got, err := c.ReadItem(r.Context(), req, include, html)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, got)
	return nil
}

func getAttachment(c *app.Content, w http.ResponseWriter, r *http.Request) error {
	if _, err := query(r); err != nil {
		return err
	}
	req := contentRequest(r)
	return streamContent(w, r, func(sink domain.ContentSink) error { return c.StreamAttachment(r.Context(), req, sink) }, "")
}

// streamContent answers the content read writes into its sink: the
// headers when the sink opens (the content's type, a Content-Disposition
// attachment, its length when known), then the bytes as they come. An
// error before the sink opened is an ordinary JSON error; one after it
// (the content ran past the limit, Exchange's stream broke) can no longer
// change the status, so the connection is cut: the client sees a short
// body, never a complete-looking one.
func streamContent(w http.ResponseWriter, r *http.Request, read func(domain.ContentSink) error, filename string) error {
	opened := false
	err := read(func(meta domain.Attachment, size int64) (io.Writer, error) {
		opened = true
		h := w.Header()
		h.Set("Content-Type", safeContentType(meta.ContentType))
		h.Set("X-Content-Type-Options", "nosniff")
		name := filename
		if name == "" {
			name = safeFilename(meta.Name, "attachment")
		}
		h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
		if size >= 0 {
			h.Set("Content-Length", strconv.FormatInt(size, 10))
		}
		w.WriteHeader(http.StatusOK)
		return w, nil
	})
	if err != nil && opened {
		panic(http.ErrAbortHandler)
	}
	return err
}

// safeContentType is the content type to answer: Exchange's when it
// parses as a media type, else application/octet-stream.
func safeContentType(ct string) string {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || !strings.Contains(mt, "/") {
		return "application/octet-stream"
	}
	out := mime.FormatMediaType(mt, params)
	if out == "" {
		return "application/octet-stream"
	}
	return out
}

// safeFilename is a file name without paths or control characters, at
// most 200 bytes; fallback when nothing is left.
func safeFilename(name, fallback string) string {
	name = strings.Map(func(r rune) rune {
		switch {
		case r == '/' || r == '\\' || r == '"' || unicode.IsControl(r) || r == '\uFFFD':
			return '_'
		}
		return r
	}, name)
	name = strings.Trim(name, ". ")
	if len(name) > 200 {
		name = strings.ToValidUTF8(name[:200], "")
	}
	if name == "" {
		return fallback
	}
	return name
}

type responseLimitKey struct{}

// withResponseLimit records the largest content the transport can answer
// (LambdaHandler: API Gateway's 6 MB).
func withResponseLimit(ctx context.Context, n int64) context.Context {
	return context.WithValue(ctx, responseLimitKey{}, n)
}

func responseLimit(ctx context.Context) int64 {
	n, _ := ctx.Value(responseLimitKey{}).(int64)
	return n
}

// API Gateway's payload limit for a Lambda proxy response is 6 MB of
// JSON; binary bodies travel base64 (4/3 the bytes). The content routes
// answer at most LambdaContentLimit bytes there, leaving room for the
// headers and the JSON around the body.
const (
	apiGatewayMaxResponse = 6 << 20
	LambdaContentLimit    = (apiGatewayMaxResponse - 64<<10) / 4 * 3
)
