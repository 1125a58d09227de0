package graphsim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
)

// batchRequest is one request of a JSON batch.
type batchRequest struct {
	ID        string            `json:"id"`
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers"`
	Body      json.RawMessage   `json:"body"`
	DependsOn []string          `json:"dependsOn"`
}

// batchPerMailbox is how many requests of one batch Outlook runs at once
// against one mailbox.
const batchPerMailbox = 4

// serveBatch answers POST /v1.0/$batch: up to 20 requests, each run
// through the same handler (authentication, scope, throttling) with the
// batch's Authorization, each answered with its own status, headers and
// body. Requests to one mailbox run at most four at a time; with
// dependsOn anywhere the batch runs in order, and a request whose
// dependency failed answers 424.
func (s *Server) serveBatch(w http.ResponseWriter, r *http.Request) {
	c := s.begin(w, r, "batch")
	if !c.authenticate() {
		return
	}
	s.stats.call(c.op)
	var in struct {
		Requests []batchRequest `json:"requests"`
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxRequestBytes))
	if err == nil {
		err = json.Unmarshal(body, &in)
	}
	if err != nil {
		c.fail(http.StatusBadRequest, "BadRequest", "Invalid batch payload format.")
		return
	}
	if len(in.Requests) == 0 {
		c.fail(http.StatusBadRequest, "BadRequest", "The batch must hold at least one request.")
		return
	}
	if len(in.Requests) > maxBatchRequests {
		c.fail(http.StatusBadRequest, "BadRequest", "The number of requests in a batch is limited to 20.")
		return
	}
	seen := make(map[string]bool, len(in.Requests))
	ordered := false
	for _, q := range in.Requests {
		if q.ID == "" || q.Method == "" || q.URL == "" {
			c.fail(http.StatusBadRequest, "BadRequest", "Every batch request needs an id, a method and a url.")
			return
		}
		if seen[q.ID] {
			c.fail(http.StatusBadRequest, "BadRequest", "Batch request ids must be unique: "+q.ID+".")
			return
		}
		for _, d := range q.DependsOn {
			if !seen[d] {
				c.fail(http.StatusBadRequest, "BadRequest", "dependsOn of request "+q.ID+" names "+d+", which is not an earlier request.")
				return
			}
		}
		seen[q.ID] = true
		ordered = ordered || len(q.DependsOn) > 0
	}

	f, hit := s.pickFault(c.op, batchMailbox(in.Requests[0].URL), scopeBatch)
	if hit {
		s.stats.fault()
		if c.answerFault(f) {
			return
		}
	}
	out := make([]obj, len(in.Requests))
	status := make(map[string]int, len(in.Requests))
	if ordered {
		for i, q := range in.Requests {
			failedDep := false
			for _, d := range q.DependsOn {
				failedDep = failedDep || status[d] >= 400
			}
			if failedDep {
				out[i] = obj{{"id", q.ID}, {"status", http.StatusFailedDependency}, {"body", obj{{"error", obj{{"code", "FailedDependency"}, {"message", "A request it depends on failed."}}}}}}
				status[q.ID] = http.StatusFailedDependency
				continue
			}
			out[i], status[q.ID] = s.runSub(r, q)
		}
	} else {
		var mu sync.Mutex
		sems := make(map[string]chan struct{})
		var wg sync.WaitGroup
		for i, q := range in.Requests {
			key := batchMailbox(q.URL)
			mu.Lock()
			sem := sems[key]
			if sem == nil {
				sem = make(chan struct{}, batchPerMailbox)
				sems[key] = sem
			}
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				out[i], _ = s.runSub(r, q)
			}()
		}
		wg.Wait()
	}
	if hit {
		cutAnswer(r, w, f.Kind, func(w http.ResponseWriter) { c.w = w; c.json(http.StatusOK, obj{{"responses", out}}) })
		return
	}
	c.json(http.StatusOK, obj{{"responses", out}})
}

// batchMailbox is the {user} segment of a sub-request URL.
func batchMailbox(u string) string {
	rest, ok := strings.CutPrefix(strings.TrimPrefix(u, "/"), "users/")
	if !ok {
		return ""
	}
	seg, _, _ := strings.Cut(rest, "/")
	seg, _, _ = strings.Cut(seg, "?")
	return strings.ToLower(seg)
}

// runSub runs one batch request through the handler.
func (s *Server) runSub(parent *http.Request, q batchRequest) (obj, int) {
	u := q.URL
	if !strings.HasPrefix(u, "/") {
		u = "/" + u
	}
	var body io.Reader = http.NoBody
	if len(q.Body) > 0 {
		body = bytes.NewReader(q.Body)
	}
	req, err := http.NewRequestWithContext(parent.Context(), strings.ToUpper(q.Method), "/v1.0"+u, body)
	if err != nil {
		return obj{{"id", q.ID}, {"status", http.StatusBadRequest}, {"body", obj{{"error", obj{{"code", "BadRequest"}, {"message", "Invalid request URL: " + q.URL}}}}}}, http.StatusBadRequest
	}
	req.Host, req.TLS, req.RemoteAddr = parent.Host, parent.TLS, parent.RemoteAddr
	req.Header.Set("Authorization", parent.Header.Get("Authorization"))
	for k, v := range q.Headers {
		req.Header.Set(k, v)
	}
	if len(q.Body) > 0 && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := &recorder{h: make(http.Header)}
	s.ServeHTTP(rec, req)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	headers := obj{}
	for _, k := range []string{"Retry-After", "Location", "Content-Type", "Preference-Applied", "request-id", "client-request-id"} {
		if v := rec.h.Get(k); v != "" {
			headers = append(headers, kv{k, v})
		}
	}
	resp := obj{{"id", q.ID}, {"status", rec.status}, {"headers", headers}}
	if rec.body.Len() > 0 {
		if json.Valid(rec.body.Bytes()) {
			resp = append(resp, kv{"body", json.RawMessage(rec.body.Bytes())})
		} else {
			resp = append(resp, kv{"body", rec.body.String()})
		}
	}
	return resp, rec.status
}

// recorder captures a sub-request's answer.
type recorder struct {
	h      http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.h }

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}
