package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// This file holds the rule store's primitives (cp/rules owns what the
// values mean): governance documents at RuleKey(kind, name), their
// previous versions at RuleHistoryKey, read by prefix with their
// revisions, and written together with the compiled keys (RoutesKey,
// PolicyKey) in one transaction guarded by the revisions read.

const (
	rulesDir       = keyRoot + "rules/"
	ruleHistoryDir = keyRoot + "rulehistory/"
)

// RulesPrefix is the etcd key prefix of every governance document.
const RulesPrefix = rulesDir

// RuleKindPrefix is the etcd key prefix of the documents of kind.
func RuleKindPrefix(kind string) string { return rulesDir + kind + "/" }

// RuleKey is the etcd key of one document; its mod revision is the
// document's revision.
func RuleKey(kind, name string) string { return RuleKindPrefix(kind) + name }

// RuleHistoryPrefix is the etcd key prefix of a document's previous
// versions.
func RuleHistoryPrefix(kind, name string) string {
	return ruleHistoryDir + kind + "/" + name + "/"
}

// RuleHistoryKey is the etcd key of the version of a document that had
// revision rev.
func RuleHistoryKey(kind, name string, rev int64) string {
	return RuleHistoryPrefix(kind, name) + strconv.FormatInt(rev, 10)
}

// KeyValue is a key as read: its value and the revision of its last
// change.
type KeyValue struct {
	Key         string
	Value       []byte
	ModRevision int64
}

// Range returns every key under prefix, sorted, and the store revision it
// was read at.
func (s *Store) Range(ctx context.Context, prefix string) ([]KeyValue, int64, error) {
	resp, err := s.cli.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend))
	if err != nil {
		return nil, 0, storeError("read "+prefix, err)
	}
	out := make([]KeyValue, len(resp.Kvs))
	for i, kv := range resp.Kvs {
		out[i] = KeyValue{Key: string(kv.Key), Value: kv.Value, ModRevision: kv.ModRevision}
	}
	return out, resp.Header.Revision, nil
}

// Get returns key as read (ModRevision 0 and no value when it is absent):
// as of store revision rev when rev is not 0 (a Range's, to read a key
// consistently with it), else now.
func (s *Store) Get(ctx context.Context, key string, rev int64) (KeyValue, error) {
	var opts []clientv3.OpOption
	if rev != 0 {
		opts = append(opts, clientv3.WithRev(rev))
	}
	resp, err := s.cli.Get(ctx, key, opts...)
	if err != nil {
		return KeyValue{}, storeError("read "+key, err)
	}
	if len(resp.Kvs) == 0 {
		return KeyValue{Key: key}, nil
	}
	kv := resp.Kvs[0]
	return KeyValue{Key: key, Value: kv.Value, ModRevision: kv.ModRevision}, nil
}

// Cond holds when Key's mod revision is ModRevision; 0 means the key is
// absent.
type Cond struct {
	Key         string
	ModRevision int64
}

// Op puts Value at Key, or with Delete, deletes Key.
type Op struct {
	Key    string
	Value  []byte
	Delete bool
}

// ErrTooManyOps: a Commit with more conditions or operations than the
// store's etcd takes in one transaction (MaxTxnOps).
var ErrTooManyOps = errors.New("store: too many operations for one etcd transaction")

// MaxTxnOps is how many conditions, and how many operations, one Commit
// may carry: what the embedded etcd is started with, or etcd's default
// (128, its --max-txn-ops) for an external cluster.
func (s *Store) MaxTxnOps() int {
	if s.etcd != nil {
		return embeddedMaxTxnOps
	}
	return 128
}

// Commit makes ops in one etcd transaction if every cond holds. It
// returns the store revision after the call and whether the ops were
// made (false: a cond did not hold, and nothing was written).
func (s *Store) Commit(ctx context.Context, conds []Cond, ops []Op) (int64, bool, error) {
	if max := s.MaxTxnOps(); len(conds) > max || len(ops) > max {
		return 0, false, fmt.Errorf("%w: %d conditions and %d operations, at most %d of each", ErrTooManyOps, len(conds), len(ops), max)
	}
	cmps := make([]clientv3.Cmp, len(conds))
	for i, c := range conds {
		cmps[i] = clientv3.Compare(clientv3.ModRevision(c.Key), "=", c.ModRevision)
	}
	txOps := make([]clientv3.Op, len(ops))
	for i, o := range ops {
		if o.Delete {
			txOps[i] = clientv3.OpDelete(o.Key)
		} else {
			txOps[i] = clientv3.OpPut(o.Key, string(o.Value))
		}
	}
	resp, err := s.cli.Txn(ctx).If(cmps...).Then(txOps...).Commit()
	if err != nil {
		return 0, false, storeError("commit", err)
	}
	return resp.Header.Revision, resp.Succeeded, nil
}
