package testenv

import (
	"database/sql"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
)

// fakeTB records Skipf/Fatalf and, like the real ones, ends the calling goroutine.
type fakeTB struct {
	testing.TB // nil: any method not overridden here panics
	skipped    string
	fatal      string
	cleanups   int
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Skipf(format string, args ...any) {
	f.skipped = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (f *fakeTB) Cleanup(func()) { f.cleanups++ }

// call runs fn(f) on its own goroutine, as the testing package does, and reports whether
// fn returned normally (false when Skipf/Fatalf ended it), and what it returned.
func call(f *fakeTB, fn func(testing.TB) string) (got string, returned bool) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		got = fn(f)
		returned = true
	}()
	<-done
	return got, returned
}

var lookups = []struct {
	name, key, server string
	fn                func(testing.TB) string
}{
	{"MySQLDSN", EnvMySQLDSN, "MariaDB", MySQLDSN},
	{"RedisURL", EnvRedisURL, "Redis", RedisURL},
	{"AMQPURL", EnvAMQPURL, "RabbitMQ", AMQPURL},
}

func TestLookupSet(t *testing.T) {
	for _, l := range lookups {
		t.Run(l.name, func(t *testing.T) {
			t.Setenv(l.key, "value-of-"+l.key)
			for _, ci := range []string{"", "true"} {
				t.Setenv("CI", ci)
				f := &fakeTB{}
				got, returned := call(f, l.fn)
				if !returned || got != "value-of-"+l.key || f.skipped != "" || f.fatal != "" {
					t.Errorf("CI=%q: got %q returned=%v skipped=%q fatal=%q", ci, got, returned, f.skipped, f.fatal)
				}
			}
		})
	}
}

func TestLookupMissingSkipsOutsideCI(t *testing.T) {
	for _, l := range lookups {
		t.Run(l.name, func(t *testing.T) {
			t.Setenv(l.key, "")
			t.Setenv("CI", "")
			f := &fakeTB{}
			_, returned := call(f, l.fn)
			if returned {
				t.Fatal("returned normally; want Skipf to end the test")
			}
			if f.fatal != "" {
				t.Fatalf("Fatalf outside CI: %s", f.fatal)
			}
			for _, want := range []string{"go tool task test", l.key, l.server} {
				if !strings.Contains(f.skipped, want) {
					t.Errorf("skip message %q does not mention %q", f.skipped, want)
				}
			}
		})
	}
}

func TestLookupMissingFailsUnderCI(t *testing.T) {
	for _, l := range lookups {
		t.Run(l.name, func(t *testing.T) {
			t.Setenv(l.key, "")
			t.Setenv("CI", "true")
			f := &fakeTB{}
			_, returned := call(f, l.fn)
			if returned {
				t.Fatal("returned normally; want Fatalf to end the test")
			}
			if f.skipped != "" {
				t.Fatalf("skipped under CI: %s", f.skipped)
			}
			for _, want := range []string{"missing", "go tool task test", l.key, l.server} {
				if !strings.Contains(f.fatal, want) {
					t.Errorf("failure message %q does not mention %q", f.fatal, want)
				}
			}
		})
	}
}

func TestNewMySQLDatabaseBadDSN(t *testing.T) {
	t.Setenv(EnvMySQLDSN, "not a dsn")
	f := &fakeTB{}
	_, returned := call(f, NewMySQLDatabase)
	if returned || !strings.Contains(f.fatal, EnvMySQLDSN) || f.cleanups != 0 {
		t.Fatalf("returned=%v fatal=%q cleanups=%d; want Fatalf naming %s and no cleanup", returned, f.fatal, f.cleanups, EnvMySQLDSN)
	}
}

func TestNewMySQLDatabase(t *testing.T) {
	base := MySQLDSN(t) // skips (or fails under CI) without a server
	baseCfg, err := mysql.ParseDSN(base)
	if err != nil {
		t.Fatal(err)
	}

	var names []string
	t.Run("create", func(t *testing.T) {
		for range 2 {
			dsn := NewMySQLDatabase(t)
			cfg, err := mysql.ParseDSN(dsn)
			if err != nil {
				t.Fatalf("returned DSN %q: %v", dsn, err)
			}
			if !strings.HasPrefix(cfg.DBName, "assay_t_") || len(cfg.DBName) != len("assay_t_")+16 {
				t.Fatalf("database name %q, want assay_t_<16 hex digits>", cfg.DBName)
			}
			if cfg.User != baseCfg.User || cfg.Addr != baseCfg.Addr || cfg.ParseTime != baseCfg.ParseTime ||
				cfg.MultiStatements != baseCfg.MultiStatements {
				t.Fatalf("DSN %q lost settings of the base DSN %q", dsn, base)
			}
			names = append(names, cfg.DBName)

			db, err := sql.Open("mysql", dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var current string
			if err := db.QueryRow("SELECT DATABASE()").Scan(&current); err != nil {
				t.Fatal(err)
			}
			if current != cfg.DBName {
				t.Fatalf("connected to database %q, want %q", current, cfg.DBName)
			}
			// multiStatements and parseTime from the base DSN work on the new database.
			if _, err := db.Exec("CREATE TABLE t (id INT PRIMARY KEY, at DATETIME(6) NOT NULL); INSERT INTO t VALUES (1, NOW(6))"); err != nil {
				t.Fatal(err)
			}
			var n int
			if err := db.QueryRow("SELECT COUNT(*) FROM t").Scan(&n); err != nil || n != 1 {
				t.Fatalf("count = %d, %v; want 1", n, err)
			}
		}
		if names[0] == names[1] {
			t.Fatalf("two calls gave the same database %q", names[0])
		}
	})

	// The subtest's cleanups have run: its databases are gone.
	db, err := sql.Open("mysql", base)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, name := range names {
		var n int
		if err := db.QueryRow("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", name).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("database %s still exists after the test ended", name)
		}
	}
}
