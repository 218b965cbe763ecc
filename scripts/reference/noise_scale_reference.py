"""Reference values for gradscope-stats' noise scale (src/noise_scale/tests.rs).

Computes, with NumPy and scipy directly from the minibatch gradients (not from the running
sums the Rust accumulator keeps), the estimators of McCandlish et al. (2018), appendix A:
- one batch size B, n minibatches: tr Sigma = B tr(C) with C the unbiased sample covariance
  (numpy.cov), |G|^2 = |mean|^2 - tr(C)/n;
- several batch sizes: the least-squares line (numpy.polyfit, degree 1) through
  (1/B, mean |g_B|^2), intercept |G|^2, slope tr Sigma;
- the delete-a-group jackknife with groups i mod K, recomputed from the remaining rows, and
  the interval b -+ t_{K-1,0.975} se (scipy.stats.t).
The gradients come from a 32-bit LCG that the Rust tests regenerate bit for bit (values
rounded to float32 by both). Writes crates/gradscope-stats/src/noise_scale/testdata/
reference.csv, one row per case and scope (0 the whole vector, 1 and 2 the two tensors),
floats as Python's repr (the shortest text that reads back as the same double), which both
src/noise_scale/tests.rs and gradscope-cli's tests/noise_scale.rs read.
Run: .venv/bin/python scripts/reference/noise_scale_reference.py
"""

import pathlib

import numpy as np
from scipy import stats

D = 40
SCOPES = [(0, 25), (25, 15)]
K = 4
OUT = pathlib.Path(__file__).resolve().parents[2] / "crates/gradscope-stats/src/noise_scale/testdata/reference.csv"
COLUMNS = "grad_sq_norm,trace_sigma,b_simple,grad_sq_norm_se,trace_sigma_se,b_simple_se,b_simple_lo,b_simple_hi"


def lcg_uniforms(seed, n):
    s = seed
    out = []
    for _ in range(n):
        s = (1664525 * s + 1013904223) % 2**32
        out.append(s / 2**32)
    return np.array(out)


def minibatches(seed, batch_size, n):
    """n x D float32: mu_j + sigma_j sqrt(12/B) (u - 1/2)."""
    u = lcg_uniforms(seed, n * D).reshape(n, D)
    j = np.arange(D)
    mu = ((j % 7) - 3) * 0.05
    sigma = 0.5 + (j % 5) * 0.1
    return (mu + sigma * np.sqrt(12.0 / batch_size) * (u - 0.5)).astype(np.float32)


def one_batch(g, b):
    g = g.astype(np.float64)
    n = g.shape[0]
    tr_c = np.trace(np.atleast_2d(np.cov(g, rowvar=False, ddof=1)))
    mean = g.mean(axis=0)
    return mean @ mean - tr_c / n, b * tr_c


def line(groups):
    x = np.array([1.0 / b for b, _ in groups])
    y = np.array([np.mean(np.sum(g.astype(np.float64) ** 2, axis=1)) for _, g in groups])
    slope, intercept = np.polyfit(x, y, 1)
    return intercept, slope


def scoped(fn, parts):
    """fn over the whole vector and each scope."""
    out = [fn(parts, (0, D))]
    for start, length in SCOPES:
        out.append(fn(parts, (start, length)))
    return out


def report(case, estimate, parts, offsets=None):
    """parts: list of (B, matrix); estimate(list) -> (g2, tr) for one column range.
    offsets: the sample number of each part's first minibatch (default 0 for each), whose
    minibatch i then belongs to jackknife group (offset + i) mod K. Returns the CSV rows
    (case, scope, g2, tr Sigma, B_simple, their jackknife se, the 95% interval)."""
    offsets = offsets or [0] * len(parts)

    def run(ps, rng):
        s, l = rng
        return estimate([(b, g[:, s : s + l]) for b, g in ps])

    full = scoped(run, parts)
    reps = []
    for k in range(K):
        kept = [
            (b, g[[i for i in range(g.shape[0]) if (o + i) % K != k]])
            for (b, g), o in zip(parts, offsets)
        ]
        reps.append(scoped(run, kept))
    t = stats.t.ppf(0.975, K - 1)
    rows = []
    for s, (g2, tr) in enumerate(full):
        vals = np.array([[r[s][0], r[s][1], r[s][1] / r[s][0]] for r in reps])
        se = np.sqrt((K - 1) / K * np.sum((vals - vals.mean(axis=0)) ** 2, axis=0))
        b = tr / g2
        values = [g2, tr, b, se[0], se[1], se[2], b - t * se[2], b + t * se[2]]
        rows.append(f"{case},{s}," + ",".join(repr(float(v)) for v in values))
    return rows


def main():
    rows = []
    # one batch size B = 8, n = 13, seed 11
    g8 = minibatches(11, 8, 13)
    rows += report("one-b8", lambda ps: one_batch(ps[0][1], ps[0][0]), [(8, g8)])
    # batch sizes 4 (n = 9, seed 21) and 32 (n = 6, seed 22), samples numbered from 0 in each
    two = [(4, minibatches(21, 4, 9)), (32, minibatches(22, 32, 6))]
    rows += report("two-4-32", line, two)
    # The same, numbered as dump-grads numbers them: samples counted on across the batch
    # sizes of a step (0-8, then 9-14), which is what the noise-scale tool groups by.
    rows += report("two-4-32-numbered-on", line, two, offsets=[0, 9])
    # batch sizes 2 (n = 7, seed 31), 8 (n = 8, seed 32), 64 (n = 5, seed 33)
    three = [(2, minibatches(31, 2, 7)), (8, minibatches(32, 8, 8)), (64, minibatches(33, 64, 5))]
    rows += report("three-2-8-64", line, three)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("case,scope," + COLUMNS + "\n" + "\n".join(rows) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
