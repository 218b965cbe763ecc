#!/usr/bin/env bash
# Test of submit.sh on a real Slurm (`make test-slurm`): a one-node cluster started here
# from Debian's packages (slurm-wlm and munge, installed with apt-get when missing; needs
# root), with its configuration, state, spool, logs and munge key in a temporary folder
# and its own ports, so nothing of the machine's is used or changed. The daemons run
# without systemd: munged, slurmctld and slurmd are started by hand and stopped at the
# end whatever happens. Then the same run as test_local.sh: fnn at initialisation,
# batch sizes 8 and 16, 6 gradients of each, as an array of 3 shard tasks and a merge job
# that depends on them; its table must equal one vmf-kappa pass over the unsharded dump
# (same_table.py, 1e-12 relative). A second submission whose shards fail must leave the
# merge cancelled and no table. 29 s once the packages are there.
#   GRADSCOPE_SLURM_PORT  slurmctld's port (default 16817; slurmd takes the next)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BIN="$(cd "$ROOT" && cd "${GRADSCOPE_BIN:-target/release}" && pwd)"
PY="${PY:-$ROOT/.venv/bin/python}"
HERE="$ROOT/scripts/cluster"
PORT="${GRADSCOPE_SLURM_PORT:-16817}"
export GRADSCOPE_DATA_MIRROR="${GRADSCOPE_DATA_MIRROR:-$ROOT/../shared/data}"
fail() { echo "FAIL: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "a single-node Slurm needs root (slurmd runs the jobs as their users)"
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
    echo "installing slurm-wlm and munge ..." >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >&2
fi
if [ ! -d "$ROOT/data/raw/mnist" ] && [ ! -d "$GRADSCOPE_DATA_MIRROR/mnist" ]; then
    fail "the test needs MNIST (make data, or GRADSCOPE_DATA_MIRROR)"
fi

T="$(mktemp -d)"
chmod 755 "$T"
stop() {
    # The daemons this test started, by their pid files; then the folder.
    for p in "$T/slurmd.pid" "$T/slurmctld.pid" "$T/munge/munged.pid"; do
        [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null || true
    done
    sleep 1
    rm -rf "$T"
}
trap stop EXIT
mkdir -p "$T/munge" "$T/state" "$T/spool" "$T/log" "$T/work"
chmod 700 "$T/munge"
head -c 1024 /dev/urandom > "$T/munge/munge.key"
chmod 400 "$T/munge/munge.key"
munged --force --socket="$T/munge/munge.sock" --key-file="$T/munge/munge.key" \
    --pid-file="$T/munge/munged.pid" --log-file="$T/munge/munged.log" --seed-file="$T/munge/munged.seed"

node="$(hostname -s)"
cat > "$T/slurm.conf" <<CONF
ClusterName=gradscope-test
SlurmctldHost=$node
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$T/munge/munge.sock
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/log/slurmctld.log
SlurmdLogFile=$T/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
SchedulerParameters=sched_min_interval=100000
NodeName=$node CPUs=$(nproc) State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$T/slurm.conf"
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"
for ((k = 0; ; k++)); do
    sinfo -h -o %t 2>/dev/null | grep -q idle && break
    ((k < 60)) || { tail -20 "$T"/log/*.log >&2; fail "the Slurm node did not come up in 30 s"; }
    sleep 0.5
done
echo "slurm $(sinfo -V | cut -d' ' -f2) up on $node (ports $PORT, $((PORT + 1)))" >&2

# Waits for jobs to leave the queue (at most 5 minutes); prints the final state of the last.
wait_jobs() {
    for ((k = 0; ; k++)); do
        [ -z "$(squeue -h -j "$1,$2" 2>/dev/null)" ] && break
        ((k < 600)) || { squeue >&2; fail "jobs $1, $2 still queued after 5 minutes"; }
        sleep 0.5
    done
    scontrol show job "$2" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2
}

cd "$T/work"
export GRADSCOPE_BIN="$BIN" GRADSCOPE_THREADS=1
export GRADSCOPE_DUMP_ARGS="--model fnn --init-seed 0 --dataset mnist -b 8,16 -n 6 --seed 3"
read -r -a dump_args <<< "$GRADSCOPE_DUMP_ARGS"
"$BIN/dump-grads" "${dump_args[@]}" --threads 1 -o whole.parquet 2>/dev/null
"$BIN/vmf-kappa" -i whole.parquet --threads 1 -o one.parquet 2>/dev/null

read -r shards merge < <(GRADSCOPE_SHARDS=3 GRADSCOPE_OUT=run bash "$HERE/submit.sh")
state="$(wait_jobs "$shards" "$merge")"
[ "$state" = COMPLETED ] || { cat run/logs/*.log >&2; fail "the merge job $merge ended $state"; }
for i in 0 1 2; do grep -q "^shard $i/3 on $node" "run/logs/shard-$i.log" || fail "run/logs/shard-$i.log: not shard $i's"; done
echo -n "slurm array of 3 shards + merge: " >&2
"$PY" "$HERE/same_table.py" run/kappa.parquet one.parquet >&2

# Shards that fail: the merge is cancelled (--kill-on-invalid-dep) and writes nothing.
read -r shards merge < <(GRADSCOPE_SHARDS=2 GRADSCOPE_OUT=bad GRADSCOPE_DUMP_ARGS="--model no-such-model --init-seed 0" bash "$HERE/submit.sh")
state="$(wait_jobs "$shards" "$merge")"
[ "$state" = CANCELLED ] || fail "the merge after failed shards ended '$state', not CANCELLED"
[ ! -e bad/kappa.parquet ] || fail "a table was written after failed shards"
grep -q '^error: ' bad/logs/shard-0.log || fail "bad/logs/shard-0.log: no error line"
echo "scripts/cluster (real Slurm): ok" >&2
