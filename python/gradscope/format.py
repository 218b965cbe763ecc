"""The gradient-matrix format: its Arrow schema and its provenance record.

One row per (step, sample, tensor):

============  ========================  ==========================================
column        type                      meaning
============  ========================  ==========================================
step          uint64                    training step of the parameter point
sample        uint32                    index of the minibatch drawn at that point
tensor        dictionary<int32, utf8>   parameter name
values        list<float32>             the flattened (row-major) gradient
loss          float64 (nullable)        the minibatch's mean loss
batch_size    uint32 (nullable)         the minibatch size
============  ========================  ==========================================

Rows are ordered by step, sample, then the layout's parameter order; every sample holds
every tensor of the layout; a Parquet row group never splits a sample. The file's
key-value metadata (the Arrow schema metadata of a stream) holds the provenance JSON
under the key ``gradscope``: the same record the Rust tools write
(``crates/gradscope-io/src/provenance.rs``), so every tool reads these files.
"""

from __future__ import annotations

import json
import math
import sys
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import pyarrow as pa

#: The key of the provenance JSON in Parquet key-value and Arrow schema metadata.
METADATA_KEY = "gradscope"

#: The version of the gradient-matrix format written and read here.
FORMAT_VERSION = 1

#: The columns, in order.
GRAD_COLUMNS = ("step", "sample", "tensor", "values", "loss", "batch_size")

#: The version of this package, recorded as ``tool`` in the provenance.
__version__ = "0.1.0"


def grad_schema(provenance: Optional[Dict[str, Any]] = None) -> pa.Schema:
    """The Arrow schema of the gradient matrix, with the provenance JSON (if given) under
    :data:`METADATA_KEY` in its metadata. The same types, nullability and field names as
    the Rust writer's ``grad_schema``."""
    fields = [
        pa.field("step", pa.uint64(), nullable=False),
        pa.field("sample", pa.uint32(), nullable=False),
        pa.field("tensor", pa.dictionary(pa.int32(), pa.utf8()), nullable=False),
        pa.field("values", pa.list_(pa.field("item", pa.float32(), nullable=False)), nullable=False),
        pa.field("loss", pa.float64(), nullable=True),
        pa.field("batch_size", pa.uint32(), nullable=True),
    ]
    meta = None
    if provenance is not None:
        meta = {METADATA_KEY: json.dumps(provenance, separators=(",", ":"))}
    return pa.schema(fields, metadata=meta)


def layout_from_shapes(tensors: Iterable[Tuple[str, Sequence[int]]]) -> List[Dict[str, Any]]:
    """The contiguous layout of ``(name, shape)`` pairs: a list of
    ``{"name", "shape", "numel", "offset"}`` dicts, ``offset`` being the position of the
    tensor's first coordinate in the concatenated gradient (0-based, in values)."""
    out, offset = [], 0
    for name, shape in tensors:
        shape = [int(s) for s in shape]
        numel = math.prod(shape)
        out.append({"name": str(name), "shape": shape, "numel": numel, "offset": offset})
        offset += numel
    return out


def check_layout(layout: Sequence[Dict[str, Any]]) -> None:
    """Raises ``ValueError`` unless the layout is usable: non-empty, unique names, no
    negative dimension, numel = product of the shape, no empty tensor, offsets contiguous from 0 (the Rust readers'
    rules)."""
    if not layout:
        raise ValueError("the parameter layout is empty")
    seen: Dict[str, int] = {}
    offset = 0
    for i, t in enumerate(layout):
        name = t["name"]
        if name in seen:
            raise ValueError(f"tensor `{name}` appears twice in the layout (positions {seen[name]} and {i})")
        seen[name] = i
        if any(d < 0 for d in t["shape"]):
            raise ValueError(f"tensor `{name}` has a negative dimension in shape {list(t['shape'])}")
        prod = math.prod(t["shape"])
        if prod != t["numel"]:
            raise ValueError(f"tensor `{name}` has shape {list(t['shape'])} ({prod} values) but numel {t['numel']}")
        if t["offset"] != offset:
            raise ValueError(f"tensor `{name}` has offset {t['offset']} but the tensors before it end at {offset}")
        if t["numel"] == 0:
            raise ValueError(f"tensor `{name}` is empty")
        offset += t["numel"]


def new_provenance(kind: str = "gradient-matrix", command: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    """A provenance record for ``kind`` written by this package, with the current
    process's command line (``sys.argv``, prefixed by the interpreter) unless given. Keys
    in the Rust record's order; fields nobody knows stay ``None`` (JSON null)."""
    if command is None:
        command = [sys.executable, *sys.argv]
    return {
        "format_version": FORMAT_VERSION,
        "kind": kind,
        "tool": f"gradscope-python {__version__}",
        "command": [str(c) for c in command],
        "model": None,
        "dataset": None,
        "seed": None,
        "batch_size": None,
        "sampling": None,
        "layout": [],
    }


def parse_provenance(metadata: Optional[Dict[bytes, bytes]]) -> Optional[Dict[str, Any]]:
    """The provenance dict from Arrow schema metadata or Parquet key-value metadata (keys
    and values as bytes or str), or ``None`` when there is none."""
    if not metadata:
        return None
    for k, v in metadata.items():
        key = k.decode() if isinstance(k, bytes) else k
        if key == METADATA_KEY:
            return json.loads(v.decode() if isinstance(v, bytes) else v)
    return None
