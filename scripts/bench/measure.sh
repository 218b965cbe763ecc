# Sourced by the benchmark scripts (run.sh, dump_grads.sh); they set OUT, the folder of
# results/bench/NAME.time and NAME.log.

# measure NAME CMD...: wall seconds and peak resident memory (KiB) via GNU time.
# CMD's stderr goes to $OUT/NAME.log (shown, and the script stopped, if CMD fails), its
# stdout to /dev/null; for a pipe or a redirection run `measure NAME bash -c "..."`.
measure() {
    local name="$1"; shift
    /usr/bin/time -f "%e %M" -o "$OUT/$name.time" "$@" 2>"$OUT/$name.log" >/dev/null || { cat "$OUT/$name.log" >&2; exit 1; }
    read -r wall rss < "$OUT/$name.time"
    echo "$wall $rss"
}
