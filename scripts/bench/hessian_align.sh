#!/usr/bin/env bash
# `make bench`, walk-study section: hessian-align's and interp-loss's costs.
#
# On the walk MLP (784-512-512-10, 669,706 parameters) trained one epoch on MNIST (SGD,
# lr 0.1, batch size 128):
#  1. one Hessian-vector product against one gradient (forward, backward) on the same
#     minibatch of 128 and of 1,000 images, medians of 10 each (the goal: at most 2.5x):
#     as hessian-align takes it for this network (the R-operator written out,
#     gradscope-torch/src/hessian_rop.rs) and by double backward (forward, backward with
#     create_graph, second backward);
#  2. the top-10 eigenvalues of H (over 1,000 training images) by Lanczos with full
#     reorthogonalisation beside PyHessian's power iteration with deflation, both through
#     our HVP and to the same tolerance (1e-3; Lanczos: Ritz residual / |eigenvalue|,
#     power: relative change of the eigenvalue, PyHessian's rule): products used, time,
#     and the eigenvalues' agreement with a tight Lanczos run (tol 1e-8);
#  3. `interp-loss` over one epoch (469 updates, k = 10, 1,000 evaluation images) beside
#     scripts/bench/interp_loss_torch.py doing the same evaluations in plain PyTorch:
#     as it runs by default (interior points from interpolated first-layer outputs, the
#     MLP's first layer being linear in its weights) and with --full-forward (a full
#     forward pass at every point, as the script does).
# Figures on stderr and in results/bench/walk.csv; thread counts are stated.
#
# The arithmetic floor of the HVP/gradient ratio on this MLP, counting the multiply-adds of
# the matrix products per example (layer sizes 784x512, 512x512, 512x10; u = in x out):
# a gradient is the forward product and, per layer, the weight gradient and (except the
# first layer, whose input needs no gradient) the input gradient: 2u for layer 1, 3u for
# the others. An exact HVP by double backward (the same count holds for forward-over-
# reverse) adds, per layer, the derivatives of the backward's two products (4 products, 2
# for layer 1) and the forward product's backward (2, 1 for layer 1): 4u for layer 1, 9u
# for the others. (2 * 401,408 + 3 * 262,144 + 3 * 5,120) = 1,604,608 against
# (4 * 401,408 + 9 * 262,144 + 9 * 5,120) = 4,011,008: 2.4997x, the goal's 2.5x. Written
# out, the R-operator needs neither the gradient's own weight products (double backward
# computes the gradient on its way) nor, in layer 1, the input direction's product:
# forward and tangent forward (1u + 1u in layer 1, 1u + 2u after), and per layer the
# tangent weight gradient (1u in layer 1, 2u after) and the backward and tangent backward
# into the layer's input (3u, none in layer 1): 3u and 8u, (3 * 401,408 + 8 * 267,264) =
# 3,342,336: 2.083x.
# A further product on the same examples with the gradient's graph kept (how Lanczos and
# the power iteration on one set run) is the second backward alone: 2u and 6u, 1.50x.
set -euo pipefail
BIN="${GRADSCOPE_BIN:-target/release}"
PY="${PY:-.venv/bin/python}"
DATA="${GRADSCOPE_DATA_MIRROR:-data/raw}"
OUT=results/bench
mkdir -p "$OUT"
THREADS="${THREADS:-$(nproc)}"
RUN="$OUT/walk-mlp"
if [ ! -f "$RUN/ckpt/epoch-001.safetensors" ]; then
    "$BIN/train" --model mlp --dataset mnist -b 128 --lr 0.1 --epochs 1 --checkpoint-epochs 0,1 \
        --fresh -o "$RUN" --threads "$THREADS" 2>/dev/null
fi
CK="$RUN/ckpt/epoch-001.safetensors"
"$BIN/hessian-align" --checkpoint "$CK" -b 128 -n 1 --hessian-samples 1000 -k 10 --method both \
    --tol 1e-3 --max-iter 300 --cost-batch 128 --threads "$THREADS" --json \
    -o "$OUT/walk-align.csv" > "$OUT/walk-eigen.json" 2>"$OUT/walk-eigen.log"
"$BIN/hessian-align" --checkpoint "$CK" -b 128 -n 1 --hessian-samples 1000 -k 10 --method lanczos \
    --tol 1e-8 --max-iter 1000 --threads "$THREADS" --json \
    -o "$OUT/walk-align-tight.csv" > "$OUT/walk-eigen-tight.json" 2>/dev/null
"$BIN/hessian-align" --checkpoint "$CK" -b 128 -n 1 --hessian-samples 1000 -k 0 --cost-batch 1000 \
    --threads "$THREADS" --json -o "$OUT/walk-align-cost.csv" > "$OUT/walk-cost1000.json" 2>/dev/null
/usr/bin/time -f "%e %M" -o "$OUT/walk-interp.time" "$BIN/interp-loss" --checkpoint "$RUN/ckpt/epoch-000.safetensors" \
    --epochs 1 -k 10 --eval-samples 1000 --threads "$THREADS" -o "$OUT/walk-interp.parquet" \
    --epochs-output "$OUT/walk-interp-epochs.csv" 2>"$OUT/walk-interp.log"
/usr/bin/time -f "%e %M" -o "$OUT/walk-interp-full.time" "$BIN/interp-loss" --checkpoint "$RUN/ckpt/epoch-000.safetensors" \
    --epochs 1 -k 10 --eval-samples 1000 --threads "$THREADS" --full-forward -o "$OUT/walk-interp-full.parquet" \
    --epochs-output "$OUT/walk-interp-full-epochs.csv" 2>/dev/null
/usr/bin/time -f "%e %M" -o "$OUT/walk-interp-torch.time" "$PY" scripts/bench/interp_loss_torch.py \
    --data "$DATA" --threads "$THREADS" -k 10 --eval-samples 1000 2>"$OUT/walk-interp-torch.log"
"$PY" scripts/bench/walk_report.py "$OUT" "$THREADS" | tee "$OUT/walk.txt" >&2
