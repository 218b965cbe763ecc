#!/usr/bin/env python3
"""The Python peer of `normtest` for `make bench`: the loop a study's one-off script runs,
scipy.stats.shapiro and scipy.stats.normaltest called once per coordinate.

Reads the gradient-matrix Parquet file (one tensor, one step), takes the first K
coordinates (coordinate-major, widened to float64 as normtest does), and times the loop
over them. Only the loop is timed, not the reading: the per-coordinate time is then
extrapolated to all coordinates of the tensor, since the full loop would take minutes.
With the per-coordinate Parquet file normtest wrote for the same data, it also checks
that both give the same W, p and K^2 on these K coordinates.

usage: normtest_scipy.py GRADS.parquet K OUT.json [NORMTEST_COORDS.parquet]
"""
import json
import sys
import time

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
import scipy
from scipy import stats


def main(path, k, out, rust=None):
    table = pq.read_table(path, columns=["values"])
    values = table.column("values").combine_chunks()
    n = len(values)
    dim = len(values[0])
    k = min(k, dim)
    flat = values.flatten().to_numpy(zero_copy_only=False).reshape(n, dim)
    x = np.ascontiguousarray(flat[:, :k].T, dtype=np.float64)
    del flat, values, table

    w = np.empty(k)
    p_sw = np.empty(k)
    k2 = np.empty(k)
    p_k2 = np.empty(k)
    t_sw = t_k2 = 0.0
    for j in range(k):
        t0 = time.perf_counter()
        r = stats.shapiro(x[j])
        t1 = time.perf_counter()
        s = stats.normaltest(x[j])
        t2 = time.perf_counter()
        w[j], p_sw[j], k2[j], p_k2[j] = r.statistic, r.pvalue, s.statistic, s.pvalue
        t_sw += t1 - t0
        t_k2 += t2 - t1
    per = (t_sw + t_k2) / k
    result = {
        "scipy": scipy.__version__,
        "n": n,
        "dim": dim,
        "coords_timed": k,
        "loop_seconds": t_sw + t_k2,
        "us_per_coord_shapiro": 1e6 * t_sw / k,
        "us_per_coord_normaltest": 1e6 * t_k2 / k,
        "us_per_coord": 1e6 * per,
        "extrapolated_seconds": per * dim,
        "gaussian_pct_shapiro": 100.0 * float(np.mean(p_sw > 0.05)),
        "gaussian_pct_normaltest": 100.0 * float(np.mean(p_k2 > 0.05)),
    }
    if rust:
        t = pq.read_table(rust, columns=["index", "shapiro_w", "shapiro_p", "k2", "k2_p"])
        t = t.filter(pc.less(t.column("index"), k)).sort_by("index")
        col = lambda c: t.column(c).to_numpy()
        assert len(t) == k and (col("index") == np.arange(k)).all()
        result["max_abs_diff_w"] = float(np.max(np.abs(col("shapiro_w") - w)))
        result["max_rel_diff_shapiro_p"] = float(np.max(np.abs(col("shapiro_p") - p_sw) / p_sw))
        result["max_rel_diff_k2"] = float(np.max(np.abs(col("k2") - k2) / k2))
        result["max_rel_diff_k2_p"] = float(np.max(np.abs(col("k2_p") - p_k2) / p_k2))
    with open(out, "w") as f:
        json.dump(result, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else None)
