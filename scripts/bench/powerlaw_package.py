"""The `powerlaw` package (2.0.0) on one CSV column: the baseline of `make bench`.

    .venv/bin/python scripts/bench/powerlaw_package.py DATA.csv COLUMN OUT.csv

Fits a continuous power law with xmin chosen by the KS scan (the package's defaults,
as `powerlaw-fit --xmin scan`) and writes xmin, alpha, sigma, n_tail, D and the wall
seconds of the fit alone (reading the file is not timed).
"""
import csv
import sys
import time
import warnings

import numpy as np
import powerlaw

path, column, out = sys.argv[1:4]
with open(path) as f:
    x = np.array([float(r[column]) for r in csv.DictReader(f)])
warnings.filterwarnings("ignore")
t0 = time.perf_counter()
fit = powerlaw.Fit(x, verbose=0)
alpha = fit.power_law.alpha
elapsed = time.perf_counter() - t0
with open(out, "w") as f:
    f.write("n,xmin,alpha,sigma,n_tail,ks_d,seconds\n")
    f.write(f"{len(x)},{float(fit.xmin)!r},{float(alpha)!r},{float(fit.power_law.sigma)!r},"
            f"{int(fit.n_tail)},{float(fit.power_law.D)!r},{elapsed!r}\n")
