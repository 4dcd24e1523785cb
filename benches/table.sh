#!/usr/bin/env bash
# Prints the medians of the last `cargo bench` run as a Markdown table, from
# criterion's estimates under target/criterion (needs jq).
# Usage: benches/table.sh [TARGET_DIR]
set -euo pipefail
dir="${1:-${CARGO_TARGET_DIR:-target}}/criterion"
[ -d "$dir" ] || { echo "no $dir: run cargo bench first" >&2; exit 1; }
human() {
    awk -v ns="$1" 'BEGIN {
        if (ns >= 1e6) printf "%.2f ms", ns / 1e6;
        else if (ns >= 1e3) printf "%.1f µs", ns / 1e3;
        else printf "%.0f ns", ns }'
}
echo "| benchmark | median | 95% interval of the median |"
echo "|---|---|---|"
find "$dir" -path '*/new/benchmark.json' | sort -V | while read -r meta; do
    id=$(jq -r .full_id "$meta")
    est="${meta%benchmark.json}estimates.json"
    read -r median lo hi < <(jq -r '.median | "\(.point_estimate) \(.confidence_interval.lower_bound) \(.confidence_interval.upper_bound)"' "$est")
    echo "| \`$id\` | $(human "$median") | $(human "$lo") – $(human "$hi") |"
done
