#!/usr/bin/env bash
# Builds the libFuzzer targets (clang-14, ASan + UBSan, no Halide) into build-fuzz/ and runs each
# for SECONDS (default 20: the CI smoke; use 300+ while developing) on its seed corpus.
#   bash tests/fuzz/build_and_run.sh [SECONDS] [TARGET...]
# New inputs libFuzzer finds go to build-fuzz/corpus/<target>/ (kept between runs); a crash,
# leak, timeout or out-of-memory input goes to build-fuzz/artifacts/ and makes this script fail.
# Replay one with: build-fuzz/fuzz_<target> <file>; keep it as a regression test by copying it to
# tests/fuzz/regressions/<target>/ (tests/test_fuzz_regressions.cpp replays that directory).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
secs=${1:-20}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(safetensors npy png config)
out=${AE2D_FUZZ_BUILD:-$root/build-fuzz}
jobs=$(nproc 2>/dev/null || echo 2)

command -v clang++-14 >/dev/null || { echo "fuzz: clang++-14 missing (bash scripts/setup.sh installs it)"; exit 1; }
cmake=cmake
[ -x .venv/bin/cmake ] && cmake=.venv/bin/cmake   # CMake >= 3.28, from scripts/setup.sh
mkdir -p "$out"
"$cmake" -S tests/fuzz -B "$out" -DCMAKE_CXX_COMPILER=clang++-14 > "$out/configure.log" 2>&1 ||
  { cat "$out/configure.log"; exit 1; }
"$cmake" --build "$out" -j"$jobs" > "$out/build.log" 2>&1 || { tail -n 60 "$out/build.log"; exit 1; }

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
mkdir -p "$out/artifacts"
failed=()
for t in "${targets[@]}"; do
  mkdir -p "$out/corpus/$t"
  log="$out/$t.log"
  # -timeout: one input may take at most 10 s. -rss_limit_mb: a leak or a missed limit shows
  # up as an out-of-memory failure. -malloc_limit_mb: under the fuzz limits no input needs a
  # single allocation of 256 MiB; one that asks for it amplifies a small file into a big
  # allocation (as a PNG chunk header once made libpng do).
  if "$out/fuzz_$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=256 -print_final_stats=1 \
       -dict="tests/fuzz/dict/$t.dict" -artifact_prefix="$out/artifacts/$t-" \
       "$out/corpus/$t" "tests/fuzz/corpus/$t" > "$log" 2>&1; then
    status=ok
  else
    status=FAILED
    failed+=("$t")
    tail -n 60 "$log"
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 || true)
  echo "fuzz $t: $status, ${execs:-?} executions in ${secs} s, $cov, corpus $(ls "$out/corpus/$t" | wc -l) files"
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: failures in ${failed[*]} (inputs in $out/artifacts/)"
  exit 1
fi
