#!/usr/bin/env bash
# `make reproduce-vmf-snr`: the vMF study's Figure 7 and its appendix G: over training,
# the SNR of minibatch gradients (1/GS), their norm SNR (1/GNS) and kappa-hat, normalised
# by their maxima, and the log-log scatter of kappa-hat and normSNR against SNR, for the
# study's CNN, CNN+BN and CNN+Res+BN (our cnn, cnn-bn, cnn-res-bn). The study's claim:
# SNR and kappa-hat are almost entirely correlated, normSNR less so.
#
# Which data. The study trained on CIFAR-10; its files are used when present (data/raw or
# the mirror). Otherwise Fashion-MNIST (real images, 1x28x28: a stand-in, said so in every
# table and figure).
#
# Sizes. CPU default: each network trained with SGD (lr 0.01, batch 64, as the study) on
# TRAIN_SIZE = 10,000 training images (the rest held out) for EPOCHS = 10, a checkpoint
# every epoch, and SAMPLES = 300 minibatch gradients (batch 64) at each of the 11
# checkpoints. VMF_FULL=1: the whole training set, 100 epochs (checkpoints at 0, 1, 2, 4,
# ..., 64, 100) and 3,000 gradients (DEVICE=cuda on a GPU).
#
# Writes results/vmf/fig7-MODEL.csv (vmf-kappa's table), results/vmf/fig7-summary.csv
# (the correlations beside the claim), results/vmf/fig7-MODEL-curves.png and
# results/vmf/fig7-MODEL-scatter.png.
set -euo pipefail
BIN="${GRADSCOPE_BIN:-target/release}"
PY="${PY:-.venv/bin/python}"
DEVICE="${DEVICE:-cpu}"
THREADS="${THREADS:-0}"
OUT=results/vmf
RUNS=runs/vmf-snr
MODELS="${MODELS:-cnn cnn-bn cnn-res-bn}"
mkdir -p "$OUT" "$RUNS"
if [ "${VMF_FULL:-0}" = 1 ]; then
    TRAIN_SIZE=0; EPOCHS=100; CKPTS=0,1,2,4,8,16,32,64,100; SAMPLES=3000
else
    TRAIN_SIZE="${TRAIN_SIZE:-10000}"; EPOCHS="${EPOCHS:-10}"; CKPTS="${CKPTS:-0,1,2,3,4,5,6,7,8,9,10}"
    SAMPLES="${SAMPLES:-300}"
fi
if [ -z "${DATASET:-}" ]; then
    if "$BIN/dump-grads" --model cnn --dataset cifar10 --init-seed 0 -b 2 -n 1 -o "$RUNS/probe.parquet" >/dev/null 2>&1; then
        DATASET=cifar10
    else
        DATASET=fashion-mnist
        echo "CIFAR-10 not found: the networks train on Fashion-MNIST (a stand-in for the study's CIFAR-10)" >&2
    fi
    rm -f "$RUNS/probe.parquet"
fi
total=50000; [ "$DATASET" = cifar10 ] || total=60000
val=(); [ "$TRAIN_SIZE" = 0 ] || val=(--val-size $((total - TRAIN_SIZE)))
: >"$OUT/fig7-seconds.csv"
for model in $MODELS; do
    start=$SECONDS
    run="$RUNS/$model-$DATASET"
    "$BIN/train" --model "$model" --dataset "$DATASET" "${val[@]}" --batch-size 64 --lr 0.01 \
        --epochs "$EPOCHS" --checkpoint-epochs "$CKPTS" --seed 1 --device "$DEVICE" --threads "$THREADS" \
        --fresh -o "$run" 2>&1 | tail -1
    ckpts=()
    for e in ${CKPTS//,/ }; do ckpts+=("$run/ckpt/epoch-$(printf %03d "$e").safetensors"); done
    "$BIN/dump-grads" --checkpoint "${ckpts[@]}" -b 64 -n "$SAMPLES" --seed 7 --device "$DEVICE" \
        --threads "$THREADS" -o - 2>/dev/null \
        | "$BIN/vmf-kappa" -i - -o "$OUT/fig7-$model.csv" --null-reps 0 >/dev/null 2>&1
    echo "$model,$DATASET,$((SECONDS - start))" >>"$OUT/fig7-seconds.csv"
    echo "  $model on $DATASET: $((SECONDS - start)) s" >&2
done
size="$([ "$TRAIN_SIZE" = 0 ] && echo "full training set" || echo "$TRAIN_SIZE training images"), $EPOCHS epochs, $SAMPLES gradients per checkpoint"
"$PY" scripts/vmf/snr_summary.py "$OUT" "$RUNS" "$DATASET" "$size" $MODELS
for model in $MODELS; do
    "$BIN/plot" "$OUT/fig7-$model-curves.csv" -x epoch -y snr,norm_snr,kappa,train_loss --log-y \
        -o "$OUT/fig7-$model-curves.png" --x-label "epoch" --y-label "value / its maximum over training" \
        --title "Figure 7: $model on $DATASET ($size)"
    "$BIN/plot" "$OUT/fig7-$model-scatter.csv" -x snr_raw -y kappa_raw,norm_snr_raw --log-x --log-y \
        -o "$OUT/fig7-$model-scatter.png" --x-label "SNR (1/GS)" --y-label "kappa-hat; normSNR (1/GNS)" \
        --title "Figure 7 (second row): $model on $DATASET, checkpoints in SNR order"
done
