"""Summarises `make reproduce-structure-spectra` (scripts/structure/spectra.sh): ours beside
the structure study's Tables 1, 4 and 5 (scripts/papers/structure.csv); writes
OUT/table1TAG.csv, OUT/table4TAG.csv, OUT/table5TAG.csv from OUT/raw/*TAG.csv (TAG: "-full" at
the study's T = 5,000, empty at the CPU size).

Usage: spectra_summary.py OUT_DIR T PRETRAIN_EPOCHS "BATCH_SIZES" [TAG]
"""
import csv
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "papers"))
import papers  # noqa: E402

import duckdb  # noqa: E402
out, T, epochs, bss = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), [int(b) for b in sys.argv[4].split()]
tag = sys.argv[5] if len(sys.argv) > 5 else ""
yn = lambda v: "Yes" if v else "No"

def fit(path, series="eigenvalues"):
    if not os.path.exists(path):
        return None
    rows = duckdb.sql(f"""SELECT n, n_tail, ks_d, ks_crit, power_law, s_hat, alpha FROM read_csv('{path}')
                         WHERE scope = 'all' AND series = '{series}'""").fetchall()
    return rows[0] if rows else None

def write(name, rows):
    with open(f"{out}/{name}{tag}.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)

def show(title, rows, key):
    print(f"\n{title}")
    print(f"  {key:<22}{'values':>7}{'k':>6}  {'d_ks':>16}  {'d_c':>7}  {'power law':>11}  {'s-hat':>14}  {'alpha':>7}")
    for r in rows:
        f = lambda v, d=4: "-" if v in (None, "") else f"{v:.{d}f}"
        print(f"  {r[key]:<22}{r['values'] or '-':>7}{r['k'] or '-':>6}  {f(r['ks_d']):>7} | {f(r['paper_ks_d']):<6}"
              f"  {f(r['ks_crit']):>7}  {r['power_law']:>4} | {r['paper_power_law']:<4}"
              f"  {f(r['s_hat'], 3):>6} | {f(r['paper_s_hat'], 3):<5}  {f(r['alpha'], 3):>7}")

def row(label, key, f, paper, extra=None):
    r = {key: label, "values": f and f[0], "k": f and f[1], "ks_d": f and f[2], "ks_crit": f and f[3],
         "power_law": yn(f[4]) if f else "No", "s_hat": f and f[5], "alpha": f and f[6],
         "paper_ks_d": paper[0], "paper_power_law": paper[1], "paper_s_hat": paper[2],
         "gradients": T, "pretrain_epochs": epochs, "note": extra or ""}
    return r

# Table 1: covariance eigengaps at B = 1.
def paper_row(r):
    return (float(r["d_ks"]), r["power_law"], papers.number(r["s_hat"]))


p1 = {(r["model"].lower(), r["training"].lower()): paper_row(r) for r in papers.load("structure", table=1)}
t1 = [row(f"{m} {pt}", "model_training", fit(f"{out}/raw/cov-{m}-{pt}-b1{tag}.csv", "eigengaps"), p1[(m, pt)])
      for m in ("lenet", "fcn") for pt in ("pretrain", "random")]
write("table1", t1)
show(f"Table 1: covariance eigengaps, MNIST, {T} gradients at B = 1 (ours | paper; pretrained {epochs} epochs, the paper 50)",
     t1, "model_training")

# Tables 4 (second moment) and 5 (covariance) of lenet.
p4, p5 = ({pt: {int(r["batch_size"]): paper_row(r)
              for r in papers.load("structure", table=t, training=pt.capitalize(), setting="")}
         for pt in ("pretrain", "random")} for t in (4, 5))
for name, prefix, paper, title in (("table4", "sm", p4, "Table 4: second-moment spectra"),
                                   ("table5", "cov", p5, "Table 5: covariance spectra")):
    rows = []
    for pt in ("pretrain", "random"):
        for b in bss + ([60000] if name == "table4" else []):
            path = f"{out}/raw/{prefix}-lenet-{pt}-b{b}{tag}.csv"
            note = ""
            if b == 60000:
                err = f"{out}/raw/sm-lenet-{pt}-b60000{tag}.err"
                if not os.path.exists(path) and os.path.exists(err):
                    msg = open(err).read().strip().splitlines()
                    note = "B = 60,000 is the whole training set: one gradient g, second moment g g^T of rank 1; " + \
                        (msg[-1] if msg else "no fit")
            r = row(f"{pt} B={b}", "training_batch", fit(path), paper[pt].get(b, (None, "", None)), note)
            r["batch_size"] = b
            rows.append(r)
    write(name, rows)
    show(f"{title} of lenet on MNIST, {T} gradients per batch size (ours | paper)", rows, "training_batch")
    for r in rows:
        if r["note"]:
            print(f"  note {r['training_batch']}: {r['note']}")
print(f"\nwrote {out}/table1{tag}.csv, {out}/table4{tag}.csv, {out}/table5{tag}.csv")
