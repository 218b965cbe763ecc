"""Summarises `make reproduce-vmf-snr` (scripts/vmf/snr.sh): per network, the Pearson
correlations over training of log SNR with log kappa-hat and with log normSNR, beside the
vMF study's claim (Figure 7, appendix G: SNR and kappa-hat almost entirely correlated,
normSNR less so; the figures print no numbers). Writes OUT/fig7-summary.csv and
OUT/fig7-MODEL-curves.csv and -scatter.csv (each quantity divided by its maximum over training, as the
study's plots, and the raw values for the scatter plots).

Usage: snr_summary.py OUT_DIR RUNS_DIR DATASET SIZE MODEL...
"""
import csv
import math
import os
import sys

import duckdb

out, runs, dataset, size, models = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]


def pearson(x, y):
    mx, my = sum(x) / len(x), sum(y) / len(y)
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y))
    sxx = sum((a - mx) ** 2 for a in x)
    syy = sum((b - my) ** 2 for b in y)
    return sxy / math.sqrt(sxx * syy)


summary = []
print(f"vMF study, Figure 7 / appendix G on {dataset} ({size})")
for model in models:
    k = duckdb.sql(f"""SELECT step, snr, norm_snr, kappa, mean_loss FROM read_csv('{out}/fig7-{model}.csv')
                       WHERE scope = 'all' ORDER BY step""").fetchall()
    m = {e: (tl, vl) for e, tl, vl in duckdb.sql(f"""SELECT epoch, train_loss, val_loss
                       FROM read_parquet('{runs}/{model}-{dataset}/metrics.parquet')""").fetchall()}
    steps_per_epoch = duckdb.sql(f"""SELECT max(step) / max(epoch) FROM read_parquet('{runs}/{model}-{dataset}/metrics.parquet')
                                    WHERE epoch > 0""").fetchone()[0]
    ls, lk, ln = ([math.log(r[i]) for r in k] for i in (1, 3, 2))
    c_k, c_n = pearson(ls, lk), pearson(ls, ln)
    holds = c_k >= 0.9 and c_k > c_n
    summary.append(dict(model=model, dataset=dataset, checkpoints=len(k), corr_snr_kappa=c_k,
                        corr_snr_normsnr=c_n, claim_holds="yes" if holds else "no", size=size))
    mx = [max(r[i] for r in k) for i in (1, 2, 3)]
    rows = []
    for step, snr, nsnr, kap, loss in k:
        epoch = round(step / steps_per_epoch) if steps_per_epoch else 0
        tl = m.get(epoch, (loss, None))[0] if epoch else loss
        rows.append(dict(step=step, epoch=epoch, snr=snr / mx[0], norm_snr=nsnr / mx[1], kappa=kap / mx[2],
                         train_loss=tl, snr_raw=snr, norm_snr_raw=nsnr, kappa_raw=kap))
    tmax = max(r["train_loss"] for r in rows)
    for r in rows:
        r["train_loss"] /= tmax
    # The curves in training order; the scatter plots join the points in SNR order.
    for name, order in (("curves", "step"), ("scatter", "snr_raw")):
        with open(f"{out}/fig7-{model}-{name}.csv", "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(sorted(rows, key=lambda r: r[order]))
    print(f"  {model:<11} {len(k)} checkpoints: corr(log SNR, log kappa-hat) {c_k:.3f}, "
          f"corr(log SNR, log normSNR) {c_n:.3f} -> claim {'holds' if holds else 'does not hold'}")
print("  paper: SNR and kappa-hat almost entirely correlated, normSNR less (CIFAR-10)")
with open(f"{out}/fig7-summary.csv", "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(summary[0]))
    w.writeheader()
    w.writerows(summary)
print(f"wrote {out}/fig7-summary.csv")
