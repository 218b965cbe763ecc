"""Summarises `make reproduce-structure-fcn` (scripts/structure/table6.sh) and
`make reproduce-structure-lnn` (table7.sh): ours beside the structure study's Table 6 or 7
(scripts/papers/structure.csv), one row per row of the study's table, from powerlaw-fit's
tables in OUT_DIR/raw/sm-MODEL-POINT-b10TAG.csv, written to OUT_DIR/tableTABLETAG.csv. A row
whose measurement is absent (its target ran with fewer MODELS) is kept with its note. TAG is
"-full" at the study's size (T = 5,000), empty at the CPU size, so the two sit side by side.

Usage: second_moment_summary.py TABLE OUT_DIR T PRETRAIN_EPOCHS LABEL_NOISE ("-" for Table 7) [TAG]
"""
import csv
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "papers"))
import papers  # noqa: E402

table, out, T, epochs = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
noise = None if sys.argv[5] == "-" else float(sys.argv[5])
tag = sys.argv[6] if len(sys.argv) > 6 else ""

# The study's networks as gradscope's models (crates/gradscope-torch/src/models/mlp.rs).
NETWORKS = {
    "fcn": "fcn (two hidden layers of 70, ReLU, BatchNorm)",
    "fcn-w30": "fcn-w30 (two hidden layers of 30, ReLU, BatchNorm)",
    "fcn-w10": "fcn-w10 (two hidden layers of 10, ReLU, BatchNorm)",
    "fcn1": "fcn1 (one hidden layer of 70, ReLU, BatchNorm)",
    "lnn": "lnn (four linear hidden layers of 70)",
    "lnn-bn": "lnn-bn (four linear hidden layers of 70, BatchNorm)",
    "lnn-relu": "lnn-relu (four hidden layers of 70, ReLU)",
}


def where(pr):
    """(model, point, note) of one row of the study's Table 6 or 7."""
    training, setting = pr["training"].lower(), pr["setting"]
    if pr["model"] == "4Layer-LNN":
        return {"": "lnn", "BatchNorm": "lnn-bn", "ReLU": "lnn-relu"}[setting], training, ""
    if pr["model"] == "1Layer-FCN":
        return "fcn1", training, ""
    if setting == "Noise":
        return "fcn", training + "-noise", f"{100 * noise:.0f}% symmetric label noise"
    return {"": "fcn", "Width=70": "fcn", "Width=30": "fcn-w30", "Width=10": "fcn-w10"}[setting], training, ""


def fit(model, point):
    """The top-1,000 fit of powerlaw-fit's table for one point, or None."""
    p = f"{out}/raw/sm-{model}-{point}-b10{tag}.csv"
    if not os.path.exists(p):
        return None
    with open(p, newline="") as f:
        return next((r for r in csv.DictReader(f) if r["scope"] == "all" and r["series"] == "eigenvalues"), None)


rows = []
for pr in papers.load("structure", table=table):
    label = f"{pr['model']} {pr['training'].lower()}" + (f" {pr['setting']}" if pr["setting"] else "")
    model, point, note = where(pr)
    f = fit(model, point)
    if f is None:
        note = f"no result yet: run with MODELS including {model}"
    rows.append(dict(row=label, model=model, values=f and f["n"], k=f and f["n_tail"], ks_d=f and f["ks_d"],
                     ks_crit=f and f["ks_crit"], power_law=("Yes" if f["power_law"] == "true" else "No") if f else "",
                     s_hat=f and f["s_hat"], alpha=f and f["alpha"], paper_ks_d=pr["d_ks"],
                     paper_power_law=pr["power_law"], paper_s_hat=pr["s_hat"], gradients=T,
                     pretrain_epochs=epochs, data=f"MNIST, {NETWORKS[model]}", note=note))
with open(f"{out}/table{table}{tag}.csv", "w", newline="") as fh:
    w = csv.DictWriter(fh, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)

what = "FCN" if table == 6 else "the 4-layer linear network (LNN)"
print(f"\nTable {table}: second-moment spectra of {what} on MNIST, B = 10, {T} gradients per point (ours | paper)")
print(f"  {'row':<30}{'d_ks':>18}  {'power law':>11}  {'s-hat':>15}  note")
g = lambda v, d=4: "-" if v in (None, "") else f"{float(v):.{d}f}"  # noqa: E731
for r in rows:
    print(f"  {r['row']:<30}{g(r['ks_d']):>8} | {r['paper_ks_d']:<7}  {r['power_law'] or '-':>4} | {r['paper_power_law']:<4}"
          f"  {g(r['s_hat'], 3):>6} | {r['paper_s_hat'] or '-':<6}  {r['note']}")
print(f"wrote {out}/table{table}{tag}.csv")
