"""The vMF study's protocol for any model and data: many independent minibatch gradients
at fixed parameters."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from . import sampler as _sampler
from .writer import GradWriter, distributed_rank, model_class, part_path, select_parameters


@dataclass
class MinibatchGradient:
    """One computed gradient: ``values`` is the flattened gradient of the chosen
    parameters (float32, ``[dim]``, layout order), ``loss`` the minibatch's mean loss,
    ``indices`` the dataset examples it used (int64)."""

    sample: int
    batch_size: int
    loss: float
    values: np.ndarray
    indices: np.ndarray


def _take(dataset, idx: np.ndarray, collate: Optional[Callable]):
    """The examples ``idx`` of ``dataset`` as one batch."""
    if isinstance(dataset, (tuple, list)) and dataset and all(isinstance(t, torch.Tensor) for t in dataset):
        i = torch.from_numpy(idx)
        return tuple(t.index_select(0, i.to(t.device)) for t in dataset)
    if isinstance(dataset, torch.Tensor):
        return dataset.index_select(0, torch.from_numpy(idx).to(dataset.device))
    items = [dataset[int(i)] for i in idx]
    if collate is None:
        from torch.utils.data import default_collate

        collate = default_collate
    return collate(items)


def _dataset_len(dataset) -> int:
    if isinstance(dataset, (tuple, list)) and dataset and all(isinstance(t, torch.Tensor) for t in dataset):
        n = {len(t) for t in dataset}
        if len(n) != 1:
            raise ValueError(f"the dataset's tensors disagree in length: {sorted(n)}")
        return n.pop()
    return len(dataset)


def _to_device(batch, device):
    if device is None:
        return batch
    if isinstance(batch, torch.Tensor):
        return batch.to(device)
    if isinstance(batch, (tuple, list)):
        return type(batch)(_to_device(b, device) for b in batch)
    if isinstance(batch, dict):
        return {k: _to_device(v, device) for k, v in batch.items()}
    return batch


def shard_range(total: int, rank: int, world: int) -> range:
    """The gradients a shard computes: rank ``rank`` of ``world`` takes the contiguous
    block ``[rank * total // world, (rank + 1) * total // world)`` of the run's numbering,
    so the parts, concatenated in rank order, are the one-process run's rows in order."""
    if not (0 <= rank < world):
        raise ValueError(f"shard {rank}/{world}: the index must be in 0..{world}")
    return range(rank * total // world, (rank + 1) * total // world)


def iter_minibatch_gradients(
    model: torch.nn.Module,
    loss_fn: Optional[Callable],
    dataset,
    batch_sizes: Union[int, Sequence[int]],
    samples: int,
    seed: int = 0,
    *,
    sampling: str = "independent",
    batchnorm: str = "train",
    per_example: bool = False,
    tensors: Optional[Sequence[str]] = None,
    forward: Optional[Callable] = None,
    collate: Optional[Callable] = None,
    device: Optional[Union[str, torch.device]] = None,
    shard: Optional[Tuple[int, int]] = None,
) -> Iterator[MinibatchGradient]:
    """The gradients of :func:`minibatch_gradients`, yielded one at a time instead of
    written (same arguments, without the writer's)."""
    if isinstance(batch_sizes, int):
        batch_sizes = [batch_sizes]
    batch_sizes = [int(b) for b in batch_sizes]
    if not batch_sizes or min(batch_sizes) < 1:
        raise ValueError("batch sizes must be at least 1")
    if batchnorm not in ("train", "eval"):
        raise ValueError(f"batchnorm={batchnorm!r}: 'train' (batch statistics) or 'eval' (running statistics)")
    if sampling not in ("independent", "epoch"):
        raise ValueError(f"sampling={sampling!r}: 'independent' or 'epoch'")
    if forward is None and loss_fn is None:
        raise ValueError("give loss_fn (called as loss_fn(model(inputs), targets)) or forward (called as forward(model, batch))")
    n = _dataset_len(dataset)
    for b in batch_sizes:
        if b > n:
            raise ValueError(f"batch size {b} exceeds the dataset's {n} examples")
    params = select_parameters(model, tensors)
    names = [nm for nm, _ in params]
    tensors_ = [p for _, p in params]
    has_bn = any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in model.modules())
    if per_example and has_bn and batchnorm == "train":
        raise ValueError(
            "per-example gradients with BatchNorm need batchnorm='eval': a one-example batch has no batch statistics"
        )

    def loss_of(batch):
        if forward is not None:
            return forward(model, batch)
        x, y = batch
        return loss_fn(model(x), y)

    total = samples * len(batch_sizes)
    todo = range(total) if shard is None else shard_range(total, *shard)
    epochs: Dict[int, _sampler.EpochSampler] = {}
    # Per-example numbering: the examples of all minibatches before, in order.
    firsts = np.concatenate([[0], np.cumsum([b for b in batch_sizes for _ in range(samples)])])
    was_training = model.training
    # A training-mode forward pass moves BatchNorm's running statistics; they are put back
    # afterwards, so the model leaves as it came (the gradients never depend on them).
    saved = {k: v.detach().clone() for k, v in model.named_buffers()}
    model.train(batchnorm == "train")
    try:
        if per_example:
            grad_fn = _per_example_fn(model, names, loss_fn, forward)
        for j in todo:
            b = batch_sizes[j // samples]
            i = j % samples
            if sampling == "independent":
                idx = _sampler.independent(n, b, seed, j)
            else:
                if b not in epochs:
                    epochs[b] = _sampler.EpochSampler(n, b, seed)
                idx = epochs[b].batch(i)
            batch = _to_device(_take(dataset, idx, collate), device)
            if per_example:
                losses, grads = grad_fn(batch)
                flat = torch.cat([g.reshape(g.shape[0], -1) for g in grads], dim=1)
                flat = flat.detach().to("cpu", torch.float32).numpy()
                losses = losses.detach().double().cpu().numpy()
                for k in range(len(idx)):
                    yield MinibatchGradient(int(firsts[j]) + k, 1, float(losses[k]), flat[k], idx[k : k + 1])
                continue
            loss = loss_of(batch)
            grads = torch.autograd.grad(loss, tensors_)
            values = torch.cat([g.reshape(-1) for g in grads]).detach().to("cpu", torch.float32).numpy()
            yield MinibatchGradient(j, b, float(loss.detach()), values, idx)
    finally:
        model.train(was_training)
        with torch.no_grad():
            for k, v in model.named_buffers():
                if k in saved:
                    v.copy_(saved[k])


def _per_example_fn(model, names: List[str], loss_fn, forward):
    """``batch -> (losses [B], per-example gradients [B, ...] per tensor)`` through
    ``torch.func``: ``vmap(grad(loss of one example))`` over the batch's first dimension,
    with ``functional_call`` on the model's parameters and buffers."""
    from torch.func import functional_call, grad_and_value, vmap

    all_params = dict(model.named_parameters())
    chosen = {k: all_params[k].detach() for k in names}
    fixed = {k: v.detach() for k, v in all_params.items() if k not in chosen}
    buffers = dict(model.named_buffers())

    def one(p, example):
        state = {**fixed, **p, **buffers}
        batch = tuple(t.unsqueeze(0) for t in example)
        if forward is not None:
            return forward(lambda *a, **kw: functional_call(model, state, a, kw), batch)
        x, y = batch
        return loss_fn(functional_call(model, state, (x,)), y)

    gv = vmap(grad_and_value(one), in_dims=(None, 0))

    def run(batch):
        if not isinstance(batch, (tuple, list)):
            batch = (batch,)
        g, losses = gv(chosen, tuple(batch))
        return losses, [g[k] for k in names]

    return run


def minibatch_gradients(
    model: torch.nn.Module,
    loss_fn: Optional[Callable],
    dataset,
    batch_sizes: Union[int, Sequence[int]],
    samples: int,
    seed: int = 0,
    *,
    output: Union[str, os.PathLike, GradWriter],
    step: int = 0,
    sampling: str = "independent",
    batchnorm: str = "train",
    per_example: bool = False,
    tensors: Optional[Sequence[str]] = None,
    forward: Optional[Callable] = None,
    collate: Optional[Callable] = None,
    device: Optional[Union[str, torch.device]] = None,
    shard: Optional[Tuple[int, int]] = None,
    distributed: bool = False,
    dataset_name: Optional[str] = None,
    model_name: Optional[str] = None,
    init_seed: Optional[int] = None,
    extra: Optional[Dict[str, Any]] = None,
) -> int:
    """Writes ``samples`` minibatch gradients of ``model`` for each of ``batch_sizes``, all
    at the model's current parameters (the vMF study's protocol, Lee et al. 2020: the
    parameters stay fixed while independent minibatches are drawn), as one step
    (``step``, default 0) of a gradient matrix. Returns the number of gradients written.

    Minibatches: ``sampling="independent"`` (default) draws each as B distinct examples
    uniformly from the ``len(dataset)``, independently of the others; ``"epoch"`` cuts one
    random permutation per epoch into consecutive blocks of B (the last partial one is
    dropped). Both are exactly ``dump-grads``'s samplers: with the same ``seed``,
    ``batch_sizes`` and ``samples``, gradient number ``j`` uses the very examples
    ``dump-grads --seed seed`` uses for its sample ``j``. Samples are numbered
    ``0, 1, ...`` through all batch sizes in order.

    Gradient: of ``loss_fn(model(inputs), targets)`` with ``(inputs, targets)`` the
    minibatch (or ``forward(model, batch)``, which returns the loss, for other batch
    shapes), by ``torch.autograd.grad`` with respect to the parameters with
    ``requires_grad`` (or the ``tensors`` chosen by name or prefix), flattened in
    ``named_parameters()`` order (the file's layout). ``.grad`` is not touched. Use a loss
    with mean reduction for the studies' minibatch gradients.

    ``dataset``: a tuple of tensors (examples along the first dimension; the minibatch is
    their rows at the drawn indices), or any map-style dataset (``len`` and
    ``dataset[i]``), its examples combined by ``collate`` (default: PyTorch's
    ``default_collate``).

    BatchNorm: ``batchnorm="train"`` (default) runs the model in training mode, so each
    minibatch is normalised by its own mean and variance, as SGD sees it;
    ``"eval"`` runs it in evaluation mode, with the running statistics. (The mode is the
    module's: dropout follows it too.) Running statistics that a training-mode pass moves
    are restored afterwards, and the module's mode too.

    ``per_example=True``: each drawn minibatch yields its B per-example gradients
    (``batch_size`` 1, ``loss`` the example's own; numbered on in order: example ``k``
    of minibatch ``j`` is number ``k`` plus the sizes of the minibatches before ``j``), computed in one pass per minibatch by
    ``torch.func.vmap(grad(...))`` over ``functional_call``; it needs ``batchnorm="eval"``
    when the model has BatchNorm.

    ``output``: a path (Parquet, or ``"-"`` for an Arrow IPC stream on stdout) or an open
    :class:`GradWriter` (left open, so several calls can write several steps). A path's
    provenance records the model class (or ``model_name``), ``dataset_name``,
    ``init_seed``, the first batch size, the sampling, and in ``extra`` the sampling seed,
    all batch sizes and the BatchNorm mode.

    ``shard=(rank, world)``: compute only this shard's contiguous block of the numbering
    (:func:`shard_range`); the samples keep their numbers, so the shards' outputs together
    hold the one-process run's rows. ``device``: where the minibatch is moved.

    Bit for bit: ``dump-grads`` computes each gradient with one libtorch thread; with
    ``torch.set_num_threads(1)`` this function, on the same libtorch, gives the same
    float32 values and losses (tested on ``fnn`` and ``fnn-bn``). With more threads, sums
    are split differently: about 1e-7 relative, more where a pre-activation that
    rounding moves across a ReLU's kink switches the unit on or off.

    ``distributed=True`` (under ``torchrun`` or any ``torch.distributed`` launch): every
    rank computes its shard (``shard=(rank, world_size)``) and writes it to the part
    ``output/part-{rank:05d}.parquet`` (:func:`gradscope.writer.part_path`; ``output`` is
    a directory). The parts in name order hold the rows of the one-process run, in order.
    """
    if isinstance(batch_sizes, int):
        batch_sizes = [batch_sizes]
    if distributed:
        if shard is not None or isinstance(output, GradWriter) or os.fspath(output) == "-":
            raise ValueError("distributed=True takes a directory as output and sets the shard itself")
        shard = distributed_rank()
        output = part_path(output, shard[0])
    gen = iter_minibatch_gradients(
        model, loss_fn, dataset, batch_sizes, samples, seed,
        sampling=sampling, batchnorm=batchnorm, per_example=per_example, tensors=tensors,
        forward=forward, collate=collate, device=device, shard=shard,
    )
    own = not isinstance(output, GradWriter)
    if own:
        info = {"sampling_seed": int(seed), "batch_sizes": list(batch_sizes), "batchnorm": batchnorm}
        if per_example:
            info["per_example"] = True
        if shard is not None:
            info["shard"] = f"{shard[0]}/{shard[1]}"
        info.update(extra or {})
        writer = GradWriter(
            output, model, tensors=tensors,
            model_name=model_name or model_class(model), dataset=dataset_name, seed=init_seed,
            batch_size=1 if per_example else batch_sizes[0], sampling=sampling, extra=info,
        )
    else:
        writer = output
    written = 0
    try:
        for g in gen:
            writer.write(step, g.sample, loss=g.loss, batch_size=g.batch_size, grads=g.values)
            written += 1
    except BaseException:
        if own:
            writer.abort()
        raise
    if own:
        writer.close()
    return written
