// Package monitoring holds what Tether ships for Prometheus and Grafana:
// alert rules (alert-rules.yaml, and the same as a PrometheusRule in
// prometheusrule.yaml) and Grafana dashboards under dashboards/, one for
// Argo CD Applications, one for Flux objects and one for Tether's own
// control plane. It has no Go code; its test checks that the dashboards
// are well formed and that every query parses and names a metric Tether
// exports.
package monitoring
