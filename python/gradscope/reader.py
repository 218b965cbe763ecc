"""Reading gradient matrices sample by sample, and result tables into data frames."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional, Tuple, Union

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .format import check_layout, parse_provenance

PathLike = Union[str, os.PathLike]


@dataclass
class GradSample:
    """One gradient of a gradient matrix.

    ``values``: every tensor of ``layout`` flattened row-major and concatenated, a 1-D
    array of ``dim`` values (float32 unless asked otherwise). ``loss`` (the minibatch's
    mean loss) and ``batch_size`` are ``None`` where the file has nulls.
    """

    step: int
    sample: int
    loss: Optional[float]
    batch_size: Optional[int]
    values: np.ndarray
    layout: List[Dict[str, Any]] = field(repr=False)

    def tensors(self) -> Dict[str, np.ndarray]:
        """Each tensor's gradient in its shape (views of ``values``), by name."""
        return {
            t["name"]: self.values[t["offset"] : t["offset"] + t["numel"]].reshape(t["shape"])
            for t in self.layout
        }


def _open_batches(path: PathLike) -> Tuple[pa.Schema, Optional[Dict[str, Any]], Iterator[pa.RecordBatch], str]:
    """Schema, provenance, record batches and a display name of a Parquet file, an Arrow
    IPC stream or file, or ``-`` (an IPC stream on stdin)."""
    p = os.fspath(path)
    if p == "-":
        reader = pa.ipc.open_stream(sys.stdin.buffer)
        return reader.schema, parse_provenance(reader.schema.metadata), iter(reader), "stdin"
    with open(p, "rb") as f:
        magic = f.read(8)
    if magic[:4] == b"PAR1":
        pf = pq.ParquetFile(p)
        prov = parse_provenance(pf.metadata.metadata) or parse_provenance(pf.schema_arrow.metadata)
        return pf.schema_arrow, prov, pf.iter_batches(batch_size=4096), p
    if magic[:6] == b"ARROW1":
        r = pa.ipc.open_file(p)
        return r.schema, parse_provenance(r.schema.metadata), (r.get_batch(i) for i in range(r.num_record_batches)), p
    if magic[:4] == b"\xff\xff\xff\xff":
        r = pa.ipc.open_stream(p)
        return r.schema, parse_provenance(r.schema.metadata), iter(r), p
    if not magic:
        raise ValueError(f"{p}: the file is empty")
    raise ValueError(f"{p}: not a Parquet file or an Arrow IPC stream")


def read_provenance(path: PathLike) -> Optional[Dict[str, Any]]:
    """The ``gradscope`` provenance of a gradient matrix or result table (Parquet, Arrow
    IPC), or ``None`` when the file has none (CSV and JSON tables never do)."""
    p = os.fspath(path)
    if p.lower().endswith((".csv", ".json")):
        return None
    with open(p, "rb") as f:
        magic = f.read(4)
    if magic == b"PAR1":
        return parse_provenance(pq.read_metadata(p).metadata)
    return _open_batches(p)[1]


def read_grads(path: PathLike, dtype=np.float32) -> Iterator[GradSample]:
    """Iterates over the gradients of a gradient matrix, one :class:`GradSample` per
    (step, sample), in file order, holding one record batch and one sample at a time.

    ``path``: a Parquet file, an Arrow IPC stream or file, or ``-`` (a stream on stdin).
    The layout comes from the ``gradscope`` provenance; a file without it has its layout
    inferred from its first sample (names and lengths in order; shapes 1-D). Columns
    ``step``, ``sample``, ``tensor`` and ``values`` are required (any integer type,
    utf8 or dictionary names, a list of floats); ``loss`` and ``batch_size`` are optional.
    Every sample must hold every tensor of the layout, in order, with its length; a
    violation is a ``ValueError`` naming step, sample and tensor.
    ``dtype``: of the yielded ``values`` (float32 as stored, or e.g. ``np.float64``).
    """
    schema, prov, batches, name = _open_batches(path)
    for col in ("step", "sample", "tensor", "values"):
        if schema.get_field_index(col) < 0:
            raise ValueError(f"{name}: missing column `{col}` (columns found: {', '.join(schema.names)})")
    has_loss = schema.get_field_index("loss") >= 0
    has_bs = schema.get_field_index("batch_size") >= 0
    layout: Optional[List[Dict[str, Any]]] = None
    if prov is not None and prov.get("layout"):
        layout = prov["layout"]
        check_layout(layout)
    inferred: List[Tuple[str, int]] = []
    key: Optional[Tuple[int, int]] = None
    buf: Optional[np.ndarray] = None
    pos = 0  # next tensor of the layout expected in the current sample
    loss = bs = None

    def done() -> GradSample:
        nonlocal layout
        if layout is None:  # the first sample, of a file without provenance, just ended
            layout = []
            off = 0
            for n, k in inferred:
                layout.append({"name": n, "shape": [k], "numel": k, "offset": off})
                off += k
            values = np.concatenate(parts).astype(dtype, copy=False)
        else:
            if pos != len(layout):
                raise ValueError(f"{name}: step {key[0]}, sample {key[1]}: tensor `{layout[pos]['name']}` missing")
            values = buf
        return GradSample(key[0], key[1], loss, bs, values, layout)

    parts: List[np.ndarray] = []
    for batch in batches:
        steps = batch.column("step").to_numpy(zero_copy_only=False)
        samples = batch.column("sample").to_numpy(zero_copy_only=False)
        tcol = batch.column("tensor")
        if pa.types.is_dictionary(tcol.type):
            names = tcol.dictionary.to_pylist()
            tnames = [names[i] for i in tcol.indices.to_numpy(zero_copy_only=False)]
        else:
            tnames = tcol.to_pylist()
        vcol = batch.column("values")
        losses = batch.column("loss").to_pylist() if has_loss else [None] * batch.num_rows
        sizes = batch.column("batch_size").to_pylist() if has_bs else [None] * batch.num_rows
        if pa.types.is_fixed_size_list(vcol.type):
            width = vcol.type.list_size
            offsets = np.arange(batch.num_rows + 1) * width
            flat = vcol.flatten().to_numpy(zero_copy_only=False)
        else:
            offsets = vcol.offsets.to_numpy()
            offsets = offsets - offsets[0]
            flat = vcol.flatten().to_numpy(zero_copy_only=False)
        for r in range(batch.num_rows):
            k = (int(steps[r]), int(samples[r]))
            if k[0] < 0 or k[1] < 0:
                raise ValueError(f"{name}: row with step {k[0]}, sample {k[1]}: negative values are not allowed")
            if k != key:
                if key is not None:
                    if k < key:
                        raise ValueError(f"{name}: (step {k[0]}, sample {k[1]}) after (step {key[0]}, sample {key[1]}): samples must be in order")
                    yield done()
                key, pos, parts = k, 0, []
                loss, bs = losses[r], sizes[r]
                if layout is not None:
                    buf = np.empty(sum(t["numel"] for t in layout), dtype=dtype)
            row = flat[offsets[r] : offsets[r + 1]]
            tname = tnames[r]
            if layout is None:
                if any(tname == n for n, _ in inferred):
                    raise ValueError(f"{name}: step {k[0]}, sample {k[1]}: tensor `{tname}` appears twice")
                inferred.append((tname, len(row)))
                parts.append(np.asarray(row))
                continue
            if pos >= len(layout) or layout[pos]["name"] != tname:
                want = layout[pos]["name"] if pos < len(layout) else "(none: the sample is complete)"
                raise ValueError(f"{name}: step {k[0]}, sample {k[1]}: tensor `{tname}` where the layout has `{want}`")
            t = layout[pos]
            if len(row) != t["numel"]:
                raise ValueError(f"{name}: step {k[0]}, sample {k[1]}, tensor `{tname}`: {len(row)} values, the layout says {t['numel']}")
            buf[t["offset"] : t["offset"] + t["numel"]] = row
            pos += 1
    if key is not None:
        yield done()


def read_table(path: PathLike, engine: str = "pandas") -> Tuple[Any, Optional[Dict[str, Any]]]:
    """A result table (``vmf-kappa``, ``normtest``, ... output: Parquet, CSV or JSON) as a
    data frame, with its provenance: ``(frame, provenance)``.

    ``engine``: ``"pandas"`` (a ``pandas.DataFrame``; the provenance also in
    ``frame.attrs["gradscope"]``), ``"polars"`` (a ``polars.DataFrame``) or ``"arrow"`` (a
    ``pyarrow.Table``). The provenance is the parsed ``gradscope`` JSON of a Parquet
    table (its ``source`` key holds the input's, e.g. the gradient matrix's), or ``None``
    for CSV and JSON tables, which carry none.
    """
    p = os.fspath(path)
    low = p.lower()
    if low.endswith(".csv"):
        import pyarrow.csv as pacsv

        table, prov = pacsv.read_csv(p), None
    elif low.endswith(".json"):
        with open(p) as f:
            rows = json.load(f)
        table, prov = pa.Table.from_pylist(rows), None
    else:
        table = pq.read_table(p)
        prov = parse_provenance(pq.read_metadata(p).metadata)
    if engine == "arrow":
        return table, prov
    if engine == "polars":
        import polars as pl

        return pl.from_arrow(table), prov
    if engine == "pandas":
        frame = table.to_pandas()
        frame.attrs["gradscope"] = prov
        return frame, prov
    raise ValueError(f"unknown engine {engine!r}: pandas, polars or arrow")
