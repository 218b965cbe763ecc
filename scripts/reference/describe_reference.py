#!/usr/bin/env python3
"""Reference values for gradscope-stats' `describe` module (mean, sample sd, quantiles).

Run from the repository root:

    .venv/bin/python scripts/reference/describe_reference.py

It prints, for every data set the Rust tests use (`crates/gradscope-stats/src/describe.rs`):

* `numpy.mean` and `numpy.std(ddof=1)` (the sample standard deviation, divisor n - 1);
* `numpy.quantile(method="linear")`, numpy's default: Hyndman and Fan's (1996) type 7,
  R's default, `h = (n - 1) q`, linear interpolation between the order statistics
  `x[floor(h)]` and `x[floor(h) + 1]`.

The data sets are written so that both sides build the same doubles: decimal literals,
and values `((k * 7919) % 1009) / 17 - 20` made with one correctly rounded division and
one subtraction.
"""

import warnings

import numpy as np

QS = [0.0, 0.05, 0.25, 1.0 / 3.0, 0.5, 0.75, 0.95, 0.99, 1.0]

DATA = {
    "one": [2.5],
    "two": [1.0, 2.0],
    "ties": [0.3, -1.7, 2.9, 4.4, 0.05, 10.0, -3.25, 7.125, 2.9, 2.9, -1.7],
    "mod1009": [((k * 7919) % 1009) / 17.0 - 20.0 for k in range(1000)],
}


def main():
    print(f"numpy {np.__version__}")
    print(f"qs = {QS!r}")
    for name, x in DATA.items():
        a = np.array(x, dtype=np.float64)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # ddof=1 with n = 1 is NaN
            sd = float(np.std(a, ddof=1))
        q = [float(v) for v in np.quantile(a, QS, method="linear")]
        print(f"[{name}] n = {len(a)}")
        print(f"  mean = {float(np.mean(a))!r}")
        print(f"  sd   = {sd!r}")
        print(f"  quantiles = [{', '.join(repr(v) for v in q)}]")


if __name__ == "__main__":
    main()
