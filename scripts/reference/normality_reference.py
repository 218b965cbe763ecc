#!/usr/bin/env python3
"""Reference values for the normality module of gradscope-stats.

Run from the repository root:

    .venv/bin/python scripts/reference/normality_reference.py

It prints, for every data set the Rust tests use (`crates/gradscope-stats/src/normality/`):

* `scipy.stats.shapiro`, `skewtest`, `kurtosistest`, `normaltest`, `skew`, `kurtosis`
  and numpy moments, as computed by the scipy/numpy installed in the venv;
* the Shapiro-Wilk W and p-value of algorithm AS R94 (Royston 1995) evaluated with
  50-digit arithmetic (mpmath) and exact normal quantiles and tails. This is what R's
  swilk.c computes (it calls the full-precision `qnorm`/`pnorm`); the script checks
  that it reproduces three values published from R 4.2.2 before printing anything;
* the same algorithm in float64 with the low-precision normal quantile AS 111 and the
  normal tail AS 66 of the original Fortran, which is what scipy <= 1.17 uses
  (`_ansari_swilk_statistics.pyx`). The script checks that this variant reproduces
  `scipy.stats.shapiro` to rounding, which shows that scipy 1.17 differs from R (by
  about 1e-10 in W) only through those two approximations;
* standard normal tail areas and quantiles at 50 digits, for the Rust normal functions.

The data sets are built with integer arithmetic and IEEE additions/multiplications only
(SplitMix64 -> uniforms -> Irwin-Hall sums), so the Rust tests regenerate them bit for bit.
"""

import math
import sys

import mpmath
import numpy as np
import scipy
import scipy.stats as st

mpmath.mp.dps = 50
MASK = (1 << 64) - 1
GAMMA = 0x9E3779B97F4A7C15


# ---------------------------------------------------------------- deterministic data
def splitmix64(x):
    """SplitMix64 output function of state x (adds the increment first), as rng.rs."""
    z = (x + GAMMA) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def uniforms(seed, count):
    """u_k = top 53 bits of splitmix64(seed + k * gamma) / 2^53, k = 0..count-1."""
    out = []
    for k in range(count):
        z = splitmix64((seed + k * GAMMA) & MASK)
        out.append((z >> 11) * 2.0**-53)
    return out


def irwin_hall(seed, n):
    """x_i = (sum of 12 consecutive uniforms, added left to right from 0.0) - 6."""
    u = uniforms(seed, 12 * n)
    xs = []
    for i in range(n):
        s = 0.0
        for j in range(12):
            s += u[12 * i + j]
        xs.append(s - 6.0)
    return xs


def ratio(seed, n):
    """Cauchy-like heavy tails: x_i = g_{2i} / g_{2i+1} with g Irwin-Hall."""
    g = irwin_hall(seed, 2 * n)
    return [g[2 * i] / g[2 * i + 1] for i in range(n)]


def product3(seed, n):
    """Right-skewed: x_i = (u_{3i} * u_{3i+1}) * u_{3i+2}."""
    u = uniforms(seed, 3 * n)
    return [(u[3 * i] * u[3 * i + 1]) * u[3 * i + 2] for i in range(n)]


def rounded_irwin_hall(seed, n):
    """Heavily tied: floor(2 * g_i) with g Irwin-Hall."""
    return [float(math.floor(2.0 * v)) for v in irwin_hall(seed, n)]


DATASETS = {
    "primes10": [2.0, 3.0, 5.0, 7.0, 11.0, 13.0, 17.0, 19.0, 23.0, 29.0],
    "squares20": [float(i * i) for i in range(1, 21)],
    "seq200": [float(i) for i in range(1, 201)],
    "n3": [1.0, 2.0, 4.0],
    "n3_tied": [0.0, 0.0, 1.0],
    "ih4": irwin_hall(4, 4),
    "ih5": irwin_hall(5, 5),
    "ih6": irwin_hall(6, 6),
    "ih8": irwin_hall(8, 8),
    "ih11": irwin_hall(11, 11),
    "ih12": irwin_hall(12, 12),
    "ih200": irwin_hall(200, 200),
    "ratio200": ratio(201, 200),
    "product100": product3(100, 100),
    "ties50": rounded_irwin_hall(50, 50),
    "ih5000": irwin_hall(5000, 5000),
}


# ---------------------------------------------------------------- AS R94, exact arithmetic
C1 = ["0", "0.221157", "-0.147981", "-2.07119", "4.434685", "-2.706056"]
C2 = ["0", "0.042981", "-0.293762", "-1.752461", "5.682633", "-3.582633"]
C3 = ["0.544", "-0.39978", "0.025054", "-6.714e-4"]
C4 = ["1.3822", "-0.77857", "0.062767", "-0.0020322"]
C5 = ["-1.5861", "-0.31082", "-0.083751", "0.0038915"]
C6 = ["-0.4803", "-0.082676", "0.0030302"]
G = ["-2.273", "0.459"]


def poly_mp(c, x):
    return sum(mpmath.mpf(ci) * x**i for i, ci in enumerate(c))


def qnorm_mp(p):
    # 2p - 1 must not round to -1 or 1: carry enough digits for p's own magnitude.
    p = mpmath.mpf(p)
    tail = min(p, 1 - p)
    digits = 50 + int(-mpmath.log10(tail)) if tail > 0 else 50
    with mpmath.workdps(digits):
        return +(mpmath.sqrt(2) * mpmath.erfinv(2 * p - 1))


def sf_mp(z):
    return mpmath.erfc(z / mpmath.sqrt(2)) / 2


def swilk_mp(data):
    x = sorted(mpmath.mpf(v) for v in data)
    n = len(x)
    nn2 = n // 2
    if n == 3:
        a = [mpmath.sqrt(mpmath.mpf(1) / 2)]
    else:
        an25 = mpmath.mpf(n) + mpmath.mpf("0.25")
        m = [qnorm_mp((i - mpmath.mpf("0.375")) / an25) for i in range(1, nn2 + 1)]
        summ2 = 2 * sum(v * v for v in m)
        ssumm2 = mpmath.sqrt(summ2)
        rsn = 1 / mpmath.sqrt(n)
        a1 = poly_mp(C1, rsn) - m[0] / ssumm2
        if n > 5:
            a2 = -m[1] / ssumm2 + poly_mp(C2, rsn)
            fac = mpmath.sqrt((summ2 - 2 * m[0] ** 2 - 2 * m[1] ** 2) / (1 - 2 * a1**2 - 2 * a2**2))
            a = [a1, a2] + [-v / fac for v in m[2:]]
        else:
            fac = mpmath.sqrt((summ2 - 2 * m[0] ** 2) / (1 - 2 * a1**2))
            a = [a1] + [-v / fac for v in m[1:]]
    # a[i] > 0 weights x_(n-i) - x_(i+1); sum of the squares of the full vector is 1.
    ssa = 2 * sum(v * v for v in a)
    sax = sum(a[i] * (x[n - 1 - i] - x[i]) for i in range(nn2))
    mean = sum(x) / n
    ssx = sum((v - mean) ** 2 for v in x)
    w = sax * sax / (ssa * ssx)
    if n == 3:
        p = 6 / mpmath.pi * (mpmath.asin(mpmath.sqrt(w)) - mpmath.pi / 3)
        return w, max(p, mpmath.mpf(0))
    y = mpmath.log(1 - w)
    if n <= 11:
        gamma = poly_mp(G, mpmath.mpf(n))
        if y >= gamma:
            return w, mpmath.mpf("1e-99")
        y = -mpmath.log(gamma - y)
        mu = poly_mp(C3, mpmath.mpf(n))
        sigma = mpmath.exp(poly_mp(C4, mpmath.mpf(n)))
    else:
        ln = mpmath.log(n)
        mu = poly_mp(C5, ln)
        sigma = mpmath.exp(poly_mp(C6, ln))
    return w, sf_mp((y - mu) / sigma)


# ------------------------------------- AS R94 in float64 with AS 111 / AS 66 (scipy <= 1.17)
def ppnd_as111(p):
    q = p - 0.5
    if abs(q) <= 0.42:
        r = q * q
        num = q * (((-25.44106049637 * r + 41.39119773534) * r - 18.61500062529) * r + 2.50662823884)
        den = (((3.13082909833 * r - 21.06224101826) * r + 23.08336743743) * r - 8.47351093090) * r + 1.0
        return num / den
    r = 1.0 - p if q > 0 else p
    r = math.sqrt(-math.log(r))
    v = (((2.32121276858 * r + 4.85014127135) * r - 2.29796479134) * r - 2.78718931138) / (
        (1.63706781897 * r + 3.54388924762) * r + 1.0
    )
    return -v if q < 0 else v


def alnorm_as66_upper(x):
    z, upper = x, True
    if not z > 0:
        upper, z = False, -z
    if not (z <= 7.0 or (upper and z <= 38.0)):
        return 0.0 if upper else 1.0
    y = 0.5 * z * z
    if z <= 1.28:
        t = 0.5 - z * (0.398942280444 - 0.399903438504 * y / (
            y + 5.75885480458 - 29.8213557808 / (y + 2.62433121679 + 48.6959930692 / (y + 5.92885724438))))
    else:
        t = 0.398942280385 * math.exp(-y) / (z - 3.8052e-8 + 1.00000615302 / (
            z + 3.98064794e-4 + 1.98615381364 / (z - 0.151679116635 + 5.29330324926 / (
                z + 4.8385912808 - 15.1508972451 / (z + 0.742380924027 + 30.789933034 / (z + 3.99019417011))))))
    return t if upper else 1.0 - t


def poly_f(c, x):
    v = 0.0
    for ci in reversed(c):
        v = v * x + float(ci)
    return v


def swilk_as111(data):
    x = sorted(float(v) for v in data)
    n = len(x)
    nn2 = n // 2
    if n == 3:
        a = [math.sqrt(0.5)]
    else:
        an25 = n + 0.25
        m = [ppnd_as111((i - 0.375) / an25) for i in range(1, nn2 + 1)]
        summ2 = 2.0 * sum(v * v for v in m)
        ssumm2 = math.sqrt(summ2)
        rsn = 1.0 / math.sqrt(n)
        a1 = poly_f(C1, rsn) - m[0] / ssumm2
        if n > 5:
            a2 = -m[1] / ssumm2 + poly_f(C2, rsn)
            fac = math.sqrt((summ2 - 2 * m[0] ** 2 - 2 * m[1] ** 2) / (1 - 2 * a1**2 - 2 * a2**2))
            a = [a1, a2] + [-v / fac for v in m[2:]]
        else:
            fac = math.sqrt((summ2 - 2 * m[0] ** 2) / (1 - 2 * a1**2))
            a = [a1] + [-v / fac for v in m[1:]]
    ssa = 2.0 * sum(v * v for v in a)
    sax = sum(a[i] * (x[n - 1 - i] - x[i]) for i in range(nn2))
    mean = sum(x) / n
    ssx = sum((v - mean) ** 2 for v in x)
    s = math.sqrt(ssa * ssx)
    w1 = (s - sax) * (s + sax) / (ssa * ssx)
    w = 1.0 - w1
    if n == 3:
        return w, max(0.0, 1.0 - 6.0 / math.pi * math.acos(math.sqrt(w)))
    y = math.log(w1)
    if n <= 11:
        gamma = poly_f(G, n)
        if y >= gamma:
            return w, 1e-19
        y = -math.log(gamma - y)
        mu, sigma = poly_f(C3, n), math.exp(poly_f(C4, n))
    else:
        ln = math.log(n)
        mu, sigma = poly_f(C5, ln), math.exp(poly_f(C6, ln))
    return w, alnorm_as66_upper((y - mu) / sigma)


# ---------------------------------------------------------------- printing
def f(v):
    return repr(float(v))


def check_r_reference():
    # R 4.2.2 shapiro.test, values given in the gradscope brief.
    r_values = {
        "primes10": (0.94942573605286062, 0.6617106339670451),
        "squares20": (0.90613062847654635, 0.053809588828203907),
        "seq200": (0.95461161431891883, 5.3920608912694955e-06),
    }
    for name, (w_r, p_r) in r_values.items():
        w, p = swilk_mp(DATASETS[name])
        dw = abs(float(w) - w_r)
        dp = abs(float(p) - p_r) / p_r
        print(f"# check vs R 4.2.2 {name}: |dW| = {dw:.2e}, rel dp = {dp:.2e}")
        if dw > 1e-14 or dp > 1e-12:
            sys.exit(f"mpmath AS R94 does not reproduce R for {name}")


def main():
    print(f"# scipy {scipy.__version__}, numpy {np.__version__}, mpmath {mpmath.__version__}, "
          f"python {sys.version.split()[0]}")
    check_r_reference()

    print("\n## Shapiro-Wilk: name n | AS R94 exact (W, p) | scipy.stats.shapiro (W, p) | "
          "float64 AS111/AS66 (W, p)")
    worst_w = worst_p = 0.0
    for name, data in DATASETS.items():
        w, p = swilk_mp(data)
        res = st.shapiro(np.array(data))
        w111, p111 = swilk_as111(data)
        worst_w = max(worst_w, abs(float(w) - float(res.statistic)))
        if p > 0:
            worst_p = max(worst_p, abs(float(p) - float(res.pvalue)) / float(p))
        print(f"{name} {len(data)} | {f(w)} {f(p)} | {f(res.statistic)} {f(res.pvalue)} | {f(w111)} {f(p111)}")
        assert abs(w111 - float(res.statistic)) < 1e-13, name
        assert abs(p111 - float(res.pvalue)) <= 1e-10 * float(res.pvalue) + 1e-14, name
    print(f"# scipy {scipy.__version__} vs exact AS R94: max |dW| = {worst_w:.2e}, max rel dp = {worst_p:.2e}")

    print("\n## D'Agostino (scipy): name n | skew z p | kurtosis z p | K2 p")
    for name, data in DATASETS.items():
        x = np.array(data)
        if len(x) < 8 or np.ptp(x) == 0:
            continue
        s = st.skewtest(x)
        k = st.kurtosistest(x)
        k2 = st.normaltest(x)
        print(f"{name} {len(x)} | {f(s.statistic)} {f(s.pvalue)} | {f(k.statistic)} {f(k.pvalue)} | "
              f"{f(k2.statistic)} {f(k2.pvalue)}")

    print("\n## Moments (numpy/scipy): name n | mean var(ddof=1) | skew g1 | excess kurtosis g2 | "
          "E|x-mu|^3/sigma^3 | sqrt(var(z^2)+1)")
    for name, data in DATASETS.items():
        x = np.array(data)
        if np.ptp(x) == 0:
            continue
        mu = x.mean()
        sd = x.std()  # population (ddof=0)
        z = (x - mu) / sd
        beta = np.mean(np.abs(x - mu) ** 3) / sd**3
        bound = math.sqrt(np.var(z**2) + 1.0)
        print(f"{name} {len(x)} | {f(mu)} {f(x.var(ddof=1))} | {f(st.skew(x))} | {f(st.kurtosis(x))} | "
              f"{f(beta)} | {f(bound)}")

    print("\n## Standard normal upper tail Q(z) = P(Z > z), 50 digits")
    for z in [-8.0, -3.0, -1.0, -0.5, 0.0, 1e-10, 0.25, 0.5, 0.66, 0.67, 1.0, 1.5, 2.0, 3.0, 4.0,
              5.0, 5.65, 5.66, 6.0, 8.0, 10.0, 15.0, 20.0, 26.5, 30.0, 37.0]:
        print(f"({f(z)}, {f(sf_mp(mpmath.mpf(z)))}),")

    print("\n## Standard normal quantile, 50 digits")
    for p in [1e-300, 1e-100, 1e-20, 1e-10, 1e-5, 1e-3, 0.01, 0.02, 0.05, 0.07, 0.075, 0.0751, 0.1,
              0.25, 0.4, 0.5, 0.6, 0.9, 0.925, 0.93, 0.99, 0.999, 0.9999999]:
        print(f"({f(p)}, {f(qnorm_mp(mpmath.mpf(p)))}),")


if __name__ == "__main__":
    main()
