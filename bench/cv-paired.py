#!/usr/bin/env python3
"""Paired table of `troupe finetune --folds K` runs that used the same folds (same seed and data).

usage: bench/cv-paired.py BASELINE_DIR OTHER_DIR ...   (each a finetune --out DIR with summary.json)
Prints, per run, accuracy mean ± std (sample std over the folds done), macro-F1, per-fold accuracy,
trainable share, mean step_ms and CPU wall; then each run minus BASELINE over the folds both
finished, with the per-fold differences, a paired t statistic and the folds up/down/equal.
A run still going has no summary.json yet: its log's "fold i/K: accuracy A" lines are read instead
(DIR.log, if present).
"""
import json, math, os, re, sys


def folds_of(d):
    s = os.path.join(d, "summary.json")
    if os.path.exists(s):
        j = json.load(open(s))
        return {f["fold"]: f for f in j["folds"]}, j
    log = d.rstrip("/") + ".log"
    out = {}
    if os.path.exists(log):
        for line in open(log):
            m = re.match(r"fold (\d+)/\d+: accuracy ([0-9.]+), macro-F1 ([0-9.]+) .*?([0-9.]+) ms/step", line)
            if m:
                out[int(m[1])] = {"accuracy": float(m[2]), "macro_f1": float(m[3]), "step_ms": float(m[4])}
    return out, None


def mean_std(xs):
    m = sum(xs) / len(xs)
    sd = math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1)) if len(xs) > 1 else 0.0
    return m, sd


runs = [(d, *folds_of(d)) for d in sys.argv[1:]]
print("| run | folds | accuracy | macro-F1 | per fold accuracy | trainable | mean step_ms |")
print("|---|---:|---:|---:|---|---:|---:|")
for d, f, j in runs:
    if not f:
        print(f"| {d} | 0 | | | | | |")
        continue
    acc = [f[k]["accuracy"] for k in sorted(f)]
    f1 = [f[k]["macro_f1"] for k in sorted(f)]
    ms = [f[k]["step_ms"] for k in sorted(f)]
    a, sa = mean_std(acc)
    b, sb = mean_std(f1)
    tr = f"{j['trainable_parameters']:,} ({j['trainable_percent']:.2f}%)" if j else "(running)"
    print(f"| {os.path.basename(d.rstrip('/'))} | {len(acc)} | {a:.4f} ± {sa:.4f} | {b:.4f} ± {sb:.4f} | "
          f"{' '.join(f'{x:.3f}' for x in acc)} | {tr} | {sum(ms) / len(ms):.0f} |")
base_d, base, _ = runs[0]
for d, f, _ in runs[1:]:
    common = sorted(set(base) & set(f))
    if not common:
        continue
    diff = [100 * (f[k]["accuracy"] - base[k]["accuracy"]) for k in common]
    m, sd = mean_std(diff)
    t = m / (sd / math.sqrt(len(diff))) if len(diff) > 1 and sd > 0 else float("nan")
    up = sum(x > 1e-9 for x in diff); down = sum(x < -1e-9 for x in diff)
    ratio = (sum(f[k]["step_ms"] for k in common) / sum(base[k]["step_ms"] for k in common))
    print(f"{os.path.basename(d.rstrip('/'))} - {os.path.basename(base_d.rstrip('/'))} over folds {common}: "
          f"{m:+.2f} points (std {sd:.2f}, paired t {t:.2f}; {up} up, {down} down, "
          f"{len(diff) - up - down} equal; per fold {' '.join(f'{x:+.1f}' for x in diff)}); "
          f"step_ms ratio {ratio:.2f}")
