#!/usr/bin/env bash
# `make reproduce-walk-figure4`: the walk study's Figure 4 for the MLP: the number of
# barriers crossed in each of the first 40 epochs, and their heights
# (L_t + L_{t+1} - 2 L_min) / 2 against the loss. (The paper draws it for VGG-11 on
# CIFAR-10; its Table 1 has the MLP, which is what this CPU can train: so this is the
# figure's measurement on the MLP, labelled as such.)
#
# The walk MLP (784-512-512-10) on MNIST, SGD at lr 0.1, batch size 128, seed WALK_SEED
# (default 0). `interp-loss` replays epochs 1 to EPOCHS (40) from the initialisation and
# evaluates the loss at 10 interior points and the two ends of every update.
#
# Sized for a CPU: the network trains on TRAIN_SIZE = 10,000 MNIST images (the other
# 50,000 held out: 79 updates an epoch, where the paper's epochs have more than 450) and
# the loss is evaluated on a seeded subset of WALK_EVAL = 200 of them (the paper: the whole
# training set). 40 epochs at the full 469 updates would take about 33 CPU-minutes with
# 200 evaluation images; at this size about a sixth of that. FULL=1: the whole training
# set, the loss on all of it (about 41 minutes an epoch on 2 CPU cores; DEVICE=cuda).
#
# Writes "$NAME.csv" (one row per epoch), results/walk-figure4.png and
# prints the paper's statements beside ours.
set -euo pipefail
BIN="${GRADSCOPE_BIN:-target/release}"
PY="${PY:-.venv/bin/python}"
DEVICE="${DEVICE:-cpu}"
THREADS="${THREADS:-0}"
EVAL="${WALK_EVAL:-200}"
SEED="${WALK_SEED:-0}"
EPOCHS="${EPOCHS:-40}"
TRAIN_SIZE="${TRAIN_SIZE:-10000}"
if [ "${FULL:-0}" = 1 ]; then EVAL=0; TRAIN_SIZE=60000; fi
OUT=results/walk
RUN="$OUT/mlp-mnist-init-train$TRAIN_SIZE-seed$SEED"
val=(); [ "$TRAIN_SIZE" = 60000 ] || val=(--val-size $((60000 - TRAIN_SIZE)))
# Other sizes than the default write results/walk-figure4-train<N>-eval<M>.*.
NAME=results/walk-figure4
[ "$TRAIN_SIZE-$EVAL" = 10000-200 ] || NAME="results/walk-figure4-train$TRAIN_SIZE-eval$EVAL"
mkdir -p "$OUT"

# The initialisation only: interp-loss takes every update from it itself.
if [ ! -f "$RUN/ckpt/epoch-000.safetensors" ]; then
    "$BIN/train" --model mlp --dataset mnist "${val[@]}" -b 128 --lr 0.1 --epochs 0 --seed "$SEED" \
        --checkpoint-epochs 0 --device "$DEVICE" --threads "$THREADS" --fresh -o "$RUN" 2>&1 | tail -1
fi
start=$SECONDS
"$BIN/interp-loss" --checkpoint "$RUN/ckpt/epoch-000.safetensors" --epochs "1..$EPOCHS" -k 10 \
    --eval-samples "$EVAL" --device "$DEVICE" --threads "$THREADS" \
    -o "$RUN/figure4-interp.parquet" --epochs-output "$RUN/figure4-epochs.csv" 2>/dev/null
secs=$((SECONDS - start))
"$PY" scripts/walk/figure4_summary.py "$RUN/figure4-epochs.csv" "$EVAL" "$SEED" "$secs" "$TRAIN_SIZE" \
    "$RUN/figure4-interp.parquet" "$NAME.csv"
# Every epoch's count is drawn in the title's words when all are 0; the curve is the
# margin by which the highest interior point stays below the higher end (a barrier makes
# it negative), relative to the loss.
"$BIN/plot" "$NAME.csv" -x epoch -y nearest_miss_margin_over_loss --log-y \
    -o "$NAME.png" --x-label "epoch ($(awk -F, 'NR==2{print $3}' "$NAME.csv") updates each)" \
    --y-label "(higher end - highest interior loss) / loss" \
    --title "Figure 4, MLP on $TRAIN_SIZE MNIST images: $(awk -F, 'NR>1{s+=$4} END{print s+0}' "$NAME.csv") barriers in $EPOCHS epochs (loss on $([ "$EVAL" = 0 ] && echo "all" || echo "$EVAL") images)"
