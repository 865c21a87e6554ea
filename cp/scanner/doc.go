// Package scanner is central health checking (DESIGN.md section 5): the
// scanners check every registered instance's sidecar once per period,
// instead of every sidecar probing every peer, and write what they find
// into the registry, from where the pilots push it to every interested
// sidecar over EDS (HealthStatus UNHEALTHY).
//
//   - Sharding (scanner.go, inventory.go): each scanner holds a leased key
//     in the shard map (cp/shardmap.ScannerKey) and follows the others';
//     the instances of a zone (by sidecar address: one check covers every
//     service behind a sidecar) are split among that zone's scanners by
//     consistent hashing (shardmap.Ring), so each is checked by one scanner
//     per period. When a scanner leaves, its addresses go to their next
//     successors on the ring; when it returns, they come back.
//   - A check (probe.go) is a TTHeader health frame on a kept connection to
//     the sidecar's inbound address; the sidecar answers for itself and for
//     its app (proxy/server's app check).
//   - Thresholds and the double check (checker.go, confirm.go): after Fall
//     failures in a row, the owner asks the next scanner on the ring to
//     check too (POST /v1/confirm; alone in its zone, it checks again on a
//     new connection); only a confirmed failure writes the marks. After
//     Rise successes a marked instance's marks are deleted.
//   - Marks (cp/store.PutHealthMark) live beside the instance without a
//     lease: they survive a scanner restart; a new registration clears
//     them. An instance is down while any of its services has a mark.
//   - Fast path (http.go): a pilot whose stream from a sidecar drops asks
//     the owner to check it now (POST /v1/check); a failure found so goes
//     straight to the double check.
//
// With Options.NATSURL it publishes a health notice (api/rules) after
// each mark it writes or clears, through cp/dispatcher/publish, in
// the background.
//
// With Options.HTTPTLS its port is mutual TLS, and check-now and confirm
// requests are served only from pilots and scanners (identity.go).
//
// scanner reaches etcd only through cp/store, and imports api/ca (to read a
// caller's identity), api/registry,
// api/rules, api/scanner, codec, config, cp/dispatcher/publish and
// cp/shardmap. It must never import
// proxy/..., sdk, cp/pilot or cp/meta: pilots and scanners are peers that
// meet in the registry and over api/scanner.
package scanner
