"""Writes crates/gradscope-io/testdata/pyarrow-v1-small-pages.parquet: a gradient matrix
written by pyarrow (Arrow C++), not by gradscope, with 400-byte data pages (v1, snappy,
no dictionary on `values`), so that most gradient rows span several pages. The reader's
page decoder must read it exactly as the Arrow path does; the values follow the formula
below, which the Rust test recomputes.

Run: .venv/bin/python scripts/reference/pyarrow_pages.py
"""
import json
import pathlib

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

OUT = pathlib.Path(__file__).resolve().parents[2] / "crates/gradscope-io/testdata/pyarrow-v1-small-pages.parquet"
DIMS = [("w", [10, 100]), ("b", [7]), ("s", [1])]
TOTAL = sum(int(np.prod(s)) for _, s in DIMS)

layout, offset = [], 0
for name, shape in DIMS:
    n = int(np.prod(shape))
    layout.append({"name": name, "shape": shape, "numel": n, "offset": offset})
    offset += n
meta = {"format_version": 1, "kind": "gradient-matrix", "tool": "pyarrow_pages.py",
        "command": [], "layout": layout}

cols = {k: [] for k in ["step", "sample", "tensor", "values", "loss", "batch_size"]}
for s in range(5):
    for t in layout:
        i = s * TOTAL + t["offset"] + np.arange(t["numel"])
        # value(s, j) = sin(0.37 * (s * 1008 + j)) in float64, rounded to float32
        cols["values"].append(np.sin(i * 0.37).astype(np.float32))
        cols["step"].append(3)
        cols["sample"].append(s)
        cols["tensor"].append(t["name"])
        cols["loss"].append(float(s))
        cols["batch_size"].append(8)
table = pa.table({
    "step": pa.array(cols["step"], pa.uint64()),
    "sample": pa.array(cols["sample"], pa.uint32()),
    "tensor": pa.array(cols["tensor"]).dictionary_encode(),
    "values": pa.array(cols["values"], pa.list_(pa.field("item", pa.float32(), nullable=False))),
    "loss": pa.array(cols["loss"], pa.float64()),
    "batch_size": pa.array(cols["batch_size"], pa.uint32()),
}).replace_schema_metadata({"gradscope": json.dumps(meta)})
pq.write_table(table, OUT, data_page_size=400, data_page_version="1.0",
               use_dictionary=["tensor"], write_batch_size=37, compression="snappy")
md = pq.ParquetFile(OUT).metadata
print(f"wrote {OUT}: {md.num_rows} rows, values column {md.row_group(0).column(3).total_uncompressed_size} bytes")
