#!/usr/bin/env bash
# Runs every fuzz target (or those named) until 1,000,000 inputs or FUZZ_SECONDS (default 600) have passed,
# whichever comes first, two at a time, at the lowest priority; then prints the table of fuzz/README.md.
#
#   bash fuzz/run_all.sh [TARGET...]          FUZZ_SECONDS=600 JOBS=2 bash fuzz/run_all.sh
#
# A target's corpus grows in fuzz/corpus/<target>/ (seeded from fuzz/seeds/<target>/), its log is
# fuzz/logs/<target>.log, and a crashing input lands in fuzz/artifacts/<target>/.
set -uo pipefail
cd "$(dirname "$0")"
seconds=${FUZZ_SECONDS:-600}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo +nightly fuzz list)
mkdir -p logs
cargo +nightly fuzz build
run() {
    local t=$1
    mkdir -p "corpus/$t"
    nice -n 19 cargo +nightly fuzz run "$t" "corpus/$t" "seeds/$t" -- \
        -runs=1000000 -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 \
        -print_final_stats=1 > "logs/$t.log" 2>&1
    echo "$t exit $?" >> "logs/$t.log"
}
export -f run
export seconds
printf '%s\n' "${targets[@]}" | xargs -P "${JOBS:-2}" -I{} bash -c 'run {}'
echo "| target | inputs run | seconds | result |"
echo "|---|---|---|---|"
for t in "${targets[@]}"; do
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "logs/$t.log" | grep -o '[0-9]*$')
    secs=$(grep -o 'Done [0-9]* runs in [0-9]* second' "logs/$t.log" | grep -o 'in [0-9]*' | grep -o '[0-9]*')
    if grep -q "exit 0" "logs/$t.log"; then result="no crash"; else result="CRASH (see logs/$t.log)"; fi
    echo "| $t | ${runs:-?} | ${secs:-?} | $result |"
done
