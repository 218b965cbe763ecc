#!/usr/bin/env bash
# `make reproduce-structure-fcn`: the structure study's Table 6 (appendix C): power-law fits
# (top-1,000 eigenvalues, d_c = 1.36/sqrt(1000) = 0.0430) of the second-moment spectra of
# the two-layer FCN (70 units a layer, ReLU, BatchNorm: the study's "2Layer-FCN", our `fcn`)
# on MNIST at batch size 10, from T minibatch gradients at one parameter point:
#   pretrain       pretrained as appendix A.3 (the run `make reproduce-structure-spectra`
#                  trains, 50 epochs of SGD, lr 0.1 divided by 10 at 40% and 80%; trained
#                  here when absent: about 1.5 minutes on 2 cores);
#   random         a random initialisation (INIT_SEED);
#   random, noise  the same initialisation with 40% symmetric label noise on the training
#                  set the minibatches are drawn from (the study's "Noise" row does not say
#                  which noise; 40% is its Table 5's first label-noise setting).
# The study's width-30, width-10 and one-hidden-layer FCNs are not among the tools' models;
# their rows are listed as not measured. Its "Width=70" rows are the same network as the
# plain rows and take the same measurement.
#
# Sizes. CPU default: T = 2,500 gradients per point (the study: 5,000, FULL=1); about 4
# minutes on 2 cores with the pretrained network present.
# Writes results/structure/table6.csv (ours beside the paper's) and prints it.
set -euo pipefail
BIN="${GRADSCOPE_BIN:-target/release}"
PY="${PY:-.venv/bin/python}"
DEVICE="${DEVICE:-cpu}"
THREADS="${THREADS:-0}"
OUT="${OUT:-results/structure}"
WORK="${WORK:-runs/structure}"
INIT_SEED="${INIT_SEED:-1}"
PRE_EPOCHS="${PRE_EPOCHS:-50}"
NOISE="${NOISE:-0.4}"
if [ "${FULL:-0}" = 1 ]; then T="${T:-5000}"; else T="${T:-2500}"; fi
mkdir -p "$OUT/raw" "$WORK"
common=(--device "$DEVICE" --threads "$THREADS")
: >"$OUT/raw/table6-seconds.csv"

ck="$WORK/pretrain-fcn/ckpt/epoch-$(printf %03d "$PRE_EPOCHS").safetensors"
if [ ! -f "$ck" ]; then
    start=$SECONDS
    "$BIN/train" --model fcn --dataset mnist --standardize -b 128 --optimizer sgd --lr 0.1 \
        --lr-decay-at 0.4,0.8 --lr-decay 0.1 --weight-decay 5e-4 --epochs "$PRE_EPOCHS" \
        --checkpoint-epochs "$PRE_EPOCHS" --seed 0 --fresh -o "$WORK/pretrain-fcn" "${common[@]}" 2>&1 | tail -1
    echo "pretrain,$((SECONDS - start))" >>"$OUT/raw/table6-seconds.csv"
fi

for point in pretrain random random-noise; do
    case $point in
        pretrain) at=(--checkpoint "$ck") ;;
        random) at=(--model fcn --dataset mnist --standardize --init-seed "$INIT_SEED") ;;
        random-noise) at=(--model fcn --dataset mnist --standardize --init-seed "$INIT_SEED" --label-noise "$NOISE") ;;
    esac
    start=$SECONDS
    g="$WORK/table6-grads.parquet"
    "$BIN/dump-grads" "${at[@]}" -b 10 -n "$T" --seed 1 "${common[@]}" -o "$g" 2>&1 | tail -1
    "$BIN/powerlaw-fit" -i "$g" --spectrum second-moment --threads "$THREADS" --block-mb 4096 \
        -o "$OUT/raw/sm-fcn-$point-b10.csv" 2>/dev/null
    rm -f "$g"
    echo "$point,$((SECONDS - start))" >>"$OUT/raw/table6-seconds.csv"
    echo "  fcn $point B = 10: $((SECONDS - start)) s" >&2
done
"$PY" scripts/structure/table6_summary.py "$OUT" "$T" "$PRE_EPOCHS" "$NOISE"
