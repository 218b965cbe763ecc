"""Summarises `make reproduce-structure-table3` (scripts/structure/table3.sh): ours beside
the structure study's Table 3 (scripts/papers/structure.csv, its CIFAR-10 rows); writes
OUT/table3.csv.

Usage: table3_summary.py OUT_DIR T DATASET PRE_EPOCHS FULL(0|1)
"""
import csv
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "papers"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import papers  # noqa: E402
import views_raw  # noqa: E402

out, T, data, pre_epochs, full = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5] == "1"
# What the pretrained point is: the study trains 200 epochs; the CPU size one epoch on 15,000 examples.
pretrain = f"{pre_epochs} epochs" if full else f"{pre_epochs} epoch on 15,000 examples"
paper = {(r["training"].lower(), r["view"].lower()): r
         for r in papers.load("structure", table=3, dataset="CIFAR-10")}
rows = []
for point in ("random", "pretrain"):
    ours = views_raw.read(f"{out}/raw/table3-normtest-{point}.csv", f"{out}/raw/table3-views-{point}.csv")
    for view in ("dimension", "iteration"):
        p = paper[(point, view)]
        rows.append(dict(type=view, training=point, dataset=data, model="resnet18", batch_size=100, gradients=T,
                         pretraining=pretrain if point == "pretrain" else "", powerlaw_values="|g|", **ours[view],
                         paper_ks_d_mean=float(p["d_ks"]), paper_power_law_rate_pct=float(p["power_law_rate_pct"]),
                         paper_p_mean=float(p["p_mean"]), paper_gaussian_rate_pct=float(p["gaussian_rate_pct"])))
with open(f"{out}/table3.csv", "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
print(f"\nstructure study, Table 3: ResNet-18 on {data} (the paper: CIFAR-10), B = 100, {T} gradients; "
      f"pretrained: {pretrain}")
print("(ours | paper; power law: top-200 fits of |g|, d_c = 0.0962; Gaussian: K^2 on 100 points, p > 0.05)")
print(f"{'training':<9}{'type':<10}  {'mean d_ks':>17}  {'power-law rate %':>19}  {'mean p-value':>21}  {'Gaussian rate %':>17}")
for r in rows:
    print(f"{r['training']:<9}{r['type']:<10}  {r['ks_d_mean']:>8.4f} | {r['paper_ks_d_mean']:<6}"
          f"  {r['power_law_rate_pct']:>8.2f} | {r['paper_power_law_rate_pct']:<8}"
          f"  {r['p_mean']:>10.3g} | {r['paper_p_mean']:<8.3g}  {r['gaussian_rate_pct']:>7.2f} | {r['paper_gaussian_rate_pct']:<7}")
print(f"wrote {out}/table3.csv")
