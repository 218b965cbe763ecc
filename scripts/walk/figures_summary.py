"""Summarises `make reproduce-walk-figures` (scripts/walk/figures.sh): Figure 5's alignment
per batch size and Figure 7's cosines, beside the walk study's claims (its figures carry no
numbers); writes results/walk-figure5.csv.

Usage: figures_summary.py OUT_DIR
"""
import csv
import statistics as st
import sys
out = sys.argv[1]
rows = []
for e in (5, 10):
    for r in csv.DictReader(open(f"{out}/figure5-epoch{e}.csv")):
        rows.append(r)
with open("results/walk-figure5.csv", "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
print("walk study, Figure 5 in small (MLP, 10,000 MNIST images): alignment g'Hg/|g|^2", file=sys.stderr)
print(f"{'epoch':>6} {'batch':>6} {'mean':>10} {'sd':>10} {'top-10 share':>13} {'lambda_max':>11}", file=sys.stderr)
for r in rows:
    print(f"{r['epoch']:>6} {r['batch_size']:>6} {float(r['alignment_mean']):>10.4f} {float(r['alignment_sd'] or 'nan'):>10.4f} {float(r['topk_share_mean']):>13.4f} {float(r['top_eigenvalue']):>11.4f}", file=sys.stderr)
for e in ("5", "10"):
    m = [float(r["alignment_mean"]) for r in rows if r["epoch"] == e]
    print(f"  epoch {e}: paper: alignment rises with batch size; ours: {' < '.join(f'{x:.3f}' for x in m)}"
          f" -> {'rises' if all(a < b for a, b in zip(m, m[1:])) else 'does NOT rise monotonically'}", file=sys.stderr)
cos = {}
for r in csv.DictReader(open("results/walk-figure7.csv")):
    if r["cosine"]:
        cos.setdefault(int(r["batch_size"]), []).append(float(r["cosine"]))
print("walk study, Figure 7 in small: cosine of consecutive minibatch gradients, 200 updates from initialisation at lr 0.5", file=sys.stderr)
for b in sorted(cos):
    c = cos[b]
    print(f"  batch size {b:>6}: mean {st.mean(c):.4f}  sd {st.stdev(c):.4f}  (last 100: {st.mean(c[-100:]):.4f})", file=sys.stderr)
ms = [st.mean(cos[b]) for b in sorted(cos)]
print(f"  paper: lower for larger batches; ours: {' > '.join(f'{x:.3f}' for x in ms)}"
      f" -> {'lower for larger' if all(a > b for a, b in zip(ms, ms[1:])) else 'NOT monotone'}", file=sys.stderr)
