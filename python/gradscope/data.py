"""What the Rust tools read, from Python: their datasets and their checkpoints.

- :func:`load_idx_dataset`: MNIST / Fashion-MNIST as ``train``, ``dump-grads`` and the
  others load them (official IDX files, md5-verified, pixels divided by 255 into
  float32 images ``[N, 1, 28, 28]``, labels int64 ``[N]``), looked up where the tools look;
- :func:`load_checkpoint`: a ``train`` checkpoint (safetensors: the model's parameters and
  buffers under their names, the optimiser's state, the run's JSON record).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import struct
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

#: md5 of the official releases (as ``gradscope-torch``'s datasets module checks).
CHECKSUMS = {
    "mnist/train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "mnist/train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "mnist/t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "mnist/t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    "fashion-mnist/train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "fashion-mnist/train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "fashion-mnist/t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "fashion-mnist/t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}


def search_dirs(data_dir: Optional[str] = None) -> List[str]:
    """Where datasets are looked up, in order: ``data_dir``, ``data/raw`` (relative to the
    working directory, where ``make data`` puts them), ``$GRADSCOPE_DATA_MIRROR``."""
    dirs = [data_dir] if data_dir else []
    dirs.append(os.path.join("data", "raw"))
    if os.environ.get("GRADSCOPE_DATA_MIRROR"):
        dirs.append(os.environ["GRADSCOPE_DATA_MIRROR"])
    return dirs


def _read_verified(rel: str, dirs: Sequence[str]) -> bytes:
    want = CHECKSUMS[rel]
    for d in dirs:
        p = os.path.join(d, rel)
        if os.path.isfile(p):
            with open(p, "rb") as f:
                data = f.read()
            got = hashlib.md5(data).hexdigest()
            if got != want:
                raise ValueError(f"{p} has md5 {got}, expected {want} (the official release)")
            return data
    raise FileNotFoundError(f"dataset file {rel} (md5 {want}) not found in {', '.join(dirs)}: run `make data` or set GRADSCOPE_DATA_MIRROR")


def _parse_idx(data: bytes) -> np.ndarray:
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ValueError("not an IDX file of unsigned bytes")
    nd = data[3]
    dims = struct.unpack(">" + "I" * nd, data[4 : 4 + 4 * nd])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * nd).reshape(dims)


def load_idx_dataset(name: str = "mnist", split: str = "train", data_dir: Optional[str] = None) -> Tuple[torch.Tensor, torch.Tensor]:
    """``(images, labels)`` of ``name`` (``mnist`` or ``fashion-mnist``), ``split``
    ``train`` (60,000) or ``test`` (10,000): images float32 ``[N, 1, 28, 28]`` in [0, 1]
    (the byte divided by 255, as the Rust tools compute it), labels int64 ``[N]``."""
    part = {"train": "train", "test": "t10k"}[split]
    dirs = search_dirs(data_dir)
    img = _parse_idx(_read_verified(f"{name}/{part}-images-idx3-ubyte.gz", dirs))
    lab = _parse_idx(_read_verified(f"{name}/{part}-labels-idx1-ubyte.gz", dirs))
    images = torch.from_numpy(img.copy()).reshape(img.shape[0], 1, img.shape[1], img.shape[2]).to(torch.float32)
    images.div_(255.0)
    return images, torch.from_numpy(lab.astype(np.int64))


_DTYPES = {
    "F32": torch.float32,
    "F64": torch.float64,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}


def load_checkpoint(path: str) -> Tuple[Dict[str, torch.Tensor], Dict[str, Any]]:
    """A ``train`` checkpoint: ``(tensors, state)``. ``tensors``: every tensor of the
    safetensors file by name (parameters and buffers under the model's names, e.g.
    ``fc1.weight``; the optimiser's under ``optim.<param>.buf1``...), on the CPU.
    ``state``: the run's JSON record (``__state__``: model, dataset, step, epoch, seed,
    settings)."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    base = 8 + n
    tensors: Dict[str, torch.Tensor] = {}
    state: Dict[str, Any] = {}
    for key, info in header.items():
        if key == "__metadata__":
            continue
        start, end = info["data_offsets"]
        buf = bytearray(raw[base + start : base + end])
        dtype = _DTYPES[info["dtype"]]
        t = torch.frombuffer(buf, dtype=dtype) if buf else torch.empty(0, dtype=dtype)
        t = t.reshape(info["shape"])
        if key == "__state__":
            state = json.loads(bytes(t.to(torch.uint8).tolist()))
        else:
            tensors[key] = t
    if not state:
        raise ValueError(f"{path} is not a gradscope checkpoint (no __state__)")
    return tensors, state
