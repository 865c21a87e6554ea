// Command fakesidecars runs many fake sidecars in one process for the
// scanners' scale run (cp/scanner/scale/run.sh): one loopback listener per
// instance answering TTHeader health frames (cp/scanner/scannertest), all
// registered through the registration API under one shared lease (so that
// a killed sidecar's lease stays alive, as a dead sidecar beside a live app
// would). When the file --kill appears, it kills instance 0 of each of its
// services (closes its listener and connections).
//
// Instance j of service k listens on 127.88.k.(j+1):PORT.
//
// It is a load-run tool: it imports api/registry and cp/scanner/scannertest,
// and must never import cp/store, cp/scanner or proxy/... (it plays sidecars
// from the outside, through the registration API and the wire).
package main
