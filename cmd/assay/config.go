package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// setting is one configuration value: its ASSAY_* name, default and meaning.
type setting struct {
	env, def, help string
	secret         bool
}

// settings are the names that matter (DESIGN.md, "Configuration").
var settings = []setting{
	{env: "ASSAY_HTTP_ADDR", def: ":8080", help: "the REST API"},
	{env: "ASSAY_METRICS_ADDR", def: ":9091", help: "Prometheus /metrics"},
	{env: "ASSAY_DATA_DIR", def: "./.assay", help: "embedded mode's data (NATS store, SQLite file)"},
	{env: "ASSAY_NATS_URL", def: "", help: "NATS cluster URL(s); empty = embedded server"},
	{env: "ASSAY_NATS_LISTEN", def: "127.0.0.1:4222", help: "where the embedded NATS server listens for subscribers; empty = in-process only"},
	{env: "ASSAY_NATS_SYNC", def: "always", help: "embedded server: 'always' fsyncs before acknowledging; 'lazy' is NATS's 2-minute flush"},
	{env: "ASSAY_STREAM_REPLICAS", def: "1", help: "replicas of the EVENTS stream (3 in a cluster)"},
	{env: "ASSAY_MYSQL_DSN", def: "", help: "MySQL/MariaDB DSN; empty = SQLite in the data dir"},
	{env: "ASSAY_REDIS_URL", def: "", help: "Redis URL; empty = in-process server"},
	{env: "ASSAY_AMQP_URL", def: "", help: "RabbitMQ URL; set = bridge + runners on RabbitMQ"},
	{env: "ASSAY_RUNNER_CONCURRENCY", def: "64", help: "requests a runner sends at once"},
	{env: "ASSAY_RUNNER_ALLOW_METADATA", def: "false", help: "let runners reach link-local and cloud metadata addresses"},
	{env: "ASSAY_JWT_SECRET", def: "", help: "token signing key (a dev secret in embedded mode only)", secret: true},
	{env: "ASSAY_TOKEN_TTL", def: "24h", help: "lifetime of a login token"},
	{env: "ASSAY_RATE_LIMIT", def: "1000", help: "commands per user per second (bursts of twice that)"},
	{env: "ASSAY_LLM_BASE_URL", def: "https://api.deepseek.com", help: "OpenAI-compatible endpoint"},
	{env: "ASSAY_LLM_API_KEY", def: "", help: "LLM key; empty = rule-based generation", secret: true},
	{env: "ASSAY_LLM_MODEL", def: "deepseek-chat", help: "LLM model"},
	{env: "ASSAY_LLM_TIMEOUT", def: "60s", help: "longest wait for one LLM answer; past it, the rules"},
	{env: "ASSAY_LLM_MAX_CONCURRENCY", def: "8", help: "LLM calls in flight at once, per process"},
	{env: "ASSAY_LLM_MAX_TOKENS", def: "4096", help: "longest LLM answer, in tokens"},
	{env: "ASSAY_LLM_TEMPERATURE", def: "0.2", help: "LLM sampling temperature (low: precise cases)"},
	{env: "ASSAY_SMTP_HOST", def: "", help: "SMTP host; empty = reports without email"},
	{env: "ASSAY_SMTP_PORT", def: "587", help: "SMTP port"},
	{env: "ASSAY_SMTP_USER", def: "", help: "SMTP user"},
	{env: "ASSAY_SMTP_PASSWORD", def: "", help: "SMTP password", secret: true},
	{env: "ASSAY_SMTP_FROM", def: "", help: "sender address"},
	{env: "ASSAY_SMTP_ENCRYPTION", def: "starttls", help: "starttls, tls or none"},
	{env: "ASSAY_LOG_LEVEL", def: "info", help: "debug, info, warn or error"},
	{env: "ASSAY_LOG_FILE", def: "logs/service.log", help: "log file beside stdout"},
	{env: "ASSAY_SERVER", def: "http://localhost:8080", help: "the assay server the client commands call"},
	{env: "ASSAY_TOKEN", def: "", help: "the client commands' login token (assay login)", secret: true},
}

// Config is the effective configuration: flags, then ASSAY_* variables, then the file.
type Config struct {
	values map[string]string
	origin map[string]string
}

// Get is a setting's effective value.
func (c Config) Get(env string) string { return c.values[env] }

// loadConfig resolves every setting. flagged holds the values set by flags.
func loadConfig(file string, flagged map[string]string, environ func(string) (string, bool)) (Config, error) {
	c := Config{values: map[string]string{}, origin: map[string]string{}}
	fromFile := map[string]string{}
	if file != "" {
		var err error
		if fromFile, err = readConfigFile(file); err != nil {
			return c, err
		}
	}
	var errs []error
	for k := range fromFile {
		if !known(k) {
			errs = append(errs, fmt.Errorf("config file %s: unknown setting %s", file, k))
		}
	}
	for _, s := range settings {
		c.values[s.env], c.origin[s.env] = s.def, "default"
		if v, ok := fromFile[s.env]; ok {
			c.values[s.env], c.origin[s.env] = v, "file"
		}
		if v, ok := environ(s.env); ok {
			c.values[s.env], c.origin[s.env] = v, "env"
		}
		if v, ok := flagged[s.env]; ok {
			c.values[s.env], c.origin[s.env] = v, "flag"
		}
	}
	return c, errors.Join(errs...)
}

func known(env string) bool {
	for _, s := range settings {
		if s.env == env {
			return true
		}
	}
	return false
}

// readConfigFile reads KEY=value lines (# comments), the same names as the variables.
func readConfigFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("config file %s:%d: want KEY=value", path, n)
		}
		out[strings.TrimSpace(k)] = strings.Trim(strings.TrimSpace(v), `"'`)
	}
	return out, sc.Err()
}

// print writes the effective configuration with secrets masked.
func (c Config) print(w io.Writer) {
	keys := make([]string, 0, len(settings))
	secret := map[string]bool{}
	for _, s := range settings {
		keys = append(keys, s.env)
		secret[s.env] = s.secret
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := c.values[k]
		if secret[k] && v != "" {
			v = "****"
		}
		fmt.Fprintf(w, "%s=%s\t# %s\n", k, v, c.origin[k])
	}
}

// configFlags adds --config and one flag per setting (ASSAY_HTTP_ADDR → --http-addr).
func configFlags(fs *flag.FlagSet) (file *string, collect func() map[string]string) {
	file = fs.String("config", os.Getenv("ASSAY_CONFIG"), "optional config file of ASSAY_*=value lines")
	vals := map[string]*string{}
	for _, s := range settings {
		name := strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(s.env, "ASSAY_")), "_", "-")
		vals[s.env] = fs.String(name, "", s.help+" ("+s.env+")")
	}
	return file, func() map[string]string {
		out := map[string]string{}
		fs.Visit(func(f *flag.Flag) {
			for env, p := range vals {
				if strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(env, "ASSAY_")), "_", "-") == f.Name {
					out[env] = *p
				}
			}
		})
		return out
	}
}
