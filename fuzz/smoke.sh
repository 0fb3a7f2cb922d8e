#!/usr/bin/env bash
# Smoke-runs every fuzz target listed in fuzz/Cargo.toml for a few seconds each, on the
# stable toolchain (libFuzzer without a sanitizer; debug assertions and overflow checks on).
#
#   fuzz/smoke.sh                 # every target, FUZZ_SECONDS (default 10) each
#   fuzz/smoke.sh zone_file       # only these targets
#
# Environment: FUZZ_SECONDS (per target), FUZZ_TARGET_DIR (cargo target dir, default
# fuzz/target), MAILSTAMP_CONFORMANCE (when set, its files seed every target too).
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`) and a C++ compiler (libFuzzer).
# A crash fails the script; libFuzzer prints the input, saved under fuzz/artifacts/<target>/.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
seconds="${FUZZ_SECONDS:-10}"
target_dir="${FUZZ_TARGET_DIR:-$here/target}"

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    # Every [[bin]] of fuzz/Cargo.toml.
    mapfile -t targets < <(awk '/^\[\[bin\]\]/ { bin = 1; next }
        bin && /^name *=/ { gsub(/^name *= *"|".*$/, ""); print; bin = 0 }' Cargo.toml)
fi
if [ "${#targets[@]}" -eq 0 ]; then
    echo "fuzz/smoke.sh: no [[bin]] targets in fuzz/Cargo.toml" >&2
    exit 1
fi

seeds=("$here/../testdata")
if [ -n "${MAILSTAMP_CONFORMANCE:-}" ] && [ -d "$MAILSTAMP_CONFORMANCE" ]; then
    seeds+=("$MAILSTAMP_CONFORMANCE/spf")
fi

build=(--sanitizer none --debug-assertions --target-dir "$target_dir")
for t in "${targets[@]}"; do
    echo "== fuzz smoke: $t (${seconds}s)"
    mkdir -p "corpus/$t"
    # `cargo fuzz run` builds the target first. The first corpus directory receives new
    # inputs; the seed folders are only read: the target's own seeds (fuzz/seeds/<target>, in
    # the framing it expects; written by fuzz/make-seeds) and the shared ones.
    target_seeds=()
    [ -d "seeds/$t" ] && target_seeds=("seeds/$t")
    cargo fuzz run "${build[@]}" "$t" "corpus/$t" "${target_seeds[@]}" "${seeds[@]}" -- \
        -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 -print_final_stats=1
done
echo "fuzz smoke: ${#targets[@]} target(s) ran ${seconds}s each without a crash"
