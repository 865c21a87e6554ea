"""Merges the dispatcher scale run's reports (cp/dispatcher/scale/run.sh).

usage: merge.py --apps N --sidecars N --changes changes.jsonl [--json out.json] mock.json...

The mock sidecars' "route stamp -> ACK" samples (with their stamps) are
joined with the driver's changes by stamp: for every (change, interested
sidecar), apply -> ACK, and its two parts: the apply (the driver's send to
the rule API's answer) and the rest (the answer to the sidecar's ACK).
Interested sidecars: sidecar i is app-(i mod APPS)'s, i from 0 to
SIDECARS-1, so each change is expected once per sidecar of its app.
"""
import argparse
import collections
import json

ap = argparse.ArgumentParser()
ap.add_argument("--apps", type=int, required=True)
ap.add_argument("--sidecars", type=int, required=True)
ap.add_argument("--changes", required=True)
ap.add_argument("--json")
ap.add_argument("reports", nargs="+")
a = ap.parse_args()

changes = {}
failed_applies = 0
for line in open(a.changes):
    c = json.loads(line)
    if c.get("error"):
        failed_applies += 1
        continue
    changes[c["stamp_ns"]] = c
per_app = collections.Counter(f"app-{i % a.apps}" for i in range(a.sidecars))

total, rest, applies, unknown = [], [], [], 0
seen = collections.Counter()
sidecars = failed = 0
errors = []
for path in a.reports:
    r = json.load(open(path))
    sidecars += r["sidecars"]
    failed += r["failed"]
    for s in r.get("steps") or []:
        errors.extend(s.get("errors") or [])
    lat = (r.get("samples_ns") or {}).get("route stamp -> ACK", [])
    at = (r.get("samples_ns") or {}).get("route_stamp_unix_ns", [])
    for d, st in zip(lat, at):
        c = changes.get(st)
        if c is None:
            unknown += 1  # a stamp no successful apply sent
            continue
        seen[st] += 1
        total.append(d)
        rest.append(st + d - c["done_ns"])
for c in changes.values():
    applies.append(c["done_ns"] - c["stamp_ns"])
expected = sum(per_app[c["app"]] for c in changes.values())
# A change superseded before it arrived (the next change of the same app
# reached the sidecar first) is not a loss: count those apart.
by_app = collections.defaultdict(list)
for st, c in changes.items():
    by_app[c["app"]].append(st)
superseded = 0
for app, stamps in by_app.items():
    stamps.sort()
    for st in stamps[:-1]:
        superseded += max(0, per_app[app] - seen[st])
missing_last = sum(max(0, per_app[app] - seen[stamps[-1]]) for app, stamps in by_app.items())


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else 0


def row(name, xs):
    return {"count": len(xs), **{k: round(pct(xs, q) / 1e6, 2) for k, q in (("p50_ms", .5), ("p90_ms", .9), ("p99_ms", .99))},
            "max_ms": round(max(xs) / 1e6, 2) if xs else 0}


out = {
    "sidecars": sidecars, "sidecars_failed": failed, "changes": len(changes), "applies_failed": failed_applies,
    "expected_samples": expected, "samples": len(total), "unknown_stamps": unknown,
    "not_received_superseded": superseded, "not_received_last_change": missing_last,
    "apply_to_ack": row("apply -> ACK", total), "apply": row("apply", applies), "answer_to_ack": row("answer -> ACK", rest),
}
print(f"{sidecars} sidecars ({failed} failed); {len(changes)} changes applied ({failed_applies} failed)")
print(f"samples: {len(total)} of {expected} (change, interested sidecar) pairs; superseded before arrival: {superseded};"
      f" last change of an app not received: {missing_last}; unknown stamps: {unknown}")
print(f"{'':<34} {'count':>8} {'p50':>10} {'p90':>10} {'p99':>10} {'max':>10}")
for name, key in (("apply -> ACK (every sidecar)", "apply_to_ack"), ("apply (send -> rule API answer)", "apply"),
                  ("answer -> ACK (every sidecar)", "answer_to_ack")):
    r = out[key]
    print(f"{name:<34} {r['count']:>8} {r['p50_ms']:>8} ms {r['p90_ms']:>7} ms {r['p99_ms']:>7} ms {r['max_ms']:>7} ms")
for e in errors[:10]:
    print("error:", e)
if a.json:
    json.dump(out, open(a.json, "w"), indent=1)
