package api

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// openAPIDocument is this API's own OpenAPI 3.1 document, API.md's twin: change both together.
//
//go:embed openapi.json
var openAPIDocument []byte

// openAPIETag is the document's strong validator, computed once.
var openAPIETag = func() string {
	sum := sha256.Sum256(openAPIDocument)
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}()

// openAPI serves the embedded document (GET /api/v1/openapi.json, no token needed). Clients
// revalidate with If-None-Match and get 304 while their copy is current.
func (s *Server) openAPI(c echo.Context) error {
	h := c.Response().Header()
	h.Set("ETag", openAPIETag)
	h.Set("Cache-Control", "no-cache")
	if etagMatches(c.Request().Header.Get("If-None-Match"), openAPIETag) {
		return c.NoContent(http.StatusNotModified)
	}
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, openAPIDocument)
}

// etagMatches is If-None-Match's weak comparison (RFC 9110, section 13.1.2).
func etagMatches(header, etag string) bool {
	for tag := range strings.SplitSeq(header, ",") {
		tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
		if tag == "*" || tag == etag {
			return true
		}
	}
	return false
}
