"""Checks that two result tables hold the same rows: the table merged from the shards'
states against one vmf-kappa pass over the unsharded gradients (the reference).

    python same_table.py MERGED REFERENCE [--rtol 1e-12]

Rows are matched by their key columns (step, batch_size, scope); whole-number and text
columns must be equal, floating-point ones equal to within rtol relative to the larger of
the two magnitudes (NaN matches NaN). Prints the largest relative difference; exits 1 with
the first disagreement named. Read with pyarrow, independently of gradscope's reader.
"""

import argparse
import math
import sys

import pyarrow as pa
import pyarrow.parquet as pq

KEYS = ["step", "batch_size", "scope"]


def rows(path):
    t = pq.read_table(path)
    keys = [k for k in KEYS if k in t.column_names]
    d = t.to_pydict()
    out = {}
    for r in range(t.num_rows):
        out[tuple(d[k][r] for k in keys)] = {c: d[c][r] for c in t.column_names}
    return t.schema, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("merged")
    ap.add_argument("reference")
    ap.add_argument("--rtol", type=float, default=1e-12)
    a = ap.parse_args()
    s1, r1 = rows(a.merged)
    s2, r2 = rows(a.reference)
    if s1.names != s2.names:
        sys.exit(f"error: {a.merged}: columns {s1.names} differ from the reference's {s2.names}")
    if sorted(r1) != sorted(r2):
        sys.exit(f"error: {a.merged}: rows {sorted(r1)} differ from the reference's {sorted(r2)}")
    worst, where = 0.0, None
    for key, row in r1.items():
        ref = r2[key]
        for c in s1.names:
            x, y = row[c], ref[c]
            if pa.types.is_floating(s1.field(c).type):
                if x is None or y is None or math.isnan(x) or math.isnan(y):
                    same = (x is None) == (y is None) and (x is None or math.isnan(x) == math.isnan(y))
                    rel = 0.0 if same else math.inf
                else:
                    scale = max(abs(x), abs(y))
                    rel = 0.0 if scale == 0 else abs(x - y) / scale
                if rel > worst:
                    worst, where = rel, (key, c, x, y)
                if rel > a.rtol:
                    sys.exit(f"error: {a.merged}: row {key} column {c}: {x!r} against {y!r} "
                             f"(relative difference {rel:.3e} > {a.rtol:g})")
            elif x != y:
                sys.exit(f"error: {a.merged}: row {key} column {c}: {x!r} against {y!r}")
    print(f"{len(r1)} rows x {len(s1.names)} columns equal; largest relative difference "
          f"{worst:.3e}" + (f" (row {where[0]}, {where[1]})" if where else ""))


if __name__ == "__main__":
    main()
