#!/usr/bin/env bash
# `make reproduce-edge-of-stability`: Cohen, Kaur, Li, Kolter and Talwalkar, "Gradient
# descent on neural networks typically occurs at the edge of stability" (ICLR 2021),
# Figure 1 in small: full-batch gradient descent, the sharpness (top eigenvalue of the
# training loss's Hessian) rising during training (progressive sharpening) and then
# hovering at 2/lr (the edge of stability), while the loss keeps falling non-monotonically.
#
# The paper trains on 5,000 CIFAR-10 images; here the walk study's MLP (784-512-512-10,
# ReLU, cross-entropy) on a fixed 5,000-image subset of MNIST's training set (`--val-size
# 55000` holds the other 55,000 out, chosen by --data-seed 0; metrics on 5,000 of them),
# one full-batch step per epoch, at learning rates EOS_LRS (default 0.2, 0.1 and 0.05:
# 2/lr = 10, 20 and 40) for EOS_STEPS steps (default 400; FULL=1: 2,000), the sharpness on the
# same 5,000 images every EOS_EVERY steps (default 10) by `train --sharpness-every`.
# The summary prints, per learning rate, the step at which the sharpness first reaches
# 90% of 2/lr and the mean sharpness after it (the plateau) beside 2/lr; the figure
# (results/eos/figure1-sharpness.png, figure1-loss.png) shows the sharpness of each run
# with its 2/lr line dashed, and the training loss, as the paper's Figure 1.
set -euo pipefail
BIN="${GRADSCOPE_BIN:-target/release}"
PY="${PY:-.venv/bin/python}"
DEVICE="${DEVICE:-cpu}"
THREADS="${THREADS:-0}"
LRS="${EOS_LRS:-0.2 0.1 0.05}"
STEPS="${EOS_STEPS:-400}"
if [ "${FULL:-0}" = 1 ]; then STEPS=2000; fi
EVERY="${EOS_EVERY:-10}"
OUT=results/eos
mkdir -p "$OUT"
tables=()
sharp=()
losses=()
for lr in $LRS; do
    run="$OUT/mlp-mnist5k-lr$lr"
    if [ ! -f "$run/sharpness.parquet" ] || [ "$(cat "$run/steps" 2>/dev/null)" != "$STEPS" ]; then
        "$BIN/train" --model mlp --dataset mnist --val-size 55000 --eval-samples 5000 \
            -b 5000 --lr "$lr" --epochs "$STEPS" --seed 0 --checkpoint-epochs 0 --fresh \
            --sharpness-every "$EVERY" --sharpness-samples 5000 \
            --device "$DEVICE" --threads "$THREADS" -o "$run"
        echo "$STEPS" > "$run/steps"
    fi
    tables+=("$run/sharpness.parquet")
    sharp+=("$run/sharpness.parquet=lr $lr")
    losses+=("$run/metrics.parquet=lr $lr")
done
"$PY" scripts/eos/summarize.py "$OUT" "${tables[@]}"
"$BIN/plot" "${sharp[@]}" -x step -y sharpness,two_over_lr --dashed two_over_lr \
    --x-label "step (full-batch gradient descent)" --y-label "sharpness; 2/lr dashed" \
    --title "Edge of stability: MLP, 5,000 MNIST images" -o "$OUT/figure1-sharpness.png"
"$BIN/plot" "${losses[@]}" -x step -y train_loss --x-label "step" --y-label "training loss" \
    --title "Edge of stability: training loss" -o "$OUT/figure1-loss.png"
