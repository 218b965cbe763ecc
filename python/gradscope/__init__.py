"""gradscope's Python side: gradients from any PyTorch model into gradscope's
gradient-matrix format (Parquet or an Arrow IPC stream), and its files back into NumPy,
pandas and polars. The statistics stay in the gradscope tools (``vmf-kappa``,
``normtest``, ``powerlaw-fit``, ...), which read what this package writes.

- :class:`GradWriter`: writes gradients (each parameter's ``.grad``, or given tensors);
- :func:`minibatch_gradients`: the vMF study's protocol (independent minibatches at fixed
  parameters) for any model and data, the same minibatches as ``dump-grads``;
- :func:`read_grads`: iterates a gradient matrix's samples as NumPy arrays;
- :func:`read_table`: a result table as a pandas or polars frame with its provenance.
"""

from .format import FORMAT_VERSION, GRAD_COLUMNS, METADATA_KEY, __version__, grad_schema, layout_from_shapes
from .protocol import MinibatchGradient, iter_minibatch_gradients, minibatch_gradients, shard_range
from .reader import GradSample, read_grads, read_provenance, read_table
from .writer import GradWriter, distributed_rank, part_path, select_parameters

__all__ = [
    "FORMAT_VERSION",
    "GRAD_COLUMNS",
    "METADATA_KEY",
    "GradSample",
    "GradWriter",
    "MinibatchGradient",
    "grad_schema",
    "iter_minibatch_gradients",
    "layout_from_shapes",
    "minibatch_gradients",
    "distributed_rank",
    "part_path",
    "read_grads",
    "read_provenance",
    "read_table",
    "select_parameters",
    "shard_range",
]
