#!/usr/bin/env bash
# Installs everything ae2d needs on a fresh Debian 12 machine:
#   Debian packages (compilers, libpng, Catch2 v2, nlohmann-json, CLI11, OpenCL on the CPU)
#   and a git-ignored venv (.venv) holding Halide's PyPI wheel and a CMake new enough for it.
# Idempotent: a second run only checks.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

HALIDE_VERSION=21.0.0   # Halide's current release on PyPI (C++ library, headers, CMake package)
CMAKE_VERSION=3.31.6    # Halide 21's CMake package needs CMake >= 3.28; Debian 12 ships 3.25

apt_pkgs=(build-essential pkg-config python3-venv libpng-dev catch2 nlohmann-json3-dev libcli11-dev
          pocl-opencl-icd ocl-icd-opencl-dev clang-14 libclang-rt-14-dev)
missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The Debian python (not a pyenv shim) makes the venv so that it works the same everywhere.
PY=/usr/bin/python3
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
if ! .venv/bin/python -c "import halide, sys; sys.exit(0 if halide.__version__ == '$HALIDE_VERSION' else 1)" 2>/dev/null \
   || ! .venv/bin/cmake --version 2>/dev/null | grep -q "$CMAKE_VERSION"; then
  .venv/bin/pip install -q --disable-pip-version-check --only-binary=:all: \
      "halide==$HALIDE_VERSION" "cmake==$CMAKE_VERSION"
fi
echo "setup: Halide $HALIDE_VERSION and CMake $CMAKE_VERSION in $root/.venv"
