package bridge

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Traceparent builds a W3C trace context header (version 00, sampled). The trace id is
// derived from the correlation id, so every message of one batch shares a trace: a
// correlation id that is a UUID (or 32 hex digits) is the trace id itself, any other
// is hashed; without one the trace id is random. The span id is always random.
func Traceparent(correlationID string) string {
	var span [8]byte
	_, _ = rand.Read(span[:]) // never fails (crypto/rand since Go 1.24)
	trace := traceID(correlationID)
	if allZero(span[:]) {
		span[7] = 1
	}
	return "00-" + trace + "-" + hex.EncodeToString(span[:]) + "-01"
}

func traceID(correlationID string) string {
	if correlationID != "" {
		if h := strings.ToLower(strings.ReplaceAll(correlationID, "-", "")); len(h) == 32 && isHex(h) && strings.Trim(h, "0") != "" {
			return h
		}
		sum := sha256.Sum256([]byte(correlationID))
		if !allZero(sum[:16]) {
			return hex.EncodeToString(sum[:16])
		}
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	if allZero(b[:]) {
		b[15] = 1
	}
	return hex.EncodeToString(b[:])
}

func isHex(s string) bool {
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
