"""Summarises `make reproduce-structure-table2` (scripts/structure/table2.sh): ours beside
the structure study's Table 2 (scripts/papers/structure.csv); writes OUT/table2TAG.csv from
OUT/raw/table2-*-bBTAG.csv (TAG: "-full" at the study's T = 5,000, empty at the CPU size).

Usage: table2_summary.py OUT_DIR T "BATCHES" RAW_FLAG(1: |g|, 0: |g - g_bar|) [TAG]
"""
import csv
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "papers"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import papers  # noqa: E402
import views_raw  # noqa: E402

out, T, batches = sys.argv[1], int(sys.argv[2]), [int(b) for b in sys.argv[3].split()]
values = "|g|" if sys.argv[4] == "1" else "|g - g_bar|"
tag = sys.argv[5] if len(sys.argv) > 5 else ""
# Table 2 of the study: (d_ks bar, power-law rate %, p-value bar, Gaussian rate %).
paper = {view: {int(r["batch_size"]): (float(r["d_ks"]), float(r["power_law_rate_pct"]), float(r["p_mean"]),
                                       float(r["gaussian_rate_pct"]))
                for r in papers.load("structure", table=2, view=view.capitalize())}
         for view in ("iteration", "dimension")}
rows = []
for b in batches:
    ours = views_raw.read(f"{out}/raw/table2-normtest-b{b}{tag}.csv", f"{out}/raw/table2-views-b{b}{tag}.csv")
    for view in ("iteration", "dimension"):
        pk, pr, pp, pg = paper[view][b]
        rows.append(dict(type=view, training="random", batch_size=b, gradients=T, powerlaw_values=values,
                         **ours[view], paper_ks_d_mean=pk, paper_power_law_rate_pct=pr, paper_p_mean=pp,
                         paper_gaussian_rate_pct=pg))
rows.sort(key=lambda r: (r["type"] != "iteration", r["batch_size"]))
with open(f"{out}/table2{tag}.csv", "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
print(f"\nstructure study, Table 2: LeNet on MNIST at a random initialisation, {T} gradients per batch size")
print(f"(ours | paper; power law: top-1000 fits of {values}, d_c = 0.0430; Gaussian: K^2 on 100 points, p > 0.05)")
print(f"{'type':<10}{'B':>6}  {'mean d_ks':>17}  {'power-law rate %':>19}  {'mean p-value':>21}  {'Gaussian rate %':>17}")
for r in rows:
    print(f"{r['type']:<10}{r['batch_size']:>6}  {r['ks_d_mean']:>8.4f} | {r['paper_ks_d_mean']:<6}"
          f"  {r['power_law_rate_pct']:>8.2f} | {r['paper_power_law_rate_pct']:<8}"
          f"  {r['p_mean']:>10.3g} | {r['paper_p_mean']:<8.3g}  {r['gaussian_rate_pct']:>7.2f} | {r['paper_gaussian_rate_pct']:<7}")
print(f"wrote {out}/table2{tag}.csv")
