#!/usr/bin/env bash
# Submits a sharded gradient run to Slurm: the shard array (shard.sbatch, one task per
# shard) and the merge (merge.sbatch) that waits for all of them (--dependency=afterok;
# --kill-on-invalid-dep=yes cancels it when a shard fails). Prints the two job ids.
#
#   GRADSCOPE_SHARDS=8 GRADSCOPE_DUMP_ARGS="--model fnn --init-seed 0 -b 64 -n 3000" \
#   GRADSCOPE_OUT=runs/kappa-fnn bash scripts/cluster/submit.sh
#
# Environment: those of shard.sbatch and merge.sbatch, and
#   GRADSCOPE_PARALLEL     at most this many shards at once (the array's %throttle; default: all)
#   GRADSCOPE_SBATCH_ARGS  more sbatch options for the shard tasks (e.g. "--partition gpu
#                          --gres=gpu:1 --time 2:00:00 --mem 16G")
#   GRADSCOPE_MERGE_SBATCH_ARGS  more sbatch options for the merge job
# Logs: $GRADSCOPE_OUT/logs/shard-I.log and merge.log.
set -euo pipefail

fail() { echo "error: $*" >&2; exit 1; }
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
n="${GRADSCOPE_SHARDS:-}"
[[ "$n" =~ ^[1-9][0-9]*$ ]] || fail "GRADSCOPE_SHARDS: '$n' is not a positive whole number (the number of shards)"
[ -n "${GRADSCOPE_DUMP_ARGS:-}" ] || fail "GRADSCOPE_DUMP_ARGS: not set (dump-grads' arguments, e.g. \"--model fnn --init-seed 0 -n 3000\")"
command -v sbatch >/dev/null || fail "sbatch: not found (no Slurm here? local.sh runs the same steps without it)"
out="${GRADSCOPE_OUT:-gradscope-run}"
export GRADSCOPE_OUT="$out"
mkdir -p "$out/logs"
[ -z "$(ls -A "$out/states" 2>/dev/null)" ] || fail "$out/states: holds states of an earlier run; remove them or choose another GRADSCOPE_OUT"

array="0-$((n - 1))"
[ -n "${GRADSCOPE_PARALLEL:-}" ] && array="$array%$GRADSCOPE_PARALLEL"
read -r -a shard_opts <<< "${GRADSCOPE_SBATCH_ARGS:-}"
read -r -a merge_opts <<< "${GRADSCOPE_MERGE_SBATCH_ARGS:-}"

# --parsable prints "id" or "id;cluster".
shards=$(sbatch --parsable --array="$array" --output="$out/logs/shard-%a.log" \
    ${shard_opts[@]+"${shard_opts[@]}"} "$here/shard.sbatch")
shards="${shards%%;*}"
merge=$(sbatch --parsable --dependency="afterok:$shards" --kill-on-invalid-dep=yes \
    --output="$out/logs/merge.log" ${merge_opts[@]+"${merge_opts[@]}"} "$here/merge.sbatch")
merge="${merge%%;*}"
echo "$shards $merge"
echo "submitted: shards $shards (array $array), merge $merge after them; table: ${GRADSCOPE_TABLE:-$out/kappa.parquet}" >&2
