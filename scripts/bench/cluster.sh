#!/usr/bin/env bash
# Past one machine (`make bench BENCH=cluster`), two measurements:
#   1. scale: vmf-kappa on a synthetic matrix of SCALE_DIM coordinates (default
#      124,439,808, GPT-2 small's parameter count), SCALE_N gradients (default 4),
#      streamed from synth-grads through a pipe so the matrix never touches the disk: the
#      peak resident memory of vmf-kappa alone (GNU time, max RSS) per coordinate. Then
#      the state's costs at STATE_DIM coordinates (default 4,000,000: writing a state
#      takes about 124 bytes per coordinate, 15 GB at GPT-2 small's size; docs/scaling.md):
#      --state-out's time, memory and file size per coordinate, and the merge of two
#      states (two seeds' runs) timed with its peak memory.
#   2. shards against one process on the same cores: fnn on MNIST at initialisation,
#      SHARD_SAMPLES (default 1,000) gradients of batch 64. One process,
#        dump-grads --threads T | vmf-kappa --threads T -o one.parquet,
#      against T shards side by side, each with one thread,
#        dump-grads --shard I/T --threads 1 | vmf-kappa --threads 1 --state-out shard-I.parquet,
#      then `vmf-kappa --merge` of their states. REPEAT times (default 3), interleaved;
#      medians with their ranges, the ratio of each pair, and the merged table checked
#      against the one-pass table (scripts/cluster/same_table.py, 1e-12 relative).
# CLUSTER_SCALE=0 or CLUSTER_SHARDS=0 skips part 1 or 2.
# Run alone: GRADSCOPE_BIN=target/release bash scripts/bench/cluster.sh
set -euo pipefail
BIN="${GRADSCOPE_BIN:-target/release}"
PY="${PY:-.venv/bin/python}"
THREADS="${THREADS:-$(nproc)}"
REPEAT="${REPEAT:-3}"
DIM="${SCALE_DIM:-124439808}"
SDIM="${STATE_DIM:-4000000}"
NS="${SCALE_N:-4}"
NSH="${SHARD_SAMPLES:-1000}"
OUT=results/bench
mkdir -p "$OUT"
work="$(mktemp -d "$OUT/cluster.XXXXXX")"
trap 'rm -rf "$work"' EXIT
source "$(dirname "${BASH_SOURCE[0]}")/measure.sh"
median() { tr ' ' '\n' | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
range() { tr ' ' '\n' | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%s-%s", lo, hi }'; }

# --- 1. scale --------------------------------------------------------------------------
if [ "${CLUSTER_SCALE:-1}" = 1 ]; then
synth() { echo "$BIN/synth-grads --dim $2 -n $NS --kappa 100000 --norm lognormal:0.3 --seed $1 -o -"; }
# vmf-kappa alone under GNU time, synth-grads feeding it.
timed_kappa() {
    local name="$1"; shift
    bash -c "$(synth "$1" "$2") 2>/dev/null | /usr/bin/time -f '%e %M' -o $OUT/$name.time $BIN/vmf-kappa -i - --threads $THREADS ${*:3}" \
        2>"$OUT/$name.log" >/dev/null || { cat "$OUT/$name.log" >&2; exit 1; }
    cat "$OUT/$name.time"
}
read -r w_k m_k <<< "$(timed_kappa kappa-124m 1 "$DIM" -o "$work/kappa.parquet")"
read -r w_s m_s <<< "$(timed_kappa state-a 1 "$SDIM" --state-out "$work/state-a.parquet")"
read -r w_s2 m_s2 <<< "$(timed_kappa state-b 2 "$SDIM" --state-out "$work/state-b.parquet")"
sbytes=$(stat -c %s "$work/state-a.parquet")
read -r w_m m_m <<< "$(measure merge-2 "$BIN/vmf-kappa" --merge "$work/state-a.parquet" "$work/state-b.parquet" -o "$work/merged.parquet" --threads "$THREADS")"
awk -v d="$DIM" -v sd="$SDIM" -v n="$NS" -v t="$THREADS" -v wk="$w_k" -v mk="$m_k" -v ws="$w_s" -v ms="$m_s" -v sb="$sbytes" -v wm="$w_m" -v mm="$m_m" 'BEGIN {
    printf "vmf-kappa, %d gradients streamed from synth-grads, %d threads\n", n, t
    printf "  %d coordinates, -o table     %7.2f s  peak RSS %8.1f MiB = %5.1f bytes per coordinate\n", d, wk, mk/1024, mk*1024/d
    printf "  %d coordinates, --state-out  %7.2f s  peak RSS %8.1f MiB = %5.1f bytes per coordinate; state file %.1f MiB = %.2f bytes per coordinate\n", sd, ws, ms/1024, ms*1024/sd, sb/1048576, sb/sd
    printf "  %d coordinates, --merge of 2 %7.2f s  peak RSS %8.1f MiB = %5.1f bytes per coordinate\n", sd, wm, mm/1024, mm*1024/sd
}' | tee "$OUT/cluster-scale.txt" >&2
printf "bench,dim,n,threads,seconds,peak_rss_mib,bytes_per_coordinate,state_bytes\nvmf-kappa,%s,%s,%s,%s,%s,%s,\nvmf-kappa-state-out,%s,%s,%s,%s,%s,%s,%s\nvmf-kappa-merge-2,%s,%s,%s,%s,%s,%s,\n" \
    "$DIM" "$NS" "$THREADS" "$w_k" "$(awk -v m="$m_k" 'BEGIN{print m/1024}')" "$(awk -v m="$m_k" -v d="$DIM" 'BEGIN{print m*1024/d}')" \
    "$SDIM" "$NS" "$THREADS" "$w_s" "$(awk -v m="$m_s" 'BEGIN{print m/1024}')" "$(awk -v m="$m_s" -v d="$SDIM" 'BEGIN{print m*1024/d}')" "$sbytes" \
    "$SDIM" "$((2 * NS))" "$THREADS" "$w_m" "$(awk -v m="$m_m" 'BEGIN{print m/1024}')" "$(awk -v m="$m_m" -v d="$SDIM" 'BEGIN{print m*1024/d}')" \
    > "$OUT/cluster-scale.csv"
rm -f "$work"/*.parquet
fi

# --- 2. shards against one process -------------------------------------------------------
if [ "${CLUSTER_SHARDS:-1}" = 1 ]; then
dg="$BIN/dump-grads --model fnn --dataset mnist --init-seed 1 -b 64 -n $NSH --seed 1"
one_cmd="$dg --threads $THREADS -o - | $BIN/vmf-kappa -i - --threads $THREADS -o $work/one.parquet"
shard_cmd=""
for ((i = 0; i < THREADS; i++)); do
    shard_cmd+="($dg --shard $i/$THREADS --threads 1 -o - | $BIN/vmf-kappa -i - --threads 1 --state-out $work/shard-$i.parquet) & "
done
shard_cmd+="wait \$(jobs -p) || exit 1"
states=""
for ((i = 0; i < THREADS; i++)); do states+=" $work/shard-$i.parquet"; done
w1s=""; wss=""; wms=""; ratios=""
for ((r = 0; r < REPEAT; r++)); do
    rm -f "$work"/shard-*.parquet
    read -r w1 _ <<< "$(measure cluster-one bash -c "$one_cmd")"
    read -r ws _ <<< "$(measure cluster-shards bash -c "set -o pipefail; $shard_cmd")"
    read -r wm _ <<< "$(measure cluster-merge $BIN/vmf-kappa --merge $states -o "$work/merged.parquet")"
    w1s+=" $w1"; wss+=" $ws"; wms+=" $wm"
    ratios+=" $(awk -v a="$w1" -v b="$ws" -v c="$wm" 'BEGIN { printf "%.2f", a / (b + c) }')"
done
m1=$(echo $w1s | median); ms=$(echo $wss | median); mm=$(echo $wms | median)
{
    printf "shards: fnn on MNIST, %d gradients of batch 64 (635,200 values each), %d cores, %d runs interleaved (medians, ranges)\n" "$NSH" "$THREADS" "$REPEAT"
    printf "  one process, dump-grads | vmf-kappa, %d threads each   %7.2f s (%s)\n" "$THREADS" "$m1" "$(echo $w1s | range)"
    printf "  %d shards side by side, 1 thread each, --state-out     %7.2f s (%s)\n" "$THREADS" "$ms" "$(echo $wss | range)"
    printf "  vmf-kappa --merge of the %d states                      %7.2f s (%s)\n" "$THREADS" "$mm" "$(echo $wms | range)"
    printf "  speed-up of the shards, merge included: %.2fx (runs:%s)\n" "$(awk -v a="$m1" -v b="$ms" -v c="$mm" 'BEGIN { print a / (b + c) }')" "$ratios"
    printf "  merged table against the one pass: "
    "$PY" scripts/cluster/same_table.py "$work/merged.parquet" "$work/one.parquet"
} 2>&1 | tee "$OUT/cluster-shards.txt" >&2
printf "bench,samples,threads,seconds\none-process,%s,%s,%s\nshards,%s,%s,%s\nmerge,%s,%s,%s\n" \
    "$NSH" "$THREADS" "$m1" "$NSH" "$THREADS" "$ms" "$NSH" "$THREADS" "$mm" > "$OUT/cluster-shards.csv"
fi
