#!/usr/bin/env python3
"""Reference values for the discrete likelihood-ratio tests of gradscope-stats' `powerlaw`
module (powerlaw.Fit(data, discrete=True, xmin=...).distribution_compare).

Run from the repository root (about five minutes, most of it in mpmath):

    .venv/bin/python scripts/reference/powerlaw_discrete_compare.py > /tmp/powerlaw_discrete_compare.txt

The Rust tests in crates/gradscope-stats/src/powerlaw/discrete_reference_tests.rs,
lerch.rs and special.rs (and crates/gradscope-cli/tests/powerlaw_fit.rs) quote this
script's output (produced with
powerlaw 2.0.0, scipy 1.17.1, mpmath 1.3.0, numpy 2.4.6).

For every data set it prints, under `<tag>.<alternative>.`:
- `package.*`: what the package reports: the fitted parameters (Nelder-Mead at tol=1e-4),
  its noise_flag, and distribution_compare's R, normalised R and p;
- `package_ll.*`: the alternative's log-likelihood at the package's parameters, as the
  package computes it (float64) and as the same formula gives it in mpmath at 40 digits
  (the package's discrete log-normal and stretched exponential subtract nearly equal
  CDF values, so the two differ in the last digits);
- `polished.*`: the maximum of the package's own discrete likelihood, solved to about
  30 digits with mpmath (Newton's method on mpmath derivatives, started from the
  package's fit and, for the stretched exponential, from a profile scan over beta;
  parameters unbounded, where the package confines alpha to (0, 3)),
  and the exact R, normalised R and p there (p = erfc(|R|/sqrt(2 n var)), or
  erfc(sqrt|R|) = 1 - chi2.cdf(2|R|, 1) for the nested truncated power law), with the
  power law's exponent as the Rust test uses it: the package's own when it used its
  closed-form half-shift estimate (xmin >= 10), the exact discrete MLE otherwise.

Data come from the 32-bit LCG s <- (1664525 s + 1013904223) mod 2^32, u = s / 2^32
after each step, so that Rust regenerates them bit for bit (only floor, log and pow of
doubles are involved; the printed sums check it):
- `pl`: seed 4711, 6000 points, x = floor((5 - 1/2)(1 - u)^(-1/1.5) + 1/2), a discrete
  power law with alpha = 2.5 above 5 (Clauset et al. 2009, eq. D.6); fitted at xmin = 10;
- `weibull`: seed 4242, 3000 points, x = floor(3 (-ln(1 - u))^(1/0.6) + 1/2), those
  >= 1 kept; fitted at xmin = 5 (every alternative has an interior maximum);
- `geometric`: seed 2024, 2000 points, x = 1 + floor(-ln(1 - u) / 0.25), a discrete
  exponential with lambda = 0.25 above 1; fitted at xmin = 1.
"""

import sys
import warnings

import mpmath as mp
import numpy as np
import scipy

import powerlaw

# The samples come from the same LCG as the continuous reference (this directory is on
# sys.path when the script runs).
from powerlaw_reference import lcg_uniforms

warnings.filterwarnings("ignore")
mp.mp.dps = 40

ALTERNATIVES = ["exponential", "lognormal", "stretched_exponential", "truncated_power_law"]


def show(name, value):
    print(f"{name} = {value!r}")


def tally(tail):
    values, counts = np.unique(tail, return_counts=True)
    return [(mp.mpf(int(v)), int(c)) for v, c in zip(values, counts)]


# The package's discrete log-masses (powerlaw 2.0.0, discrete_normalization='round'),
# written out in mpmath: MASS[name](xmin, *params) is x -> ln p(x), normaliser computed once.
def mass_exponential(xmin, lam):
    return lambda x: mp.log(-mp.expm1(-lam)) - lam * (x - xmin)


def mass_lognormal(xmin, mu, sigma):
    z = lambda y: (mp.log(y) - mu) / (sigma * mp.sqrt(2))
    ln_norm = mp.log(mp.erfc(z(xmin - 0.5)))
    return lambda x: mp.log(mp.erfc(z(x - 0.5)) - mp.erfc(z(x + 0.5))) - ln_norm


def mass_stretched(xmin, lam, beta):
    s = lambda y: (lam * y) ** beta
    s0 = s(xmin - 0.5)
    return lambda x: mp.log(mp.exp(-s(x - 0.5)) - mp.exp(-s(x + 0.5))) + s0


def mass_truncated(xmin, alpha, lam):
    ln_norm = mp.log(mp.lerchphi(mp.exp(-lam), alpha, xmin))
    return lambda x: -alpha * mp.log(x) - lam * (x - xmin) - ln_norm


MASS = {
    "exponential": mass_exponential,
    "lognormal": mass_lognormal,
    "stretched_exponential": mass_stretched,
    "truncated_power_law": mass_truncated,
}


def total(tal, f):
    return mp.fsum(c * f(x) for x, c in tal)


# Parametrisations for Newton's method (well scaled near the maxima) and back.
TO_NEWTON = {
    "lognormal": lambda p: [p[0], p[1]],
    "stretched_exponential": lambda p: [mp.log(p[0]), p[1]],
}
FROM_NEWTON = {
    "lognormal": lambda q: [q[0], q[1]],
    "stretched_exponential": lambda q: [mp.exp(q[0]), q[1]],
}


def newton(f, q0, steps=40):
    """Maximise f by Newton's method on mpmath derivatives (mp.diff); the point and
    whether the last step was below 1e-28 (relative) with a negative-definite Hessian."""
    q = [mp.mpf(v) for v in q0]
    k = len(q)
    unit = lambda *idx: tuple(sum(1 for i in idx if i == j) for j in range(k))
    fq = f(*q)
    for _ in range(steps):
        g = mp.matrix([mp.diff(f, q, unit(i)) for i in range(k)])
        h = mp.matrix(k, k)
        for i in range(k):
            for j in range(k):
                h[i, j] = mp.diff(f, q, unit(i, j))
        if not all(ev < 0 for ev in mp.eigsy(h)[0]):
            return q, False
        step = mp.lu_solve(h, g)
        t = mp.mpf(1)
        while True:
            trial = [q[i] - t * step[i] for i in range(k)]
            ft = f(*trial)
            if ft >= fq - mp.mpf(10) ** -30 * abs(fq) or t < 1e-6:
                break
            t /= 2
        small = all(abs(t * step[i]) <= mp.mpf(10) ** -28 * (1 + abs(q[i])) for i in range(k))
        q, fq = trial, ft
        if small:
            return q, True
    return q, False


def polish(name, tal, xmin, start):
    """Stationary point (a local maximum) of the mpmath log-likelihood, from `start` (the
    package's parameters) and, for the stretched exponential, also from the best point
    of a profile scan over beta; the best converged one, or None."""
    if name == "exponential":
        n = sum(c for _, c in tal)
        m = mp.fsum(c * (x - xmin) for x, c in tal) / n
        return [mp.log1p(1 / m)]
    if name == "truncated_power_law":
        return polish_truncated(tal, xmin, start)
    f = lambda *q: total(tal, MASS[name](xmin, *FROM_NEWTON[name](q)))
    starts = [TO_NEWTON[name]([mp.mpf(v) for v in start])]
    if name == "stretched_exponential":
        # Profile over beta: for each beta the best ln(lambda) (a 1-D maximisation).
        best = None
        for beta in [mp.mpf(10) ** (e / mp.mpf(4)) for e in range(-8, 3)]:
            g = lambda ll: total(tal, MASS[name](xmin, mp.exp(ll), beta))
            # ln lambda with (lambda (xmin - 1/2))^beta = 1/beta, a typical scale.
            ll0 = -mp.log(beta) / beta - mp.log(xmin - 0.5)
            try:
                ll = mp.findroot(lambda v: mp.diff(g, v), ll0, tol=mp.mpf(10) ** -20)
            except (ValueError, ZeroDivisionError):
                continue
            val = g(ll)
            if best is None or val > best[0]:
                best = (val, [ll, beta])
        if best is not None:
            starts.append(best[1])
    found = []
    for q0 in starts:
        try:
            q, ok = newton(f, q0)
        except (ValueError, ZeroDivisionError):
            continue
        if ok:
            found.append((f(*q), q))
    if not found:
        return None
    return FROM_NEWTON[name](max(found, key=lambda v: v[0])[1])


def polish_truncated(tal, xmin, start):
    """The truncated power law is an exponential family in (alpha, lambda) with sufficient
    statistics (ln x, x): its log-likelihood is concave, with gradient
    n (E[ln X] - mean ln x, E[X] - mean x) and Hessian -n Cov(ln X, X). Newton's method on
    these moments, each a direct sum over x >= xmin to a relative 1e-45 (mp.lerchphi is
    too slow to differentiate numerically at small lambda); the normaliser is checked
    against mp.lerchphi at the end."""
    n = sum(c for _, c in tal)
    mean_ln = mp.fsum(c * mp.log(x) for x, c in tal) / n
    mean_x = mp.fsum(c * x for x, c in tal) / n
    logs = []

    def moments(alpha, lam):
        z = m_ln = m_x = m_ll = m_lx = m_xx = mp.mpf(0)
        k = 0
        while True:
            x = xmin + k
            if k == len(logs):
                logs.append(mp.log(x))
            lx = logs[k]
            w = mp.exp(-alpha * lx - lam * k)
            z += w
            m_ln += w * lx
            m_x += w * x
            m_ll += w * lx * lx
            m_lx += w * lx * x
            m_xx += w * x * x
            k += 1
            if w * x * x < mp.mpf(10) ** -45 * m_xx and k > 10:
                break
        e_ln, e_x = m_ln / z, m_x / z
        cov = [[m_ll / z - e_ln**2, m_lx / z - e_ln * e_x],
               [m_lx / z - e_ln * e_x, m_xx / z - e_x**2]]
        return z, e_ln, e_x, cov

    alpha, lam = mp.mpf(start[0]), mp.mpf(start[1])
    for _ in range(40):
        z, e_ln, e_x, cov = moments(alpha, lam)
        # Maximise -alpha S1 - lam S2 - n ln z: gradient n (E[ln X] - mean_ln, E[X] - mean_x).
        g = mp.matrix([e_ln - mean_ln, e_x - mean_x])
        h = mp.matrix(cov)
        step = mp.lu_solve(h, g)
        alpha, lam = alpha + step[0], lam + step[1]
        if lam <= 0:
            return None
        if abs(step[0]) < mp.mpf(10) ** -30 and abs(step[1]) < mp.mpf(10) ** -30 * lam:
            z = moments(alpha, lam)[0]
            check = mp.log(z) - mp.log(mp.lerchphi(mp.exp(-lam), alpha, xmin))
            assert abs(check) < mp.mpf(10) ** -30, check
            return [alpha, lam]
    return None


def exact_discrete_alpha(tal, xmin):
    """Exact discrete MLE: root of zeta'(a, xmin)/zeta(a, xmin) + mean(ln x) = 0."""
    n = sum(c for _, c in tal)
    m = mp.fsum(c * mp.log(x) for x, c in tal) / n
    g = lambda a: mp.zeta(a, xmin, 1) / mp.zeta(a, xmin) + m
    return mp.findroot(g, mp.mpf(2))


def ratio(tal, ll_pl, ll_alt, nested):
    n = sum(c for _, c in tal)
    d = [(ll_pl(x) - ll_alt(x), c) for x, c in tal]
    r = mp.fsum(c * v for v, c in d)
    mean = r / n
    var = mp.fsum(c * (v - mean) ** 2 for v, c in d) / n
    p = mp.erfc(mp.sqrt(abs(r))) if nested else mp.erfc(abs(r) / mp.sqrt(2 * n * var))
    return r, r / mp.sqrt(n * var), p


def section(tag, x, xmin):
    fit = powerlaw.Fit(x, discrete=True, xmin=xmin, verbose=0)
    tail = fit.data
    tal = tally(tail)
    pl = fit.power_law
    show(f"{tag}.n", len(x))
    show(f"{tag}.sum", float(np.sum(x)))
    show(f"{tag}.xmin", float(fit.xmin))
    show(f"{tag}.n_tail", int(len(tail)))
    show(f"{tag}.distinct", len(tal))
    show(f"{tag}.package.alpha", float(pl.alpha))
    show(f"{tag}.package.estimate_discrete", bool(pl.estimate_discrete))
    if pl.estimate_discrete and 1.5 < pl.alpha <= 3:
        alpha = mp.mpf(float(pl.alpha))
    else:
        alpha = exact_discrete_alpha(tal, xmin)
        show(f"{tag}.exact_alpha", float(alpha))
    ln_z = mp.log(mp.zeta(alpha, xmin))
    ll_pl = lambda v: -alpha * mp.log(v) - ln_z
    for name in ALTERNATIVES:
        dist = getattr(fit, name)
        params = [float(v) for v in dist.parameters.values()]
        r, p = fit.distribution_compare("power_law", name)
        rn, _ = fit.distribution_compare("power_law", name, normalized_ratio=True)
        key = f"{tag}.{name}"
        show(f"{key}.package.params", params)
        show(f"{key}.package.noise_flag", bool(dist.noise_flag))
        show(f"{key}.package.R", float(r))
        show(f"{key}.package.normalized_R", float(rn))
        show(f"{key}.package.p", float(p))
        show(f"{key}.package_ll.float64", float(np.sum(dist.loglikelihoods(tail))))
        show(f"{key}.package_ll.mpmath",
             float(total(tal, MASS[name](xmin, *[mp.mpf(q) for q in params]))))
        best = polish(name, tal, xmin, params)
        if best is None:
            show(f"{key}.polished", None)
            continue
        ll_alt = MASS[name](xmin, *best)
        rr, rrn, pp = ratio(tal, ll_pl, ll_alt, name == "truncated_power_law")
        show(f"{key}.polished.params", [float(v) for v in best])
        show(f"{key}.polished.loglikelihood", float(total(tal, ll_alt)))
        show(f"{key}.polished.R", float(rr))
        show(f"{key}.polished.normalized_R", float(rrn))
        show(f"{key}.polished.p", float(pp))


def section_lerch():
    print("\n# ln lerchphi(exp(-lambda), s, q) (mpmath, 40 digits)")
    for lam, s, q in [(1e-8, 2.5, 1.0), (1e-3, 1.2, 30.0), (0.01, -2.0, 3.0),
                      (0.3, 0.3, 1000.0), (0.49, -0.5, 1000.0), (2.0, 6.0, 1.0),
                      (0.0287, 1.43, 10.0)]:
        show(f"ln_lerch({lam!r}, {s!r}, {q!r})",
             float(mp.log(mp.lerchphi(mp.exp(-mp.mpf(lam)), s, q))))


def section_erfc_interval():
    print("\n# ln(erfc(a) - erfc(a + h)) (mpmath, 80 digits)")
    with mp.workdps(80):
        for a, h in [(-5.0, 1e-3), (-0.5, 0.3), (0.3, 1e-6), (0.79, 0.0194),
                     (4.72, 1.05e-4), (10.0, 2.0), (40.0, 1e-4)]:
            show(f"ln_erfc_interval({a!r}, {h!r})",
                 float(mp.log(mp.erfc(a) - mp.erfc(mp.mpf(a) + mp.mpf(h)))))


def main():
    show("powerlaw", powerlaw.__version__)
    show("scipy", scipy.__version__)
    show("numpy", np.__version__)
    show("mpmath", mp.__version__)

    print("\n# pl: discrete power law, seed 4711, x = floor(4.5 (1-u)^(-1/1.5) + 0.5), xmin = 10")
    u = lcg_uniforms(4711, 6000)
    x = np.floor((5 - 0.5) * (1.0 - u) ** (-1.0 / 1.5) + 0.5)
    section("pl", x, 10)

    print("\n# weibull: seed 4242, x = floor(3 (-ln(1-u))^(1/0.6) + 0.5) >= 1, xmin = 5")
    u = lcg_uniforms(4242, 3000)
    x = np.floor(3.0 * (-np.log(1.0 - u)) ** (1.0 / 0.6) + 0.5)
    x = x[x >= 1]
    section("weibull", x, 5)

    print("\n# geometric: seed 2024, x = 1 + floor(-ln(1-u) / 0.25), xmin = 1")
    u = lcg_uniforms(2024, 2000)
    x = 1.0 + np.floor(-np.log(1.0 - u) / 0.25)
    section("geometric", x, 1)

    section_lerch()
    section_erfc_interval()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
