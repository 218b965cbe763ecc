#!/usr/bin/env python3
"""A small GPT-style transformer on the bytes of this repository's own text, for
`dump-grads --torchscript model.pt --inputs tokens.safetensors --loss next-token`.

`gpt.py train OUT` builds the model (byte vocabulary of 256, learned position embeddings,
pre-LayerNorm blocks of causal multi-head self-attention and a GELU MLP, a final
LayerNorm, a linear head), trains it briefly with AdamW on windows of README.md's bytes
(and any docs/*.md), and writes into OUT:
  model.pt            the trained model, torch.jit.script-ed (dump-grads --torchscript)
  tokens.safetensors  x = token windows [N, T] int64, y = the next tokens [N, T] int64
  tokens.npz          the same tensors for numpy.savez
  tokens.parquet      the same, one row per window (columns x, y: lists of int64)
  config.json         the model's sizes and the training run's figures

`gpt.py reference OUT IDX REF` computes, for each minibatch of indices in the JSON file
IDX ([[i, ...], ...]), the gradient of the mean next-token cross-entropy with respect to
every parameter, with PyTorch's eager autograd on an eager copy of the model (the scripted
module's state dict loaded into it), from the token windows as NumPy reads tokens.npz. It
writes the gradients (float32, little-endian, one minibatch after another, parameters in
named_parameters() order) to REF and the losses and layout to REF.json: the independent
reference the CLI test compares dump-grads' output with.

--tiny: width 16, 2 heads, windows of 8 bytes, 64 windows, 10 training steps (a test's
size: seconds). Default: width 64, 2 layers, 4 heads, windows of 64 bytes, 300 steps
(163 s of CPU time measured for the training with 2 threads: one to two minutes on 2 idle cores).
"""

import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


class CausalSelfAttention(nn.Module):
    def __init__(self, width: int, heads: int, context: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        mask = torch.tril(torch.ones(context, context, dtype=torch.bool))
        self.register_buffer("mask", mask.view(1, 1, context, context), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, c = x.size()
        q, k, v = self.qkv(x).split(c, dim=2)
        hd = c // self.heads
        q = q.view(b, t, self.heads, hd).transpose(1, 2)
        k = k.view(b, t, self.heads, hd).transpose(1, 2)
        v = v.view(b, t, self.heads, hd).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hd))
        att = att.masked_fill(~self.mask[:, :, :t, :t], float("-inf"))
        att = F.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(b, t, c)
        return self.proj(y)


class Block(nn.Module):
    def __init__(self, width: int, heads: int, context: int):
        super().__init__()
        self.ln1 = nn.LayerNorm(width)
        self.attn = CausalSelfAttention(width, heads, context)
        self.ln2 = nn.LayerNorm(width)
        self.fc = nn.Linear(width, 4 * width)
        self.out = nn.Linear(4 * width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln1(x))
        return x + self.out(F.gelu(self.fc(self.ln2(x))))


class GPT(nn.Module):
    """Token ids [B, T] (int64, 0..255) to next-byte logits [B, T, 256]."""

    def __init__(self, width: int, layers: int, heads: int, context: int, vocab: int = 256):
        super().__init__()
        self.tok = nn.Embedding(vocab, width)
        self.pos = nn.Embedding(context, width)
        self.blocks = nn.ModuleList([Block(width, heads, context) for _ in range(layers)])
        self.ln_f = nn.LayerNorm(width)
        self.head = nn.Linear(width, vocab, bias=False)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        t = idx.size(1)
        pos = torch.arange(t, device=idx.device)
        x = self.tok(idx) + self.pos(pos)
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))


SIZES = {
    "tiny": dict(width=16, layers=2, heads=2, context=8, windows=64, steps=10, batch=16),
    "full": dict(width=64, layers=2, heads=4, context=64, windows=None, steps=300, batch=32),
}


def corpus() -> bytes:
    """The repository's own prose: README.md, then docs/*.md in name order."""
    paths = [os.path.join(REPO, "README.md")]
    docs = os.path.join(REPO, "docs")
    if os.path.isdir(docs):
        paths += sorted(os.path.join(docs, f) for f in os.listdir(docs) if f.endswith(".md"))
    text = b"".join(open(p, "rb").read() for p in paths if os.path.isfile(p))
    if len(text) < 4096:
        raise SystemExit("gpt.py: README.md is missing or too short to train on")
    return text


def windows(text: bytes, context: int, count):
    """Windows of `context` bytes at a stride of context/2: x and the next bytes y."""
    data = np.frombuffer(text, dtype=np.uint8).astype(np.int64)
    stride = max(1, context // 2)
    starts = np.arange(0, len(data) - context - 1, stride)
    if count is not None:
        starts = starts[:count]
    x = np.stack([data[s : s + context] for s in starts])
    y = np.stack([data[s + 1 : s + context + 1] for s in starts])
    return x, y


def train(out: str, size: str, seed: int) -> None:
    cfg = SIZES[size]
    torch.manual_seed(seed)
    torch.set_num_threads(int(os.environ.get("THREADS", "2")))
    x, y = windows(corpus(), cfg["context"], cfg["windows"])
    model = GPT(cfg["width"], cfg["layers"], cfg["heads"], cfg["context"])
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    gen = torch.Generator().manual_seed(seed)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    t0 = time.time()
    losses = []
    for step in range(cfg["steps"]):
        i = torch.randint(0, len(xt), (cfg["batch"],), generator=gen)
        logits = model(xt[i])
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), yt[i].reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    secs = time.time() - t0
    os.makedirs(out, exist_ok=True)
    torch.jit.script(model).save(os.path.join(out, "model.pt"))
    from safetensors.torch import save_file

    save_file({"x": xt.contiguous(), "y": yt.contiguous()}, os.path.join(out, "tokens.safetensors"))
    np.savez(os.path.join(out, "tokens.npz"), x=x, y=y)
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"x": pa.array(list(x)), "y": pa.array(list(y))})
    pq.write_table(table, os.path.join(out, "tokens.parquet"))
    nparams = sum(p.numel() for p in model.parameters())
    info = dict(cfg, size=size, seed=seed, windows=len(x), params=nparams,
                first_loss=losses[0], last_loss=float(np.mean(losses[-10:])),
                train_seconds=round(secs, 2), threads=torch.get_num_threads())
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(info, f, indent=1)
    print(f"gpt.py: {nparams} parameters, {len(x)} windows of {cfg['context']} bytes; "
          f"{cfg['steps']} steps in {secs:.1f} s ({torch.get_num_threads()} threads), "
          f"loss {losses[0]:.3f} -> {info['last_loss']:.3f} nats/byte -> {out}", file=sys.stderr)


def reference(out: str, idx_path: str, ref_path: str) -> None:
    torch.set_num_threads(1)
    cfg = json.load(open(os.path.join(out, "config.json")))
    model = GPT(cfg["width"], cfg["layers"], cfg["heads"], cfg["context"])
    scripted = torch.jit.load(os.path.join(out, "model.pt"))
    # the scripted module's state dict also holds the causal masks (non-persistent buffers)
    state = {k: v for k, v in scripted.state_dict().items() if k in model.state_dict()}
    model.load_state_dict(state, strict=True)
    model.train()
    npz = np.load(os.path.join(out, "tokens.npz"))
    x, y = torch.from_numpy(npz["x"]), torch.from_numpy(npz["y"])
    names = [n for n, _ in model.named_parameters()]
    params = [p for _, p in model.named_parameters()]
    losses = []
    with open(ref_path, "wb") as f:
        for batch in json.load(open(idx_path)):
            i = torch.tensor(batch, dtype=torch.int64)
            logits = model(x[i])
            loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), y[i].reshape(-1))
            grads = torch.autograd.grad(loss, params)
            flat = torch.cat([g.reshape(-1) for g in grads]).to(torch.float32)
            f.write(flat.numpy().astype("<f4").tobytes())
            losses.append(loss.item())
    with open(ref_path + ".json", "w") as f:
        json.dump({"names": names, "numels": [p.numel() for p in params], "losses": losses}, f)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="train the model and write it and its token windows")
    t.add_argument("out")
    t.add_argument("--tiny", action="store_true", help="the test's size (seconds)")
    t.add_argument("--seed", type=int, default=0)
    r = sub.add_parser("reference", help="reference gradients on given minibatches")
    r.add_argument("out")
    r.add_argument("indices")
    r.add_argument("ref")
    a = ap.parse_args()
    if a.cmd == "train":
        train(a.out, "tiny" if a.tiny else "full", a.seed)
    else:
        reference(a.out, a.indices, a.ref)


if __name__ == "__main__":
    main()
