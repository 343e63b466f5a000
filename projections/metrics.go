package projections

import "github.com/prometheus/client_golang/prometheus"

// Metrics of every projection, labelled by its name.
type Metrics struct {
	applied   *prometheus.CounterVec
	batchSize *prometheus.HistogramVec
	latency   *prometheus.HistogramVec
	lag       *prometheus.GaugeVec
	failures  *prometheus.CounterVec
	halted    *prometheus.GaugeVec
}

// NewMetrics registers the projection metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		applied: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "assay_projection_events_applied_total",
			Help: "Events applied by a projection."}, []string{"projection"}),
		batchSize: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "assay_projection_batch_size",
			Help: "Events per applied batch.", Buckets: prometheus.ExponentialBuckets(1, 4, 7)}, []string{"projection"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "assay_projection_apply_seconds",
			Help: "Time to apply one batch, transaction included.", Buckets: prometheus.ExponentialBuckets(0.0005, 2.5, 12)}, []string{"projection"}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "assay_projection_lag_events",
			Help: "Stream last sequence minus the projection's checkpoint."}, []string{"projection"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "assay_projection_failures_total",
			Help: "Poison events a projection halted at."}, []string{"projection"}),
		halted: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "assay_projection_halted",
			Help: "1 while a projection is halted at a poison event."}, []string{"projection"}),
	}
	if reg != nil {
		reg.MustRegister(m.applied, m.batchSize, m.latency, m.lag, m.failures, m.halted)
	}
	return m
}
