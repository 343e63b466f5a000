package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"text/tabwriter"

	"github.com/assay-dev/assay/eventstore"
	"github.com/assay-dev/assay/migrations"
	"github.com/assay-dev/assay/projections"
)

// runMigrate applies the database migrations: `assay migrate`.
func runMigrate(ctx context.Context, cfg Config, _ []string, out io.Writer) error {
	log := newLogger(cfg, out)
	rs, err := openReadSide(ctx, cfg, log) // opening migrates
	if err != nil {
		return err
	}
	defer rs.close()
	if err := migrations.Migrate(ctx, rs.db); err != nil { // again: a no-op that proves it
		return err
	}
	fmt.Fprintln(out, "assay: migrations applied")
	return nil
}

// projectionsCommand is `assay projections status|rebuild|skip`.
func projectionsCommand(fs *flag.FlagSet) runFunc {
	only := fs.String("projection", "", "rebuild: only this projection (tables or views)")
	toSeq := fs.Uint64("to-seq", 0, "rebuild: stop at this stream sequence (the read side as of then)")
	return func(ctx context.Context, cfg Config, args []string, out io.Writer) error {
		if len(args) == 0 {
			return errors.New("want status, rebuild or skip (see --help)")
		}
		log := newLogger(cfg, io.Discard)
		store, closeStore, err := openStore(ctx, cfg, log)
		if err != nil {
			return err
		}
		defer closeStore()
		rs, err := openReadSide(ctx, cfg, log)
		if err != nil {
			return err
		}
		defer rs.close()
		switch args[0] {
		case "status":
			return projectionStatus(ctx, rs, store.LastSeq, out)
		case "rebuild":
			return rebuildProjections(ctx, rs, store, *only, *toSeq, out)
		case "skip":
			return skipPoison(ctx, rs, args[1:], out)
		}
		return fmt.Errorf("unknown projections command %q: want status, rebuild or skip", args[0])
	}
}

func projectionStatus(ctx context.Context, rs *readSide, last func(context.Context) (uint64, error), out io.Writer) error {
	streamLast, err := last(ctx)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "PROJECTION\tCHECKPOINT\tLAG\tEPOCH\tSTATE")
	names := sortedKeys(rs.projections())
	for _, name := range names {
		cp, err := rs.projections()[name].Checkpoint(ctx)
		if err != nil {
			return err
		}
		f, err := rs.tables.OpenFailure(ctx, name)
		if err != nil {
			return err
		}
		state := "ok"
		if f != nil {
			state = fmt.Sprintf("halted at %d (%s): %s — `assay projections skip %s %d` moves past it", f.Seq, f.EventType, f.Reason, name, f.Seq)
		}
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%s\n", name, cp.Seq, streamLast-min(cp.Seq, streamLast), cp.Epoch, state)
	}
	return w.Flush()
}

func rebuildProjections(ctx context.Context, rs *readSide, store *eventstore.Store, only string, toSeq uint64, out io.Writer) error {
	all := rs.projections()
	names := sortedKeys(all)
	if only != "" {
		if _, ok := all[only]; !ok {
			return fmt.Errorf("no projection %q (have %v)", only, names)
		}
		names = []string{only}
	}
	for _, name := range names {
		fmt.Fprintf(out, "rebuilding %s…\n", name)
		through, err := projections.Rebuild(ctx, store, all[name], projections.RebuildOptions{ToSeq: toSeq})
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%s rebuilt through sequence %d and swapped in\n", name, through)
	}
	return nil
}

func skipPoison(ctx context.Context, rs *readSide, args []string, out io.Writer) error {
	if len(args) != 2 {
		return errors.New("usage: assay projections skip <projection> <seq>")
	}
	seq, err := strconv.ParseUint(args[1], 10, 64)
	if err != nil {
		return fmt.Errorf("seq %q: %w", args[1], err)
	}
	if err := rs.tables.Skip(ctx, args[0], seq); err != nil {
		return err
	}
	fmt.Fprintf(out, "%s: event %d skipped deliberately; the projection goes on after it\n", args[0], seq)
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
