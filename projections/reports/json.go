package reports

import (
	"bytes"
	"encoding/json"

	"github.com/assay-dev/assay/domain/analysis"
	"github.com/assay-dev/assay/domain/batch"
)

// The JSON document. Field order is fixed by the structs; headers are sorted arrays.
type jsonDoc struct {
	Schema      string          `json:"schema"`
	AppID       string          `json:"app_id"`
	BatchID     string          `json:"batch_id"`
	Environment string          `json:"environment,omitempty"`
	Status      string          `json:"status"`
	Totals      batch.Totals    `json:"totals"`
	NotRun      int             `json:"not_run"`
	DurationMS  int64           `json:"duration_ms"`
	Latency     *batch.Latency  `json:"latency_ms,omitempty"`
	Histogram   []jsonBucket    `json:"latency_histogram"`
	Interfaces  []jsonInterface `json:"interfaces"`
	Failures    []jsonFailure   `json:"failures"`
	Narrative   string          `json:"narrative,omitempty"`
	Coverage    []jsonKV        `json:"coverage,omitempty"`
	// The narrator, the failure clusters with their hypotheses and the coverage per
	// interface, when the analysis is domain/analysis's document.
	Narrator           string              `json:"narrator,omitempty"`
	NarratorFallback   string              `json:"narrator_fallback,omitempty"`
	Clusters           []jsonCluster       `json:"clusters,omitempty"`
	CoverageInterfaces []jsonCoverageIface `json:"coverage_interfaces,omitempty"`
}

type jsonCluster struct {
	Interface  string   `json:"interface"`
	Check      string   `json:"check"`
	Status     int      `json:"status"`
	Count      int      `json:"count"`
	CaseIDs    []string `json:"case_ids"`
	Label      string   `json:"label"`
	Hypothesis string   `json:"hypothesis"`
	By         string   `json:"by"`
}

type jsonCoverageIface struct {
	Name string `json:"name"`
	analysis.InterfaceCoverage
}

type jsonBucket struct {
	Label string `json:"label"`
	Count int    `json:"count"`
}

type jsonInterface struct {
	ID         string       `json:"id"`
	Name       string       `json:"name"`
	Method     string       `json:"method"`
	Path       string       `json:"path"`
	Totals     batch.Totals `json:"totals"`
	NotRun     int          `json:"not_run"`
	DurationMS float64      `json:"duration_ms"`
	Cases      []jsonCase   `json:"cases"`
}

type jsonCase struct {
	ID         string  `json:"id"`
	Name       string  `json:"name"`
	Outcome    string  `json:"outcome"`
	StatusCode int     `json:"status_code"`
	DurationMS float64 `json:"duration_ms"`
}

type jsonFailure struct {
	InterfaceID      string          `json:"interface_id"`
	InterfaceName    string          `json:"interface_name"`
	CaseID           string          `json:"case_id"`
	CaseName         string          `json:"case_name"`
	Outcome          string          `json:"outcome"`
	StatusCode       int             `json:"status_code"`
	DurationMS       float64         `json:"duration_ms"`
	Error            string          `json:"error,omitempty"`
	FailedAssertions []jsonAssertion `json:"failed_assertions"`
	Request          jsonRequest     `json:"request"`
	Response         jsonResponse    `json:"response"`
}

type jsonAssertion struct {
	Target   string `json:"target"`
	Op       string `json:"op"`
	Expected string `json:"expected,omitempty"`
	Actual   string `json:"actual,omitempty"`
	Message  string `json:"message,omitempty"`
	Error    string `json:"error,omitempty"`
}

type jsonHeader struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type jsonRequest struct {
	Method        string       `json:"method"`
	URL           string       `json:"url"`
	Headers       []jsonHeader `json:"headers"`
	Body          string       `json:"body,omitempty"`
	BodyTruncated bool         `json:"body_truncated,omitempty"`
}

type jsonResponse struct {
	Status        int          `json:"status"`
	Headers       []jsonHeader `json:"headers"`
	Body          string       `json:"body,omitempty"`
	BodyTruncated bool         `json:"body_truncated,omitempty"`
}

type jsonKV struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

func jsonHeaders(hs []header) []jsonHeader {
	out := make([]jsonHeader, 0, len(hs))
	for _, h := range hs {
		out = append(out, jsonHeader(h))
	}
	return out
}

func renderJSON(r report) ([]byte, error) {
	d := jsonDoc{Schema: "assay.report/v1", AppID: r.AppID, BatchID: r.BatchID, Environment: r.Environment,
		Status: r.Status, Totals: r.Totals, NotRun: r.NotRun, DurationMS: r.DurationMS, Latency: r.Latency,
		Histogram: []jsonBucket{}, Interfaces: []jsonInterface{}, Failures: []jsonFailure{}, Narrative: r.Narrative}
	for _, b := range r.Histogram {
		d.Histogram = append(d.Histogram, jsonBucket(b))
	}
	for _, i := range r.Interfaces {
		ji := jsonInterface{ID: i.ID, Name: i.Name, Method: i.Method, Path: i.Path, Totals: i.Totals,
			NotRun: i.NotRun, DurationMS: i.DurationMS, Cases: []jsonCase{}}
		for _, c := range i.Cases {
			ji.Cases = append(ji.Cases, jsonCase{ID: c.ID, Name: c.Name, Outcome: c.Outcome,
				StatusCode: c.StatusCode, DurationMS: c.DurationMS})
		}
		d.Interfaces = append(d.Interfaces, ji)
	}
	for _, f := range r.Failures {
		c := f.Case
		jf := jsonFailure{InterfaceID: f.Interface.ID, InterfaceName: f.Interface.Name, CaseID: c.ID,
			CaseName: c.Name, Outcome: c.Outcome, StatusCode: c.StatusCode, DurationMS: c.DurationMS,
			Error: c.Error, FailedAssertions: []jsonAssertion{},
			Request: jsonRequest{Method: c.Request.Method, URL: c.Request.URL, Headers: jsonHeaders(c.Request.Headers),
				Body: c.Request.Body, BodyTruncated: c.Request.BodyTruncated},
			Response: jsonResponse{Status: c.Response.Status, Headers: jsonHeaders(c.Response.Headers),
				Body: c.Response.Body, BodyTruncated: c.Response.BodyTruncated}}
		for _, a := range c.FailedAssertions {
			jf.FailedAssertions = append(jf.FailedAssertions, jsonAssertion(a))
		}
		d.Failures = append(d.Failures, jf)
	}
	for _, e := range r.Coverage {
		d.Coverage = append(d.Coverage, jsonKV(e))
	}
	d.Narrator, d.NarratorFallback = r.Narrator, r.Fallback
	for _, c := range r.Clusters {
		d.Clusters = append(d.Clusters, jsonCluster{Interface: c.Interface, Check: c.Check, Status: c.Status, Count: c.Count,
			CaseIDs: c.CaseIDs, Label: c.LabelCode, Hypothesis: c.Text, By: c.By})
	}
	for _, i := range r.CovIfaces {
		d.CoverageInterfaces = append(d.CoverageInterfaces, jsonCoverageIface{Name: i.Name, InterfaceCoverage: i.Raw})
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(d); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
