package runner

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/assay-dev/assay/domain/assert"
	"github.com/assay-dev/assay/domain/batch"
)

// extract reads each variable from the response: "body.<gjson path>" or
// "header.<Name>". A value that is not there is a failed Evaluated naming it.
func extract(spec map[string]string, resp batch.HTTPResponse) (map[string]string, []assert.Evaluated) {
	if len(spec) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(spec))
	var missing []assert.Evaluated
	for _, name := range slices.Sorted(maps.Keys(spec)) {
		from := spec[name]
		value, ok, why := extractOne(from, resp)
		if ok {
			out[name] = value
			continue
		}
		missing = append(missing, assert.Evaluated{
			Target:  from,
			Op:      "extract",
			Passed:  false,
			Message: fmt.Sprintf("extract %s from %s: %s", name, from, why),
		})
	}
	return out, missing
}

func extractOne(from string, resp batch.HTTPResponse) (string, bool, string) {
	switch {
	case strings.HasPrefix(from, "header."):
		name := http.CanonicalHeaderKey(strings.TrimPrefix(from, "header."))
		v, ok := resp.Headers[name]
		if !ok {
			return "", false, "the response has no header " + name
		}
		return v, true, ""
	case strings.HasPrefix(from, "body."):
		path := strings.TrimPrefix(from, "body.")
		if !gjson.Valid(resp.Body) {
			if resp.BodyTruncated {
				return "", false, "the body is truncated, not complete JSON"
			}
			return "", false, "the body is not JSON"
		}
		r := gjson.Get(resp.Body, path)
		if !r.Exists() {
			return "", false, "no value at " + path
		}
		if r.Type == gjson.String {
			return r.Str, true, ""
		}
		return r.Raw, true, ""
	}
	return "", false, `the source must be "body.<path>" or "header.<Name>"`
}
