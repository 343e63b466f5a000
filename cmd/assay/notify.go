package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sirupsen/logrus"

	cmdhandler "github.com/assay-dev/assay/handlers/command"
	"github.com/assay-dev/assay/handlers/reactor"
)

// notifierConfig reads the ASSAY_SMTP_* settings. An empty host leaves email off: each
// report is then recorded as a skipped notification.
func notifierConfig(cfg Config) (reactor.NotifierConfig, error) {
	nc := reactor.NotifierConfig{
		Host:       strings.TrimSpace(cfg.Get("ASSAY_SMTP_HOST")),
		User:       cfg.Get("ASSAY_SMTP_USER"),
		Password:   cfg.Get("ASSAY_SMTP_PASSWORD"),
		From:       strings.TrimSpace(cfg.Get("ASSAY_SMTP_FROM")),
		Encryption: strings.ToLower(strings.TrimSpace(cfg.Get("ASSAY_SMTP_ENCRYPTION"))),
	}
	// The port's default (587) is STARTTLS's: left at its default, the port follows the
	// encryption (465 for tls, 25 for none).
	if v := strings.TrimSpace(cfg.Get("ASSAY_SMTP_PORT")); v != "" && cfg.origin["ASSAY_SMTP_PORT"] != "default" {
		p, err := strconv.Atoi(v)
		if err != nil {
			return nc, fmt.Errorf("ASSAY_SMTP_PORT: %w", err)
		}
		nc.Port = p
	}
	return nc, nil
}

// startNotifier builds the email reactor from cfg; the caller runs it.
func startNotifier(_ context.Context, handler *cmdhandler.Handler, cfg Config, reg prometheus.Registerer, log logrus.FieldLogger) (*reactor.Reactor, error) {
	nc, err := notifierConfig(cfg)
	if err != nil {
		return nil, err
	}
	n, err := reactor.NewNotifier(handler, nc, reg)
	if err != nil {
		return nil, err
	}
	if nc.Host == "" {
		log.Info("ASSAY_SMTP_HOST is empty: reports are not emailed, their notifications are recorded as skipped")
	}
	return n.Reactor(reactor.Config{}, log, reg)
}
