package dispatcher

import (
	"context"
	"encoding/json"
	"sort"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/octomesh/octomesh/api/rules"
	"github.com/octomesh/octomesh/cp/store"
)

// The back-check finds notices that were lost (an app moving between
// pilots, NATS or a pilot away, a publisher that failed): it asks each
// pilot what it holds, per (kind, key), compares the mod revisions with
// etcd's, and sends a notice for every key the pilot holds in another
// version, or should hold and does not.

// How long a pilot has to answer; how long replies of the pilots that are
// not shards (any number of them, on one subject) are collected.
const (
	revisionsTimeout = 2 * time.Second
	gatherWindow     = time.Second
)

// askBackCheck queues a back-check of target (a shard id, allTarget or
// everyTarget); the loop runs it soon.
func (d *Dispatcher) askBackCheck(target string) {
	if d.opts.BackCheck < 0 {
		return
	}
	d.bcMu.Lock()
	d.bcPending[target] = true
	d.bcMu.Unlock()
	select {
	case d.bcWake <- struct{}{}:
	default:
	}
}

// onBackCheckRequest answers a pilot that asks for a back-check.
func (d *Dispatcher) onBackCheckRequest(m *nats.Msg) {
	var req rules.BackCheckRequest
	if err := json.Unmarshal(m.Data, &req); err != nil {
		_ = m.Respond([]byte(`{"error":"body: ` + err.Error() + `"}`))
		return
	}
	target := req.Pilot
	if target == "" {
		target = allTarget
	}
	d.askBackCheck(target)
	_ = m.Respond([]byte(`{"ok":true}`))
}

// backCheckLoop runs the periodic back-check and those asked for.
func (d *Dispatcher) backCheckLoop() {
	defer d.wg.Done()
	t := time.NewTicker(d.opts.BackCheck)
	defer t.Stop()
	d.askBackCheck(everyTarget) // at start: what went by while no dispatcher ran
	for {
		select {
		case <-d.ctx.Done():
			return
		case <-t.C:
			d.askBackCheck(everyTarget)
		case <-d.bcWake:
		}
		d.bcMu.Lock()
		pending := d.bcPending
		d.bcPending = map[string]bool{}
		d.bcMu.Unlock()
		if len(pending) == 0 {
			continue
		}
		var targets []string
		if pending[everyTarget] {
			for id := range d.idx.Load().a.Pilots {
				targets = append(targets, id)
			}
			targets = append(targets, allTarget)
		} else {
			for t := range pending {
				targets = append(targets, t)
			}
		}
		sort.Strings(targets)
		if err := d.backCheck(d.ctx, targets); err != nil && d.ctx.Err() == nil {
			d.Stats.BackCheckErrors.Add(1)
			d.log.Warn("dispatcher: back-check failed; the next one tries again", "err", err)
		}
	}
}

// current is etcd's state of the keys the back-check compares.
type current struct {
	mods map[string]map[string]int64 // kind -> key -> mod revision
	rev  int64                       // the revision of the reads
}

func (d *Dispatcher) readCurrent(ctx context.Context) (current, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	routes, r1, err := d.Store.ModRevisions(ctx, store.RoutesPrefix)
	if err != nil {
		return current{}, err
	}
	policies, r2, err := d.Store.ModRevisions(ctx, store.PoliciesPrefix)
	if err != nil {
		return current{}, err
	}
	return current{mods: map[string]map[string]int64{rules.KindRoutes: routes, rules.KindPolicy: policies}, rev: min(r1, r2)}, nil
}

// backCheck checks targets (shard ids and allTarget) once each.
func (d *Dispatcher) backCheck(ctx context.Context, targets []string) error {
	cur, err := d.readCurrent(ctx)
	if err != nil {
		return err
	}
	x := d.idx.Load()
	for _, target := range targets {
		if ctx.Err() != nil {
			return nil
		}
		d.Stats.BackCheckRuns.Add(1)
		if target == allTarget {
			for _, held := range d.gatherAll() {
				d.compare(rules.AllPilots, held, nil, cur)
			}
			continue
		}
		if _, ok := x.a.Pilots[target]; !ok {
			continue // gone meanwhile
		}
		subject := rules.PilotSubject(target)
		m, err := d.nc.Request(rules.RevisionsSubject(subject), nil, revisionsTimeout)
		if err != nil {
			d.Stats.BackCheckErrors.Add(1)
			d.log.Debug("dispatcher: pilot did not answer the back-check", "pilot", target, "err", err)
			continue
		}
		var held rules.Held
		if err := json.Unmarshal(m.Data, &held); err != nil {
			d.Stats.BackCheckErrors.Add(1)
			d.log.Warn("dispatcher: bad back-check answer", "pilot", target, "err", err)
			continue
		}
		d.compare(subject, held, x.expected(target), cur)
	}
	return nil
}

// gatherAll asks the pilots that are not shards (any number, all on
// rules.AllPilots) what they hold, and collects the answers that arrive
// within gatherWindow.
func (d *Dispatcher) gatherAll() []rules.Held {
	inbox := d.nc.NewRespInbox()
	sub, err := d.nc.SubscribeSync(inbox)
	if err != nil {
		return nil
	}
	defer sub.Unsubscribe()
	if err := d.nc.PublishRequest(rules.RevisionsSubject(rules.AllPilots), inbox, nil); err != nil {
		return nil
	}
	var out []rules.Held
	deadline := time.Now().Add(gatherWindow)
	for {
		m, err := sub.NextMsg(time.Until(deadline))
		if err != nil {
			return out
		}
		var held rules.Held
		if json.Unmarshal(m.Data, &held) == nil {
			out = append(out, held)
		}
	}
}

// compare sends subject a notice for every key held in another version
// than etcd's, and for every expected key not held.
func (d *Dispatcher) compare(subject string, held rules.Held, expected map[string]map[string]bool, cur current) {
	repair := func(kind, key string) {
		b, _ := json.Marshal(rules.Notice{Kind: kind, Key: key, Revision: cur.rev})
		if err := d.nc.Publish(subject, b); err != nil {
			d.Stats.BackCheckErrors.Add(1)
			return
		}
		d.Stats.BackCheckRepairs.Add(1)
		d.log.Info("dispatcher: back-check repair", "to", subject, "kind", kind, "key", key, "revision", cur.rev)
	}
	for _, kind := range []string{rules.KindRoutes, rules.KindPolicy} {
		have := held.Revisions[kind]
		for key, rev := range have {
			if cur.mods[kind][key] != rev {
				repair(kind, key)
			}
		}
		for key := range expected[kind] {
			if _, ok := have[key]; !ok {
				repair(kind, key)
			}
		}
	}
}
