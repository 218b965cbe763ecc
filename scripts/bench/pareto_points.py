"""The powerlaw benchmark's input (scripts/bench/run.sh): 100,000 Pareto points x = (1-u)^(-1/1.5)
(alpha = 2.5, xmin = 1) from a seeded generator, and their first 10,000.
Usage: pareto_points.py OUT_100K_CSV OUT_10K_CSV
"""
import sys
import numpy as np
u = np.random.default_rng(20090201).random(100_000)
x = (1.0 - u) ** (-1.0 / 1.5)
for path, m in [(sys.argv[1], 100_000), (sys.argv[2], 10_000)]:
    with open(path, "w") as f:
        f.write("x\n")
        f.writelines(f"{float(v)!r}\n" for v in x[:m])
