// Package rules is the rule store: the governance documents of api/rules
// kept in etcd (through cp/store), compiled on every write into the keys
// the pilot reads (store.RoutesKey(app), store.PolicyKey(service)), and
// served over HTTP (NewHandler) to `octomesh ctl` and the console. A
// document lives at store.RuleKey(kind, name); its revision is that key's
// etcd mod revision; its last api/rules.HistoryDepth previous versions stay
// at store.RuleHistoryKey. A write (apply or delete) is one etcd
// transaction, guarded by the revisions it read; after it, a Publisher
// (the dispatcher) is told which compiled keys changed.
//
// It imports api/rules, api/registry and cp/store (its one door to etcd);
// it must never import an etcd client, proxy/..., sdk, cp/pilot, cp/meta
// or cp/scanner (the dispatcher mounts it, not the reverse).
package rules
