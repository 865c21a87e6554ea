// Command driver is the dispatcher's scale run's rule writer
// (cp/dispatcher/scale/run.sh): it applies Route documents through the
// rule API (the dispatcher's operator API, api/rules.Client) at a fixed
// rate, one app's document per change, apps in turn, and stamps each
// change with the time it sent it: the Route's cluster is named
// "<service>.t<Unix ns>", which a mock sidecar with route_stamps reads
// back from its RouteConfiguration to time the change to its ACK. It
// writes one JSON line per change (app, stamp, when the apply answered,
// the write's etcd revision, any error) and a summary.
//
//	driver --seed --apps 1000 ...          # one unstamped Route per app, in batches
//	driver --apps 1000 --rate 100 --duration 60s --out changes.jsonl
//
// It is a client of the rule API: it imports api/rules only, and must
// never import cp/... (no server in it).
package main
