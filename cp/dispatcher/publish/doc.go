// Package publish puts change notices (api/rules.Notice) on the
// dispatcher's JetStream stream: the publisher of the rule store, the
// scanners, the pilots' own registration writes, and any Go program that
// changes what a pilot serves. It is apart from cp/dispatcher so that a
// publisher links NATS's client only, not the dispatcher's servers.
//
// It must never import cp/... packages: only api/rules and the NATS client.
package publish
