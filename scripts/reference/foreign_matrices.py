#!/usr/bin/env python3
"""Gradient matrices written by other Arrow producers, and what NumPy/scipy compute on them.

Writes crates/gradscope-cli/testdata/foreign/: the same gradients (two steps of 40
minibatch gradients, tensors `w` [3, 4] and `b` [5], float64 values drawn by NumPy's
PCG64 with seed 14) as written by
- pyarrow, Parquet, no `gradscope` metadata, int64 step/sample, utf8 names, list<float64>,
  no loss or batch_size columns                                  (pyarrow-nometa-f64.parquet)
- pyarrow, Parquet, with `gradscope` metadata, int32 step, uint16 sample, dictionary<int8,
  large_utf8> names, large_list<float32>, float32 loss, int64 batch_size (pyarrow-meta-f32.parquet)
- pyarrow, Arrow IPC stream of the first file's table             (pyarrow-nometa-f64.arrows)
- pyarrow, Parquet, no metadata, list<float32> without dictionary encoding (read by the
  page decoder)                                                  (pyarrow-plain-f32.parquet)
- polars, Parquet and IPC stream, no metadata, i64, str, list[f64] (polars.parquet, polars.arrows)
- DuckDB, `COPY ... TO 'x.parquet'`, no metadata, BIGINT, VARCHAR, DOUBLE[] (duckdb.parquet)
- DuckDB with `KV_METADATA {gradscope: ...}` and FLOAT[] values    (duckdb-meta-f32.parquet)
- pyarrow, one tensor `w` only as fixed_size_list<float32>[12]    (pyarrow-fixed.parquet)

and the reference values of the statistics the tools compute, from NumPy and scipy on
the same numbers as the tools read them (the reader converts float64 values to float32,
so the references are computed on the values rounded to float32, in float64):
- vmf-reference.csv: per step and scope (`all`, `w`, `b`): n, r_bar = |sum g_i/|g_i|| / n,
  Banerjee et al.'s kappa = r_bar (d - r_bar^2) / (1 - r_bar^2), mean and sample sd
  (ddof 1) of |g_i|, GS = sqrt(trace of the unbiased covariance) / |mean g|; and the same
  r_bar and kappa on the unrounded float64 values (r_bar_f64, kappa_f64), which show what
  the conversion to float32 costs;
- normtest-reference.csv: per step and coordinate, scipy.stats.shapiro (W, p) and
  scipy.stats.normaltest (K^2, p) over the 40 gradients.

The Rust test crates/gradscope-cli/tests/foreign_matrices.rs runs vmf-kappa and normtest
on every file and compares.

Regenerate: .venv/bin/python scripts/reference/foreign_matrices.py
"""
import json
import pathlib

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import scipy
import scipy.stats as st

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "crates/gradscope-cli/testdata/foreign"
TENSORS = [("w", [3, 4]), ("b", [5])]
STEPS = [0, 10]
N = 40

rng = np.random.Generator(np.random.PCG64(14))
dim = sum(int(np.prod(s)) for _, s in TENSORS)
mean = rng.normal(0.0, 1.0, dim)
# Gradients: a common mean plus noise, a different noise scale per step.
grads = {step: mean + (0.5 + 0.25 * k) * rng.normal(0.0, 1.0, (N, dim)) for k, step in enumerate(STEPS)}

layout, offset = [], 0
for name, shape in TENSORS:
    n = int(np.prod(shape))
    layout.append({"name": name, "shape": shape, "numel": n, "offset": offset})
    offset += n
provenance = {"format_version": 1, "kind": "gradient-matrix", "tool": "foreign_matrices.py",
              "command": [], "layout": layout}


def rows(tensors=layout):
    """The long table: one row per (step, sample, tensor)."""
    out = {"step": [], "sample": [], "tensor": [], "values": [], "loss": [], "batch_size": []}
    for step in STEPS:
        for s in range(N):
            for t in tensors:
                out["step"].append(step)
                out["sample"].append(s)
                out["tensor"].append(t["name"])
                out["values"].append(grads[step][s, t["offset"]:t["offset"] + t["numel"]])
                out["loss"].append(2.0 + 0.01 * s)
                out["batch_size"].append(32)
    return out


OUT.mkdir(parents=True, exist_ok=True)
r = rows()
nometa = pa.table({
    "step": pa.array(r["step"], pa.int64()),
    "sample": pa.array(r["sample"], pa.int64()),
    "tensor": pa.array(r["tensor"], pa.string()),
    "values": pa.array(r["values"], pa.list_(pa.float64())),
})
pq.write_table(nometa, OUT / "pyarrow-nometa-f64.parquet")
with ipc.new_stream(OUT / "pyarrow-nometa-f64.arrows", nometa.schema) as w:
    w.write_table(nometa, max_chunksize=7)

meta_f32 = pa.table({
    "step": pa.array(r["step"], pa.int32()),
    "sample": pa.array(r["sample"], pa.uint16()),
    "tensor": pa.array(r["tensor"], pa.large_string()).dictionary_encode().cast(
        pa.dictionary(pa.int8(), pa.large_string())),
    "values": pa.array([v.astype(np.float32) for v in r["values"]], pa.large_list(pa.float32())),
    "loss": pa.array(r["loss"], pa.float32()),
    "batch_size": pa.array(r["batch_size"], pa.int64()),
}).replace_schema_metadata({"gradscope": json.dumps(provenance)})
pq.write_table(meta_f32, OUT / "pyarrow-meta-f32.parquet")

plain = nometa.set_column(3, "values", pa.array([v.astype(np.float32) for v in r["values"]], pa.list_(pa.float32())))
pq.write_table(plain, OUT / "pyarrow-plain-f32.parquet", use_dictionary=["tensor"], data_page_size=300)

w_only = rows(layout[:1])
fixed = pa.table({
    "step": pa.array(w_only["step"], pa.uint64()),
    "sample": pa.array(w_only["sample"], pa.uint32()),
    "tensor": pa.array(w_only["tensor"], pa.string()),
    "values": pa.FixedSizeListArray.from_arrays(
        pa.array(np.concatenate(w_only["values"]).astype(np.float32)), 12),
})
pq.write_table(fixed, OUT / "pyarrow-fixed.parquet")

df = pl.DataFrame({
    "step": pl.Series(r["step"], dtype=pl.Int64),
    "sample": pl.Series(r["sample"], dtype=pl.Int64),
    "tensor": r["tensor"],
    "values": pl.Series([v.tolist() for v in r["values"]], dtype=pl.List(pl.Float64)),
})
df.write_parquet(OUT / "polars.parquet")
with open(OUT / "polars.arrows", "wb") as f:
    df.write_ipc_stream(f)

con = duckdb.connect()
con.register("grads", nometa)
con.execute(f"COPY (SELECT * FROM grads ORDER BY step, sample, tensor = 'b') TO '{OUT / 'duckdb.parquet'}' (FORMAT parquet)")
con.execute(
    "COPY (SELECT step::INTEGER AS step, sample::BIGINT AS sample, tensor, values::FLOAT[] AS values, "
    "2.0::DOUBLE AS loss, 32::INTEGER AS batch_size FROM grads ORDER BY step, sample, tensor = 'b') "
    f"TO '{OUT / 'duckdb-meta-f32.parquet'}' (FORMAT parquet, KV_METADATA {{gradscope: '{json.dumps(provenance)}'}})")


def as_read(x):
    """What the reader holds: float32, widened again for the statistics."""
    return x.astype(np.float32).astype(np.float64)


def directional(g):
    norms = np.linalg.norm(g, axis=1)
    r_bar = np.linalg.norm((g / norms[:, None]).sum(axis=0)) / len(g)
    d = g.shape[1]
    kappa = r_bar * (d - r_bar**2) / (1 - r_bar**2)
    gs = np.sqrt(np.var(g, axis=0, ddof=1).sum()) / np.linalg.norm(g.mean(axis=0))
    return r_bar, kappa, norms.mean(), norms.std(ddof=1), gs


with open(OUT / "vmf-reference.csv", "w") as f:
    f.write("step,scope,n,r_bar,kappa,mean_norm,std_norm,gs,r_bar_f64,kappa_f64\n")
    for step in STEPS:
        for scope, lo, hi in [("all", 0, dim)] + [(t["name"], t["offset"], t["offset"] + t["numel"]) for t in layout]:
            exact = grads[step][:, lo:hi]
            vals = directional(as_read(exact))
            r64, k64 = directional(exact)[:2]
            f.write(f"{step},{scope},{N}," + ",".join(repr(float(v)) for v in vals) + f",{float(r64)!r},{float(k64)!r}\n")

with open(OUT / "normtest-reference.csv", "w") as f:
    f.write("step,tensor,index,shapiro_w,shapiro_p,k2,k2_p\n")
    for step in STEPS:
        g = as_read(grads[step])
        for t in layout:
            for j in range(t["numel"]):
                x = g[:, t["offset"] + j]
                w, wp = st.shapiro(x)
                k2, kp = st.normaltest(x)
                f.write(f"{step},{t['name']},{j},{float(w)!r},{float(wp)!r},{float(k2)!r},{float(kp)!r}\n")

print(f"wrote {OUT} (numpy {np.__version__}, scipy {scipy.__version__}, pyarrow {pa.__version__}, "
      f"polars {pl.__version__}, duckdb {duckdb.__version__})")
for p in sorted(OUT.glob("*.parquet")):
    print(p.name, pq.read_schema(p).types)
