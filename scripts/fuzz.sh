#!/usr/bin/env bash
# Runs every cargo-fuzz target (fuzz/fuzz_targets/) for a bounded time and prints, per
# target, libFuzzer's executions, executions per second, coverage (cov: edges, ft:
# features, from its last status line), corpus size and the crashes it wrote.
#
#     scripts/fuzz.sh [SECONDS_PER_TARGET]      # default 60
#     FUZZ_TARGETS="sip_message sdp" scripts/fuzz.sh 30
#     FUZZ_SANITIZER=address scripts/fuzz.sh     # default none: the code is safe Rust
#
# Needs a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`); without them it
# says so and exits 0. The committed corpus and crashes are replayed on stable by
# `cargo test -p acscalling-service --test fuzz_corpus`. New corpus entries stay in
# fuzz/corpus/<target>/ (ignored by git but the seeds); crashes land in
# fuzz/artifacts/<target>/: commit them (they are replayed) with a named test.
set -u
secs=${1:-60}
sanitizer=${FUZZ_SANITIZER:-none}
cd "$(dirname "$0")/../fuzz" || exit 1

if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    echo "fuzz: no nightly toolchain (rustup toolchain install nightly): skipped"
    exit 0
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "fuzz: cargo-fuzz is not installed (cargo install cargo-fuzz): skipped"
    exit 0
fi

targets=${FUZZ_TARGETS:-$(cargo +nightly fuzz list)}
echo "fuzz: building (sanitizer: $sanitizer)"
cargo +nightly fuzz build -s "$sanitizer" || exit 1

logs=$(mktemp -d)
found=0
printf '%-13s %10s %8s %7s %8s %14s %8s\n' target executions exec/s cov ft corpus crashes
for t in $targets; do
    mkdir -p "artifacts/$t"
    before=$(find "artifacts/$t" -type f | wc -l)
    log="$logs/$t.log"
    cargo +nightly fuzz run -s "$sanitizer" "$t" -- \
        -max_total_time="$secs" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
        >"$log" 2>&1
    rc=$?
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
    eps=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$')
    last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' <<<"$last" | cut -d' ' -f2)
    ft=$(grep -o 'ft: [0-9]*' <<<"$last" | cut -d' ' -f2)
    corp=$(grep -o 'corp: [0-9]*/[0-9]*[a-zA-Z]*' <<<"$last" | cut -d' ' -f2)
    crashes=$(($(find "artifacts/$t" -type f | wc -l) - before))
    printf '%-13s %10s %8s %7s %8s %14s %8s\n' "$t" "${execs:-?}" "${eps:-?}" "${cov:-?}" \
        "${ft:-?}" "${corp:-?}" "$crashes"
    if [ "$rc" -ne 0 ]; then
        found=1
        echo "  $t exited $rc; log: $log" >&2
        grep -E 'panicked|ERROR|SUMMARY|Test unit written' "$log" | head -5 | sed 's/^/  /' >&2
    fi
done
exit $found
