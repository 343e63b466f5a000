// Command assay is the one binary: every part of the pipeline is a subcommand.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// runFunc runs a subcommand with the effective configuration and its positional args.
type runFunc func(ctx context.Context, cfg Config, args []string, out io.Writer) error

// command is one subcommand; setup adds its own flags and returns what runs it.
type command struct {
	name, summary, example string
	setup                  func(fs *flag.FlagSet) runFunc
}

func plain(r runFunc) func(*flag.FlagSet) runFunc { return func(*flag.FlagSet) runFunc { return r } }

func commands() []command {
	return []command{
		{name: "dev", summary: "run assay in one process with embedded servers", example: "assay dev --demo", setup: devCommand},
		{name: "config", summary: "print the effective configuration, secrets masked", example: "ASSAY_LOG_LEVEL=debug assay config", setup: plain(runConfig)},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, out, errOut io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(errOut)
		return 2
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		fs := flag.NewFlagSet("assay "+c.name, flag.ContinueOnError)
		fs.SetOutput(errOut)
		file, flagged := configFlags(fs)
		runIt := c.setup(fs)
		fs.Usage = func() {
			fmt.Fprintf(errOut, "assay %s: %s\n\nExample:\n  %s\n\nFlags:\n", c.name, c.summary, c.example)
			fs.PrintDefaults()
		}
		if err := fs.Parse(args[1:]); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return 0
			}
			return 2
		}
		cfg, err := loadConfig(*file, flagged(), os.LookupEnv)
		if err != nil {
			fmt.Fprintln(errOut, "assay:", err)
			return 2
		}
		if err := runIt(ctx, cfg, fs.Args(), out); err != nil {
			fmt.Fprintf(errOut, "assay %s: %v\n", c.name, err)
			return 1
		}
		return 0
	}
	fmt.Fprintf(errOut, "assay: unknown command %q\n\n", args[0])
	usage(errOut)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "assay — AI-assisted API testing on an event log\n\nUsage: assay <command> [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nEvery command takes --help, flags, ASSAY_* variables and --config FILE (in that order of precedence).")
}

func runConfig(_ context.Context, cfg Config, _ []string, out io.Writer) error {
	cfg.print(out)
	return nil
}
