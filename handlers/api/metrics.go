package api

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/handlers/command"
)

type metrics struct {
	requests    *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	commands    *prometheus.CounterVec
	appended    *prometheus.CounterVec
	subscribers prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "assay_http_requests_total",
			Help: "HTTP requests by route, method and status."}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "assay_http_request_duration_seconds",
			Help: "HTTP request latency by route and status.", Buckets: prometheus.ExponentialBuckets(0.0005, 2.5, 12)},
			[]string{"route", "method", "status"}),
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "assay_commands_total",
			Help: "Commands by type and outcome (accepted, conflict, invalid, not_found, error)."}, []string{"command", "outcome"}),
		appended: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "assay_events_appended_total",
			Help: "Events appended by the API's commands, by type."}, []string{"type"}),
		subscribers: prometheus.NewGauge(prometheus.GaugeOpts{Name: "assay_sse_subscribers",
			Help: "Open Server-Sent Events streams."}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.latency, m.commands, m.appended, m.subscribers)
	}
	return m
}

func (m *metrics) command(name string, res command.Result, err error) {
	outcome := "accepted"
	switch {
	case err == nil:
	case errors.Is(err, domain.ErrConflict):
		outcome = "conflict"
	case errors.Is(err, domain.ErrInvalid):
		outcome = "invalid"
	case errors.Is(err, domain.ErrNotFound):
		outcome = "not_found"
	default:
		outcome = "error"
	}
	m.commands.WithLabelValues(name, outcome).Inc()
	for _, e := range res.Events {
		if !res.Replayed {
			m.appended.WithLabelValues(e.Type).Inc()
		}
	}
}
