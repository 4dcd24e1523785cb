#!/usr/bin/env bash
# Fuzzes every target in fuzz/ for SECONDS each (default 60), starting from
# its seeds, with cargo-fuzz (libFuzzer) on the stable toolchain.
#
#   scripts/fuzz.sh [SECONDS]
#
# Prints one summary line per target (runs, coverage, time). A target that
# fails (a panic or a broken property, an input taking 10 s, 2 GiB of
# memory) has its log tail and its input printed, the input kept under
# fuzz/artifacts/ (ignored by git), and the script exits non-zero once
# every target has run. Copy such an input into fuzz/regressions/<target>/
# and `cargo test` replays it from then on (tests/fuzz_regressions.rs).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
[[ $seconds =~ ^[1-9][0-9]*$ ]] || { echo "usage: scripts/fuzz.sh [SECONDS]" >&2; exit 2; }

if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi

# Stable rustc takes the -Z flags cargo-fuzz passes only with
# RUSTC_BOOTSTRAP=1, set here for these builds alone. No sanitizer: the
# code under test is safe Rust, where AddressSanitizer adds nothing a panic
# does not say, and it builds and runs slower. 16 codegen units build in
# about half the time of cargo-fuzz's default of one, and fuzz as fast.
export RUSTC_BOOTSTRAP=1
build=(--sanitizer none --codegen-units 16)
targets=$(cd fuzz && cargo fuzz list)
echo "fuzz: building $(echo "$targets" | wc -w) targets"
(cd fuzz && cargo fuzz build "${build[@]}")
bin="fuzz/target/$(rustc -vV | sed -n 's/^host: //p')/release"

# Corpora, logs and crash files go to a scratch directory: the repository
# keeps only the seeds and the regressions.
scratch=$(mktemp -d "${TMPDIR:-/tmp}/opsdeck-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

# One target: its exit status goes to $scratch/<target>.status.
fuzz_one() {
  local target=$1 status=0
  mkdir -p "$scratch/corpus/$target" "$scratch/artifacts/$target"
  cp fuzz/seeds/"$target"/* "$scratch/corpus/$target/"
  "$bin/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$scratch/artifacts/$target/" -print_final_stats=1 \
    "$scratch/corpus/$target" >"$scratch/$target.log" 2>&1 || status=$?
  echo "$status" >"$scratch/$target.status"
}

# As many targets at once as there are cores: each still gets SECONDS.
slots=$(nproc)
echo "fuzz: $seconds s per target, $slots at a time"
for target in $targets; do
  while [ "$(jobs -rp | wc -l)" -ge "$slots" ]; do wait -n || true; done
  fuzz_one "$target" &
done
wait

failed=0
for target in $targets; do
  log="$scratch/$target.log"
  status=$(cat "$scratch/$target.status" 2>/dev/null || echo "none")
  # libFuzzer's closing lines: runs, coverage (edges and features), time.
  runs=$(awk '/^stat::number_of_executed_units:/ { print $2 }' "$log")
  took=$(awk '/^Done [0-9]+ runs in/ { print $(NF-1) }' "$log")
  cov=$(grep -oE ' cov: [0-9]+ ft: [0-9]+' "$log" | tail -1 | awk '{ print $2 " edges, " $4 " features" }')
  if [ "$status" = 0 ]; then
    printf 'fuzz: %-16s ok  %9s runs  %-26s %ss\n' "$target" "${runs:-?}" "${cov:-coverage ?}" "${took:-?}"
    # A panic caught by opsdeck's own guard is no failure, but worth a line.
    grep -m1 '^note: ' "$log" | sed "s/^/fuzz: $target: /" || true
    continue
  fi
  failed=1
  echo "fuzz: $target FAILED (exit $status):"
  # The panic and its message, or libFuzzer's word (a timeout, memory).
  { grep -m1 -A6 'panicked at' "$log" | sed '/^stack backtrace:/,$d' || true
    grep -E '^==[0-9]+== ERROR|^SUMMARY' "$log" || true; } | sed 's/^/    /'
  crash=$(ls -t "$scratch/artifacts/$target" | head -1)
  if [ -n "$crash" ]; then
    mkdir -p "fuzz/artifacts/$target"
    cp "$scratch/artifacts/$target/$crash" "fuzz/artifacts/$target/"
    cp "$log" "fuzz/artifacts/$target/$crash.log"
    echo "fuzz: the input is fuzz/artifacts/$target/$crash (the whole log beside it, .log)"
    echo "fuzz: replay it: $bin/$target fuzz/artifacts/$target/$crash"
    echo "fuzz: keep it as a test: cp fuzz/artifacts/$target/$crash fuzz/regressions/$target/"
  else
    tail -20 "$log"
  fi
done
exit "$failed"
