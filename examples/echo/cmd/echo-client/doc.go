// Command echo-client sends a closed-loop load of echo requests to a Unix
// socket (the local sidecar's, or an echo server's for a direct run),
// checks every answer, and prints one line: requests, errors, throughput and
// latency percentiles. It exits with status 1 if any request failed, got a
// wrong answer, or was not sent before -max-duration, and 2 on bad usage.
// With -n 0 its callers call for -duration instead of sending a number of
// requests; -json prints the result as one JSON line (what `octomesh bench
// --realapp` reads).
//
// With -rate it sends an open-loop load instead: -rate calls a second for
// -duration, whatever the answers, and prints a JSON summary of what came
// back (answers, and failures by the mesh's error kind with a message
// each); it exits 0 however many calls failed.
//
// Like any app, it reaches the mesh through the sdk and the wire protocol
// only: it must never import proxy/... or cp/....
package main
