package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// LambdaHandler serves h to API Gateway REST API (proxy integration) events:
// the event becomes an *http.Request, the handler's answer the response.
func LambdaHandler(h http.Handler) func(context.Context, events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	return func(ctx context.Context, e events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
		w := &lambdaResponse{header: http.Header{}}
		r, err := requestFromEvent(ctx, e)
		if err != nil {
			status, body := toBody(err)
			writeJSON(w, status, body)
		} else if aborted := serveCatchingAbort(h, w, r); aborted {
			// A stream that failed after its headers (content.go): the
			// buffered answer is incomplete, so none of it goes out.
			w = &lambdaResponse{header: http.Header{}}
			status, body := toBody(&domain.Error{Code: domain.CodeUpstream, Message: "the content stream from Exchange broke off or ran past the limit; nothing was sent"})
			writeJSON(w, status, body)
		}
		return w.event(), nil
	}
}

func requestFromEvent(ctx context.Context, e events.APIGatewayProxyRequest) (*http.Request, error) {
	body := []byte(e.Body)
	if e.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(e.Body)
		if err != nil {
			return nil, invalidEvent("the body is not valid base64")
		}
		body = b
	}
	// REST APIs deliver the path still percent-encoded.
	p, err := url.PathUnescape(e.Path)
	if err != nil {
		return nil, domain.Invalid("path", "the request path has a malformed percent-encoding")
	}
	q := url.Values{}
	for k, vs := range e.MultiValueQueryStringParameters {
		q[k] = vs
	}
	for k, v := range e.QueryStringParameters {
		if _, ok := q[k]; !ok {
			q.Set(k, v)
		}
	}
	u := &url.URL{Path: p, RawPath: e.Path, RawQuery: q.Encode()}

	if e.RequestContext.Identity.UserArn != "" {
		ctx = withCaller(ctx, e.RequestContext.Identity.UserArn)
	}
	ctx = withResponseLimit(ctx, LambdaContentLimit)
	r, err := http.NewRequestWithContext(ctx, e.HTTPMethod, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, invalidEvent("the request line is malformed")
	}
	for k, vs := range e.MultiValueHeaders {
		for _, v := range vs {
			r.Header.Add(k, v)
		}
	}
	for k, v := range e.Headers {
		if r.Header.Get(k) == "" {
			r.Header.Set(k, v)
		}
	}
	// API Gateway's id ties our logs to its access logs; a client-sent
	// X-Request-Id is not trusted behind the gateway.
	r.Header.Del("X-Request-Id")
	if e.RequestContext.RequestID != "" {
		r.Header.Set("X-Request-Id", e.RequestContext.RequestID)
	}
	r.RemoteAddr = e.RequestContext.Identity.SourceIP
	r.ContentLength = int64(len(body))
	return r, nil
}

type lambdaResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *lambdaResponse) Header() http.Header { return w.header }

func (w *lambdaResponse) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.body.Write(b)
}

func (w *lambdaResponse) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *lambdaResponse) event() events.APIGatewayProxyResponse {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if w.body.Len() > LambdaContentLimit && w.status < 300 {
		// API Gateway would answer its own 502 for an oversized payload:
		// say what happened instead.
		w.header = http.Header{"Content-Type": {"application/json"}}
		w.body.Reset()
		status, body := toBody(&domain.Error{Code: domain.CodeTooLarge,
			Message: "the answer is larger than API Gateway's 6 MB response limit allows"})
		w.status = status
		b, _ := json.Marshal(body)
		w.body.Write(b)
	}
	resp := events.APIGatewayProxyResponse{StatusCode: w.status, MultiValueHeaders: w.header}
	mt, _, _ := mime.ParseMediaType(w.header.Get("Content-Type"))
	if w.body.Len() == 0 || mt == "application/json" || strings.HasPrefix(mt, "text/") {
		resp.Body = w.body.String()
	} else {
		resp.Body = base64.StdEncoding.EncodeToString(w.body.Bytes())
		resp.IsBase64Encoded = true
	}
	return resp
}

// serveCatchingAbort serves r and reports whether the handler aborted
// (http.ErrAbortHandler), which net/http turns into a cut connection and
// a Lambda would turn into a failed invocation.
func serveCatchingAbort(h http.Handler, w http.ResponseWriter, r *http.Request) (aborted bool) {
	defer func() {
		if p := recover(); p != nil {
			if p != http.ErrAbortHandler {
				panic(p)
			}
			aborted = true
		}
	}()
	h.ServeHTTP(w, r)
	return false
}
