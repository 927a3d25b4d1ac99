#!/usr/bin/env bash
# Cross-builds ae2d for aarch64 Linux into build-arm64/ (library, CLI, tests: NEON baseline and
# the arm_dot_prod/arm_fp16 variant, dispatched at run time) and runs the ctest suite under
# qemu-aarch64. The Halide generator runs on the host: it is the one scripts/build.sh built in
# build/, imported through the package file Halide's CMake helpers export there.
#   bash scripts/test_arm64.sh [ctest arguments...]
# build-arm64/ae2d is the aarch64 CLI (run it with qemu-aarch64 -L /usr/aarch64-linux-gnu).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh >/dev/null
jobs=$(nproc 2>/dev/null || echo 2)

# Debian's aarch64 cross toolchain, qemu-user and the arm64 libpng (multiarch).
need=()
command -v aarch64-linux-gnu-g++ >/dev/null || need+=(g++-aarch64-linux-gnu)
command -v qemu-aarch64 >/dev/null || need+=(qemu-user)
[ -f /usr/lib/aarch64-linux-gnu/libpng.so ] || need+=(libpng-dev:arm64 zlib1g-dev:arm64)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO dpkg --add-architecture arm64
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

# The host generator (scripts/build.sh configures build/; this builds only the generator if the
# rest is not there).
[ -f build/CMakeCache.txt ] || .venv/bin/cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
.venv/bin/cmake --build build --target ae2d_generators -j"$jobs"

.venv/bin/cmake -S . -B build-arm64 -DCMAKE_TOOLCHAIN_FILE="$root/cmake/aarch64-linux-gnu.cmake" \
  -DCMAKE_BUILD_TYPE=Release -Dae2d-halide_generators_ROOT="$root/build/cmake" -DAE2D_GPU=OFF -DAE2D_PYTHON=OFF
.venv/bin/cmake --build build-arm64 -j"$jobs"
cd build-arm64
# The emulator needs the aarch64 loader and libraries (also for the CLI the tests start).
export QEMU_LD_PREFIX=/usr/aarch64-linux-gnu
# Under qemu-user, Halide's worker pool with more than one thread slows by orders of magnitude
# (a 1x3x20x16 forward pass: 0.26 s on one thread, not done after 300 s on two), so the kernels run
# on one thread, and the tests that start several threads, or a CLI with --threads 2, are left to
# the x86-64 run. So are three that compute for 1 to 20 s natively, 5 to 50 minutes emulated: every
# variant on every fixture (the Winograd and srows tests below it do run), the Adams2019 builds,
# and the allocation count on the bundled denoiser. Without arguments the suite runs but these;
# arguments go to ctest instead (the whole suite: bash scripts/test_arm64.sh -R .).
export HL_NUM_THREADS=1
threaded='several threads|8 threads x 100|concurrent calls|PyTorch.s output as .npy'
heavy='every stage variant matches|Adams2019 builds match|a repeated forward pass allocates nothing'
if [ $# -eq 0 ]; then set -- -E "$threaded|$heavy" --timeout 600; fi
../.venv/bin/ctest --output-on-failure -j"$jobs" "$@"
