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
		{name: "serve", summary: "serve the REST API", example: "ASSAY_JWT_SECRET=... ASSAY_NATS_URL=nats://n1:4222 ASSAY_MYSQL_DSN=... assay serve", setup: plain(runServe)},
		{name: "project", summary: "run the projectors: MySQL tables and Redis views from the log", example: "ASSAY_MYSQL_DSN=... ASSAY_REDIS_URL=redis://127.0.0.1:6379/0 assay project", setup: plain(runProject)},
		{name: "react", summary: "run the reactors: dispatch a batch's requests, complete batches", example: "ASSAY_NATS_URL=nats://n1:4222 assay react", setup: plain(runReact)},
		{name: "runner", summary: "execute cases: real HTTP requests, assertions, results", example: "ASSAY_NATS_URL=nats://n1:4222 assay runner", setup: plain(runRunner)},
		{name: "bridge", summary: "republish execution requests from the log onto RabbitMQ", example: "ASSAY_AMQP_URL=amqp://guest:guest@127.0.0.1:5672/ assay bridge", setup: plain(runBridge)},
		{name: "migrate", summary: "apply the database migrations", example: "ASSAY_MYSQL_DSN='u:p@tcp(127.0.0.1:3306)/assay' assay migrate", setup: plain(runMigrate)},
		{name: "projections", summary: "status | rebuild [--projection NAME] [--to-seq N] | skip NAME SEQ", example: "assay projections rebuild --projection tables", setup: projectionsCommand},
		{name: "reports", summary: "rebuild <batch> [--as-of SEQ|TIME]: render a batch's report again from the log", example: "assay reports rebuild 01J9ZBATCH --as-of 2026-11-26T03:00:00Z --format html --out ./reports", setup: reportsCommand},
		{name: "login", summary: "log in to an assay server and print a token", example: "export ASSAY_TOKEN=$(echo \"$PASSWORD\" | assay login --server https://assay.example.com --email me@example.com --password-stdin)", setup: loginCommand},
		{name: "apps", summary: "list your apps: id, name, default environment", example: "ASSAY_SERVER=https://assay.example.com ASSAY_TOKEN=... assay apps", setup: plain(runApps)},
		{name: "import", summary: "import an OpenAPI document (YAML or JSON) or Postman collection into an app", example: "assay import 01J9ZAPP openapi.yaml", setup: plain(runImport)},
		{name: "generate", summary: "generate cases for an app's interfaces (or one interface) and wait", example: "assay generate 01J9ZAPP --generator rules", setup: generateCommand},
		{name: "run", summary: "run an app's cases; exit 0 all passed, 1 any failed, 2 error (for CI)", example: "assay run 01J9ZAPP --env staging --junit report.xml --html report.html --timeout 10m", setup: runCommand},
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
	if len(args) == 0 {
		usage(errOut)
		return 2
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(out) // asked for: the answer, not an error
		return 0
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
		positional, err := parseInterspersed(fs, args[1:])
		if err != nil {
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
		if err := runIt(ctx, cfg, positional, out); err != nil {
			fmt.Fprintf(errOut, "assay %s: %v\n", c.name, err)
			var coded interface{ ExitCode() int }
			if errors.As(err, &coded) {
				return coded.ExitCode()
			}
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

// parseInterspersed parses flags wherever they stand, so that
// `assay projections rebuild --projection tables` works like `--projection tables rebuild`.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		if rest[0] == "--" {
			return append(positional, rest[1:]...), nil
		}
		positional, args = append(positional, rest[0]), rest[1:]
	}
}
