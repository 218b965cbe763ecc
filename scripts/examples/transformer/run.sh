#!/usr/bin/env bash
# Your own model, measured: a small GPT-style transformer (2 layers, width 64, LayerNorm,
# causal self-attention, byte vocabulary) trained briefly on this repository's README,
# saved as TorchScript with its token windows, then
#   dump-grads   its next-token minibatch gradients at the trained parameters
#   vmf-kappa    directional concentration, for the whole model and per tensor
#   normtest     per-coordinate Gaussianity of the gradient noise
#   powerlaw-fit power-law fit to the gradient covariance spectrum
# Run by `make example-transformer` (a few minutes on 2 cores); results in $OUT.
#   OUT      output directory (default results/examples/transformer)
#   SAMPLES  minibatch gradients per batch size (default 200)
#   DEVICE   cpu (default) or cuda
set -euo pipefail
BIN="${GRADSCOPE_BIN:-target/release}"
OUT="${OUT:-results/examples/transformer}"
SAMPLES="${SAMPLES:-200}"
DEVICE="${DEVICE:-cpu}"
PY="${PY:-.venv/bin/python}"
mkdir -p "$OUT"

# 1. The model and the data, from PyTorch: model.pt (torch.jit.script) and
#    tokens.safetensors (x = byte windows [N, 64] int64, y = the next bytes [N, 64]).
"$PY" scripts/examples/transformer/gpt.py train "$OUT"

# 2. Minibatch gradients of the mean next-token cross-entropy, independent minibatches
#    of 8 and of 32 windows (one file per batch size: a spectrum needs one).
for b in 8 32; do
    "$BIN/dump-grads" --torchscript "$OUT/model.pt" --inputs "$OUT/tokens.safetensors" \
        --loss next-token -b "$b" -n "$SAMPLES" --seed 0 --device "$DEVICE" -o "$OUT/grads-b$b.parquet"
done

# 3. The measurements.
for b in 8 32; do
    "$BIN/vmf-kappa" -i "$OUT/grads-b$b.parquet" --per-tensor -o "$OUT/kappa-b$b.csv"
    "$BIN/normtest" -i "$OUT/grads-b$b.parquet" -o "$OUT/normality-b$b.csv"
    "$BIN/powerlaw-fit" -i "$OUT/grads-b$b.parquet" --spectrum covariance -o "$OUT/powerlaw-b$b.csv"
done
echo "example-transformer: tables in $OUT (kappa-b*.csv, normality-b*.csv, powerlaw-b*.csv)" >&2
