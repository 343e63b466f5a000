// Package api serves assay's REST API (API.md) on Echo: commands go through
// handlers/command, queries read the projected tables and views.
package api

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sirupsen/logrus"
	"github.com/uptrace/bun"
	"golang.org/x/crypto/bcrypt"

	"github.com/assay-dev/assay/handlers/command"
	"github.com/assay-dev/assay/projections"
	"github.com/assay-dev/assay/projections/tables"
	"github.com/assay-dev/assay/projections/views"
)

// DevSecret is the JWT secret of the embedded mode; any other mode refuses it.
const DevSecret = "assay-dev-secret-do-not-use-in-production"

// Config tunes the API.
type Config struct {
	JWTSecret       string
	TokenTTL        time.Duration // default 24h
	Embedded        bool          // the one-process dev mode: the dev secret is allowed
	BodyLimit       int64         // default 5 MiB
	ImportBodyLimit int64         // default 20 MiB
	RatePerSecond   float64       // commands per user per second, default 1,000
	RateBurst       int           // default 2,000
	MinSeqWait      time.Duration // longest wait for min_seq, default 5s
	ShutdownGrace   time.Duration // requests in flight get this long, default 10s
	BcryptCost      int           // password hashing cost, default bcrypt.DefaultCost (tests lower it)
	AuthRate        float64       // register and login attempts per client address per second, default 10
}

func (c *Config) setDefaults() {
	if c.JWTSecret == "" && c.Embedded {
		c.JWTSecret = DevSecret
	}
	if c.TokenTTL == 0 {
		c.TokenTTL = 24 * time.Hour
	}
	if c.BodyLimit == 0 {
		c.BodyLimit = 5 << 20
	}
	if c.ImportBodyLimit == 0 {
		c.ImportBodyLimit = 20 << 20
	}
	if c.RatePerSecond == 0 {
		c.RatePerSecond = 1000
	}
	if c.RateBurst == 0 {
		c.RateBurst = 2000
	}
	if c.MinSeqWait == 0 {
		c.MinSeqWait = 5 * time.Second
	}
	if c.ShutdownGrace == 0 {
		c.ShutdownGrace = 10 * time.Second
	}
	if c.AuthRate == 0 {
		c.AuthRate = 10
	}
	if c.BcryptCost == 0 {
		c.BcryptCost = bcrypt.DefaultCost
	}
}

// Validate reports every bad setting.
func (c Config) Validate() error {
	var errs []error
	switch {
	case c.JWTSecret == "":
		errs = append(errs, errors.New("api: a JWT secret is required (ASSAY_JWT_SECRET)"))
	case c.JWTSecret == DevSecret && !c.Embedded:
		errs = append(errs, errors.New("api: the dev JWT secret is only for the embedded mode; set ASSAY_JWT_SECRET"))
	case len(c.JWTSecret) < 16:
		errs = append(errs, errors.New("api: the JWT secret must have at least 16 characters"))
	}
	if c.TokenTTL < time.Minute || c.BodyLimit < 1024 || c.ImportBodyLimit < c.BodyLimit {
		errs = append(errs, errors.New("api: TokenTTL ≥ 1m, BodyLimit ≥ 1 KiB and ImportBodyLimit ≥ BodyLimit"))
	}
	if c.RatePerSecond <= 0 || c.RateBurst < 1 || c.MinSeqWait <= 0 {
		errs = append(errs, errors.New("api: RatePerSecond, RateBurst and MinSeqWait must be positive"))
	}
	return errors.Join(errs...)
}

// Deps are what the API stands on.
type Deps struct {
	Commands *command.Handler
	DB       *bun.DB // credentials and idempotency keys (primary stores)
	Tables   *tables.Reader
	Views    *views.Reader
	Waiter   projections.Waiter // read-your-writes for min_seq
	Ready    func(ctx context.Context) error
	Log      logrus.FieldLogger
	Registry prometheus.Registerer
}

// Server is the HTTP API.
type Server struct {
	cfg     Config
	deps    Deps
	log     logrus.FieldLogger
	echo    *echo.Echo
	metrics *metrics
	limits  *limiter
	auth    *limiter // register and login, per client address
	batches *batchCache
	creds   *credentials
	idem    *idempotency
	stop    chan struct{} // closed at shutdown: long-lived streams end
	// heartbeat is the SSE heartbeat interval; 0 = every 15 s (tests shorten it).
	heartbeat time.Duration
}

// New builds the server and its routes.
func New(cfg Config, deps Deps) (*Server, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Commands == nil || deps.DB == nil || deps.Tables == nil || deps.Waiter == nil {
		return nil, errors.New("api: Commands, DB, Tables and Waiter are required")
	}
	if deps.Log == nil {
		deps.Log = logrus.New()
	}
	s := &Server{cfg: cfg, deps: deps, log: deps.Log, echo: echo.New(), metrics: newMetrics(deps.Registry),
		limits: newLimiter(cfg.RatePerSecond, cfg.RateBurst), auth: newLimiter(cfg.AuthRate, int(2*cfg.AuthRate)+1), batches: newBatchCache(10_000), creds: &credentials{db: deps.DB, cost: cfg.BcryptCost},
		idem: &idempotency{db: deps.DB}, stop: make(chan struct{})}
	s.echo.HideBanner, s.echo.HidePort = true, true
	s.echo.HTTPErrorHandler = s.errorHandler
	s.routes()
	return s, nil
}

// Handler is the server as an http.Handler (for tests and embedding).
func (s *Server) Handler() http.Handler { return s.echo }

// Serve answers on ln until ctx ends, then finishes requests in flight within the grace.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: s.echo, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("api: serve: %w", err)
	case <-ctx.Done():
	}
	close(s.stop)
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("api: shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
