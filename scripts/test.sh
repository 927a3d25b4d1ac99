#!/usr/bin/env bash
# Sets everything up, builds, and runs the whole test suite with ctest (OpenCL tests on POCL;
# CUDA tests are reported as skipped without an NVIDIA GPU), then the Python package's tests
# (scripts/test_python.sh: pip install into .venv-python, pytest tests/python, Ray included).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/build.sh
cd build
# The OpenCL parity tests run on POCL (installed by setup.sh) and must not be skipped here.
# POCL caches the kernels it compiles; keep that cache in the build tree.
export AE2D_REQUIRE_OPENCL=${AE2D_REQUIRE_OPENCL:-1}
export POCL_CACHE_DIR=${POCL_CACHE_DIR:-$root/build/pocl-cache}
../.venv/bin/ctest --output-on-failure -j"$(nproc 2>/dev/null || echo 2)"
cd "$root"
bash scripts/test_python.sh
