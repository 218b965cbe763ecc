"""Summarises `make reproduce-structure-fcn` (scripts/structure/table6.sh): ours beside the
structure study's Table 6 (scripts/papers/structure.csv), one row per row of the study's
table; rows whose network the tools do not have are kept, marked "not measured".

Usage: table6_summary.py OUT_DIR T PRETRAIN_EPOCHS LABEL_NOISE
"""
import csv
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "papers"))
import papers  # noqa: E402

out, T, epochs, noise = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])


def fit(point):
    """The top-1,000 fit of powerlaw-fit's table for one point, or None."""
    p = f"{out}/raw/sm-fcn-{point}-b10.csv"
    if not os.path.exists(p):
        return None
    with open(p, newline="") as f:
        return next((r for r in csv.DictReader(f) if r["scope"] == "all" and r["series"] == "eigenvalues"), None)


rows = []
for pr in papers.load("structure", table=6):
    label = f"{pr['model']} {pr['training'].lower()}" + (f" {pr['setting']}" if pr["setting"] else "")
    setting = pr["setting"]
    if pr["model"] == "2Layer-FCN" and setting in ("", "Width=70", "Noise"):
        point = pr["training"].lower() + ("-noise" if setting == "Noise" else "")
        f = fit(point)
        note = f"{100 * noise:.0f}% symmetric label noise" if setting == "Noise" else ""
        data = "MNIST, fcn (two hidden layers of 70, BatchNorm)"
    else:
        f, note, data = None, "not measured: the tools have no " + (
            "one-hidden-layer FCN" if pr["model"] == "1Layer-FCN" else f"FCN of {setting.lower()}"), ""
    rows.append(dict(row=label, values=f and f["n"], k=f and f["n_tail"], ks_d=f and f["ks_d"],
                     ks_crit=f and f["ks_crit"], power_law=("Yes" if f["power_law"] == "true" else "No") if f else "",
                     s_hat=f and f["s_hat"], alpha=f and f["alpha"], paper_ks_d=pr["d_ks"],
                     paper_power_law=pr["power_law"], paper_s_hat=pr["s_hat"], gradients=T,
                     pretrain_epochs=epochs, data=data, note=note))
with open(f"{out}/table6.csv", "w", newline="") as fh:
    w = csv.DictWriter(fh, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)

print(f"\nTable 6: second-moment spectra of FCN on MNIST, B = 10, {T} gradients per point (ours | paper)")
print(f"  {'row':<30}{'d_ks':>18}  {'power law':>11}  {'s-hat':>15}  note")
g = lambda v, d=4: "-" if v in (None, "") else f"{float(v):.{d}f}"
for r in rows:
    print(f"  {r['row']:<30}{g(r['ks_d']):>8} | {r['paper_ks_d']:<7}  {r['power_law'] or '-':>4} | {r['paper_power_law']:<4}"
          f"  {g(r['s_hat'], 3):>6} | {r['paper_s_hat'] or '-':<6}  {r['note']}")
print(f"wrote {out}/table6.csv")
