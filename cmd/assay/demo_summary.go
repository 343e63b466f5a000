package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/assay-dev/assay/cmd/assay/demo"
)

// saveReport waits (bounded) until the batch is analysed and reported, then writes its
// HTML report, a self-contained page, under the data directory.
func saveReport(c *apiClient, dataDir, batchID string) (string, error) {
	for deadline := time.Now().Add(20 * time.Second); ; {
		var b batchView
		if _, err := c.do("GET", "/batches/"+batchID, nil, &b); err != nil {
			return "", err
		}
		if b.Status == "reported" {
			break
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("batch %s is still %s", batchID, b.Status)
		}
		if err := c.sleep(100 * time.Millisecond); err != nil {
			return "", err
		}
	}
	req, err := http.NewRequestWithContext(c.ctx, "GET", c.base+"/batches/"+batchID+"/report?format=html", nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	page, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET the report: %d %v", resp.StatusCode, err)
	}
	path := filepath.Join(dataDir, "reports", batchID+".html")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	return path, os.WriteFile(path, page, 0o644)
}

// bugFinding is a planted bug and the first failing case that caught it, if any.
type bugFinding struct {
	bug     demo.Bug
	caseID  string
	name    string
	message string
}

type evaluated struct {
	Target  string
	Passed  bool
	Message string
}

// findPlantedBugs matches the batch's failed results to demo.Bugs by interface, case
// class and field, and failed check.
func findPlantedBugs(c *apiClient, appID, batchID string) ([]bugFinding, error) {
	type ifc struct{ ID, Method, Path string }
	var ifcs []ifc
	if err := c.list("/apps/"+appID+"/interfaces", &ifcs); err != nil {
		return nil, err
	}
	byID := map[string]ifc{}
	type kase struct{ ID, Name, Class string }
	cases := map[string]kase{}
	for _, i := range ifcs {
		byID[i.ID] = i
		var ks []kase
		if err := c.list("/interfaces/"+i.ID+"/cases", &ks); err != nil {
			return nil, err
		}
		for _, k := range ks {
			cases[k.ID] = k
		}
	}
	var failed []struct {
		CaseID      string `json:"case_id"`
		InterfaceID string `json:"interface_id"`
		Assertions  []evaluated
	}
	if err := c.list("/batches/"+batchID+"/results?outcome=failed", &failed); err != nil {
		return nil, err
	}
	out := make([]bugFinding, len(demo.Bugs))
	for i, bug := range demo.Bugs {
		out[i].bug = bug
		for _, r := range failed {
			in, k := byID[r.InterfaceID], cases[r.CaseID]
			if !strings.EqualFold(in.Method, bug.Method) || in.Path != bug.Path ||
				bug.Class != "" && k.Class != bug.Class || bug.Field != "" && !strings.HasPrefix(k.Name, bug.Field+":") {
				continue
			}
			for _, a := range r.Assertions {
				if !a.Passed && a.Target == bug.Check {
					out[i].caseID, out[i].name, out[i].message = r.CaseID, k.Name, a.Message
					break
				}
			}
			if out[i].caseID != "" {
				break
			}
		}
	}
	return out, nil
}

func printDemoSummary(out io.Writer, opt demoOptions, st demoState, batchID string, b batchView, found []bugFinding, report string) {
	var w bytes.Buffer // one write, so the summary is not interleaved with log lines
	caught := 0
	for _, f := range found {
		if f.caseID != "" {
			caught++
		}
	}
	api := "http://" + displayAddr(opt.apiAddr) + "/api/v1"
	fmt.Fprintf(&w, "\nassay demo: batch %s %s: %d cases — %d passed, %d failed, %d errored (%.1f s, p95 %.0f ms)\n",
		batchID, b.Status, b.Total, b.Passed, b.Failed, b.Errored, float64(b.DurationMS)/1000, b.Latency["p95"])
	fmt.Fprintf(&w, "assay demo: planted bugs: %d of %d caught\n", caught, len(found))
	for _, f := range found {
		if f.caseID == "" {
			fmt.Fprintf(&w, "  [missed] %s — %s %s: %s\n", f.bug.ID, f.bug.Method, f.bug.Path, f.bug.Description)
			continue
		}
		fmt.Fprintf(&w, "  [caught] %s — %s %s: %s\n           by case %q (%s): %s\n",
			f.bug.ID, f.bug.Method, f.bug.Path, f.bug.Description, f.name, f.bug.Check, f.message)
	}
	fmt.Fprintf(&w, "assay demo: report: %s\n", report)
	fmt.Fprintf(&w, "assay demo: open (log in as %s, password in %s):\n", st.Email, filepath.Join(opt.dataDir, demoStateFile))
	fmt.Fprintf(&w, "  API           %s\n", api)
	fmt.Fprintf(&w, "  the batch     %s/batches/%s  (failures: %s/batches/%s/results?outcome=failed)\n", api, batchID, api, batchID)
	fmt.Fprintf(&w, "  event stream  %s/events?app_id=%s&after=0\n", api, st.AppID)
	fmt.Fprintf(&w, "  metrics       http://%s/metrics\n", displayAddr(opt.metricsAddr))
	fmt.Fprintf(&w, "  demo target   %s  (its document: %s/openapi.yaml)\n", opt.targetURL, opt.targetURL)
	fmt.Fprintf(&w, "assay demo: done\n")
	_, _ = out.Write(w.Bytes())
}
