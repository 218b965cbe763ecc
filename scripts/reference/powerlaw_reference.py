#!/usr/bin/env python3
"""Reference values for gradscope-stats' `powerlaw` module.

Run from the repository root:

    .venv/bin/python scripts/reference/powerlaw_reference.py > /tmp/powerlaw_reference.txt
    .venv/bin/python scripts/reference/powerlaw_reference.py --bench 100000

The Rust tests in crates/gradscope-stats/src/powerlaw/reference_tests.rs quote this
script's output (produced with powerlaw 2.0.0, scipy 1.17.1, mpmath 1.3.0, numpy 2.4.6).
The `powerlaw` package is used only as an oracle here: its fits, and, for the
"polished" values, its own log-likelihood functions maximised with a tight optimiser
(the package itself stops Nelder-Mead at tol=1e-4, so its alternative fits are only
approximately maximal).

Synthetic data come from a 32-bit LCG so that Rust can regenerate them bit for bit:
s <- (1664525 s + 1013904223) mod 2^32, u = s / 2^32 after each step.
"""

import argparse
import sys
import time
import warnings

import mpmath
import numpy as np
import scipy
import scipy.optimize as so
import scipy.stats as ss
from scipy.stats import _ksstats

import powerlaw

warnings.filterwarnings("ignore")
mpmath.mp.dps = 50


def lcg_uniforms(seed, n):
    s = seed
    out = []
    for _ in range(n):
        s = (1664525 * s + 1013904223) % 2**32
        out.append(s / 2**32)
    return np.array(out)


def pareto_sample(seed, n, alpha):
    """x = (1-u)^(-1/(alpha-1)): continuous power law with xmin = 1."""
    u = lcg_uniforms(seed, n)
    return (1.0 - u) ** (-1.0 / (alpha - 1.0))


def show(name, value):
    print(f"{name} = {value!r}")


def fit_summary(tag, fit):
    pl = fit.power_law
    show(f"{tag}.xmin", float(fit.xmin))
    show(f"{tag}.alpha", float(pl.alpha))
    show(f"{tag}.n_tail", int(fit.n_tail))
    show(f"{tag}.D", float(pl.D))
    show(f"{tag}.standard_err", float(pl.standard_err))
    show(f"{tag}.loglikelihood", float(np.sum(pl.loglikelihoods(fit.data))))


ALTERNATIVES = {
    "exponential": (powerlaw.Exponential, False),
    "lognormal": (powerlaw.Lognormal, False),
    "stretched_exponential": (powerlaw.Stretched_Exponential, False),
    "truncated_power_law": (powerlaw.Truncated_Power_Law, True),
}


def comparisons(tag, fit):
    """Package comparisons, and the same with each alternative's likelihood maximised
    tightly (scipy Nelder-Mead, xatol=fatol=1e-13, from the package's own optimum)."""
    tail = fit.data
    ll_pl = fit.power_law.loglikelihoods(tail)
    for name, (cls, nested) in ALTERNATIVES.items():
        dist = getattr(fit, name)
        params = [float(v) for v in dist.parameters.values()]
        r, p = fit.distribution_compare("power_law", name)
        rn, _ = fit.distribution_compare("power_law", name, normalized_ratio=True)
        show(f"{tag}.{name}.package.params", params)
        show(f"{tag}.{name}.package.noise_flag", bool(dist.noise_flag))
        show(f"{tag}.{name}.package.R", float(r))
        show(f"{tag}.{name}.package.normalized_R", float(rn))
        show(f"{tag}.{name}.package.p", float(p))

        def nll(q):
            d = cls(xmin=fit.xmin, parameters=list(q), discrete=False, verbose=0)
            return -float(np.sum(d.loglikelihoods(tail)))

        res = so.minimize(nll, params, method="Nelder-Mead",
                          options=dict(xatol=1e-13, fatol=1e-13, maxiter=40000, maxfev=80000))
        for _ in range(3):
            res = so.minimize(nll, res.x, method="Nelder-Mead",
                              options=dict(xatol=1e-13, fatol=1e-13, maxiter=40000, maxfev=80000))
        best = cls(xmin=fit.xmin, parameters=list(res.x), discrete=False, verbose=0)
        ll_alt = best.loglikelihoods(tail)
        r2, p2 = powerlaw.loglikelihood_ratio(ll_pl.copy(), ll_alt.copy(), nested=nested)
        rn2, _ = powerlaw.loglikelihood_ratio(ll_pl.copy(), ll_alt.copy(), nested=nested,
                                              normalized_ratio=True)
        show(f"{tag}.{name}.polished.params", [float(v) for v in res.x])
        show(f"{tag}.{name}.polished.success", bool(res.success))
        show(f"{tag}.{name}.polished.loglikelihood", float(np.sum(ll_alt)))
        show(f"{tag}.{name}.polished.R", float(r2))
        show(f"{tag}.{name}.polished.normalized_R", float(rn2))
        show(f"{tag}.{name}.polished.p", float(p2))


def discrete_exact_alpha(tail, xmin):
    """Exact discrete MLE: root of zeta'(a, xmin)/zeta(a, xmin) + mean(ln x) = 0."""
    m = mpmath.mpf(sum(mpmath.log(int(x)) for x in tail)) / len(tail)
    g = lambda a: mpmath.zeta(a, xmin, 1) / mpmath.zeta(a, xmin) + m
    a0 = 1 + len(tail) / sum(np.log(tail / (xmin - 0.5)))
    return mpmath.findroot(g, mpmath.mpf(a0))


def section_versions():
    print("# versions")
    show("powerlaw", powerlaw.__version__)
    show("scipy", scipy.__version__)
    show("numpy", np.__version__)
    show("mpmath", mpmath.__version__)


def section_lcg():
    print("\n# LCG Pareto sample: seed 31337, 5000 points, x = (1-u)^(-1/1.5)")
    x = pareto_sample(31337, 5000, 2.5)
    fit = powerlaw.Fit(x, verbose=0)
    fit_summary("lcg", fit)
    res = fit.xmin_fitting_results
    show("lcg.candidates", len(res["xmins"]))
    show("lcg.valid_candidates", int(np.sum(res["valid_fits"])))
    comparisons("lcg", fit)
    # Fixed xmin and the study's top-k rule (xmin = k-th largest, k = 1000).
    fixed = powerlaw.Fit(x, xmin=2.0, verbose=0)
    fit_summary("lcg_fixed2", fixed)
    xk = np.sort(x)[::-1][999]
    topk = powerlaw.Fit(x, xmin=xk, verbose=0)
    fit_summary("lcg_top1000", topk)


def section_exponential_sample():
    print("\n# LCG exponential sample: seed 2024, 2000 points, x = 1 - ln(1-u)")
    u = lcg_uniforms(2024, 2000)
    x = 1.0 - np.log(1.0 - u)
    fit = powerlaw.Fit(x, verbose=0)
    fit_summary("expo", fit)
    r, p = fit.distribution_compare("power_law", "exponential")
    show("expo.exponential.package.R", float(r))
    show("expo.exponential.package.p", float(p))


def section_alternative_samples():
    print("\n# LCG log-normal and Weibull samples, fixed xmin (interior alternative optima)")
    u = lcg_uniforms(777, 4000)
    v = lcg_uniforms(778, 4000)
    z = np.sqrt(-2.0 * np.log(1.0 - u)) * np.cos(2.0 * np.pi * v)
    x = np.exp(0.5 + 1.2 * z)
    fit = powerlaw.Fit(x, xmin=1.0, verbose=0)
    fit_summary("lognormal_sample", fit)
    comparisons("lognormal_sample", fit)
    w = lcg_uniforms(4242, 3000)
    y = 2.0 * (-np.log(1.0 - w)) ** (1.0 / 0.6)
    fit = powerlaw.Fit(y, xmin=0.5, verbose=0)
    fit_summary("weibull_sample", fit)
    comparisons("weibull_sample", fit)


def section_discrete():
    print("\n# LCG discrete sample: seed 99, 3000 points, x = floor((1-0.5)(1-u)^(-1/1.2) + 0.5)")
    u = lcg_uniforms(99, 3000)
    x = np.floor(0.5 * (1.0 - u) ** (-1.0 / 1.2) + 0.5)
    fit = powerlaw.Fit(x, discrete=True, verbose=0)
    fit_summary("disc", fit)
    tail = x[x >= fit.xmin]
    show("disc.exact_alpha_at_xmin", float(discrete_exact_alpha(tail, float(fit.xmin))))
    fixed = powerlaw.Fit(x, discrete=True, xmin=1, estimate_discrete=False, verbose=0)
    fit_summary("disc_fixed1", fixed)
    show("disc_fixed1.exact_alpha", float(discrete_exact_alpha(x, 1.0)))
    half = powerlaw.Fit(x, discrete=True, xmin=3, estimate_discrete=True, verbose=0)
    fit_summary("disc_fixed3_halfshift", half)


def section_datasets():
    print("\n# powerlaw's bundled reference data (Clauset et al. 2009 data sets)")
    for name, disc in [("blackouts", False), ("words", True), ("terrorism", True),
                       ("cities", False)]:
        d = powerlaw.load_test_dataset(name)
        fit = powerlaw.Fit(d, discrete=disc, verbose=0)
        fit_summary(name, fit)
        if disc:
            tail = d[d >= fit.xmin]
            show(f"{name}.exact_alpha_at_xmin",
                 float(discrete_exact_alpha(tail, float(fit.xmin))))
        if name == "blackouts":
            comparisons(name, fit)


def section_zeta():
    print("\n# Hurwitz zeta (mpmath, 50 digits): value, d/ds, d2/ds2")
    for s, q in [(2.0, 1.0), (3.0, 1.0), (1.0001, 1.0), (1.5, 7.0), (2.5, 0.5),
                 (2.3, 1e6), (7.5, 3.0), (50.0, 1.0), (1.9527177261877164, 7.0),
                 (12.0, 2.0)]:
        vals = [float(mpmath.zeta(s, q, k)) for k in (0, 1, 2)]
        show(f"zeta({s!r}, {q!r})", vals)


def section_ks():
    print("\n# Kolmogorov-Smirnov critical values")
    for n in [1, 2, 3, 5, 10, 20, 50, 100, 140, 141, 200, 500, 1000, 2000, 5000, 10000]:
        show(f"kstwo.ppf(0.95, {n})", float(ss.kstwo.ppf(0.95, n)))
    for n in [141, 500, 1000, 2000]:
        root = so.brentq(lambda d: _ksstats._kolmogn_DMTW(n, d) - 0.95, 0.5 / n, 0.5,
                         xtol=1e-15)
        show(f"exact_dmtw_ppf(0.95, {n})", float(root))
    for n, d in [(10, 0.274), (100, 0.1), (1000, 0.03), (1000, 0.05), (20, 0.5)]:
        show(f"kstwo.cdf({d}, {n})", float(ss.kstwo.cdf(d, n)))
        show(f"dmtw.cdf({d}, {n})", float(_ksstats._kolmogn_DMTW(n, d)))
    for n, d in [(1000, 0.03), (1000, 0.043), (5000, 0.019)]:
        show(f"pelz_good.cdf({d}, {n})", float(_ksstats._kolmogn_PelzGood(n, d)))


def bench(n):
    x = pareto_sample(31337, n, 2.5)
    t = time.perf_counter()
    fit = powerlaw.Fit(x, verbose=0)
    elapsed = time.perf_counter() - t
    show(f"bench{n}.seconds", elapsed)
    fit_summary(f"bench{n}", fit)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bench", type=int, default=0,
                    help="time powerlaw.Fit on this many LCG Pareto points and exit")
    args = ap.parse_args()
    if args.bench:
        bench(args.bench)
        return
    section_versions()
    section_lcg()
    section_exponential_sample()
    section_alternative_samples()
    section_discrete()
    section_datasets()
    section_zeta()
    section_ks()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
