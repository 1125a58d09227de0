package api

import (
	"errors"
	"net/http"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// statusOf is the one place that maps an error code to an HTTP status.
func statusOf(code domain.ErrorCode) int {
	switch code {
	case domain.CodeInvalid:
		return http.StatusBadRequest
	case domain.CodeForbidden:
		return http.StatusForbidden
	case domain.CodeNotFound:
		return http.StatusNotFound
	case domain.CodeConflict:
		return http.StatusConflict
	case domain.CodeTooLarge:
		return http.StatusRequestEntityTooLarge
	case domain.CodeUnsupported:
		return http.StatusUnsupportedMediaType
	case domain.CodeGone:
		return http.StatusGone
	case domain.CodeUpstream:
		return http.StatusBadGateway
	case domain.CodeUnavailable:
		return http.StatusServiceUnavailable
	case domain.CodeRateLimited:
		return http.StatusTooManyRequests
	case domain.CodeNotImplemented:
		return http.StatusNotImplemented
	}
	return http.StatusInternalServerError
}

// errorBody is the JSON shape of every error answer.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    domain.ErrorCode `json:"code"`
	Message string           `json:"message"`
	Field   string           `json:"field,omitempty"`
}

// toBody turns err into what the client sees: domain errors as they are,
// anything else (and internal ones) as a generic message; the cause is only
// logged.
func toBody(err error) (int, errorBody) {
	var de *domain.Error
	if !errors.As(err, &de) || de.Code == domain.CodeInternal {
		return http.StatusInternalServerError, errorBody{Error: errorDetail{
			Code:    domain.CodeInternal,
			Message: "internal error; the logs carry the details under this request's X-Request-Id",
		}}
	}
	return statusOf(de.Code), errorBody{Error: errorDetail{Code: de.Code, Message: de.Message, Field: de.Field}}
}

func invalidEvent(msg string) *domain.Error {
	return domain.Invalid("", "%s", msg)
}
