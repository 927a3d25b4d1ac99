#!/usr/bin/env bash
# Builds the library, the CLI and the tests with AddressSanitizer + UBSan (-DAE2D_SANITIZE=ON)
# into build-san/ and runs the whole test suite there. Any memory error, leak or undefined
# behaviour aborts the test that hit it, and this script fails.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh
jobs=$(nproc 2>/dev/null || echo 2)

# detect_leaks=1: LeakSanitizer at every test process's exit. UBSan halts on the first report
# (the build also uses -fno-sanitize-recover=undefined). These are set for the build too,
# because catch_discover_tests runs the instrumented test binary to list its tests.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

# -DAE2D_GPU=OFF: the GPU kernels are Halide machine code like the CPU ones (not instrumented),
# and the Release build's suite already runs them on POCL; leaving them out saves their build time.
.venv/bin/cmake -S . -B build-san -DCMAKE_BUILD_TYPE=Release -DAE2D_SANITIZE=ON -DAE2D_GPU=OFF
.venv/bin/cmake --build build-san -j"$jobs"
cd build-san
../.venv/bin/ctest --output-on-failure -j"$jobs"
