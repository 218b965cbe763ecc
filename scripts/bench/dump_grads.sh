#!/usr/bin/env bash
# dump-grads against a plain PyTorch loop (scripts/bench/dump_grads_torch.py), in the
# same run, same virtual environment, same thread count:
#   1. fnn on MNIST, 3,000 minibatch gradients of batch 64 (635,200 values each), to a
#      Parquet file / copied to host memory by the Python loop;
#   2. the pipe `dump-grads -o - | vmf-kappa -i -` against the same loop computing the
#      Banerjee kappa-hat itself (--kappa). vmf-kappa computes all its columns (GS, GNS,
#      ML kappa, angles, the null simulation), the loop kappa-hat only.
# Run alone: GRADSCOPE_BIN=target/release bash scripts/bench/dump_grads.sh
set -euo pipefail
BIN="${GRADSCOPE_BIN:-target/release}"
PY="${PY:-.venv/bin/python}"
THREADS="${THREADS:-$(nproc)}"
N="${DUMP_SAMPLES:-3000}"
OUT=results/bench
mkdir -p "$OUT"
DATA="${GRADSCOPE_DATA_MIRROR:-../shared/data}"
[ -d data/raw/mnist ] && DATA=data/raw

t() { /usr/bin/time -f "%e %M" -o "$OUT/$1.time" bash -c "$2" 2>"$OUT/$1.log" || { cat "$OUT/$1.log" >&2; exit 1; }; cat "$OUT/$1.time"; }
read -r w_dg m_dg <<< "$(t dump-grads "$BIN/dump-grads --model fnn --dataset mnist --init-seed 1 -b 64 -n $N --seed 1 --threads $THREADS -o $OUT/dump-fnn.parquet")"
rm -f "$OUT/dump-fnn.parquet"
read -r w_pt m_pt <<< "$(t dump-grads-torch "$PY scripts/bench/dump_grads_torch.py --data $DATA --samples $N --threads $THREADS")"
read -r w_pipe m_pipe <<< "$(t dump-grads-pipe "$BIN/dump-grads --model fnn --dataset mnist --init-seed 1 -b 64 -n $N --seed 1 --threads $THREADS -o - | $BIN/vmf-kappa -i - -o $OUT/dump-pipe-kappa.csv --threads $THREADS")"
read -r w_ptk m_ptk <<< "$(t dump-grads-torch-kappa "$PY scripts/bench/dump_grads_torch.py --data $DATA --samples $N --threads $THREADS --kappa > $OUT/dump-torch-kappa.txt")"
{
    printf "dump-grads, fnn on MNIST, %d minibatch gradients of batch 64 (635,200 values), %d threads\n" "$N" "$THREADS"
    printf "  gradscope dump-grads -> Parquet           %7.2f s  %6.1f gradients/s  peak RSS %6.1f MiB\n" "$w_dg" "$(awk -v n=$N -v w=$w_dg 'BEGIN{print n/w}')" "$(awk -v m=$m_dg 'BEGIN{print m/1024}')"
    printf "  PyTorch loop (grads to host memory)       %7.2f s  %6.1f gradients/s  peak RSS %6.1f MiB\n" "$w_pt" "$(awk -v n=$N -v w=$w_pt 'BEGIN{print n/w}')" "$(awk -v m=$m_pt 'BEGIN{print m/1024}')"
    printf "  speed-up %.2fx (goal >= 1)\n" "$(awk -v a=$w_pt -v b=$w_dg 'BEGIN{print a/b}')"
    printf "  gradscope dump-grads | vmf-kappa          %7.2f s  (all vmf-kappa columns)\n" "$w_pipe"
    printf "  PyTorch loop computing kappa-hat itself   %7.2f s  (%s)\n" "$w_ptk" "$(cat "$OUT/dump-torch-kappa.txt")"
    printf "  speed-up %.2fx (goal >= 1.5)\n" "$(awk -v a=$w_ptk -v b=$w_pipe 'BEGIN{print a/b}')"
    printf "  gradscope kappa-hat %s (same model and data; different minibatch draws)\n" "$(sed -n 2p "$OUT/dump-pipe-kappa.csv" | cut -d, -f6)"
} | tee "$OUT/dump-grads.txt" >&2
printf "bench,threads,samples,seconds\ndump-grads,%s,%s,%s\npytorch-loop,%s,%s,%s\ndump-grads-pipe-vmf-kappa,%s,%s,%s\npytorch-loop-kappa,%s,%s,%s\n" \
    "$THREADS" "$N" "$w_dg" "$THREADS" "$N" "$w_pt" "$THREADS" "$N" "$w_pipe" "$THREADS" "$N" "$w_ptk" > "$OUT/dump-grads.csv"
