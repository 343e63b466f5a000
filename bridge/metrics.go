package bridge

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the bridge's Prometheus series (Config.Registerer), labelled with the
// durable's name so that several bridges can share a registry.
type metrics struct {
	published, confirmed, nacked, returned, undecodable, reconnects prometheus.Counter

	unconfirmed prometheus.Gauge // published, awaiting RabbitMQ's confirmation
	ready       prometheus.Gauge // 1 while connected with the topology declared
	confirm     prometheus.Histogram
}

func newMetrics(consumer string, reg prometheus.Registerer) (metrics, error) {
	labels := prometheus.Labels{"consumer": consumer}
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: "assay_bridge_" + name, Help: help, ConstLabels: labels})
	}
	gauge := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Name: "assay_bridge_" + name, Help: help, ConstLabels: labels})
	}
	m := metrics{
		published:   counter("published_total", "Execution requests published to RabbitMQ."),
		confirmed:   counter("confirmed_total", "Publications confirmed by RabbitMQ (then acknowledged on JetStream)."),
		nacked:      counter("nacked_total", "Publications refused by RabbitMQ or unconfirmed when a channel closed (handed back to JetStream)."),
		returned:    counter("returned_total", "Publications returned as unroutable (handed back to JetStream)."),
		undecodable: counter("undecodable_total", "Log messages that were no execution request (terminated)."),
		reconnects:  counter("reconnects_total", "RabbitMQ sessions opened after the first one."),
		unconfirmed: gauge("unconfirmed", "Publications awaiting RabbitMQ's confirmation (the window in use)."),
		ready:       gauge("ready", "1 while the bridge is connected to RabbitMQ with its topology declared, else 0."),
		confirm: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "assay_bridge_confirm_seconds", Help: "Time from publication to RabbitMQ's positive confirmation.",
			ConstLabels: labels, Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.published, m.confirmed, m.nacked, m.returned, m.undecodable,
		m.reconnects, m.unconfirmed, m.ready, m.confirm} {
		if err := reg.Register(c); err != nil {
			return m, fmt.Errorf("bridge: register metrics: %w", err)
		}
	}
	return m, nil
}
