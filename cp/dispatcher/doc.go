// Package dispatcher is the control plane's dispatcher (DESIGN.md section
// 5): outside systems (the rule store, the scanners, an operator's tool)
// publish change notices {kind, key, revision} (api/rules) on a NATS
// JetStream stream; the dispatcher consumes them with a durable consumer
// and forwards each, on core NATS, to the pilots whose apps care: a routes
// notice to the owner of the app, a policy or health notice to the owners
// of every app whose record lists the service (the shard map's assignment,
// cp/shardmap, the one Meta and every pilot compute), and every notice to
// the pilots that are not shards. A pilot fetches the current value from
// etcd: notices carry keys, never values.
//
// A back-check (periodic, after each reassignment, and when a pilot asks
// after it reconnects) asks every pilot which revisions it holds and sends
// notices for the gaps: what was lost while an app moved, while NATS was
// away, or because a publisher failed.
//
// NATS is embedded (nats-server with JetStream, its store in the data
// directory) by default, or external by URL; etcd likewise (cp/store).
// cp/dispatcher/publish is the Go client for publishers; the HTTP API (POST
// /v1/notices, with the operator token) serves those that are not Go.
//
// Its API listener is the operator API (operator.go): besides the publish
// API it serves the rule store (cp/rules: /v1/rules, octomesh ctl) and the
// release service (cp/release: /v1/releases, /v1/artifacts, /v1/agents,
// /v1/nodes), behind one operator token.
//
// dispatcher imports api/rules, api/release, cp/dispatcher/publish,
// cp/release, cp/rules, cp/shardmap, cp/store and stats/exposition of
// OctoMesh. It must never import cp/pilot, cp/meta or cp/scanner (they are
// its peers: they publish through cp/dispatcher/publish), proxy/..., sdk or
// an etcd client.
package dispatcher
