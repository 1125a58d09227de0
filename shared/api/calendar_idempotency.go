package api

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
)

// Idempotency-Key on calendar writes, with the mechanism of POST /tenants:
// the 202 answer is stored under (caller, key) for IdempotencyTTL; the
// same key with the same request replays it (Idempotent-Replayed: true)
// and queues nothing; the same key with another request is 409.
//
// Two requests with one key arriving together both pass the replay check;
// they still make one write, because the request id is derived from
// (caller, key, request) and the event's write state accepts a request id
// once (app.acceptWrite). A different request under the same key at the
// same moment is accepted and answered 409 afterwards; documented.

// calendarScope is the scope of calendar write records: the caller's own
// keys, apart from those of POST /tenants.
func calendarScope(r *http.Request) string { return "calendar-write " + callerOf(r.Context()) }

// calendarKey reads and checks the Idempotency-Key header ("" if none).
func calendarKey(r *http.Request) (string, error) {
	key := r.Header.Get("Idempotency-Key")
	if key != "" && !requestIDPattern.MatchString(key) {
		return "", domain.Invalid("Idempotency-Key", "Idempotency-Key must be 1-64 characters of A-Z, a-z, 0-9, '.', '_' and '-'")
	}
	return key, nil
}

// writeRequestHash identifies a calendar write request: the operation,
// the event it names and what it asks.
func writeRequestHash(op, tenantID, address, clientEventID string, body any) string {
	b, _ := json.Marshal(body)
	sum := sha256.Sum256([]byte(op + "\x00" + tenantID + "\x00" + strings.ToLower(address) + "\x00" + clientEventID + "\x00" + string(b)))
	return hex.EncodeToString(sum[:])
}

// writeRequestID is the request id of a keyed write: the same for the
// same caller, key and request, so acceptWrite takes it once.
func writeRequestID(r *http.Request, key, hash string) string {
	sum := sha256.Sum256([]byte(callerOf(r.Context()) + "\x00" + key + "\x00" + hash))
	return hex.EncodeToString(sum[:16])
}

// replayWrite answers from the record stored under key, if any, with the
// replayed write's id (derived from the key and the request alone) as the
// answer's X-Request-Id.
func (s *server) replayWrite(w http.ResponseWriter, r *http.Request, key, hash string) (bool, error) {
	w.Header().Set("X-Request-Id", writeRequestID(r, key, hash))
	return s.replayIdempotent(w, r, calendarScope(r), key, hash)
}

// answerWrite answers 202 for an accepted write, storing the answer under
// key when there is one.
func (s *server) answerWrite(w http.ResponseWriter, r *http.Request, key, hash string, req domain.WriteRequest) error {
	body := acceptedBody(req)
	// One id per write: the header names the write, as the body does (the
	// request's own X-Request-Id, if the caller sent one, gives way).
	w.Header().Set("X-Request-Id", req.ID)
	if key == "" {
		writeJSON(w, http.StatusAccepted, body)
		return nil
	}
	rec := idempotentRecord{RequestHash: hash, Status: http.StatusAccepted}
	rec.Body, _ = json.Marshal(body)
	value, _ := json.Marshal(rec)
	stored, existed, err := s.store.SaveIdempotent(r.Context(), req.TenantID, calendarScope(r), key, value, s.idemTTL)
	if err != nil {
		// The write is accepted; answer it rather than fail it.
		s.log.Error("idempotency record not saved", "requestId", app.RequestID(r.Context()), "error", err.Error())
		existed = false
	}
	if existed {
		prev, err := decodeIdempotent(stored)
		if err != nil {
			return err
		}
		if prev.RequestHash != hash {
			return errKeyReused()
		}
		rec = prev
		w.Header().Set("Idempotent-Replayed", "true")
	}
	writeRawJSON(w, rec.Status, rec.Body)
	return nil
}
