package reports

import (
	"bytes"
	"encoding/xml"
	"strconv"
	"strings"

	"github.com/assay-dev/assay/domain/batch"
)

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	ID       string      `xml:"id,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	ClassName string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	Skipped   *junitProblem `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr,omitempty"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

func renderJUnit(r report) ([]byte, error) {
	doc := junitSuites{Name: "assay batch " + r.BatchID, Suites: []junitSuite{}}
	var total float64
	for _, i := range r.Interfaces {
		s := junitSuite{Name: suiteName(i.Method, i.Path, i.Name), ID: i.ID, Tests: len(i.Cases),
			Failures: i.Totals.Failed, Errors: i.Totals.Errored, Skipped: i.Totals.Canceled, Time: seconds(i.DurationMS)}
		for _, c := range i.Cases {
			jc := junitCase{Name: c.Name + " [" + c.ID + "]", ClassName: s.Name, Time: seconds(c.DurationMS)}
			switch c.Outcome {
			case batch.Failed:
				jc.Failure = &junitProblem{Message: failureMessage(c), Type: "assertion", Text: detailText(c)}
			case batch.Errored:
				jc.Error = &junitProblem{Message: failureMessage(c), Type: "error", Text: detailText(c)}
			case batch.Canceled:
				jc.Skipped = &junitProblem{Message: "canceled"}
			}
			s.Cases = append(s.Cases, jc)
		}
		total += i.DurationMS
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
		doc.Skipped += s.Skipped
		doc.Suites = append(doc.Suites, s)
	}
	doc.Time = seconds(total)
	if r.DurationMS > 0 {
		doc.Time = seconds(float64(r.DurationMS))
	}
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

func suiteName(method, path, name string) string {
	if method == "" && path == "" {
		return name
	}
	return strings.TrimSpace(method+" "+path) + " (" + name + ")"
}

// failureMessage is one line saying why a case did not pass.
func failureMessage(c caseReport) string {
	if c.Error != "" {
		return c.Error
	}
	var parts []string
	for _, a := range c.FailedAssertions {
		parts = append(parts, assertionLine(a))
	}
	if len(parts) == 0 {
		return c.Outcome
	}
	return strings.Join(parts, "; ")
}

func assertionLine(a assertion) string {
	s := a.Target + " " + a.Op
	if a.Expected != "" {
		s += " " + a.Expected
	}
	if a.Actual != "" {
		s += " (actual " + a.Actual + ")"
	}
	if a.Message != "" {
		s += ": " + a.Message
	}
	if a.Error != "" {
		s += " [error: " + a.Error + "]"
	}
	return s
}

// detailText is the plain-text account of a failure: assertions, request and response.
func detailText(c caseReport) string {
	var b strings.Builder
	if c.Error != "" {
		b.WriteString("Error: " + c.Error + "\n")
	}
	for _, a := range c.FailedAssertions {
		b.WriteString("Assertion failed: " + assertionLine(a) + "\n")
	}
	b.WriteString("\nRequest: " + c.Request.Method + " " + c.Request.URL + "\n")
	for _, h := range c.Request.Headers {
		b.WriteString(h.Name + ": " + h.Value + "\n")
	}
	if c.Request.Body != "" {
		b.WriteString("\n" + c.Request.Body + "\n")
		if c.Request.BodyTruncated {
			b.WriteString("[body truncated]\n")
		}
	}
	b.WriteString("\nResponse: " + strconv.Itoa(c.Response.Status) + "\n")
	for _, h := range c.Response.Headers {
		b.WriteString(h.Name + ": " + h.Value + "\n")
	}
	if c.Response.Body != "" {
		b.WriteString("\n" + c.Response.Body + "\n")
	}
	if c.Response.BodyTruncated {
		b.WriteString("[body truncated]\n")
	}
	return b.String()
}
