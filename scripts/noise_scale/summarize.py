"""Summary of `make reproduce-noise-scale` (scripts/noise_scale/critical_batch.sh).

Usage: summarize.py OUT TARGET REF_B REF_LR SECONDS MODEL...

Per model it reads the steps to the target loss per batch size (OUT/steps-MODEL.csv), fits
McCandlish et al.'s trade-off (2018, section 2.2, equation 2.11)

    (S / S_min - 1) (E / E_min - 1) = 1,    B_crit = E_min / S_min,

and prints B_crit beside B_simple measured where the reference run reached the target.

The fit. With E = B S at each batch size the curve is S(B) = S_min (1 + B_crit / B),
E(B) = E_min (1 + B / B_crit): put those in the equation and both factors are B_crit / B
and B / B_crit. The residuals of log S and of log E at a batch size are then the same
number (log E - log E_min (1 + B / B_crit) = log S - log S_min (1 + B_crit / B)), so least
squares on both logarithms is least squares on log S alone:

    min over (S_min, B_crit) of sum_B [log S_B - log S_min - log(1 + B_crit / B)]^2.

For a fixed B_crit the best log S_min is the mean of log S_B - log(1 + B_crit / B); the
remaining one-dimensional problem in log B_crit is solved by scipy's bounded scalar
minimiser on [log 1, log 1e7]. Logarithms weight each batch size alike, whether its S is
in the tens or the thousands. The spread: B_crit refitted with each batch size left out
(min-max of those fits).

Writes OUT/summary.csv, OUT/bsimple-MODEL.csv (B_simple per checkpoint joined to train's
metrics.parquet and subset_loss.parquet on `step`), OUT/tradeoff.png (S against E, measured
and fitted) and OUT/bsimple-over-training.png.
"""

import math
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import polars as pl  # noqa: E402
from scipy.optimize import minimize_scalar  # noqa: E402


def fit(b, s):
    """(S_min, B_crit) of S(B) = S_min (1 + B_crit / B), least squares in log S."""
    b = np.asarray(b, float)
    ls = np.log(np.asarray(s, float))

    def parts(log_bc):
        shape = np.log1p(math.exp(log_bc) / b)
        log_smin = np.mean(ls - shape)
        return log_smin, np.sum((ls - log_smin - shape) ** 2)

    r = minimize_scalar(lambda x: parts(x)[1], bounds=(0.0, math.log(1e7)), method="bounded",
                        options={"xatol": 1e-10})
    log_smin, sse = parts(r.x)
    return math.exp(log_smin), math.exp(r.x), math.sqrt(sse / len(b))


def main():
    out = Path(sys.argv[1])
    target, ref_b, ref_lr, seconds = float(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
    models = sys.argv[6:]
    runs = out / "runs"
    rows = []
    fig_t, ax_t = plt.subplots(figsize=(7, 5))
    fig_b, ax_b = plt.subplots(figsize=(7, 5))
    for i, model in enumerate(models):
        color = f"C{i}"
        steps = pl.read_csv(out / f"steps-{model}.csv").sort("batch_size")
        b, s = steps["batch_size"].to_list(), steps["steps"].to_list()
        s_min, b_crit, rms = fit(b, s)
        loo = [fit(b[:j] + b[j + 1:], s[:j] + s[j + 1:])[1] for j in range(len(b))]
        at = pl.read_parquet(runs / f"{model}-noise-at-target.parquet").filter(pl.col("scope") == "all")
        ref_best = steps.filter(pl.col("batch_size") == ref_b)
        rows.append({
            "model": model,
            "target_loss": target,
            "batch_sizes": " ".join(str(x) for x in b),
            "s_min": s_min,
            "e_min": s_min * b_crit,
            "b_crit": b_crit,
            "b_crit_leave_one_out_min": min(loo),
            "b_crit_leave_one_out_max": max(loo),
            "fit_rms_log_s": rms,
            "b_simple_at_target": at["b_simple"][0],
            "b_simple_at_target_lo": at["b_simple_lo"][0],
            "b_simple_at_target_hi": at["b_simple_hi"][0],
            "b_simple_step": at["step"][0],
            "b_simple_run": f"B={ref_b}, lr {ref_best['lr'][0]}",
            "b_simple_over_b_crit": at["b_simple"][0] / b_crit,
        })
        # S against E, measured and fitted (the curve parametrised by B)
        e = [x * y for x, y in zip(b, s)]
        ax_t.loglog(e, s, "o", color=color, label=f"{model}: measured")
        bb = np.geomspace(min(b) / 4, max(b) * 4, 200)
        ax_t.loglog(s_min * b_crit * (1 + bb / b_crit), s_min * (1 + b_crit / bb), "--", color=color,
                    label=f"{model}: fit, B_crit = {b_crit:.0f}")
        for x, y, bs in zip(e, s, b):
            ax_t.annotate(str(bs), (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7)
        # B_simple over training, joined to train's tables on step
        ref = runs / f"{model}-ref-b{ref_b}-lr{ref_lr}"
        ns = pl.read_parquet(runs / f"{model}-noise-over-training.parquet").filter(pl.col("scope") == "all")
        metrics = pl.read_parquet(ref / "metrics.parquet").select("step", "epoch", "train_loss", "val_loss", "val_acc")
        subset = pl.read_parquet(ref / "subset_loss.parquet").select("step", "subset_loss", "subset_acc")
        joined = (ns.select("step", "batch_sizes", "minibatches", "grad_sq_norm", "trace_sigma", "b_simple",
                            "b_simple_lo", "b_simple_hi")
                  .join(metrics, on="step", how="left").join(subset, on="step", how="left").sort("step"))
        joined.write_csv(out / f"bsimple-{model}.csv")
        x = joined["subset_loss"].to_numpy()
        y = joined["b_simple"].to_numpy()
        err = np.vstack([y - joined["b_simple_lo"].to_numpy(), joined["b_simple_hi"].to_numpy() - y])
        ax_b.errorbar(x, y, yerr=err, fmt="o-", color=color, capsize=3, label=f"{model}: B_simple (95% jackknife)")
        ax_b.plot([target], [b_crit], "s", color=color, markersize=9, mfc="none",
                  label=f"{model}: B_crit at loss {target} (S-E fit)")
    table = pl.DataFrame(rows)
    table.write_csv(out / "summary.csv")
    ax_t.set_xlabel("examples to the target, E = B S")
    ax_t.set_ylabel("steps to the target, S")
    ax_t.set_title(f"Steps against examples to training loss {target} (MNIST, SGD)")
    ax_t.legend(fontsize=8)
    fig_t.tight_layout()
    fig_t.savefig(out / "tradeoff.png", dpi=110)
    ax_b.set_xscale("log")
    ax_b.set_yscale("log")
    ax_b.invert_xaxis()
    ax_b.set_xlabel("training loss on the fixed 1,000-image subset (training proceeds to the right)")
    ax_b.set_ylabel("examples")
    ax_b.set_title(f"B_simple over training (B = {ref_b} runs) and B_crit")
    ax_b.legend(fontsize=8)
    fig_b.tight_layout()
    fig_b.savefig(out / "bsimple-over-training.png", dpi=110)
    print(f"critical batch size at training loss {target} (paper, section 2.2: B_crit = E_min/S_min, "
          "predicted by B_simple within a small factor)")
    for r in rows:
        print(f"  {r['model']}: S_min {r['s_min']:.1f} steps, E_min {r['e_min']:.0f} examples, "
              f"B_crit {r['b_crit']:.1f} (leave one B out: {r['b_crit_leave_one_out_min']:.1f}-"
              f"{r['b_crit_leave_one_out_max']:.1f}; rms of log S {r['fit_rms_log_s']:.3f}); "
              f"B_simple at the target {r['b_simple_at_target']:.1f} "
              f"[{r['b_simple_at_target_lo']:.1f}, {r['b_simple_at_target_hi']:.1f}] "
              f"({r['b_simple_run']}, step {r['b_simple_step']}), B_simple / B_crit {r['b_simple_over_b_crit']:.2f}")
    print(f"time {seconds} s -> {out / 'summary.csv'}, {out / 'tradeoff.png'}, {out / 'bsimple-over-training.png'}")


if __name__ == "__main__":
    main()
