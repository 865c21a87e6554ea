// Package hotrestart hands a sidecar's listening sockets and state from a
// running process to its replacement over a Unix socket (SCM_RIGHTS).
//
// The old process listens on a hand-over socket (Control). The new one
// connects (Take), says hello, and receives every listening socket by name,
// the hand-over socket itself included, plus State. It starts serving on
// them and says Ready; only then does the old process stop accepting and
// drain. If the new process fails, says Failed, or dies before Ready, the
// old one has never stopped serving: that is the rollback.
//
// hotrestart must never import proxy/server (the server drives it) or
// cp/....
package hotrestart
