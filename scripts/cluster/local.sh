#!/usr/bin/env bash
# The steps of submit.sh without Slurm: each shard task runs shard.sbatch as Slurm would
# (the same file, the same command lines, SLURM_ARRAY_TASK_ID = I), up to
# GRADSCOPE_PARALLEL at once (default: all N), then, when every shard succeeded,
# merge.sbatch. For one machine without a scheduler, and for the tests.
#
#   GRADSCOPE_SHARDS=2 GRADSCOPE_DUMP_ARGS="--model fnn --init-seed 0 -n 3000" \
#   GRADSCOPE_OUT=runs/kappa-fnn bash scripts/cluster/local.sh
#
# Environment: as submit.sh (GRADSCOPE_SBATCH_ARGS are Slurm's and not used). Several GPUs
# in one box: GRADSCOPE_DEVICE=cuda:gpu gives shard I the device cuda:(I mod GPUs), with
# GRADSCOPE_GPUS the number of GPUs (default 1). Logs: $GRADSCOPE_OUT/logs/.
set -euo pipefail

fail() { echo "error: $*" >&2; exit 1; }
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
n="${GRADSCOPE_SHARDS:-}"
[[ "$n" =~ ^[1-9][0-9]*$ ]] || fail "GRADSCOPE_SHARDS: '$n' is not a positive whole number (the number of shards)"
[ -n "${GRADSCOPE_DUMP_ARGS:-}" ] || fail "GRADSCOPE_DUMP_ARGS: not set (dump-grads' arguments, e.g. \"--model fnn --init-seed 0 -n 3000\")"
parallel="${GRADSCOPE_PARALLEL:-$n}"
[[ "$parallel" =~ ^[1-9][0-9]*$ ]] || fail "GRADSCOPE_PARALLEL: '$parallel' is not a positive whole number"
gpus="${GRADSCOPE_GPUS:-1}"
out="${GRADSCOPE_OUT:-gradscope-run}"
export GRADSCOPE_OUT="$out"
mkdir -p "$out/logs"
[ -z "$(ls -A "$out/states" 2>/dev/null)" ] || fail "$out/states: holds states of an earlier run; remove them or choose another GRADSCOPE_OUT"

# Shard I's process; its exit status is collected below.
run_shard() {
    local i="$1" device="${GRADSCOPE_DEVICE:-cpu}"
    [ "$device" = "cuda:gpu" ] && device="cuda:$((i % gpus))"
    SLURM_ARRAY_TASK_ID="$i" GRADSCOPE_DEVICE="$device" bash "$here/shard.sbatch" >"$out/logs/shard-$i.log" 2>&1
}
pids=()
failed=0
for ((i = 0; i < n; i++)); do
    # At most $parallel shards at once: wait for the oldest before starting another.
    if ((${#pids[@]} >= parallel)); then
        wait "${pids[0]}" || failed=1
        pids=("${pids[@]:1}")
    fi
    run_shard "$i" &
    pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || failed=1; done
if ((failed)); then
    for ((i = 0; i < n; i++)); do
        grep -h '^error' "$out/logs/shard-$i.log" 2>/dev/null | sed "s/^/shard $i: /" >&2 || true
    done
    fail "$out/logs: a shard failed; the merge was not run"
fi
bash "$here/merge.sbatch" 2>&1 | tee "$out/logs/merge.log" >&2
