#!/usr/bin/env bash
# `make demo`: the toolkit's main job in a few minutes on a laptop CPU.
# Trains the vMF study's `fnn` (784-800-10, no biases) on MNIST with SGD (batch 64,
# learning rate 0.01) for a few epochs, dumps 3,000... here DEMO_SAMPLES minibatch
# gradients at each epoch's checkpoint in one stream, measures their directional
# concentration with vmf-kappa and draws kappa-hat over training beside the value
# uniformly random directions would give (the null mean).
set -euo pipefail
BIN="${GRADSCOPE_BIN:-target/release}"
EPOCHS="${DEMO_EPOCHS:-3}"
SAMPLES="${DEMO_SAMPLES:-500}"
RUN=runs/demo
OUT=results/demo
mkdir -p "$OUT"

"$BIN/train" --model fnn --dataset mnist --batch-size 64 --lr 0.01 --epochs "$EPOCHS" \
    --checkpoint-epochs "$(seq -s, 0 "$EPOCHS")" --seed 1 --output "$RUN" --fresh
ckpts=()
for e in $(seq 0 "$EPOCHS"); do ckpts+=("$RUN/ckpt/epoch-$(printf %03d "$e").safetensors"); done
"$BIN/dump-grads" --checkpoint "${ckpts[@]}" --batch-size 64 --samples "$SAMPLES" --seed 2 -o - \
    | "$BIN/vmf-kappa" -i - -o "$OUT/kappa.csv" --per-tensor
"$BIN/plot" "$OUT/kappa.csv" --where scope=all -x step -y kappa,kappa_null_mean --dashed kappa_null_mean \
    --log-y --title "fnn on MNIST: kappa-hat of $SAMPLES minibatch gradients (B = 64) over training" \
    --x-label "training step (epochs of 938 steps)" --y-label "kappa-hat" -o "$OUT/kappa.png"
echo "demo: results in $OUT/kappa.csv and $OUT/kappa.png; training metrics in $RUN/metrics.parquet" >&2
