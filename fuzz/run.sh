#!/usr/bin/env bash
# Runs every fuzz target (or those named) for SECONDS each on stable Rust,
# without a sanitizer, on a scratch copy of the committed seed corpus, and
# prints one line per target:
#   fuzz <target> runs=<N> crashes=<0|1> seconds=<S>
# Exits 1 if any target crashed (the artifact's path and the panic are
# printed above its line), 2 on a usage or build error.
#
#   fuzz/run.sh [SECONDS] [TARGET...]      SECONDS defaults to 60
set -euo pipefail

seconds="${1:-60}"
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: $0 [SECONDS] [TARGET...]" >&2
    exit 2
fi
shift $(($# > 0 ? 1 : 0))

cd "$(dirname "$0")"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(grant_path arguments template_render)
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi

# -s none: no AddressSanitizer, which needs nightly (-Zsanitizer); the code
# under test is safe Rust, and panics, timeouts and OOMs are still caught.
cargo fuzz build -s none || exit 2

# Scratch space outside the repository: the committed corpus stays as it is.
scratch="$(mktemp -d "${TMPDIR:-/tmp}/m365-fuzz.XXXXXX")"
failed=0
for target in "${targets[@]}"; do
    corpus="$scratch/corpus/$target"
    log="$scratch/$target.log"
    mkdir -p "$corpus" "artifacts/$target"
    cp corpus/"$target"/* "$corpus"/
    args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1)
    if [ -f "dict/$target.dict" ]; then
        args+=(-dict="dict/$target.dict")
    fi
    start=$(date +%s)
    status=0
    cargo fuzz run -s none "$target" "$corpus" -- "${args[@]}" >"$log" 2>&1 || status=$?
    elapsed=$(($(date +%s) - start))

    # libFuzzer's own count: "Done N runs" on a clean finish, else its final
    # stats, else the last "#N ..." status line before the crash.
    runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -n 1)
    if [ -z "$runs" ]; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
    fi
    if [ -z "$runs" ]; then
        runs=$(sed -n 's/^#\([0-9][0-9]*\)[[:space:]].*/\1/p' "$log" | tail -n 1)
    fi
    crashed=0
    if [ "$status" -ne 0 ] || grep -q 'Test unit written to' "$log"; then
        crashed=1
        failed=1
        # The panic message (without its backtrace), libFuzzer's verdict
        # (deadly signal, timeout, out-of-memory) and the failing input.
        grep -E -A3 'panicked at' "$log" | grep -v -E '^stack backtrace|^ +[0-9]+: |^ +at |^--$' |
            head -n 8 || true
        grep -E '^SUMMARY: libFuzzer' "$log" | head -n 1 || true
        artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | head -n 1)
        echo "artifact: ${artifact:-none written, see $log}"
        echo "reproduce: (cd fuzz && cargo fuzz run -s none $target ${artifact:-<artifact>})"
    fi
    echo "fuzz $target runs=${runs:-0} crashes=$crashed seconds=$elapsed"
done
exit "$failed"
