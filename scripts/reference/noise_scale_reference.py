"""Reference values for gradscope-stats' noise scale (src/noise_scale/tests.rs).

Computes, with NumPy and scipy directly from the minibatch gradients (not from the running
sums the Rust accumulator keeps), the estimators of McCandlish et al. (2018), appendix A:
- one batch size B, n minibatches: tr Sigma = B tr(C) with C the unbiased sample covariance
  (numpy.cov), |G|^2 = |mean|^2 - tr(C)/n;
- several batch sizes: the least-squares line (numpy.polyfit, degree 1) through
  (1/B, mean |g_B|^2), intercept |G|^2, slope tr Sigma;
- the delete-a-group jackknife with groups i mod K, recomputed from the remaining rows, and
  the interval b -+ t_{K-1,0.975} se (scipy.stats.t).
The gradients come from a 32-bit LCG that the Rust test regenerates bit for bit (values
rounded to float32 by both). Run: .venv/bin/python scripts/reference/noise_scale_reference.py
"""

import numpy as np
from scipy import stats

D = 40
SCOPES = [(0, 25), (25, 15)]
K = 4


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


def report(name, estimate, parts, offsets=None):
    """parts: list of (B, matrix); estimate(list) -> (g2, tr) for one column range.
    offsets: the sample number of each part's first minibatch (default 0 for each), whose
    minibatch i then belongs to jackknife group (offset + i) mod K."""
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
    for s, (g2, tr) in enumerate(full):
        vals = np.array([[r[s][0], r[s][1], r[s][1] / r[s][0]] for r in reps])
        se = np.sqrt((K - 1) / K * np.sum((vals - vals.mean(axis=0)) ** 2, axis=0))
        b = tr / g2
        print(
            f"// {name} scope {s}: g2, tr, b, g2_se, tr_se, b_se, lo, hi\n"
            f"[{g2:.17e}, {tr:.17e}, {b:.17e}, {se[0]:.17e}, {se[1]:.17e}, {se[2]:.17e}, "
            f"{b - t * se[2]:.17e}, {b + t * se[2]:.17e}],"
        )


def main():
    g8 = minibatches(11, 8, 13)
    report("one batch size B=8 n=13 seed 11", lambda ps: one_batch(ps[0][1], ps[0][0]), [(8, g8)])
    two = [(4, minibatches(21, 4, 9)), (32, minibatches(22, 32, 6))]
    report("batch sizes 4 (n=9, seed 21) and 32 (n=6, seed 22)", line, two)
    # As dump-grads numbers them: samples counted on across the batch sizes of a step
    # (0-8, then 9-14), which is what the noise-scale tool groups by.
    report("batch sizes 4 and 32, samples 0-8 and 9-14", line, two, offsets=[0, 9])
    three = [(2, minibatches(31, 2, 7)), (8, minibatches(32, 8, 8)), (64, minibatches(33, 64, 5))]
    report("batch sizes 2 (n=7, seed 31), 8 (n=8, seed 32), 64 (n=5, seed 33)", line, three)


if __name__ == "__main__":
    main()
