#!/usr/bin/env bash
# The Python package's tests: installs ae2d with pip into a venv (.venv-python, git-ignored) and
# runs pytest tests/python, the Ray tests on a local 2-CPU Ray cluster included. Run by
# scripts/test.sh after ctest, so by CI.
#
# The venv sees Debian's python3-torch (for the torch tests; Debian's torch 1.13 needs NumPy 1.x,
# hence the pins) and gets pytest, Ray, Pillow, nanobind and scikit-build-core from PyPI. The
# package is built with `pip install --no-build-isolation -C build-dir=DIR .`, the same pyproject.toml
# and CMake as `pip install .`; DIR defaults to build/ (scripts/build.sh's), so only the nanobind
# module is compiled (AE2D_PY_BUILD_DIR overrides, e.g. build/python for a CPU-only folder).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh >/dev/null

if ! dpkg-query -W -f='${Status}' python3-torch 2>/dev/null | grep -q "install ok installed"; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends python3-torch
fi

venv=.venv-python
if [ ! -x "$venv/bin/python" ]; then
  /usr/bin/python3 -m venv --system-site-packages "$venv"
fi
"$venv/bin/pip" install -q --disable-pip-version-check "scikit-build-core>=0.10" "nanobind>=2.4" pytest \
    "ray[data]" pillow "numpy<2" "pandas<3" "pyarrow<20"

build_dir=${AE2D_PY_BUILD_DIR:-build}
# Reusing a folder means configuring it with its own generator and CMake.
generator=""
if [ -f "$build_dir/CMakeCache.txt" ]; then
  generator=$(sed -n 's/^CMAKE_GENERATOR:INTERNAL=//p' "$build_dir/CMakeCache.txt")
fi
echo "test_python: pip install . (build folder $build_dir)"
PATH="$root/.venv/bin:$PATH" CMAKE_GENERATOR="${generator:-Unix Makefiles}" \
  "$venv/bin/pip" install -q --disable-pip-version-check --no-build-isolation --config-settings=build-dir="$build_dir" \
      --config-settings=cmake.define.AE2D_PYTHON=ON "$root"

# From outside the checkout: the installed package, not python/ae2d, is imported.
(cd /tmp && "$root/$venv/bin/python" -c "import ae2d; print('test_python: ae2d', ae2d.version, ae2d.__file__)")
export AE2D_REQUIRE_TORCH=1 AE2D_REQUIRE_RAY=1 RAY_USAGE_STATS_ENABLED=0
# pytest exits non-zero (5) when it collects no test; set -e makes that a failure.
"$venv/bin/python" -m pytest -q -p no:cacheprovider tests/python "$@"
