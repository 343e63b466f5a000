package analysis

import (
	"fmt"
	"slices"
	"strings"

	"github.com/assay-dev/assay/domain/assert"
	"github.com/assay-dev/assay/domain/testcase"
)

// NarratorLLM names a narrative and hypotheses written by a language model.
const NarratorLLM = "llm"

// Label is a root-cause hypothesis's category, from a fixed taxonomy.
type Label string

// The taxonomy of root causes.
const (
	ServerError         Label = "server_error"
	ValidationMissing   Label = "validation_missing"
	ValidationTooStrict Label = "validation_too_strict"
	WrongStatusCode     Label = "wrong_status_code"
	SchemaMismatch      Label = "schema_mismatch"
	ContentType         Label = "content_type"
	Auth                Label = "auth"
	Performance         Label = "performance"
	EnvironmentNetwork  Label = "environment_network"
	TestCaseWrong       Label = "test_case_wrong"
)

// Labels lists the taxonomy in a fixed order.
var Labels = []Label{ServerError, ValidationMissing, ValidationTooStrict, WrongStatusCode, SchemaMismatch,
	ContentType, Auth, Performance, EnvironmentNetwork, TestCaseWrong}

// ParseLabel reads a label written loosely ("Validation missing", "environment/network").
func ParseLabel(s string) (Label, bool) {
	n := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '/', '.':
			return '_'
		}
		return r
	}, strings.ToLower(strings.TrimSpace(s)))
	l := Label(n)
	return l, slices.Contains(Labels, l)
}

// Hypothesis is a cluster's likely root cause; By is NarratorRules or NarratorLLM.
type Hypothesis struct {
	Label Label  `json:"label"`
	Text  string `json:"text"`
	By    string `json:"by"`
}

// Narration is what a narrator wrote for an analysis: a narrative, and a hypothesis per
// cluster in the analysis's cluster order (a zero one keeps the rules').
type Narration struct {
	Narrative  string
	Hypotheses []Hypothesis
	Narrator   string // NarratorRules or NarratorLLM
	Model      string
	Fallback   string // why the rules wrote it, or why some hypotheses are the rules'
}

// WithNarration returns a with n's words; its numbers never change. A narration not by the
// LLM, or without a narrative, keeps the rules' text and records n.Fallback. A hypothesis
// without a known label or text keeps the rules' one for its cluster.
func (a Analysis) WithNarration(n Narration) Analysis {
	if n.Narrator != NarratorLLM || strings.TrimSpace(n.Narrative) == "" {
		a.Narrator, a.NarratorModel, a.NarratorFallback = NarratorRules, "", n.Fallback
		return a
	}
	a.Narrative, a.Narrator, a.NarratorModel, a.NarratorFallback = strings.TrimSpace(n.Narrative), NarratorLLM, n.Model, n.Fallback
	a.Clusters = slices.Clone(a.Clusters)
	for i, h := range n.Hypotheses {
		if i >= len(a.Clusters) || !slices.Contains(Labels, h.Label) || strings.TrimSpace(h.Text) == "" {
			continue
		}
		a.Clusters[i].Hypothesis = Hypothesis{Label: h.Label, Text: strings.TrimSpace(h.Text), By: NarratorLLM}
	}
	return a
}

// rejecting classes send input the interface should refuse.
var rejecting = []string{testcase.OutOfRange, testcase.MissingRequired, testcase.WrongType, testcase.Null, testcase.Format}

// Rejects says whether a case sends input the interface should refuse: its class says so,
// or it is an enum case with a value outside the enum (as casegen names them).
func Rejects(c testcase.Case) bool {
	if slices.Contains(rejecting, c.Class) {
		return true
	}
	return c.Class == testcase.Enum && strings.Contains(strings.ToLower(c.Name+" "+c.Reason), "outside")
}

// RuleHypothesis derives a cluster's hypothesis from its check, its status and whether its
// cases send input to refuse; cases are the interface's (those of the cluster are used).
func RuleHypothesis(cl Cluster, cases []testcase.Case) Hypothesis {
	rejecting, accepting := 0, 0
	for _, c := range cases {
		if slices.Contains(cl.CaseIDs, c.ID) {
			if Rejects(c) {
				rejecting++
			} else {
				accepting++
			}
		}
	}
	n := plural(cl.Count, "case", "cases")
	h := func(l Label, format string, args ...any) Hypothesis {
		return Hypothesis{Label: l, Text: fmt.Sprintf(format, args...), By: NarratorRules}
	}
	check, _ := strings.CutPrefix(cl.Check, "check.")
	class := cl.Status / 100
	switch {
	case cl.Status == 0:
		return h(EnvironmentNetwork, "%s got no response: the service was unreachable, refused the connection or timed out, or the network to it failed.", n)
	case class == 5 || check == assert.CheckNotAServerError:
		return h(ServerError, "%s got status %d: the service failed while handling the request (an unhandled error or a failing dependency); its logs for these requests should say why.", n, cl.Status)
	case cl.Status == 401 || cl.Status == 403:
		return h(Auth, "%s were refused with status %d: the credentials the environment sends are missing, expired or lack the permission.", n, cl.Status)
	case check == "latency_ms":
		return h(Performance, "%s answered slower than their latency assertion allows.", n)
	case check == assert.CheckContentTypeConformance:
		return h(ContentType, "%s got a Content-Type the interface does not document for status %d.", n, cl.Status)
	case check == assert.CheckResponseSchemaConformance || check == "schema":
		return h(SchemaMismatch, "%s got a status %d body that does not conform to the documented schema: the service or its documentation changed.", n, cl.Status)
	case class == 2 && rejecting > accepting:
		return h(ValidationMissing, "%s sent input the interface should refuse and were accepted with status %d: the service does not validate it.", n, cl.Status)
	case class == 4 && accepting >= rejecting && cl.Status == 404:
		return h(TestCaseWrong, "%s sent valid input and got 404: the resource they name does not exist in this environment (set it up, or extract its id from an earlier case).", n)
	case class == 4 && accepting >= rejecting:
		return h(ValidationTooStrict, "%s sent input the schema allows and were refused with status %d: the service validates more strictly than it documents.", n, cl.Status)
	case check == assert.CheckStatusCodeConformance || check == "status":
		return h(WrongStatusCode, "%s got status %d, which the case or the documentation does not expect for this input.", n, cl.Status)
	case cl.Check == ErrorCheck:
		return h(TestCaseWrong, "%s could not be evaluated although a response came back: an assertion or variable of the case is wrong.", n)
	}
	return h(TestCaseWrong, "%s failed %s with status %d: the case's expectation disagrees with the response; check the expectation first.", n, cl.Check, cl.Status)
}
