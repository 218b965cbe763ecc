"""Summarises `make reproduce-walk-table1` (scripts/walk/table1.sh): barriers per epoch
beside the walk study's Table 1 (MLP row, scripts/papers/walk.csv); writes
results/walk-table1.csv and prints it.

Usage: table1_summary.py OUT_DIR EVAL_EXAMPLES POINTS SEED
"""
import csv
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "papers"))
import papers  # noqa: E402
out, ev, k, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
paper = {int(r["epoch"]): int(r["barriers"]) for r in papers.load("walk", table=1, network="MLP") if r["barriers"]}
rows = []
for e in (1, 10, 25):
    r = next(csv.DictReader(open(f"{out}/epochs-epoch{e}.csv")))
    secs = float(open(f"{out}/interp-epoch{e}.time").read().split()[0])
    excess = max(float(s["loss_max"]) - max(float(s["loss_start"]), float(s["loss_end"]))
                 for s in csv.DictReader(open(f"{out}/steps-epoch{e}.csv")))
    rows.append({
        "seed": seed, "epoch": e, "updates": int(r["steps"]), "barriers": int(r["barriers"]),
        "paper_barriers": paper[e], "moved_over": int(r["moved_over"]),
        "max_barrier_height": r["max_barrier_height"], "max_interior_excess": excess,
        "mean_loss": float(r["mean_loss"]),
        "eval_examples": ev if ev else 60000, "points": k + 2, "seconds": secs,
    })
with open("results/walk-table1.csv", "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
print("walk study, Table 1 (MLP on MNIST): barriers crossed during one epoch", file=sys.stderr)
print(f"{'epoch':>6} {'updates':>8} {'ours':>6} {'paper':>6} {'moved over':>11} {'max height':>12} {'nearest miss':>13} {'mean loss':>10}", file=sys.stderr)
for r in rows:
    h = r["max_barrier_height"] or "-"
    print(f"{r['epoch']:>6} {r['updates']:>8} {r['barriers']:>6} {r['paper_barriers']:>6} {r['moved_over']:>11} {h:>12} {r['max_interior_excess']:>13.3e} {r['mean_loss']:>10.4f}", file=sys.stderr)
print(f"(loss on {rows[0]['eval_examples']} training images, {k + 2} points per update; results/walk-table1.csv)", file=sys.stderr)
