package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/handlers/command"
)

const headerIdempotencyKey = "Idempotency-Key"

// accepted is the answer of every command.
type accepted struct {
	ID  string   `json:"id"`
	Seq uint64   `json:"seq"`
	IDs []string `json:"ids,omitempty"`
}

// meta is the metadata a command's events carry. With an Idempotency-Key the command id is
// derived from the user and the key (and the request's hash: a key reused after 24 h for
// another request is another command), so even a retry that slips past the key store
// appends nothing twice.
func (s *Server) meta(c echo.Context, user, key string) domain.Metadata {
	id := command.NewID()
	if key != "" {
		sum := sha256.Sum256([]byte(user + "\x00" + key))
		id = "idem-" + hex.EncodeToString(sum[:16])
	}
	rid, _ := c.Get(ctxRequestID).(string)
	return domain.Metadata{CommandID: id, RequestID: rid, UserID: user, CorrelationID: id}
}

// run is one command: it decides and appends, answering 202 {id, seq} and Location.
type run func(ctx context.Context, meta domain.Metadata) (answer accepted, location string, res command.Result, err error)

// command runs a command once per Idempotency-Key and answers it.
func (s *Server) command(c echo.Context, name string, fn run) error {
	user, key := userOf(c), c.Request().Header.Get(headerIdempotencyKey)
	ctx := c.Request().Context()
	if len(key) > 255 {
		return invalidField(headerIdempotencyKey, "must have at most 255 characters")
	}
	seed := ""
	if key != "" {
		body, _ := io.ReadAll(c.Request().Body)
		c.Request().Body = io.NopCloser(bytes.NewReader(body))
		hash := requestHash(c.Request().Method, c.Request().URL.Path, body)
		prev, err := s.idem.claim(ctx, user, key, hash)
		if err != nil {
			return err
		}
		if prev != nil {
			return replay(c, prev, hash)
		}
		seed = key + "\x00" + hash
	}
	answer, location, res, err := fn(ctx, s.meta(c, user, seed))
	s.metrics.command(name, res, err)
	if err != nil {
		if key != "" {
			_ = s.idem.release(context.WithoutCancel(ctx), user, key)
		}
		return err
	}
	answer.Seq = res.Seq
	body, _ := json.Marshal(answer)
	if key != "" {
		loc, _ := json.Marshal(map[string]string{"Location": location})
		if err := s.idem.finish(context.WithoutCancel(ctx), user, key, http.StatusAccepted, string(body), string(loc)); err != nil {
			s.log.WithError(err).Warn("idempotency key not stored")
		}
	}
	return respondAccepted(c, location, res.Seq, body)
}

func respondAccepted(c echo.Context, location string, seq uint64, body []byte) error {
	if location != "" {
		c.Response().Header().Set("Location", location)
	}
	c.Response().Header().Set(headerSeq, strconv.FormatUint(seq, 10))
	return c.JSONBlob(http.StatusAccepted, body)
}

func replay(c echo.Context, prev *stored, hash string) error {
	switch {
	case prev.RequestHash != hash:
		return invalidField(headerIdempotencyKey, "was used for a different request within 24 hours")
	case prev.Status == 0:
		return problemf(http.StatusConflict, "a request with this Idempotency-Key is still running; retry shortly")
	}
	var h map[string]string
	_ = json.Unmarshal([]byte(prev.Location), &h)
	var a accepted
	_ = json.Unmarshal([]byte(prev.Body), &a)
	c.Response().Header().Set("Idempotent-Replayed", "true")
	return respondAccepted(c, h["Location"], a.Seq, []byte(prev.Body))
}
