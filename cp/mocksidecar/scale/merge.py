"""Merges the JSON reports of several `octomesh mocksidecar` processes.

usage: merge.py KILL_UNIX_NS report.json...
"""
import json
import sys


def pct(xs, q):
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else 0


def ms(ns):
    return f"{ns / 1e6:.1f} ms"


kill = int(sys.argv[1])
samples, failed, sidecars, counters, last_move, errors = {}, 0, 0, {}, 0, []
for path in sys.argv[2:]:
    r = json.load(open(path))
    sidecars += r["sidecars"]
    failed += r["failed"]
    last_move = max(last_move, r.get("last_move_unix_ns", 0))
    for k, v in r.get("counters", {}).items():
        counters[k] = counters.get(k, 0) + v
    for k, v in (r.get("samples_ns") or {}).items():
        samples.setdefault(k, []).extend(v)
    for s in r.get("steps") or []:
        errors.extend(s.get("errors") or [])
print(f"{sidecars} sidecars, {failed} failed")
print(f"{'step':<28} {'count':>7} {'p50':>10} {'p90':>10} {'p99':>10} {'max':>10}")
for k in sorted(samples):
    xs = sorted(samples[k])
    if xs:
        print(f"{k:<28} {len(xs):>7} {ms(pct(xs, .5)):>10} {ms(pct(xs, .9)):>10} {ms(pct(xs, .99)):>10} {ms(xs[-1]):>10}")
print("counters:", " ".join(f"{k}={v}" for k, v in sorted(counters.items())))
if last_move:
    print(f"kill -9 of p2 to the last of its sidecars ACKed by a successor: {ms(last_move - kill)}")
for e in errors[:10]:
    print("error:", e)
