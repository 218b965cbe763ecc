#!/usr/bin/env bash
# `make reproduce-noise-scale`: McCandlish, Kaplan, Amodei et al., "An Empirical Model of
# Large-Batch Training" (2018), on MNIST with the walk study's MLP (784-512-512-10) and the
# vMF study's fnn (784-800-10, no biases), plain SGD, cross-entropy.
#
# (a) B_simple over training: one run per model at batch size NS_REF_B (default 128,
#     learning rate NS_REF_LR, default 0.1) for NS_EPOCHS epochs (default 8) with
#     checkpoints at log-spaced epochs (0, 1, 2, 3, 5, 8); `dump-grads` takes NS_SAMPLES
#     (default 40) minibatches of each of the batch sizes 64 and 1024 at every checkpoint,
#     and `noise-scale` estimates |G|^2, tr(Sigma) and B_simple from the two (appendix A's
#     two-batch-size estimator, jackknife intervals); the table joins train's
#     metrics.parquet and subset_loss.parquet on `step` (bsimple-<model>.csv).
# (b) The paper's own test (section 2.2): at each batch size B in NS_BATCHES (default 16,
#     32, ..., 4096) SGD is run until the loss of the current parameters over a fixed
#     subset of 1,000 training images (`train --loss-every --target-loss`) first falls to
#     the target NS_TARGET (default 0.3 nats; measured every max(1, 256/B) steps), and the
#     steps S and examples E = B S are recorded. Learning rate per B, as the paper tunes
#     it: a search on the grid 0.025 x 2^k (k = 0..7, up to 3.2) starting at the best
#     rate of the previous (half as large) batch size, doubling while the steps to the
#     target fall and halving once if the first doubling did not help; each candidate run
#     is stopped after the whole epochs that hold the best steps so far, a divergent one
#     at its first non-finite loss. The fit of S(B) = S_min (1 + B_crit / B) (equivalently
#     (S/S_min - 1)(E/E_min - 1) = 1 with E_min = B_crit S_min) and B_simple measured at
#     the checkpoint where the best NS_REF_B run of the search reached the target are
#     printed side by side
#     (summarize.py says how the fit is made).
#
# The default is sized for a 2-core CPU; FULL=1 takes the test at a lower target (0.1),
# 100 minibatches per batch size in (a) and 20 epochs. Runs are kept under
# results/noise_scale/runs/ (git-ignored) and reused when the script is run again.
set -euo pipefail
BIN="${GRADSCOPE_BIN:-target/release}"
PY="${PY:-.venv/bin/python}"
DEVICE="${DEVICE:-cpu}"
THREADS="${THREADS:-1}"
MODELS="${NS_MODELS:-mlp fnn}"
BATCHES="${NS_BATCHES:-16 32 64 128 256 512 1024 2048 4096}"
TARGET="${NS_TARGET:-0.3}"
REF_B="${NS_REF_B:-128}"
REF_LR="${NS_REF_LR:-0.1}"
EPOCHS="${NS_EPOCHS:-8}"
SAMPLES="${NS_SAMPLES:-40}"
MAX_EPOCHS="${NS_MAX_EPOCHS:-40}"
if [ "${FULL:-0}" = 1 ]; then
    TARGET="${NS_TARGET:-0.1}"; SAMPLES="${NS_SAMPLES:-100}"; EPOCHS="${NS_EPOCHS:-20}"; MAX_EPOCHS=200
fi
OUT=results/noise_scale
RUNS="$OUT/runs"
mkdir -p "$RUNS"
N_TRAIN=60000
start=$(date +%s)
common=(--dataset mnist --eval-samples 2000 --seed 0 --device "$DEVICE" --threads "$THREADS")

# Steps to the target of run $1 (empty when not reached).
steps_to_target() {
    "$PY" scripts/noise_scale/steps_to_target.py "$1" "$TARGET"
}

# One run of model $1 at batch size $2 and learning rate $3 for at most $4 epochs; sets S
# to its steps to the target (empty when not reached). Not in a subshell, so that a
# failing `train` ends the script.
run_to_target() {
    local model=$1 b=$2 lr=$3 epochs=$4
    local dir="$RUNS/$model-b$b-lr$lr"
    local every=$(( 256 / b )); [ "$every" -ge 1 ] || every=1
    if [ ! -f "$dir/done" ]; then
        mkdir -p "$dir"
        # a learning rate too large for this batch size diverges: train stops with an
        # error saying so, and the rate counts as not reaching the target
        if ! "$BIN/train" --model "$model" "${common[@]}" -b "$b" --lr "$lr" --epochs "$epochs" \
            --loss-every "$every" --loss-samples 1000 --target-loss "$TARGET" \
            --fresh -o "$dir" 2> "$dir/train.log"; then
            grep -q "diverged" "$dir/train.log" || { cat "$dir/train.log" >&2; exit 1; }
        fi
        rm -f "$dir/ckpt/last.safetensors"
        touch "$dir/done"
    fi
    S=$(steps_to_target "$dir")
}

lr_grid=(0.025 0.05 0.1 0.2 0.4 0.8 1.6 3.2)
for model in $MODELS; do
    table="$OUT/steps-$model.csv"
    echo "model,batch_size,lr,steps,examples,reached" > "$table.tmp"
    echo "model,batch_size,lr,steps,examples,reached" > "$table.tmp.all"
    k=2  # index of the starting rate (0.1) for the smallest batch size
    for b in $BATCHES; do
        per_epoch=$(( (N_TRAIN + b - 1) / b ))
        best_s=""; best_k=""
        try() {  # grid index $1
            local kk=$1 cap=$MAX_EPOCHS s
            if [ -n "$best_s" ]; then cap=$(( (best_s + per_epoch - 1) / per_epoch )); fi
            run_to_target "$model" "$b" "${lr_grid[$kk]}" "$cap"; s=$S
            echo "$model,$b,${lr_grid[$kk]},${s:-},$([ -n "$s" ] && echo $(( s * b )) || true),$([ -n "$s" ] && echo true || echo false)" >> "$table.tmp.all"
            if [ -n "$s" ] && { [ -z "$best_s" ] || [ "$s" -lt "$best_s" ]; }; then best_s=$s; best_k=$kk; return 0; fi
            return 1
        }
        try "$k" || true
        if [ "$k" -lt 7 ] && try $(( k + 1 )); then
            kk=$(( k + 1 ))
            while [ "$kk" -lt 7 ] && try $(( kk + 1 )); do kk=$(( kk + 1 )); done
        elif [ "$k" -gt 0 ]; then
            try $(( k - 1 )) || true
        fi
        if [ -z "$best_s" ]; then
            echo "error: $model at batch size $b: no learning rate reached training loss $TARGET in $MAX_EPOCHS epochs" >&2
            exit 1
        fi
        echo "$model,$b,${lr_grid[$best_k]},$best_s,$(( best_s * b )),true" >> "$table.tmp"
        echo "noise-scale: $model B=$b: best lr ${lr_grid[$best_k]}, S=$best_s, E=$(( best_s * b ))" >&2
        k=$best_k
    done
    mv "$table.tmp" "$table"
    mv "$table.tmp.all" "$OUT/lr-search-$model.csv"

    # (a) B_simple over training, and at the point where the reference run reaches the target.
    ref="$RUNS/$model-ref-b$REF_B-lr$REF_LR"
    if [ ! -f "$ref/done" ]; then
        "$BIN/train" --model "$model" "${common[@]}" -b "$REF_B" --lr "$REF_LR" --epochs "$EPOCHS" \
            --loss-every $(( (N_TRAIN + REF_B - 1) / REF_B )) --loss-samples 1000 \
            --checkpoint-log 6 --fresh -o "$ref"
        touch "$ref/done"
    fi
    # the run at batch size NS_REF_B with the best learning rate of the search
    ref_best_lr=$(awk -F, -v b="$REF_B" '$2 == b { print $3 }' "$table")
    target_run="$RUNS/$model-b$REF_B-lr$ref_best_lr"
    if [ -z "$ref_best_lr" ] || [ ! -f "$target_run/ckpt/target.safetensors" ]; then
        echo "error: NS_REF_B $REF_B: not among the batch sizes searched (NS_BATCHES)" >&2
        exit 1
    fi
    "$BIN/dump-grads" --checkpoint "$ref"/ckpt/epoch-*.safetensors -b 64,1024 --samples "$SAMPLES" \
        --seed 1 --threads "$THREADS" -o - \
        | "$BIN/noise-scale" -o "$RUNS/$model-noise-over-training.parquet"
    "$BIN/dump-grads" --checkpoint "$target_run/ckpt/target.safetensors" -b 64,1024 --samples "$SAMPLES" \
        --seed 1 --threads "$THREADS" -o - \
        | "$BIN/noise-scale" -o "$RUNS/$model-noise-at-target.parquet"
done
"$PY" scripts/noise_scale/summarize.py "$OUT" "$TARGET" "$REF_B" "$REF_LR" "$(( $(date +%s) - start ))" $MODELS
