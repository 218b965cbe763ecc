#!/usr/bin/env python3
"""Reference values for the von Mises-Fisher estimators in gradscope-stats.

Run: .venv/bin/python scripts/reference/vmf_reference.py

Arbitrary precision (mpmath, 60 digits), by routes independent of the Rust code:
- moderate arguments: mpmath's own besseli (power series);
- large order nu >= 50: Debye's expansion of I_nu alone (no derivative polynomials),
  with 14 terms u_k generated from DLMF 10.41.9, for I_nu and I_{nu-1} separately;
- half-integer orders with a huge argument: the closed form I_{3/2}/I_{1/2} =
  coth x - 1/x and the three-term recurrence upward (exact in 60 digits).
Every value quoted in crates/gradscope-stats/src/vmf/*.rs tests comes from this output.
"""
import mpmath as mp

mp.mp.dps = 60


def poly_mul(a, b):
    out = [mp.mpf(0)] * (len(a) + len(b) - 1)
    for i, x in enumerate(a):
        for j, y in enumerate(b):
            out[i + j] += x * y
    return out


def debye_u(kmax):
    """u_0..u_kmax as coefficient lists in t (DLMF 10.41.9)."""
    us = [[mp.mpf(1)]]
    for _ in range(kmax):
        u = us[-1]
        du = [i * c for i, c in enumerate(u)][1:] or [mp.mpf(0)]
        first = poly_mul([mp.mpf(0), mp.mpf(0), mp.mpf(1) / 2, mp.mpf(0), -mp.mpf(1) / 2], du)
        integrand = poly_mul([mp.mpf(1), mp.mpf(0), mp.mpf(-5)], u)
        second = [mp.mpf(0)] + [c / (i + 1) / 8 for i, c in enumerate(integrand)]
        n = max(len(first), len(second))
        first += [mp.mpf(0)] * (n - len(first))
        second += [mp.mpf(0)] * (n - len(second))
        us.append([a + b for a, b in zip(first, second)])
    return us


U = debye_u(14)


def log_i_debye(nu, x):
    nu, x = mp.mpf(nu), mp.mpf(x)
    z = x / nu
    s = mp.sqrt(1 + z * z)
    t = 1 / s
    eta = s + mp.log(z / (1 + s))
    series = mp.fsum(mp.polyval(list(reversed(u)), t) / nu**k for k, u in enumerate(U))
    return nu * eta - mp.log(2 * mp.pi * nu) / 2 - mp.log(s) / 2 + mp.log(series)


def ratio(nu, x):
    """I_nu(x) / I_{nu-1}(x) in arbitrary precision."""
    nu, x = mp.mpf(nu), mp.mpf(x)
    if nu - 1 >= 50:
        return mp.exp(log_i_debye(nu, x) - log_i_debye(nu - 1, x))
    if x > 1e4 and (2 * nu) % 2 == 1:
        r = 1 / mp.tanh(x) - 1 / x  # nu = 3/2
        order = mp.mpf(1.5)
        if nu == mp.mpf(0.5):
            return mp.tanh(x)
        while order < nu:
            r = (x / r - 2 * order) / x
            order += 1
        return r
    return mp.besseli(nu, x, maxterms=10**6) / mp.besseli(nu - 1, x, maxterms=10**6)


def hankel_ratio(nu, x, terms=30):
    """I_nu(x)/I_{nu-1}(x) from the large-argument expansion (DLMF 10.40.1), x >> nu^2."""
    nu, x = mp.mpf(nu), mp.mpf(x)

    def series(order):
        mu = 4 * order * order
        total, term = mp.mpf(1), mp.mpf(1)
        for k in range(1, terms):
            term *= -(mu - (2 * k - 1) ** 2) / (k * 8 * x)
            total += term
        return total

    return series(nu) / series(nu - 1)


def ml_kappa(r, d):
    """Solve A_d(kappa) = r for kappa with mpmath's root finder."""
    r, d = mp.mpf(r), mp.mpf(d)
    start = r * (d - r * r) / (1 - r * r)
    return mp.findroot(lambda k: ratio(d / 2, k) - r, start, tol=mp.mpf(10) ** -40)


print("# (nu, x, bessel_ratio)")
for nu, x in [(1, 1), (1, 100), (5, 3), (103064, 6527.09), (317600, 1e-8),
              (960000, 1e9), (60, 1e9), (999.5, 2000), (2.5, 1e6), (1.5, 1e9),
              (5e7, 3e7), (5e7, 1e9), (100, 3), (300, 1e4), (1000, 1000)]:
    print(f"({float(nu)!r}, {float(x)!r}, {mp.nstr(ratio(nu, x), 17)}),")

print("# (nu, x, 1 - bessel_ratio)")
print("(1.5, 1e9,", mp.nstr(1 - ratio(1.5, 1e9), 17), ")")
print("(1.0, 1e12,", mp.nstr(1 - hankel_ratio(1.0, 1e12), 17), ")")
print("(960000.0, 1e9,", mp.nstr(1 - ratio(960000, 1e9), 17), ")")

print("# Debye polynomials u_k, v_k times their denominators (DLMF 10.41.10, 10.41.11)")
from fractions import Fraction as Fr


def padd(a, b):
    r = dict(a)
    for k, v in b.items():
        r[k] = r.get(k, 0) + v
    return {k: v for k, v in r.items() if v != 0}


def pmul(a, b):
    r = {}
    for i, x in a.items():
        for j, y in b.items():
            r[i + j] = r.get(i + j, 0) + x * y
    return {k: v for k, v in r.items() if v != 0}


def pder(a):
    return {k - 1: v * k for k, v in a.items() if k > 0}


def pint(a):
    return {k + 1: v / (k + 1) for k, v in a.items()}


us, vs = [{0: Fr(1)}], [{0: Fr(1)}]
for k in range(1, 6):
    u = us[-1]
    us.append(padd(pmul({2: Fr(1, 2), 4: Fr(-1, 2)}, pder(u)),
                   pmul({0: Fr(1, 8)}, pint(pmul({0: Fr(1), 2: Fr(-5)}, u)))))
    inner = padd(pmul({0: Fr(1, 2)}, us[k - 1]), pmul({1: Fr(1)}, pder(us[k - 1])))
    vs.append(padd(us[k], pmul({1: Fr(-1), 3: Fr(1)}, inner)))
dens = [1, 24, 1152, 414720, 39813120, 6688604160]
for k in range(1, 6):
    print("u", k, [int(c * dens[k]) for _, c in sorted(us[k].items())], "/", dens[k])
    print("v", k, [int(c * dens[k]) for _, c in sorted(vs[k].items())], "/", dens[k])

print("# Rayleigh: scipy.stats.chi2.sf(7.6875, 3)")
from scipy.stats import chi2
print(repr(chi2.sf(7.6875, 3)))

print("# eight unit vectors in d = 3 (the issue's example)")
r = mp.sqrt(mp.mpf("0.66"))
print("r_bar", mp.nstr(r, 17))
print("banerjee", mp.nstr(r * (3 - r * r) / (1 - r * r), 17))
print("ml", mp.nstr(ml_kappa(r, 3), 17))

print("# (r, d, ml_kappa)")
for r, d in [(0.5, 2), (0.9, 10), (0.01, 1000), (0.3, 1e5), (1e-6, 1e8),
             (0.999999, 3), (0.05, 206128), (0.9999, 1e6), (0.5, 1e8)]:
    print(f"({r!r}, {float(d)!r}, {mp.nstr(ml_kappa(r, d), 17)}),")
