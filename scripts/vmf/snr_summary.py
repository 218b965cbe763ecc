"""The vMF study's Figure 7 / appendix G from vmf-kappa tables over training: per run, the
Pearson correlations across checkpoints of log SNR (1/GS) with log kappa-hat and with log
normSNR (1/GNS), beside the study's claim (SNR and kappa-hat almost entirely correlated,
normSNR less so; its figures print no numbers). The claim is counted as holding when
corr(log SNR, log kappa-hat) >= 0.9 and exceeds corr(log SNR, log normSNR).

Writes SUMMARY_CSV (one row per run) and, per run, OUT/fig7-NAME-curves.csv (each quantity
divided by its maximum over training, as the study's plots, with the minibatch loss as the
training loss) and OUT/fig7-NAME-scatter.csv (the raw values in SNR order, for the log-log
scatter plots). Used by scripts/vmf/snr.sh (the study's CNNs) and scripts/vmf/figures.sh
(fnn, fnn-bn).

Usage: snr_summary.py OUT_DIR SUMMARY_CSV DATASET SIZE STEPS_PER_EPOCH NAME=KAPPA_CSV...
"""
import csv
import math
import sys

import duckdb

out, summary_csv, dataset, size, per_epoch = sys.argv[1:6]
per_epoch = int(per_epoch)
runs = [a.split("=", 1) for a in sys.argv[6:]]


def pearson(x, y):
    mx, my = sum(x) / len(x), sum(y) / len(y)
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y))
    sxx = sum((a - mx) ** 2 for a in x)
    syy = sum((b - my) ** 2 for b in y)
    return sxy / math.sqrt(sxx * syy)


summary = []
print(f"vMF study, Figure 7 / appendix G on {dataset} ({size})")
for name, path in runs:
    k = duckdb.sql(f"""SELECT step, snr, norm_snr, kappa, mean_loss FROM read_csv('{path}')
                       WHERE scope = 'all' ORDER BY step""").fetchall()
    ls, ln, lk = ([math.log(r[i]) for r in k] for i in (1, 2, 3))
    c_k, c_n = pearson(ls, lk), pearson(ls, ln)
    holds = c_k >= 0.9 and c_k > c_n
    model = name.split("-seed")[0]
    summary.append(dict(model=model, run=name, dataset=dataset, checkpoints=len(k), corr_snr_kappa=c_k,
                        corr_snr_normsnr=c_n, claim_holds="yes" if holds else "no", size=size))
    mx = [max(r[i] for r in k) for i in (1, 2, 3, 4)]
    rows = [dict(step=s, epoch=s / per_epoch, snr=a / mx[0], norm_snr=b / mx[1], kappa=c / mx[2],
                 train_loss=d / mx[3], snr_raw=a, norm_snr_raw=b, kappa_raw=c, minibatch_loss=d)
            for s, a, b, c, d in k]
    for kind, order in (("curves", "step"), ("scatter", "snr_raw")):
        with open(f"{out}/fig7-{name}-{kind}.csv", "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(sorted(rows, key=lambda r: r[order]))
    print(f"  {name:<16} {len(k)} checkpoints: corr(log SNR, log kappa-hat) {c_k:.3f}, "
          f"corr(log SNR, log normSNR) {c_n:.3f} -> claim {'holds' if holds else 'does not hold'}")
print("  paper: SNR and kappa-hat almost entirely correlated, normSNR less (CNNs on CIFAR-10)")
with open(summary_csv, "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(summary[0]))
    w.writeheader()
    w.writerows(summary)
print(f"wrote {summary_csv}")
