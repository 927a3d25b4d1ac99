#!/usr/bin/env bash
# Sets everything up, builds, and runs the whole test suite with ctest.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/build.sh
cd build
../.venv/bin/ctest --output-on-failure -j"$(nproc 2>/dev/null || echo 2)"
