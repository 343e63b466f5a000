// Package testenv gives tests the addresses of the real servers they need (MariaDB, Redis,
// RabbitMQ) and fresh MariaDB databases.
//
// The addresses come from the environment variables that `go tool task test` sets after
// deploy/local/services.sh has started the servers:
//
//	ASSAY_TEST_MYSQL_DSN  e.g. assay:assay@tcp(127.0.0.1:3306)/assay_test?parseTime=true&multiStatements=true
//	ASSAY_TEST_REDIS_URL  e.g. redis://127.0.0.1:6379/0
//	ASSAY_TEST_AMQP_URL   e.g. amqp://guest:guest@127.0.0.1:5672/
//
// When a variable is empty the test is skipped, except under CI (env CI non-empty), where a
// missing server is a failure: CI must never pass by skipping.
package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// Names of the environment variables read by this package.
const (
	EnvMySQLDSN = "ASSAY_TEST_MYSQL_DSN"
	EnvRedisURL = "ASSAY_TEST_REDIS_URL"
	EnvAMQPURL  = "ASSAY_TEST_AMQP_URL"
)

// MySQLDSN returns the base DSN of the test MariaDB server (go-sql-driver/mysql format).
// Most tests want NewMySQLDatabase instead.
func MySQLDSN(tb testing.TB) string {
	tb.Helper()
	return lookup(tb, EnvMySQLDSN, "MariaDB")
}

// RedisURL returns the URL of the test Redis server.
func RedisURL(tb testing.TB) string {
	tb.Helper()
	return lookup(tb, EnvRedisURL, "Redis")
}

// AMQPURL returns the URL of the test RabbitMQ server, and holds the server (shared with
// the other tests using it, in this process and in others) until the test ends, so that
// no restart (RestartRabbitMQ) happens meanwhile. Call it before registering the
// cleanups that still use the server: it releases the server after them.
func AMQPURL(tb testing.TB) string {
	tb.Helper()
	url := lookup(tb, EnvAMQPURL, "RabbitMQ")
	holdBroker(tb, false)
	return url
}

// ExclusiveAMQPURL is AMQPURL for a test that restarts the server: it holds the server
// alone until the test ends, waiting first (up to 5 minutes, logged every 5 s, then a
// failure) for the tests holding it to end; tests that start meanwhile wait for this one.
// In its own package, such a test should not be parallel, and parallel tests should call
// AMQPURL after t.Parallel(): a paused parallel test holding the server shared would
// otherwise keep it waiting until it gives up.
func ExclusiveAMQPURL(tb testing.TB) string {
	tb.Helper()
	url := lookup(tb, EnvAMQPURL, "RabbitMQ")
	holdBroker(tb, true)
	return url
}

func lookup(tb testing.TB, key, server string) string {
	tb.Helper()
	if v := os.Getenv(key); v != "" {
		return v
	}
	if os.Getenv("CI") != "" {
		tb.Fatalf("%s server missing: %s is not set; `go tool task test` starts the servers and sets it "+
			"(or run deploy/local/services.sh up and export the lines of deploy/local/services.sh env)", server, key)
		return ""
	}
	tb.Skipf("skipped: needs a %s server and %s is not set; run `go tool task test`, which starts the servers "+
		"and sets it (or deploy/local/services.sh up, then export the lines of deploy/local/services.sh env)", server, key)
	return ""
}

// NewMySQLDatabase creates an empty database named assay_t_<random hex> on the test MariaDB
// server, drops it when the test ends (tb.Cleanup), and returns a DSN pointing at it, with the
// same user, address and parameters as the base DSN.
func NewMySQLDatabase(tb testing.TB) (dsn string) {
	tb.Helper()
	base := MySQLDSN(tb)
	cfg, err := mysql.ParseDSN(base)
	if err != nil {
		tb.Fatalf("testenv: %s is not a valid DSN: %v", EnvMySQLDSN, err)
		return ""
	}

	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand since Go 1.24)
	name := "assay_t_" + hex.EncodeToString(b[:])

	admin := cfg.Clone()
	admin.DBName = ""
	adminDSN := admin.FormatDSN()

	if err := execAdmin(adminDSN, "CREATE DATABASE `"+name+"` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"); err != nil {
		tb.Fatalf("testenv: create database %s on %s: %v", name, cfg.Addr, err)
		return ""
	}
	tb.Cleanup(func() {
		if err := execAdmin(adminDSN, "DROP DATABASE IF EXISTS `"+name+"`"); err != nil {
			tb.Errorf("testenv: drop database %s: %v", name, err)
		}
	})

	out := cfg.Clone()
	out.DBName = name
	return out.FormatDSN()
}

// execAdmin runs one statement on a short-lived connection.
func execAdmin(dsn, stmt string) error {
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, stmt); err != nil {
		return fmt.Errorf("%s: %w", stmt, err)
	}
	return nil
}

// RestartRabbitMQ stops and starts the test RabbitMQ server (deploy/local/services.sh restart
// rabbitmq) and returns when it accepts connections again, typically 5-10 s later. It works only
// on a server that services.sh started itself; it fails the test otherwise. The test holds the
// server alone meanwhile (ExclusiveAMQPURL, called here if the test did not): the other tests
// using it, in any process, are waited for and wait. A test that called AMQPURL cannot restart
// the server (it would wait for itself): it fails; call ExclusiveAMQPURL instead.
func RestartRabbitMQ(tb testing.TB) {
	tb.Helper()
	ExclusiveAMQPURL(tb) // skips (or fails under CI) without a server
	script := RestartableRabbitMQ(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "bash", script, "restart", "rabbitmq").CombinedOutput()
	if err != nil {
		tb.Fatalf("testenv: %s restart rabbitmq: %v\n%s", script, err, out)
	}
}

// RestartableRabbitMQ returns the services script when the RabbitMQ on the test port is
// one it started (and so can restart). A server started otherwise (a developer's own)
// skips the test, or fails it under CI, where services.sh starts every server. Call it
// before the test's work, so a test that cannot restart the server does nothing first.
func RestartableRabbitMQ(tb testing.TB) string {
	tb.Helper()
	script, err := servicesScript()
	if err != nil {
		tb.Fatalf("testenv: %v", err)
		return ""
	}
	out, err := exec.Command("bash", script, "status", "rabbitmq").CombinedOutput()
	if err == nil && strings.Contains(string(out), "started by assay") {
		return script
	}
	msg := fmt.Sprintf("testenv: RabbitMQ cannot be restarted by %s (it did not start it: %s%v); "+
		"run `bash %s down` and `go tool task test`", script, strings.TrimSpace(string(out)), errSuffix(err), script)
	if os.Getenv("CI") != "" {
		tb.Fatalf("%s", msg)
	} else {
		tb.Skipf("%s", msg)
	}
	return ""
}

func errSuffix(err error) string {
	if err == nil {
		return ""
	}
	return "; " + err.Error()
}

// servicesScript finds deploy/local/services.sh in the working directory or above it
// (go test runs in the package's directory).
func servicesScript() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, "deploy", "local", "services.sh")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("deploy/local/services.sh not found above the working directory")
		}
		dir = parent
	}
}
