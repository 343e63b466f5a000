package reports_test

import (
	"bytes"
	"context"
	"image"
	_ "image/jpeg" // a screenshot may come back as JPEG
	_ "image/png"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/assay-dev/assay/deploy/local/testenv"
	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/app"
	"github.com/assay-dev/assay/domain/assert"
	"github.com/assay-dev/assay/domain/batch"
	"github.com/assay-dev/assay/domain/testcase"
	"github.com/assay-dev/assay/projections/reports"
)

// browserBatchEvents is a finished batch as the log holds it: twelve cases over three
// interfaces, some failing with their assertions, one errored.
func browserBatchEvents() []domain.Envelope {
	t0 := time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)
	const appID, batchID = "01JAPPBROWSER", "01JBATCHBROWSER"
	sub := batch.Submitted{AppID: appID, BatchID: batchID, OwnerID: "u-1", At: t0,
		Environment: app.Environment{Name: "staging", BaseURL: "https://shop.example.com"},
		Interfaces: []batch.InterfaceRef{
			{ID: "if-list", Name: "list orders", Method: "GET", Path: "/orders"},
			{ID: "if-create", Name: "create order", Method: "POST", Path: "/orders"},
			{ID: "if-get", Name: "get order", Method: "GET", Path: "/orders/{id}"},
		}}
	evs := []domain.Event{&sub}
	ifaces := []string{"if-list", "if-create", "if-get"}
	for i := range 12 {
		id := "case-" + string(rune('a'+i))
		iface := ifaces[i%3]
		sub.Cases = append(sub.Cases, testcase.Case{ID: id, InterfaceID: iface, Name: "order check " + id, Enabled: true})
		r := batch.CaseExecuted{AppID: appID, BatchID: batchID, CaseID: id, InterfaceID: iface, Outcome: batch.Passed,
			StatusCode: 200, DurationMS: float64(15 + 37*i), At: t0.Add(time.Duration(i) * time.Second),
			Request: batch.HTTPRequest{Method: "GET", URL: "https://shop.example.com/orders/" + id,
				Headers: map[string]string{"Accept": "application/json"}},
			Response: batch.HTTPResponse{Status: 200, Headers: map[string]string{"Content-Type": "application/json"},
				Body: `{"id":"` + id + `","total":12.5}`},
			Assertions: []assert.Evaluated{{Target: "status", Op: "eq", Expected: 200, Actual: 200, Passed: true}}}
		switch i {
		case 4, 7:
			r.Outcome, r.StatusCode, r.Response.Status = batch.Failed, 500, 500
			r.Request.Method, r.Request.Body = "POST", `{"quantity":-1}`
			r.Response.Body = `{"error":"internal"}`
			r.Assertions = []assert.Evaluated{{Target: "status", Op: "eq", Expected: 422, Actual: 500,
				Message: "status is 500, want 422"}}
		case 9:
			r.Outcome, r.StatusCode, r.Response = batch.Errored, 0, batch.HTTPResponse{}
			r.Assertions, r.Error = nil, "dial tcp 10.0.0.7:443: i/o timeout"
		}
		evs = append(evs, &r)
	}
	evs = append(evs, &batch.Completed{AppID: appID, BatchID: batchID, DurationMS: 12000, At: t0.Add(12 * time.Second),
		Totals: batch.Totals{Total: 12, Passed: 9, Failed: 2, Errored: 1}, Latency: batch.Latency{P50: 200, P95: 400, P99: 420}})
	envs := make([]domain.Envelope, len(evs))
	for i, ev := range evs {
		envs[i] = domain.Envelope{ID: "ev-" + string(rune('a'+i)), Seq: uint64(i + 1), Data: ev, Time: t0.Add(time.Duration(i) * time.Second)}
	}
	return envs
}

// The HTML report in headless Chromium: it renders (title, summary, the failures, its SVG
// charts), its screenshot is not blank, and it makes no request beyond its own file.
func TestHTMLReportInChromium(t *testing.T) {
	chromium := testenv.Chromium(t)
	in, err := reports.FromEvents(browserBatchEvents())
	if err != nil {
		t.Fatal(err)
	}
	page, _, err := reports.Render(in, reports.HTML)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "report.html")
	if err := os.WriteFile(path, page, 0o600); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.WindowSize(1280, 900))...)
	defer cancelAlloc()
	var mu sync.Mutex
	var requested []string
	tab, cancelTab := chromedp.NewContext(alloc, chromedp.WithListener(func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok && e.Request != nil {
			mu.Lock()
			requested = append(requested, e.Request.URL)
			mu.Unlock()
		}
	}))
	defer cancelTab()

	url := "file://" + filepath.ToSlash(path)
	if err := chromedp.Do(tab, chromedp.Navigate(url)); err != nil {
		t.Fatalf("open %s in %s: %v", url, chromium, err)
	}
	title, err := chromedp.Run(tab, chromedp.Title())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(title, in.Submitted.BatchID) {
		t.Errorf("title %q does not name batch %s", title, in.Submitted.BatchID)
	}
	text, err := chromedp.Run(tab, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Summary", "order check case-e", "status is 500, want 422", "i/o timeout", "create order"} {
		if !strings.Contains(text, want) {
			t.Errorf("the rendered page does not show %q", want)
		}
	}
	charts, err := chromedp.Run(tab, chromedp.Evaluate[int](
		`[...document.querySelectorAll('svg')].filter(s => s.getBoundingClientRect().width > 0).length`))
	if err != nil {
		t.Fatal(err)
	}
	if charts < 2 {
		t.Errorf("%d visible SVG charts, want at least 2 (pass/fail per interface, latency histogram)", charts)
	}
	shot, err := chromedp.Run(tab, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	checkNotBlank(t, shot)

	mu.Lock()
	defer mu.Unlock()
	if len(requested) == 0 {
		t.Fatal("saw no request at all, not even the page's own: the network listener is not working")
	}
	for _, u := range requested {
		if !strings.HasPrefix(u, "file:") && !strings.HasPrefix(u, "data:") {
			t.Errorf("the report made a network request: %s", u)
		}
	}
}

// checkNotBlank decodes a screenshot and wants a page's worth of ink: a fair share of
// pixels that are not white and more than a handful of colours.
func checkNotBlank(t *testing.T, shot []byte) {
	t.Helper()
	img, format, err := image.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("the screenshot does not decode: %v", err)
	}
	b := img.Bounds()
	colours := map[[3]uint32]struct{}{}
	ink := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			c := [3]uint32{r >> 8, g >> 8, bl >> 8}
			colours[c] = struct{}{}
			if c[0] < 245 || c[1] < 245 || c[2] < 245 {
				ink++
			}
		}
	}
	total := b.Dx() * b.Dy()
	t.Logf("screenshot: %s %dx%d, %d colours, %.1f%% non-white pixels", format, b.Dx(), b.Dy(), len(colours), 100*float64(ink)/float64(total))
	if total == 0 || ink*100 < total || len(colours) < 16 {
		t.Errorf("the screenshot looks blank: %d of %d pixels not white, %d colours", ink, total, len(colours))
	}
}
