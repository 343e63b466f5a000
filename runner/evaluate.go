package runner

import (
	"net/http"

	"github.com/assay-dev/assay/domain/assert"
	"github.com/assay-dev/assay/domain/batch"
)

// evaluate checks the case's assertions and default checks against the response: the
// one seam between the executor and domain/assert.
func (e *Executor) evaluate(req batch.CaseExecutionRequested, header http.Header, body []byte, status int, latencyMS float64) ([]assert.Evaluated, string, error) {
	var documented map[string]assert.Documented
	if len(req.Interface.Responses) > 0 {
		documented = make(map[string]assert.Documented, len(req.Interface.Responses))
		for code, r := range req.Interface.Responses {
			documented[code] = assert.Documented{ContentType: r.ContentType, Schema: r.Schema}
		}
	}
	evals, err := assert.Evaluate(req.Assertions, assert.Response{
		Status: status, Headers: header, Body: body, LatencyMS: latencyMS,
	}, assert.Options{Responses: documented, Checks: req.Checks, Schemas: e.schemas})
	return evals, assert.Outcome(evals, err), err
}
