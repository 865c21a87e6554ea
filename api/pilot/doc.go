// Package pilot is the wire contract of a pilot's operator views, which
// cp/inspect (and through it `octomesh ctl` and the console) reads:
//
//	GET /debug/status              []SessionStatus: every session, per
//	                               subscribed resource the version the pilot
//	                               holds next to the one the session ACKed
//	GET /debug/config?node=ID      NodeConfig: what the pilot would send node
//	                               ID now, as Envoy JSON
//	GET /debug/service?name=S      ServiceInfo: S's health marks and every
//	                               app's route rules that send calls to S
//
// It is a leaf: it imports api/registry only, and must never import cp/...
// or proxy/....
package pilot
