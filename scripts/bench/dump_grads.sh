#!/usr/bin/env bash
# dump-grads against a plain PyTorch loop (scripts/bench/dump_grads_torch.py), in the
# same run, same virtual environment, same thread count:
#   1. fnn on MNIST, 3,000 minibatch gradients of batch 64 (635,200 values each), to a
#      Parquet file, both sides (the loop through pyarrow's ParquetWriter, --out);
#   2. the gradients alone: dump-grads' Arrow stream to /dev/null against the loop
#      copying each gradient to host memory;
#   3. the pipe `dump-grads -o - | vmf-kappa -i -` against the same loop computing the
#      Banerjee kappa-hat itself (--kappa). vmf-kappa computes all its columns (GS, GNS,
#      ML kappa, angles, the null simulation), the loop kappa-hat only. Both stages get
#      THREADS threads, as the tools do by default: dump-grads computes THREADS gradients
#      at once and vmf-kappa works on what the pipe brings, on the loop's THREADS cores.
#      For reference, once, the stages with THREADS / 2 threads each (at least 1).
# 2 and 3 run REPEAT times (default 3), interleaved; medians are reported, with ranges.
# DEVICE=cuda runs both sides on a GPU (the gradients still go to host memory).
# Run alone: GRADSCOPE_BIN=target/release bash scripts/bench/dump_grads.sh
set -euo pipefail
BIN="${GRADSCOPE_BIN:-target/release}"
PY="${PY:-.venv/bin/python}"
THREADS="${THREADS:-$(nproc)}"
N="${DUMP_SAMPLES:-3000}"
REPEAT="${REPEAT:-3}"
DEVICE="${DEVICE:-cpu}"
OUT=results/bench
mkdir -p "$OUT"
DATA="${GRADSCOPE_DATA_MIRROR:-../shared/data}"
[ -d data/raw/mnist ] && DATA=data/raw

source "$(dirname "${BASH_SOURCE[0]}")/measure.sh"
# dump-grads with $1 threads
dg() { echo "$BIN/dump-grads --model fnn --dataset mnist --init-seed 1 -b 64 -n $N --seed 1 --threads $1 --device $DEVICE"; }
DG=$(dg "$THREADS")
PT="$PY scripts/bench/dump_grads_torch.py --data $DATA --samples $N --threads $THREADS --device $DEVICE"
# Each command through `bash -c`: some are pipes or redirections.
read -r w_dg m_dg <<< "$(measure dump-grads bash -c "$DG -o $OUT/dump-fnn.parquet")"
rm -f "$OUT/dump-fnn.parquet"
read -r w_ptw m_ptw <<< "$(measure dump-grads-torch-parquet bash -c "$PT --out $OUT/dump-fnn-torch.parquet")"
rm -f "$OUT/dump-fnn-torch.parquet"
# The stream and pipe comparisons run REPEAT times, the four commands interleaved, and
# report medians with their ranges: on a shared 2-core machine one run of either side
# varies by a fifth from minute to minute (13.6-16.8 s for the same pipe in one hour).
ds=(); pt=(); pipe=(); ptk=()
for _ in $(seq "$REPEAT"); do
    read -r w m_ds <<< "$(measure dump-grads-stream bash -c "$DG -o - > /dev/null")"; ds+=("$w")
    read -r w m_pt <<< "$(measure dump-grads-torch bash -c "$PT")"; pt+=("$w")
    read -r w m_pipe <<< "$(measure dump-grads-pipe bash -c "$DG -o - | $BIN/vmf-kappa -i - -o $OUT/dump-pipe-kappa.csv --threads $THREADS")"; pipe+=("$w")
    read -r w m_ptk <<< "$(measure dump-grads-torch-kappa bash -c "$PT --kappa > $OUT/dump-torch-kappa.txt")"; ptk+=("$w")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
range() { printf '%s\n' "$@" | sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {printf "%.2f-%.2f", lo, hi}'; }
w_ds=$(median "${ds[@]}"); w_pt=$(median "${pt[@]}"); w_pipe=$(median "${pipe[@]}"); w_ptk=$(median "${ptk[@]}")
HALF=$(( THREADS / 2 > 0 ? THREADS / 2 : 1 ))
read -r w_pipe2 m_pipe2 <<< "$(measure dump-grads-pipe-split-threads bash -c "$(dg "$HALF") -o - | $BIN/vmf-kappa -i - -o $OUT/dump-pipe-kappa2.csv --threads $HALF")"
rate() { awk -v n="$N" -v w="$1" 'BEGIN{print n/w}'; }
mib() { awk -v m="$1" 'BEGIN{print m/1024}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{print a/b}'; }
{
    printf "dump-grads, fnn on MNIST, %d minibatch gradients of batch 64 (635,200 values), %d threads, device %s\n" "$N" "$THREADS" "$DEVICE"
    printf "  gradscope dump-grads -> Parquet           %7.2f s  %6.1f gradients/s  peak RSS %6.1f MiB\n" "$w_dg" "$(rate "$w_dg")" "$(mib "$m_dg")"
    printf "  PyTorch loop -> Parquet (pyarrow)         %7.2f s  %6.1f gradients/s  peak RSS %6.1f MiB\n" "$w_ptw" "$(rate "$w_ptw")" "$(mib "$m_ptw")"
    printf "  speed-up %.2fx (goal >= 1)\n" "$(ratio "$w_ptw" "$w_dg")"
    printf "  medians of %d interleaved runs (range) from here on, but the split pipe\n" "$REPEAT"
    printf "  gradscope dump-grads -> Arrow stream      %7.2f s  %6.1f gradients/s  (to /dev/null; %s)\n" "$w_ds" "$(rate "$w_ds")" "$(range "${ds[@]}")"
    printf "  PyTorch loop (grads to host memory)       %7.2f s  %6.1f gradients/s  peak RSS %6.1f MiB (%s)\n" "$w_pt" "$(rate "$w_pt")" "$(mib "$m_pt")" "$(range "${pt[@]}")"
    printf "  speed-up %.2fx (goal >= 1)\n" "$(ratio "$w_pt" "$w_ds")"
    printf "  gradscope dump-grads | vmf-kappa          %7.2f s  (all vmf-kappa columns; %d threads each; %s)\n" "$w_pipe" "$THREADS" "$(range "${pipe[@]}")"
    printf "    (stages with %d + %d threads: %.2f s, one run)\n" "$HALF" "$HALF" "$w_pipe2"
    printf "  PyTorch loop computing kappa-hat itself   %7.2f s  (%s; %s)\n" "$w_ptk" "$(range "${ptk[@]}")" "$(cat "$OUT/dump-torch-kappa.txt")"
    printf "  speed-up %.2fx (goal >= 1.5); run by run:" "$(ratio "$w_ptk" "$w_pipe")"
    for i in "${!pipe[@]}"; do printf " %.2fx" "$(ratio "${ptk[$i]}" "${pipe[$i]}")"; done
    printf "\n"
    printf "  gradscope kappa-hat %s (same model and data; different minibatch draws)\n" "$(sed -n 2p "$OUT/dump-pipe-kappa.csv" | cut -d, -f6)"
} | tee "$OUT/dump-grads.txt" >&2
# seconds: the median where a row ran REPEAT times; runs: every run, in order.
{
    echo "bench,threads,device,samples,seconds,runs"
    row() { local name="$1"; shift; echo "$name,$THREADS,$DEVICE,$N,$(median "$@"),$*"; }
    row dump-grads-parquet "$w_dg"
    row pytorch-loop-parquet "$w_ptw"
    row dump-grads-stream "${ds[@]}"
    row pytorch-loop "${pt[@]}"
    row dump-grads-pipe-vmf-kappa "${pipe[@]}"
    row dump-grads-pipe-vmf-kappa-split-threads "$w_pipe2"
    row pytorch-loop-kappa "${ptk[@]}"
} > "$OUT/dump-grads.csv"
