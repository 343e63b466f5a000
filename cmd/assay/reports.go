package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/eventstore"
	"github.com/assay-dev/assay/projections/reports"
)

// reportsCommand is `assay reports rebuild <batch>`: the batch's report rendered again from
// the log alone, as it stood at --as-of. It prints one `sha256  path` line per file
// (sha256sum's format, so `sha256sum -c` checks a later rebuild against it).
func reportsCommand(fs *flag.FlagSet) runFunc {
	asOfFlag := fs.String("as-of", "", "only the events up to this stream sequence (e.g. 1234) or time (RFC 3339, e.g. 2026-11-26T03:00:00Z; events at or before it); default: all")
	format := fs.String("format", "all", "html, json, junit, md or all")
	outDir := fs.String("out", ".", "directory to write the report files into (created if missing)")
	return func(ctx context.Context, cfg Config, args []string, out io.Writer) error {
		if len(args) != 2 || args[0] != "rebuild" {
			return cliFail(errors.New("usage: assay reports rebuild <batch> [--as-of SEQ|TIME] [--format F] [--out DIR]"))
		}
		batchID := args[1]
		if !domain.ValidID(batchID) {
			return cliFail(fmt.Errorf("%q is not a batch id", batchID))
		}
		cut, err := parseAsOf(*asOfFlag)
		if err != nil {
			return cliFail(err)
		}
		formats, err := reportFormats(*format)
		if err != nil {
			return cliFail(err)
		}
		store, closeStore, err := openStore(ctx, cfg, newLogger(cfg, io.Discard))
		if err != nil {
			if cfg.Get("ASSAY_NATS_URL") == "" && cfg.Get("ASSAY_NATS_LISTEN") != "" {
				// Most often `assay dev` holds the data directory and the port: read through it.
				return fmt.Errorf("%w (if assay dev is running, pass --nats-url nats://%s)", err, cfg.Get("ASSAY_NATS_LISTEN"))
			}
			return err
		}
		defer closeStore()
		in, err := loadReportInput(ctx, store, batchID, cut)
		if err != nil {
			return err
		}
		return writeReports(in, batchID, formats, *outDir, out)
	}
}

// asOf bounds the events a rebuild reads: by stream sequence or by event time (zero: none).
type asOf struct {
	seq uint64
	at  time.Time
}

func parseAsOf(s string) (asOf, error) {
	if s == "" {
		return asOf{}, nil
	}
	if n, err := strconv.ParseUint(s, 10, 64); err == nil {
		if n == 0 {
			return asOf{}, errors.New("--as-of: sequences start at 1")
		}
		return asOf{seq: n}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return asOf{}, fmt.Errorf("--as-of %q: want a stream sequence or an RFC 3339 time", s)
	}
	return asOf{at: t}, nil
}

func (a asOf) includes(e domain.Envelope) bool {
	switch {
	case a.seq > 0:
		return e.Seq <= a.seq
	case !a.at.IsZero():
		return !e.Time.After(a.at)
	}
	return true
}

func (a asOf) String() string {
	switch {
	case a.seq > 0:
		return "sequence " + strconv.FormatUint(a.seq, 10)
	case !a.at.IsZero():
		return a.at.Format(time.RFC3339Nano)
	}
	return "now"
}

func reportFormats(s string) ([]string, error) {
	if s == "all" {
		return reports.Formats, nil
	}
	if !slices.Contains(reports.Formats, s) {
		return nil, fmt.Errorf("--format %q: want %s or all", s, strings.Join(reports.Formats, ", "))
	}
	return []string{s}, nil
}

// loadReportInput reads the batch's events — its own subject and its tree, under whichever
// app owns it — keeps those the cut includes, and folds them into a report's input.
func loadReportInput(ctx context.Context, store *eventstore.Store, batchID string, cut asOf) (reports.Input, error) {
	evs, _, err := store.Load(ctx, domain.BatchSubject("*", batchID), domain.BatchTree("*", batchID))
	if err != nil {
		return reports.Input{}, fmt.Errorf("load batch %s: %w", batchID, err)
	}
	if len(evs) == 0 {
		return reports.Input{}, cliFail(fmt.Errorf("no batch %s in the log (stream %s)", batchID, store.StreamName()))
	}
	kept := slices.DeleteFunc(evs, func(e domain.Envelope) bool { return !cut.includes(e) })
	in, err := reports.FromEvents(kept)
	if errors.Is(err, reports.ErrNoSubmission) {
		return reports.Input{}, cliFail(fmt.Errorf("batch %s had not been submitted as of %s", batchID, cut))
	}
	if err != nil {
		return reports.Input{}, fmt.Errorf("batch %s: %w", batchID, err)
	}
	return in, nil
}

// reportFile names a format's file: report-<batch>.<ext>.
func reportFile(batchID, format string) string {
	ext := map[string]string{reports.JUnit: "junit.xml"}[format]
	if ext == "" {
		ext = format
	}
	return "report-" + batchID + "." + ext
}

func writeReports(in reports.Input, batchID string, formats []string, dir string, out io.Writer) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	for _, f := range formats {
		body, _, err := reports.Render(in, f)
		if err != nil {
			return fmt.Errorf("render %s: %w", f, err)
		}
		path := filepath.Join(dir, reportFile(batchID, f))
		if err := os.WriteFile(path, body, 0o644); err != nil {
			return fmt.Errorf("write %s report: %w", f, err)
		}
		sum := sha256.Sum256(body)
		fmt.Fprintf(out, "%s  %s\n", hex.EncodeToString(sum[:]), path)
	}
	return nil
}
