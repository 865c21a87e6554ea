// Package deploy holds OctoMesh's monitoring set-up, embedded in
// Monitoring: the Prometheus scrape configs and alert rules (prometheus/)
// and the Grafana dashboards and their provisioning (grafana/).
// deploy/kubernetes holds the Kubernetes manifests. docs/operations.md,
// "Prometheus and Grafana", explains how to use them.
//
// The tests start a sidecar and the control plane's servers (Meta, a
// sharded pilot, a scanner, an agent) in the test process, scrape every
// /metrics, and check that each metric a dashboard panel, a dashboard
// variable or an alert names is there, from the component it selects;
// they decode the alert rules and the scrape configs strictly, check the
// dashboards' panels, and run the pod discovery's relabelling over the
// manifests in deploy/kubernetes. The package must never import another
// OctoMesh package (only its tests do).
package deploy
