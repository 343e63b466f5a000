package api

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/sirupsen/logrus"
)

const (
	ctxUser      = "assay.user"
	ctxRequestID = "assay.request_id"
)

// observe gives every request an id (X-Request-ID, made when absent), then logs it and
// counts it once it is answered.
func (s *Server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		rid := c.Request().Header.Get(echo.HeaderXRequestID)
		if rid == "" || len(rid) > 128 {
			rid = uuid.NewString()
		}
		c.Set(ctxRequestID, rid)
		c.Response().Header().Set(echo.HeaderXRequestID, rid)
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		status, route := c.Response().Status, c.Path()
		if route == "" {
			route = "unmatched"
		}
		took := time.Since(start)
		code := strconv.Itoa(status)
		s.metrics.requests.WithLabelValues(route, c.Request().Method, code).Inc()
		s.metrics.latency.WithLabelValues(route, c.Request().Method, code).Observe(took.Seconds())
		s.log.WithFields(logrus.Fields{"request_id": rid, "user_id": c.Get(ctxUser), "method": c.Request().Method,
			"route": route, "status": status, "latency_ms": float64(took.Microseconds()) / 1000}).Info("request")
		return nil
	}
}

// recoverPanics turns a panic into a 500 with the request id, never a dropped connection.
func (s *Server) recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				s.log.WithField("panic", fmt.Sprint(r)).WithField("request_id", c.Get(ctxRequestID)).Error("handler panicked")
				err = errors.New("panic")
			}
		}()
		return next(c)
	}
}

// limitBody caps the request body; reading past it answers 413.
func limitBody(limit int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			if r.ContentLength > limit {
				return problemf(http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is larger than %d bytes", limit))
			}
			r.Body = http.MaxBytesReader(c.Response(), r.Body, limit)
			return next(c)
		}
	}
}

// requireJSON answers 415 to a body that is not JSON.
func requireJSON(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.ContentLength == 0 && r.Header.Get(echo.HeaderContentType) == "" {
			return next(c) // no body at all (cancel, delete)
		}
		if !mediaIs(r.Header.Get(echo.HeaderContentType), "application/json") {
			return problemf(http.StatusUnsupportedMediaType, "send the body as application/json")
		}
		return next(c)
	}
}

// mediaIs matches a Content-Type against wanted types; +json suffixes count as JSON.
func mediaIs(header string, wanted ...string) bool {
	mt, _, err := mime.ParseMediaType(header)
	if err != nil {
		return false
	}
	for _, w := range wanted {
		if mt == w || (w == "application/json" && strings.HasSuffix(mt, "+json")) {
			return true
		}
	}
	return false
}

// rateLimit applies the caller's command budget: 429 with Retry-After past it.
func (s *Server) rateLimit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		user, _ := c.Get(ctxUser).(string)
		if wait, ok := s.limits.allow(user); !ok {
			return &httpError{status: http.StatusTooManyRequests, detail: "too many commands; slow down",
				retryAfter: max(1, int(wait.Seconds()+0.999))}
		}
		return next(c)
	}
}

// limitAuth throttles register and login per client address: password guessing is slow.
func (s *Server) limitAuth(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if wait, ok := s.auth.allow(c.RealIP()); !ok {
			return &httpError{status: http.StatusTooManyRequests, detail: "too many attempts; slow down",
				retryAfter: max(1, int(wait.Seconds()+0.999))}
		}
		return next(c)
	}
}
