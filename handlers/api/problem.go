package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/assay-dev/assay/domain"
)

// Problem is an RFC 9457 problem document.
type Problem struct {
	Type   string              `json:"type"`
	Title  string              `json:"title"`
	Status int                 `json:"status"`
	Detail string              `json:"detail,omitempty"`
	Errors []domain.FieldError `json:"errors,omitempty"`
	// RequestID lets a person quote the request to an operator.
	RequestID string `json:"request_id,omitempty"`
}

// httpError is an error that already knows its answer.
type httpError struct {
	status     int
	detail     string
	retryAfter int
	fields     []domain.FieldError
}

func (e *httpError) Error() string { return e.detail }

func problemf(status int, detail string) error { return &httpError{status: status, detail: detail} }

func invalidField(field, message string) error {
	return &httpError{status: http.StatusUnprocessableEntity, detail: "the request has invalid values",
		fields: []domain.FieldError{{Field: field, Message: message}}}
}

// problemOf maps any error to its problem: the one place where errors become HTTP.
func problemOf(err error) (Problem, int) {
	var he *httpError
	var ve *domain.ValidationError
	var ee *echo.HTTPError
	switch {
	case errors.As(err, &he):
		return Problem{Status: he.status, Detail: he.detail, Errors: he.fields}, he.retryAfter
	case errors.As(err, &ve):
		return Problem{Status: http.StatusUnprocessableEntity, Detail: "the request has invalid values", Errors: ve.Fields}, 0
	case errors.Is(err, domain.ErrNotFound):
		return Problem{Status: http.StatusNotFound, Detail: "not found"}, 0
	case errors.Is(err, domain.ErrConflict):
		var ae *jetstream.APIError
		if errors.As(err, &ae) { // the log's own words name subjects and codes: not the caller's concern
			return Problem{Status: http.StatusConflict, Detail: "the resource was changed by other requests at the same time; retry"}, 0
		}
		return Problem{Status: http.StatusConflict, Detail: err.Error()}, 0
	case errors.Is(err, nats.ErrMaxPayload):
		return Problem{Status: http.StatusRequestEntityTooLarge, Detail: "the change is too large to be recorded as one event"}, 0
	case errors.As(err, &ee):
		msg, _ := ee.Message.(string)
		if msg == "" {
			msg = http.StatusText(ee.Code)
		}
		return Problem{Status: ee.Code, Detail: msg}, 0
	}
	return Problem{Status: http.StatusInternalServerError, Detail: "internal error; the request id identifies it in the logs"}, 0
}

var problemTypes = map[int]string{
	400: "malformed-request", 401: "unauthorized", 404: "not-found", 405: "method-not-allowed", 409: "conflict",
	413: "body-too-large", 415: "unsupported-media-type", 422: "invalid-values", 429: "rate-limited",
	500: "internal-error", 503: "unavailable",
}

// errorHandler answers every error as application/problem+json.
func (s *Server) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	p, retry := problemOf(err)
	p.Title = http.StatusText(p.Status)
	p.Type = "https://assay.dev/problems/" + problemTypes[p.Status]
	if problemTypes[p.Status] == "" {
		p.Type = "about:blank"
	}
	p.RequestID = c.Response().Header().Get(echo.HeaderXRequestID)
	if p.Status >= 500 {
		s.log.WithError(err).WithField("request_id", p.RequestID).Error("request failed")
	}
	if retry > 0 {
		c.Response().Header().Set("Retry-After", strconv.Itoa(retry))
	}
	body, _ := json.Marshal(p)
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(p.Status)
		return
	}
	_ = c.Blob(p.Status, "application/problem+json", body)
}
