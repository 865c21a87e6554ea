package deploy

import "embed"

// Monitoring holds the monitoring files by their path below deploy:
// prometheus/prometheus.yml (Kubernetes), prometheus/prometheus-static.yml
// (one machine), prometheus/alerts.yml, grafana/dashboards/*.json and
// grafana/provisioning/*/*.yml.
//
//go:embed prometheus/*.yml grafana/dashboards/*.json grafana/provisioning/*/*.yml
var Monitoring embed.FS
