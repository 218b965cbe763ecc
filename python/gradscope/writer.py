"""``GradWriter``: gradients from PyTorch into the gradient-matrix format."""

from __future__ import annotations

import operator
import os
import sys
import tempfile
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .format import check_layout, grad_schema, layout_from_shapes, new_provenance

try:  # torch is a dependency, but the writer also serves NumPy-only callers.
    import torch
except ImportError:  # pragma: no cover
    torch = None


def select_parameters(model, tensors: Optional[Sequence[str]] = None) -> List[Tuple[str, Any]]:
    """The ``(name, parameter)`` pairs of ``model`` whose gradients are written: every
    parameter with ``requires_grad``, in ``named_parameters()`` order, or only those
    ``tensors`` names: a full name (``fc1.weight``) or a prefix (``fc1``), as
    ``dump-grads --tensors``. Raises ``ValueError`` when the filter matches nothing."""
    params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    if not tensors:
        return params
    chosen = [(n, p) for n, p in params if any(n == f or n.startswith(f + ".") for f in tensors)]
    if not chosen:
        names = ", ".join(n for n, _ in params)
        raise ValueError(f"tensors {','.join(tensors)} match no parameter of {type(model).__name__}; its parameters: {names}")
    return chosen


def part_path(directory: Union[str, os.PathLike], rank: Optional[int] = None) -> str:
    """The part of rank ``rank`` in a gradient matrix written in parts:
    ``directory/part-{rank:05d}.parquet`` (the directory is created). ``rank`` defaults
    to this process's ``torch.distributed`` rank (``RANK`` from the environment, as
    ``torchrun`` sets it, when no process group is initialised)."""
    if rank is None:
        rank = distributed_rank()[0]
    os.makedirs(directory, exist_ok=True)
    return os.path.join(os.fspath(directory), f"part-{int(rank):05d}.parquet")


def distributed_rank() -> Tuple[int, int]:
    """``(rank, world_size)`` of this process: from the initialised ``torch.distributed``
    process group, else from ``RANK`` and ``WORLD_SIZE`` (``torchrun``'s variables), else
    ``(0, 1)``."""
    if torch is not None and torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


def model_class(model) -> str:
    """``module.QualifiedName`` of a model's class (recorded as provenance ``model``)."""
    cls = type(model)
    return f"{cls.__module__}.{cls.__qualname__}"


class GradWriter:
    """Writes a gradient matrix sample by sample.

    ``path``: a Parquet file (written to a temporary file beside it and renamed into
    place by :meth:`close`, so a failed run leaves no file), or ``"-"`` for an Arrow IPC
    stream on standard output (``python train.py | vmf-kappa -i - -o kappa.csv``). While
    the stream is open, whatever else the process prints to standard output (``print``,
    C libraries) goes to standard error instead, so it cannot corrupt the stream; file
    descriptor 1 is restored by :meth:`close`.

    The layout (which tensors, their shapes, in which order) comes from ``model``'s
    parameters with ``requires_grad`` (or the ``tensors`` chosen, names or prefixes), from
    ``params`` (``(name, tensor)`` pairs), or from ``layout`` (``(name, shape)`` pairs).
    Each sample holds every tensor of the layout, flattened row-major and concatenated:
    ``dim`` float32 values.

    Provenance (the ``gradscope`` metadata every tool carries into its results):
    ``model`` (default: the module's class, ``module.QualifiedName``), ``dataset``,
    ``seed`` (of the initialisation or the run), ``batch_size`` (the first or only one),
    ``sampling`` (how minibatches were drawn), ``command`` (default: ``sys.argv``), and any
    further JSON-serialisable keys in ``extra``.

    Parquet files follow the Rust writer's settings: no compression unless
    ``compression`` names one (``"zstd"``), plain-encoded values without statistics,
    a dictionary for ``tensor``, and row groups closed between samples once
    ``row_group_bytes`` (default 24 MiB) are buffered: a row group never splits a sample.

    Use as a context manager, or call :meth:`close`; leaving the ``with`` block through an
    exception discards a Parquet output and ends a stream without its end-of-stream
    marker, so the tool reading it fails (:meth:`abort`).
    """

    def __init__(
        self,
        path: Union[str, os.PathLike],
        model=None,
        *,
        params: Optional[Iterable[Tuple[str, Any]]] = None,
        layout: Optional[Iterable[Tuple[str, Sequence[int]]]] = None,
        tensors: Optional[Sequence[str]] = None,
        model_name: Optional[str] = None,
        dataset: Optional[str] = None,
        seed: Optional[int] = None,
        batch_size: Optional[int] = None,
        sampling: Optional[str] = None,
        command: Optional[Sequence[str]] = None,
        extra: Optional[Mapping[str, Any]] = None,
        row_group_bytes: int = 24 << 20,
        compression: Optional[str] = None,
    ):
        sources = sum(x is not None for x in (model, params, layout))
        if sources != 1:
            raise ValueError("give exactly one of model, params or layout")
        self._params: Optional[List[Tuple[str, Any]]] = None
        if model is not None:
            self._params = select_parameters(model, tensors)
            shapes = [(n, tuple(p.shape)) for n, p in self._params]
        elif params is not None:
            self._params = list(params)
            shapes = [(n, tuple(p.shape)) for n, p in self._params]
        else:
            shapes = [(n, tuple(s)) for n, s in layout]
        self.layout = layout_from_shapes(shapes)
        check_layout(self.layout)
        #: Values per sample (the total size of the layout).
        self.dim = sum(t["numel"] for t in self.layout)
        if self.dim > 2**31 - 1:
            raise ValueError(f"a sample of {self.dim} values exceeds the format's limit of {2**31 - 1} per sample")

        prov = new_provenance("gradient-matrix", command)
        prov["model"] = model_name if model_name is not None else (model_class(model) if model is not None else None)
        prov["dataset"] = dataset
        prov["seed"] = None if seed is None else int(seed)
        prov["batch_size"] = None if batch_size is None else int(batch_size)
        prov["sampling"] = sampling
        prov["layout"] = self.layout
        for k, v in (extra or {}).items():
            if k in prov:
                raise ValueError(f"extra provenance key `{k}` would overwrite a standard field")
            prov[k] = v
        #: The provenance record written under the ``gradscope`` metadata key.
        self.provenance = prov
        self.schema = grad_schema(prov)

        t = len(self.layout)
        self._offsets = pa.array(np.array([0] + [x["offset"] + x["numel"] for x in self.layout], dtype=np.int32))
        self._tensor = pa.DictionaryArray.from_arrays(
            pa.array(np.arange(t, dtype=np.int32)), pa.array([x["name"] for x in self.layout], pa.utf8())
        )
        self._list_type = self.schema.field("values").type
        self._buf = np.empty(self.dim, dtype=np.float32)
        self._last: Optional[Tuple[int, int]] = None
        #: Samples written so far.
        self.samples = 0
        self._row_group_bytes = int(row_group_bytes)
        self._pending: List[pa.RecordBatch] = []
        self._pending_bytes = 0
        self.path = os.fspath(path)
        self._closed = False
        self._stdout_fd: Optional[int] = None

        if self.path == "-":
            self.dest = "stdout"
            sys.stdout.flush()
            # The stream gets the real stdout; fd 1 becomes stderr until close().
            self._stdout_fd = os.dup(1)
            os.dup2(2, 1)
            self._sink = os.fdopen(os.dup(self._stdout_fd), "wb", buffering=1 << 20)
            self._ipc = pa.ipc.new_stream(self._sink, self.schema)
            self._pq = None
        else:
            self.dest = self.path
            ext = os.path.splitext(self.path)[1].lower()
            if ext in (".arrow", ".arrows", ".ipc", ".feather", ".csv", ".json"):
                raise ValueError(
                    f"{self.path}: a gradient matrix file is Parquet (name it .parquet); for an Arrow IPC stream write to stdout with path '-'"
                )
            directory = os.path.dirname(os.path.abspath(self.path))
            fd, self._tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".parquet", dir=directory)
            os.close(fd)
            self._pq = pq.ParquetWriter(
                self._tmp,
                self.schema,
                compression=compression or "none",
                use_dictionary=["tensor"],
                write_statistics=["step", "sample", "tensor", "loss", "batch_size"],
                # `values.list.item`, the column path the Rust writer gives it.
                use_compliant_nested_type=False,
            )
            self._ipc = None

    # -- writing ---------------------------------------------------------------------

    def _gather(self, grads) -> np.ndarray:
        """The sample's values as one float32 vector of ``dim``, in layout order."""
        buf = self._buf
        if grads is None:
            if self._params is None:
                raise ValueError("this writer was made from a layout: pass the gradients")
            parts = []
            for name, p in self._params:
                if p.grad is None:
                    raise ValueError(f"parameter `{name}` has no .grad: call loss.backward() before write()")
                parts.append(p.grad)
            grads = parts
        elif isinstance(grads, Mapping):
            missing = [t["name"] for t in self.layout if t["name"] not in grads]
            if missing:
                raise ValueError(f"gradients missing for tensor(s) {', '.join(missing)}")
            grads = [grads[t["name"]] for t in self.layout]
        elif _is_array(grads):
            flat = _to_numpy(grads, "the flat gradient").reshape(-1)
            if flat.size != self.dim:
                raise ValueError(f"a sample has {flat.size} values, the layout {self.dim}")
            np.copyto(buf, flat, casting="same_kind")
            return buf
        grads = list(grads)
        if len(grads) != len(self.layout):
            raise ValueError(f"{len(grads)} gradient tensors for a layout of {len(self.layout)}")
        for t, g in zip(self.layout, grads):
            a = _to_numpy(g, f"gradient of `{t['name']}`")
            if a.size != t["numel"]:
                raise ValueError(f"gradient of `{t['name']}` has {a.size} values, the layout {t['numel']} (shape {t['shape']})")
            # Flat is fine; another shape of the same size (a transposed weight) is a bug.
            if a.ndim != 1 and list(a.shape) != list(t["shape"]):
                raise ValueError(f"gradient of `{t['name']}` has shape {list(a.shape)}, the layout {list(t['shape'])} (pass it in that shape, or flat)")
            np.copyto(buf[t["offset"] : t["offset"] + t["numel"]], a.reshape(-1), casting="same_kind")
        return buf

    def write(self, step: int, sample: int, *, loss: Optional[float] = None, batch_size: Optional[int] = None, grads=None) -> None:
        """Appends one sample: the gradient at training step ``step`` (the parameter
        point) of minibatch number ``sample``, with its mean ``loss`` and ``batch_size``
        (both may be ``None``: null in the file).

        ``grads``: ``None`` takes each parameter's ``.grad`` (after ``loss.backward()``);
        else a sequence of tensors/arrays in layout order, a dict ``name -> tensor`` (each
        in its parameter's shape, or flat; sparse tensors are made dense), or one flat
        tensor/array of ``dim`` values. ``step`` and ``sample`` are integers. Values are stored as float32 (float64,
        float16 and bfloat16 gradients are rounded to it). ``(step, sample)`` must
        increase strictly from one call to the next; NaN or infinity is refused with
        ``ValueError`` naming the tensor and the index.
        """
        if self._closed:
            raise ValueError(f"cannot write {self.dest}: the writer is closed")
        try:  # integers only: int(1.7) would quietly file the sample under step 1
            step, sample = operator.index(step), operator.index(sample)
        except TypeError:
            raise ValueError(f"step {step!r} / sample {sample!r}: both must be integers") from None
        if not (0 <= step < 2**64) or not (0 <= sample < 2**32):
            raise ValueError(f"step {step} / sample {sample} out of range (step: uint64, sample: uint32)")
        if batch_size is not None and not (0 <= int(batch_size) < 2**32):
            raise ValueError(f"batch_size {batch_size} out of range (uint32)")
        if self._last is not None and (step, sample) <= self._last:
            raise ValueError(
                f"cannot write {self.dest}: (step {step}, sample {sample}) after (step {self._last[0]}, sample {self._last[1]}): samples must be written in order"
            )
        values = self._gather(grads)
        finite = np.isfinite(values)
        if not finite.all():
            i = int(np.argmin(finite))
            t = next(t for t in self.layout if t["offset"] <= i < t["offset"] + t["numel"])
            raise ValueError(
                f"cannot write {self.dest}: step {step}, sample {sample}, tensor `{t['name']}`, index {i - t['offset']}: value {values[i]} is not finite{' (float32, which stores it, holds at most 3.4e38)' if np.isinf(values[i]) else ''}"
            )
        rows = len(self.layout)
        batch = pa.RecordBatch.from_arrays(
            [
                pa.array(np.full(rows, step, dtype=np.uint64)),
                pa.array(np.full(rows, sample, dtype=np.uint32)),
                self._tensor,
                pa.ListArray.from_arrays(
                    self._offsets,
                    # A stream sends the batch now; a row group keeps it until it closes.
                    pa.array(values if self._ipc is not None else values.copy()),
                    type=self._list_type,
                ),
                pa.array([None if loss is None else float(loss)] * rows, pa.float64()),
                pa.array([None if batch_size is None else int(batch_size)] * rows, pa.uint32()),
            ],
            schema=self.schema,
        )
        if self._ipc is not None:
            try:
                self._ipc.write_batch(batch)
            except BrokenPipeError:
                self.abort()
                raise BrokenPipeError(
                    "cannot write the gradient stream on stdout: its reader has gone (it closed the pipe, or failed: its own error says why)"
                ) from None
        else:
            self._pending.append(batch)
            self._pending_bytes += batch.nbytes
            if self._pending_bytes >= self._row_group_bytes:
                self._flush_group()
        self._last = (step, sample)
        self.samples += 1

    def _flush_group(self) -> None:
        if self._pending:
            table = pa.Table.from_batches(self._pending, schema=self.schema)
            self._pq.write_table(table, row_group_size=table.num_rows)
            self._pending, self._pending_bytes = [], 0

    # -- ending ----------------------------------------------------------------------

    def close(self) -> int:
        """Finishes the file (renamed into place) or the stream; returns the number of
        samples written. Idempotent."""
        if self._closed:
            return self.samples
        self._closed = True
        if self._ipc is not None:
            try:
                self._ipc.close()
                self._sink.flush()
            finally:
                self._sink.close()
                self._restore_stdout()
        else:
            try:
                self._flush_group()
                self._pq.close()
                os.replace(self._tmp, self.path)
            except BaseException:
                _unlink(self._tmp)
                raise
        return self.samples

    def abort(self) -> None:
        """Stops without producing an output: the temporary Parquet file is removed, and
        a stream is closed without its end-of-stream marker, so the reading tool fails
        ("the stream ends without its end-of-stream marker") instead of taking the
        samples so far for a finished matrix."""
        if self._closed:
            return
        self._closed = True
        if self._ipc is not None:
            # Dropping pyarrow's stream writer unclosed writes no marker.
            self._ipc = None
            try:
                self._sink.close()
            except Exception:
                pass
            self._restore_stdout()
        else:
            try:
                self._pq.close()
            except Exception:
                pass
            _unlink(self._tmp)

    def _restore_stdout(self) -> None:
        if self._stdout_fd is not None:
            sys.stdout.flush()
            os.dup2(self._stdout_fd, 1)
            os.close(self._stdout_fd)
            self._stdout_fd = None

    def __enter__(self) -> "GradWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def __del__(self):  # a writer dropped unclosed leaves no file behind
        try:
            if not self._closed:
                self.abort()
        except Exception:
            pass


def _is_array(x) -> bool:
    if isinstance(x, np.ndarray):
        return True
    return torch is not None and isinstance(x, torch.Tensor)


def _to_numpy(x, what: str) -> np.ndarray:
    """``x`` as float32 NumPy values; ``what`` names it in errors. Sparse tensors (an
    ``nn.Embedding(sparse=True)``'s gradient) are made dense; complex or non-numeric
    values are refused rather than cast."""
    if torch is not None and isinstance(x, torch.Tensor):
        x = x.detach()
        if x.layout != torch.strided:
            x = x.to_dense()
        if x.is_complex() or x.dtype == torch.bool:
            raise ValueError(f"{what} has dtype {x.dtype}: gradients are real numbers")
        if x.dtype != torch.float32:
            x = x.to(torch.float32)
        return x.cpu().contiguous().numpy()
    a = np.asarray(x)
    if a.dtype.kind not in "fiu":
        raise ValueError(f"{what} has dtype {a.dtype}: gradients are real numbers")
    return a if a.dtype == np.float32 else a.astype(np.float32)


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
