#!/usr/bin/env bash
# Test of the cluster scripts without Slurm (run by `make test`): local.sh runs
# shard.sbatch for each array index and then merge.sbatch, exactly the steps Slurm runs
# for submit.sh, on fnn at initialisation (MNIST, batch sizes 8 and 16, 6 gradients of
# each). The merged table must equal one vmf-kappa pass over the unsharded dump-grads run
# (same_table.py, 1e-12 relative; the reference is that one pass), for 3 shards two at a
# time and for 2 shards; a failing shard must fail the run without a table, and a
# missing state must stop the merge. 41 s on 2 loaded cores (11 CPU-seconds). Skipped, saying so, without MNIST.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BIN="$(cd "$ROOT" && cd "${GRADSCOPE_BIN:-target/release}" && pwd)"
PY="${PY:-$ROOT/.venv/bin/python}"
HERE="$ROOT/scripts/cluster"
export GRADSCOPE_DATA_MIRROR="${GRADSCOPE_DATA_MIRROR:-$ROOT/../shared/data}"
if [ ! -d "$ROOT/data/raw/mnist" ] && [ ! -d "$GRADSCOPE_DATA_MIRROR/mnist" ]; then
    echo "skip: scripts/cluster/test_local.sh needs MNIST (make data, or GRADSCOPE_DATA_MIRROR)" >&2
    exit 0
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"

export GRADSCOPE_BIN="$BIN" GRADSCOPE_THREADS=1
export GRADSCOPE_DUMP_ARGS="--model fnn --init-seed 0 --dataset mnist -b 8,16 -n 6 --seed 3"

# The reference: one process, one pass.
read -r -a dump_args <<< "$GRADSCOPE_DUMP_ARGS"
"$BIN/dump-grads" "${dump_args[@]}" --threads 1 -o whole.parquet 2>/dev/null
"$BIN/vmf-kappa" -i whole.parquet --threads 1 -o one.parquet 2>/dev/null

for case in "3 2" "2 2"; do
    read -r n parallel <<< "$case"
    GRADSCOPE_SHARDS=$n GRADSCOPE_PARALLEL=$parallel GRADSCOPE_OUT="run$n" bash "$HERE/local.sh" 2>"run$n.err" \
        || { cat "run$n.err" run$n/logs/*.log >&2; echo "FAIL: local.sh with $n shards" >&2; exit 1; }
    [ "$(ls "run$n/states" | wc -l)" = "$n" ] || { echo "FAIL: $n shards wrote $(ls "run$n/states" | wc -l) states" >&2; exit 1; }
    echo -n "$n shards, $parallel at a time: " >&2
    "$PY" "$HERE/same_table.py" "run$n/kappa.parquet" one.parquet >&2
done

# A shard that fails (a model that does not exist): local.sh exits 1 naming the logs, no table.
if GRADSCOPE_SHARDS=2 GRADSCOPE_OUT=bad GRADSCOPE_DUMP_ARGS="--model no-such-model --init-seed 0" \
    bash "$HERE/local.sh" 2>bad.err; then
    echo "FAIL: local.sh succeeded with a failing shard" >&2; exit 1
fi
grep -q '^error: bad/logs: a shard failed' bad.err || { cat bad.err >&2; echo "FAIL: no error line for a failed shard" >&2; exit 1; }
[ ! -e bad/kappa.parquet ] || { echo "FAIL: a table was written after a failed shard" >&2; exit 1; }

# A missing state: merge.sbatch names it and writes nothing.
rm run3/states/shard-00001.parquet run3/kappa.parquet
if GRADSCOPE_SHARDS=3 GRADSCOPE_OUT=run3 bash "$HERE/merge.sbatch" 2>missing.err; then
    echo "FAIL: merge.sbatch succeeded with a missing state" >&2; exit 1
fi
grep -q '^error: run3/states/shard-00001.parquet: missing' missing.err \
    || { cat missing.err >&2; echo "FAIL: no error line for a missing state" >&2; exit 1; }
[ ! -e run3/kappa.parquet ] || { echo "FAIL: a table was written without every state" >&2; exit 1; }

# A bad shard count.
if GRADSCOPE_SHARDS=0 bash "$HERE/local.sh" 2>count.err; then echo "FAIL: GRADSCOPE_SHARDS=0 accepted" >&2; exit 1; fi
grep -q "^error: GRADSCOPE_SHARDS: '0' is not a positive whole number" count.err || { cat count.err >&2; exit 1; }
echo "scripts/cluster (local driver): ok" >&2
