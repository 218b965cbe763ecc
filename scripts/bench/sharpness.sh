#!/usr/bin/env bash
# `make bench` (BENCH=sharpness): the cost of tracking the sharpness during training.
# `train` of the walk study's MLP (784-512-512-10) on a fixed 5,000-image MNIST subset
# (--val-size 55000), SGD with batch size 128 for SHARP_EPOCHS epochs (default 5: 200
# steps), without --sharpness-every and with it at K = 10 and K = 50 (the top Hessian
# eigenvalue over 1,000 training images, Lanczos warm-started from the last eigenvector,
# relative residual 1e-3), each with THREADS libtorch threads, measured in this run one
# after the other. Prints the wall times, the ratio to training without it and the
# seconds per measurement; results/bench/sharpness.csv.
set -euo pipefail
BIN="${GRADSCOPE_BIN:-target/release}"
THREADS="${THREADS:-$(nproc)}"
EPOCHS="${SHARP_EPOCHS:-5}"
OUT=results/bench
mkdir -p "$OUT"
source "$(dirname "${BASH_SOURCE[0]}")/measure.sh"
run="$OUT/sharpness-run"
base=(--model mlp --dataset mnist --val-size 55000 --eval-samples 1000 -b 128 --lr 0.1
      --epochs "$EPOCHS" --seed 0 --fresh --threads "$THREADS" -o "$run")
read -r w0 m0 <<< "$(measure sharpness-none "$BIN/train" "${base[@]}")"
steps=$(( (5000 + 127) / 128 * EPOCHS ))
echo "bench,threads,steps,every,measurements,seconds,ratio,seconds_per_measurement" > "$OUT/sharpness.csv"
echo "none,$THREADS,$steps,,0,$w0,1," >> "$OUT/sharpness.csv"
{
    printf "train with and without --sharpness-every: MLP, 5,000 MNIST images, B = 128, %d steps, %d libtorch threads\n" "$steps" "$THREADS"
    printf "  no sharpness          %7.2f s\n" "$w0"
} | tee "$OUT/sharpness.txt" >&2
for k in 10 50; do
    read -r wk mk <<< "$(measure "sharpness-every-$k" "$BIN/train" "${base[@]}" --sharpness-every "$k" --sharpness-samples 1000)"
    n=$(( steps / k + 1 ))
    awk -v k="$k" -v w="$wk" -v w0="$w0" -v n="$n" -v t="$THREADS" -v s="$steps" 'BEGIN {
        printf "  --sharpness-every %-4d %7.2f s  %.2fx training alone, %d measurements, %.3f s each\n", k, w, w/w0, n, (w-w0)/n
        printf "every-%d,%d,%d,%d,%d,%s,%.4f,%.4f\n", k, t, s, k, n, w, w/w0, (w-w0)/n >> "'"$OUT/sharpness.csv"'"
    }' | tee -a "$OUT/sharpness.txt" >&2
done
rm -rf "$run"
