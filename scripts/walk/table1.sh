#!/usr/bin/env bash
# `make reproduce-walk-table1`: the walk study's Table 1, MLP row: barriers crossed during
# epochs 1, 10 and 25 of an MLP trained with SGD on MNIST (the paper: 0, 3, 5 of 469
# updates; its MLP was trained for 40 epochs with batches making "more than 450
# iterations" an epoch: batch size 128 gives 469).
#
# The model is gradscope's `mlp` (784-512-512-10, biases; the paper gives no sizes), SGD
# at lr 0.1 (the paper's rate for its other networks), batch size 128, seed 0. `train`
# checkpoints the start of each epoch measured; `interp-loss` replays that epoch exactly
# and interpolates every update at k points.
#
# Sized for a CPU by default: the loss is evaluated on a fixed seeded subset of
# WALK_EVAL = 1,000 training images (the paper used the whole training set). FULL=1
# evaluates on all 60,000: 5.2 s an update measured on 2 CPU cores (two full forward
# passes over the set and ten that skip the first layer), so about 41 minutes an epoch and
# two hours for the three; on one H200 GPU (DEVICE=cuda) 17-23 s to train and 13 s an epoch.
# WALK_SEED chooses the run's seed (default 0; other seeds train into mlp-mnist-seedN).
# Beside the counts, `max_interior_excess` is the nearest miss: over the epoch's updates,
# the largest (highest interior loss - higher end loss), in nats; a barrier makes it > 0.
set -euo pipefail
BIN="${GRADSCOPE_BIN:-target/release}"
PY="${PY:-.venv/bin/python}"
DEVICE="${DEVICE:-cpu}"
THREADS="${THREADS:-0}"
POINTS="${WALK_POINTS:-10}"
EVAL="${WALK_EVAL:-1000}"
SEED="${WALK_SEED:-0}"
if [ "${FULL:-0}" = 1 ]; then EVAL=0; fi
OUT=results/walk
RUN="$OUT/mlp-mnist"
[ "$SEED" = 0 ] || RUN="$OUT/mlp-mnist-seed$SEED"
mkdir -p "$OUT"

if [ ! -f "$RUN/ckpt/epoch-024.safetensors" ]; then
    "$BIN/train" --model mlp --dataset mnist -b 128 --lr 0.1 --epochs 25 --seed "$SEED" \
        --checkpoint-epochs 0,9,24 --device "$DEVICE" --threads "$THREADS" --fresh -o "$RUN"
fi
for e in 1 10 25; do
    ck=$(printf "%s/ckpt/epoch-%03d.safetensors" "$RUN" $((e - 1)))
    /usr/bin/time -f "%e" -o "$OUT/interp-epoch$e.time" \
        "$BIN/interp-loss" --checkpoint "$ck" --epochs "$e" -k "$POINTS" --eval-samples "$EVAL" \
        --device "$DEVICE" --threads "$THREADS" \
        -o "$OUT/interp-epoch$e.parquet" --steps-output "$OUT/steps-epoch$e.csv" \
        --epochs-output "$OUT/epochs-epoch$e.csv" --plot "results/walk-figure1-mlp-epoch$e.png"
done
"$PY" scripts/walk/table1_summary.py "$OUT" "$EVAL" "$POINTS" "$SEED"
