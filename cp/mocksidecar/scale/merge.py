"""Merges the JSON reports of several `octomesh mocksidecar` processes.

usage: merge.py KILL_UNIX_NS RETURN_UNIX_NS report.json...

Moves that completed before RETURN_UNIX_NS are the failover's (from the
kill), the others the return's.
"""
import json
import sys


def pct(xs, q):
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else 0


def ms(ns):
    return f"{ns / 1e6:.1f} ms"


kill, ret = int(sys.argv[1]), int(sys.argv[2])
samples, failed, sidecars, counters, last_move, errors = {}, 0, 0, {}, 0, []
for path in sys.argv[3:]:
    r = json.load(open(path))
    sidecars += r["sidecars"]
    failed += r["failed"]
    last_move = max(last_move, r.get("last_move_unix_ns", 0))
    for k, v in r.get("counters", {}).items():
        counters[k] = counters.get(k, 0) + v
    for k, v in (r.get("samples_ns") or {}).items():
        samples.setdefault(k, []).extend(v or [])
    for s in r.get("steps") or []:
        errors.extend(s.get("errors") or [])
print(f"{sidecars} sidecars, {failed} failed")
print(f"{'step':<28} {'count':>7} {'p50':>10} {'p90':>10} {'p99':>10} {'max':>10}")
ends = samples.pop("move_end_unix_ns", [])
moves = samples.pop("moves", [])
samples["moves: failover"] = [d for d, e in zip(moves, ends) if e < ret]
samples["moves: return"] = [d for d, e in zip(moves, ends) if e >= ret]
samples["failover: kill -> ACK"] = [e - kill for e in ends if kill <= e < ret]
samples["return: start -> ACK"] = [e - ret for e in ends if e >= ret]
for k in sorted(samples):
    xs = sorted(samples[k])
    if xs:
        print(f"{k:<28} {len(xs):>7} {ms(pct(xs, .5)):>10} {ms(pct(xs, .9)):>10} {ms(pct(xs, .99)):>10} {ms(xs[-1]):>10}")
print("counters:", " ".join(f"{k}={v}" for k, v in sorted(counters.items())))
fail_ends = [e for e in ends if e < ret]
ret_ends = [e for e in ends if e >= ret]
if fail_ends:
    print(f"kill -9 of p2 to the last of its sidecars ACKed by a successor: {ms(max(fail_ends) - kill)} ({len(fail_ends)} moves)")
if ret_ends:
    print(f"p2's return to the last of its sidecars ACKed by it again: {ms(max(ret_ends) - ret)} ({len(ret_ends)} moves)")
for e in errors[:10]:
    print("error:", e)
