"""Summarises `make reproduce-vmf-figures` (scripts/vmf/figures.sh) with DuckDB over the
tools' CSV outputs, printing what the vMF study (Lee, Cho and Kang, ICLR 2020) reports
beside ours, and writes results/vmf/summary.csv.

Usage: summarize.py OUT_DIR RUNS_DIR "SEEDS" LAST_EPOCH
"""
import csv
import math
import os
import sys

import duckdb

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "papers"))
import papers  # noqa: E402

out, runs, seeds, last_epoch = sys.argv[1], sys.argv[2], sys.argv[3].split(), int(sys.argv[4])
rows = []  # (figure, quantity, paper, ours)

# Figure 2(a): GNS falls as the batch grows (Theorem 1: Var|g| = O(1/m)).
g = duckdb.sql(f"""
    SELECT batch_size, avg(gns) AS mean, stddev_samp(gns) AS sd, count(*) AS inits
    FROM read_csv('{out}/fig2a-init*.csv') WHERE scope = 'all'
    GROUP BY batch_size ORDER BY batch_size""").fetchall()
print("Figure 2(a): GNS of fnn minibatch gradients at random initialisations (MNIST)")
print(f"  {'batch':>6}  {'GNS mean':>10}  {'sd':>9}  inits")
for b, m, sd, k in g:
    print(f"  {b:>6}  {m:10.5f}  {sd:9.5f}  {k}")
xs = [math.log(b) for b, *_ in g]
ys = [math.log(m) for _, m, *_ in g]
mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
falls = all(b[1] > a[1] for a, b in zip(g[1:], g[:-1]))
print(f"  paper: GNS decreases as the batch size grows (its Theorem 1: variance of |g| is O(1/m))")
print(f"  ours:  GNS {g[0][1]:.4f} at B = {g[0][0]} -> {g[-1][1]:.4f} at B = {g[-1][0]}; "
      f"monotone: {'yes' if falls else 'no'}; log-log slope {slope:.3f} (1/sqrt(m) would be -0.5)")
rows += [("2a", "GNS monotone decreasing in batch size", "yes", "yes" if falls else "no"),
         ("2a", "log-log slope of GNS vs batch size", "(O(1/m) variance: -0.5)", f"{slope:.3f}")]

# Figures 5-6: kappa-hat decreases over training; its final value against the null mean.
# The study's Table 1: kappa-hat of uniform directions for 1,000 / 2,000 / 3,000 samples.
paper_null = {model: {int(r["samples"]): float(r["kappa_mean"]) for r in papers.load("vmf", table=1, network=net)}
              for model, net in (("fnn", "FNN"), ("fnn-bn", "FNN+BN"))}
for model in ["fnn", "fnn-bn"]:
    k = duckdb.sql(f"""
        SELECT step, avg(kappa) AS mean, stddev_samp(kappa) AS sd, avg(kappa_null_mean) AS null_mean,
               any_value(n) AS n, any_value(dim) AS dim
        FROM read_csv('{out}/fig56-{model}-seed*.csv') WHERE scope = 'all'
        GROUP BY step ORDER BY step""").fetchall()
    acc = duckdb.sql(f"""
        SELECT avg(train_acc), min(train_acc), max(val_acc) FROM read_parquet('{runs}/{model}-seed*/metrics.parquet')
        WHERE epoch = {last_epoch}""").fetchall()[0]
    print(f"\nFigures 5-6: kappa-hat over training, {model} on MNIST (B = 64, lr 0.01, seeds {' '.join(seeds)})")
    print(f"  {'step':>7}  {'epoch':>6}  {'kappa-hat mean':>15}  {'sd':>10}  {'null mean':>10}")
    for step, m, sd, nm, n, dim in k:
        print(f"  {step:>7}  {step / 938:6.1f}  {m:15.1f}  {(sd or 0):10.1f}  {nm:10.1f}")
    mono = all(b[1] < a[1] for a, b in zip(k[:-1], k[1:]))
    n, dim = k[-1][4], k[-1][5]
    print(f"  paper: kappa-hat decreases over training, monotonically for FNN (Fig. 6a, e); "
          f"training accuracy > 99.9%; null mean at {n:,} samples "
          f"{paper_null[model].get(n, float('nan')):.2f} (Table 1)")
    print(f"  ours:  {k[0][1]:.1f} -> {k[-1][1]:.1f} over {last_epoch} epochs, monotone: {'yes' if mono else 'no'}; "
          f"final / null mean ({n} samples, d = {dim}) = {k[-1][1] / k[-1][3]:.3f}; "
          f"train accuracy {acc[0]:.4f} (min over seeds {acc[1]:.4f}), best val accuracy {acc[2]:.4f}")
    rows += [(f"5-6 {model}", "kappa-hat decreases monotonically", "yes (FNN)", "yes" if mono else "no"),
             (f"5-6 {model}", "final kappa-hat / null mean", "", f"{k[-1][1] / k[-1][3]:.4f}"),
             (f"5-6 {model}", "final training accuracy", "> 0.999", f"{acc[0]:.4f}")]

# Figure 3: the angle spread shrinks to the uniform-direction value 180 / (pi sqrt d).
a = duckdb.sql(f"""SELECT step, n, dim, angle_mean, angle_sd, angle_null_sd, angle_ks
                  FROM read_csv('{out}/fig3-kappa.csv') WHERE scope = 'all' ORDER BY step""").fetchall()
print("\nFigure 3: angles between a fixed random unit vector and fnn minibatch gradients (B = 64)")
print(f"  {'step':>7}  {'n':>5}  {'mean (deg)':>11}  {'sd (deg)':>9}  {'null sd':>8}  {'sd / null':>9}  {'KS to null':>10}")
for step, n, dim, m, sd, nsd, ks in a:
    print(f"  {step:>7}  {n:>5}  {m:11.4f}  {sd:9.5f}  {nsd:8.5f}  {sd / nsd:9.3f}  {ks:10.4f}")
print("  paper: after training (> 99.9% training accuracy) the angle density converges to "
      "N(90, (180/(pi sqrt d))^2), d = 635,200: sd 0.0719 degrees")
rows += [("3", "angle sd / null sd at initialisation", "< 1 (Fig. 3b: concentrated)", f"{a[0][4] / a[0][5]:.4f}"),
         ("3", "angle sd / null sd after training", "-> 1", f"{a[-1][4] / a[-1][5]:.4f}")]

with open(f"{out}/summary.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["figure", "quantity", "paper", "ours"])
    w.writerows(rows)
print(f"\nwrote {out}/summary.csv")
