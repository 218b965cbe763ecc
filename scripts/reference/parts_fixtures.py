#!/usr/bin/env python3
"""A gradient matrix and the same matrix split into parts by pyarrow, for the tests of
reading a matrix in parts (crates/gradscope-cli/tests/parts.rs, python/tests/test_parts.py).

Writes crates/gradscope-cli/testdata/parts/:
- whole.parquet: 3 steps (0, 5, 12) x 24 minibatch gradients of tensors `w` [3, 4] and
  `b` [5] (17 float32 values drawn by NumPy's PCG64 with seed 17), loss and batch_size
  (8) columns, `gradscope` provenance (model "toy", dataset "synthetic", seed 17);
- hive/step=S/part-0000K.parquet: hive partitions by step as DuckDB, polars and pyarrow
  write them (the `step` column left out of the files, its value in the directory name),
  two parts per step holding the samples j with j mod 2 = K;
- hive-keep/step=S/part-0000K.parquet: the same, the files keeping their `step` column;
- list/block-K.parquet: three contiguous blocks of samples 0-9, 10-19, 20-23 of every
  step (as the Python writer's ranks split a run);
- bad/layout/{a,b}.parquet: two parts whose layouts differ (`b` [5] against `b` [6]);
- bad/runs/{a,b}.parquet: two parts from runs whose seeds differ (17 against 18);
- bad/dup/{a,b}.parquet: both parts hold step 5 sample 3;
- bad/order/{a,b}.parquet: part b holds its samples in reverse order;
- bad/hive/step=5/part-00000.parquet: a file whose `step` column (0) disagrees with its
  directory (step=5).

Every part keeps the whole file's provenance (pyarrow writes the schema metadata back
as Parquet key-value metadata), so the tools read them as one matrix; the parts of
bad/ differ in what the tests say.

Regenerate: .venv/bin/python scripts/reference/parts_fixtures.py
"""
import json
import pathlib
import shutil

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "crates/gradscope-cli/testdata/parts"
STEPS = [0, 5, 12]
N = 24
LAYOUT = [("w", [3, 4]), ("b", [5])]


def layout(shapes):
    out, offset = [], 0
    for name, shape in shapes:
        numel = int(np.prod(shape))
        out.append({"name": name, "shape": shape, "numel": numel, "offset": offset})
        offset += numel
    return out


def provenance(seed=17, shapes=LAYOUT):
    return {
        "format_version": 1,
        "kind": "gradient-matrix",
        "tool": "parts_fixtures.py",
        "command": ["scripts/reference/parts_fixtures.py"],
        "model": "toy",
        "dataset": "synthetic",
        "seed": seed,
        "batch_size": 8,
        "sampling": "independent",
        "layout": layout(shapes),
    }


def schema(prov):
    item = pa.field("item", pa.float32(), nullable=False)
    return pa.schema(
        [
            pa.field("step", pa.uint64(), nullable=False),
            pa.field("sample", pa.uint32(), nullable=False),
            pa.field("tensor", pa.dictionary(pa.int32(), pa.utf8()), nullable=False),
            pa.field("values", pa.list_(item), nullable=False),
            pa.field("loss", pa.float64()),
            pa.field("batch_size", pa.uint32()),
        ],
        metadata={"gradscope": json.dumps(prov, separators=(",", ":"))},
    )


def matrix(keys, seed=17, shapes=LAYOUT, rng_seed=17):
    """The rows of the gradients at `keys` ((step, sample) pairs); each gradient's values
    depend on its key alone, so any subset holds the whole matrix's numbers."""
    prov = provenance(seed, shapes)
    lay = prov["layout"]
    steps, samples, tensors, values, losses = [], [], [], [], []
    for step, sample in keys:
        rng = np.random.default_rng([rng_seed, step, sample])
        g = rng.standard_normal(sum(t["numel"] for t in lay)).astype(np.float32)
        g[:5] += np.float32(0.5)  # a mean direction, so kappa is finite
        for i, t in enumerate(lay):
            steps.append(step)
            samples.append(sample)
            tensors.append(i)
            values.append(g[t["offset"] : t["offset"] + t["numel"]])
            losses.append(float(np.float32(2.0 + 0.01 * sample)))
    s = schema(prov)
    names = pa.array([t["name"] for t in lay], pa.utf8())
    cols = [
        pa.array(steps, pa.uint64()),
        pa.array(samples, pa.uint32()),
        pa.DictionaryArray.from_arrays(pa.array(tensors, pa.int32()), names),
        pa.array([list(map(float, v)) for v in values], s.field("values").type),
        pa.array(losses, pa.float64()),
        pa.array([8] * len(steps), pa.uint32()),
    ]
    return pa.Table.from_arrays(cols, schema=s)


def write(table, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, compression="none", use_dictionary=["tensor"])


def rows_where(table, mask):
    return table.filter(pa.array(mask))


def main():
    if OUT.exists():
        shutil.rmtree(OUT)
    keys = [(s, j) for s in STEPS for j in range(N)]
    whole = matrix(keys)
    write(whole, OUT / "whole.parquet")
    step = whole.column("step").to_numpy()
    sample = whole.column("sample").to_numpy()
    for s in STEPS:
        for k in range(2):
            part = rows_where(whole, (step == s) & (sample % 2 == k))
            write(part.drop_columns(["step"]), OUT / f"hive/step={s}/part-{k:05d}.parquet")
            write(part, OUT / f"hive-keep/step={s}/part-{k:05d}.parquet")
    for k, (lo, hi) in enumerate([(0, 10), (10, 20), (20, 24)]):
        write(rows_where(whole, (sample >= lo) & (sample < hi)), OUT / f"list/block-{k}.parquet")

    bad = OUT / "bad"
    first = [(0, j) for j in range(8)]
    second = [(0, j) for j in range(8, 16)]
    write(matrix(first), bad / "layout/a.parquet")
    write(matrix(second, shapes=[("w", [3, 4]), ("b", [6])]), bad / "layout/b.parquet")
    write(matrix(first), bad / "runs/a.parquet")
    write(matrix(second, seed=18), bad / "runs/b.parquet")
    write(matrix([(5, j) for j in range(0, 8)]), bad / "dup/a.parquet")
    write(matrix([(5, j) for j in range(3, 10)]), bad / "dup/b.parquet")
    write(matrix(first), bad / "order/a.parquet")
    write(matrix(list(reversed(second))), bad / "order/b.parquet")
    write(matrix(first), bad / "hive/step=5/part-00000.parquet")


if __name__ == "__main__":
    main()
