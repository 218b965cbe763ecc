# Sourced by table6.sh and table7.sh: the settings both tables share and the two steps
# every row of the structure study's Tables 6 and 7 takes, so both pretrain and measure alike.
#
# Settings: settings.sh's, and PRE_EPOCHS (50) and T (2,500 gradients a point; FULL=1:
# the study's 5,000).
#
#   pretrain MODEL   trains MODEL as appendix A.3 when its checkpoint is absent (per-pixel
#                    standardisation, SGD lr 0.1 divided by 10 at 40% and 80% of the epochs,
#                    batch 128, weight decay 5e-4, PRE_EPOCHS epochs, seed 0) and sets $ck
#                    to the checkpoint;
#   measure MODEL POINT DUMP-ARGS...
#                    T minibatch gradients at B = 10 at one parameter point (dump-grads,
#                    BatchNorm on the minibatch's statistics, as in training), then
#                    powerlaw-fit's top-1,000 fit of their second-moment spectrum through the
#                    T x T Gram matrix: raw/sm-MODEL-POINT-b10$TAG.csv.
# Each step's seconds go to raw/$SECONDS_CSV$TAG.csv as MODEL,POINT,SECONDS (the sourcing
# script sets SECONDS_CSV, without .csv; sourcing empties that file). TAG is "-full" at the
# study's T (5,000 or more), empty below, so both sizes' tables stand side by side in
# results/ and the report shows both.

source "$(dirname "${BASH_SOURCE[0]}")/settings.sh"
PRE_EPOCHS="${PRE_EPOCHS:-50}"
if [ "${FULL:-0}" = 1 ]; then T="${T:-5000}"; else T="${T:-2500}"; fi
TAG=$(size_tag "$T")
: >"$OUT/raw/$SECONDS_CSV$TAG.csv"

pretrain() {
    local m=$1 start=$SECONDS
    ck="$WORK/pretrain-$m/ckpt/epoch-$(printf %03d "$PRE_EPOCHS").safetensors"
    if [ ! -f "$ck" ]; then
        "$BIN/train" --model "$m" --dataset mnist --standardize -b 128 --optimizer sgd --lr 0.1 \
            --lr-decay-at 0.4,0.8 --lr-decay 0.1 --weight-decay 5e-4 --epochs "$PRE_EPOCHS" \
            --checkpoint-epochs "$PRE_EPOCHS" --seed 0 --fresh -o "$WORK/pretrain-$m" "${common[@]}" 2>&1 | tail -1
        echo "$m,pretraining,$((SECONDS - start))" >>"$OUT/raw/$SECONDS_CSV$TAG.csv"
        echo "  $m pretrained ($PRE_EPOCHS epochs): $((SECONDS - start)) s" >&2
    fi
}

measure() {
    local m=$1 point=$2 start=$SECONDS
    shift 2
    local g="$WORK/sm-$m-$point-grads.parquet"
    "$BIN/dump-grads" "$@" -b 10 -n "$T" --seed 1 "${common[@]}" -o "$g" 2>&1 | tail -1
    "$BIN/powerlaw-fit" -i "$g" --spectrum second-moment --threads "$THREADS" --block-mb 4096 \
        -o "$OUT/raw/sm-$m-$point-b10$TAG.csv" 2>/dev/null
    rm -f "$g"
    echo "$m,$point,$((SECONDS - start))" >>"$OUT/raw/$SECONDS_CSV$TAG.csv"
    echo "  $m $point B = 10: $((SECONDS - start)) s" >&2
}
