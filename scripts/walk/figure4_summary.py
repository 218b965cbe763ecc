"""Summarises `make reproduce-walk-figure4` (scripts/walk/figure4.sh): barriers per epoch
and their heights against the loss, beside the walk study's statements about its Figure 4
(the figure prints no numbers); writes results/walk-figure4.csv.

The nearest miss of an epoch is the largest (highest interior loss - higher end loss)
over its updates, from interp-loss's per-point table: positive for a barrier; its margin
relative to the epoch's mean loss is what results/walk-figure4.png draws.

Usage: figure4_summary.py EPOCHS_CSV EVAL_EXAMPLES SEED SECONDS TRAIN_SIZE INTERP_PARQUET OUT_CSV
"""
import csv
import sys

import duckdb

src, ev, seed, secs, n_train = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
interp, out_csv = sys.argv[6], sys.argv[7]
excess = dict(duckdb.sql(f"""
    WITH u AS (SELECT step,
                      max(loss) FILTER (WHERE alpha > 0 AND alpha < 1) AS interior,
                      greatest(max(loss) FILTER (WHERE alpha = 0), max(loss) FILTER (WHERE alpha = 1)) AS ends
               FROM read_parquet('{interp}') GROUP BY step)
    SELECT step, interior - ends FROM u""").fetchall())
rows = []
with open(src, newline="") as f:
    for r in csv.DictReader(f):
        h = float(r["max_barrier_height"]) if r["max_barrier_height"] not in ("", "NaN", "nan") else None
        loss = float(r["mean_loss"])
        miss = max(excess[st] for st in range(int(r["first_step"]), int(r["step"]) + 1))
        rows.append(dict(seed=seed, epoch=int(r["epoch"]), steps=int(r["steps"]), barriers=int(r["barriers"]),
                         barriers_per_100_updates=100 * int(r["barriers"]) / int(r["steps"]),
                         moved_over=int(r["moved_over"]), max_barrier_height=h if h is not None else "",
                         max_height_over_loss=h / loss if h is not None else "", mean_loss=loss,
                         nearest_miss=miss, nearest_miss_margin_over_loss=-miss / loss,
                         train_examples=n_train, eval_examples=ev if ev else n_train, seconds_all_epochs=secs))
with open(out_csv, "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)

print(f"walk study, Figure 4 for the MLP on {n_train:,} MNIST images: barriers per epoch "
      f"(loss on {rows[0]['eval_examples']:,} of them)")
print(f"{'epoch':>6} {'updates':>8} {'barriers':>9} {'max height':>11} {'height/loss':>12} {'mean loss':>10} {'moved over':>11} {'nearest miss':>13}")
for r in rows:
    h = f"{r['max_barrier_height']:.2e}" if r["max_barrier_height"] != "" else "-"
    q = f"{r['max_height_over_loss']:.2e}" if r["max_height_over_loss"] != "" else "-"
    print(f"{r['epoch']:>6} {r['steps']:>8} {r['barriers']:>9} {h:>11} {q:>12} {r['mean_loss']:>10.4f} {r['moved_over']:>11} {r['nearest_miss']:>13.2e}")
total = sum(r["barriers"] for r in rows)
ups = sum(r["steps"] for r in rows)
hs = [r["max_height_over_loss"] for r in rows if r["max_height_over_loss"] != ""]
print(f"  paper (VGG-11 on CIFAR-10): few barriers in any epoch, their heights substantially smaller than the loss")
print(f"  ours: {total} barriers in {ups:,} updates over {len(rows)} epochs"
      + (f"; largest height / loss {max(hs):.2e}" if hs else "; no barrier, so no height"))
print(f"  ({secs} s for the {len(rows)} epochs; {out_csv})")
