# Sourced by every structure-study script (table2.sh, table3.sh, spectra.sh, and through
# second_moment.sh table6.sh and table7.sh): the settings they share, from the environment
# with these defaults, and the folders they write.
#   BIN        the binaries (GRADSCOPE_BIN; target/release)
#   PY         the Python with the reference packages (.venv/bin/python)
#   DEVICE     cpu, or cuda on a GPU
#   THREADS    libtorch and rayon threads (0: one per core)
#   OUT        result tables (results/structure; raw tool outputs in OUT/raw)
#   WORK       checkpoints and gradient files (runs/structure)
#   INIT_SEED  the seed of the random initialisations (1)
# and the array common (--device, --threads) that train and dump-grads take.
BIN="${GRADSCOPE_BIN:-target/release}"
PY="${PY:-.venv/bin/python}"
DEVICE="${DEVICE:-cpu}"
THREADS="${THREADS:-0}"
OUT="${OUT:-results/structure}"
WORK="${WORK:-runs/structure}"
INIT_SEED="${INIT_SEED:-1}"
mkdir -p "$OUT/raw" "$WORK"
common=(--device "$DEVICE" --threads "$THREADS")

# size_tag T: the suffix of a run's result files, "-full" at the study's T (5,000 or more) and
# empty below, so the CPU size's tables and the study's size's stand side by side in results/
# and in the report.
size_tag() { if [ "$1" -lt 5000 ]; then echo ""; else echo -full; fi; }
