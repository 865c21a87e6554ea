// Package bench measures the mesh the way users run it: every process
// separate, real TTHeader frames with Thrift payloads, on loopback and Unix
// sockets. It is `octomesh bench`.
//
// Three kinds of process take part, all started from the octomesh binary:
//
//   - the orchestrator (Run): starts the topologies, runs the load points
//     against each, samples the proxies' /proc counters at the edges of
//     each measured window, counts their syscalls with perf in the second
//     half of the warmup before it (never in the window: counting slows
//     them), and writes the report
//     (JSON, a Markdown section for docs/performance.md, a PNG plot);
//   - the load generator (`octomesh bench load`, RunLoad), a child per run:
//     open loop at a fixed rate, with latency taken from each request's
//     intended send time into an HdrHistogram (no coordinated omission),
//     requests pipelined on a few connections and matched by seqID; or
//     closed loop with N callers for throughput;
//   - the echo server (`octomesh bench server`, Server): an
//     allocation-free TTHeader/Thrift server that answers like a Kitex
//     server generated from examples/echo/echo.thrift.
//
// The topologies (T0-UDS, T0-TCP, T1, T2, T1-HAProxy, T2-HAProxy) are
// described with their constants; the HAProxy ones are references for T1
// and T2, not targets. Sidecars are started with internal/proc, HAProxy from the
// distribution (install-haproxy.sh installs it). Sidecars and HAProxy are
// pinned to one CPU, the load generator and the server to another.
//
// The real-app mode (RunRealApp, `octomesh bench --realapp`) measures a
// user's app instead: examples/echo's Kitex client and server, built with
// the go command, unpinned, direct and through two octomesh-proxy
// sidecars, in alternating repetitions; the example client is the load and
// prints its result as JSON, which bench reads as bytes (it does not link
// the example).
//
// bench imports codec and internal/proc, and nothing on the request path
// may import it. It must never import proxy/... or cp/...: it measures the
// mesh from outside, as processes.
package bench
