#!/usr/bin/env bash
# Checks the installed package. Installs the build dir (default build/, made by scripts/build.sh;
# AE2D_BUILD_DIR overrides) into a temporary prefix, checks the layout and the public headers, then
# builds the examples against the installed package only and runs them on a bundled model:
#   C++  via find_package(ae2d), shared and static (AE2D_USE_STATIC_LIBS=ON)
#   C    via pkg-config (shared), via find_package (static), via `cc $(pkg-config --static ...)`
# All runs must print the same output shape and checksum. Exits non-zero on any failure.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=${AE2D_BUILD_DIR:-build}
cmake=$root/.venv/bin/cmake
[ -x "$cmake" ] || cmake=cmake
if [ ! -f "$build/CMakeCache.txt" ]; then
  echo "check_install: $build is not configured; run scripts/build.sh first" >&2
  exit 1
fi
jobs=$(nproc 2>/dev/null || echo 2)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ae2d-check-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
fail() { echo "check_install: FAIL: $*" >&2; exit 1; }
step() { echo "check_install: $*"; }

# Up to date in the normal case; builds the package targets if the build dir predates them.
"$cmake" --build "$build" -j"$jobs" > "$tmp/build.log" 2>&1 || { tail -n 40 "$tmp/build.log"; fail "build of $build"; }
"$cmake" --install "$build" --prefix "$prefix" > "$tmp/install.log" 2>&1 || { cat "$tmp/install.log"; fail "cmake --install"; }

# --- layout ------------------------------------------------------------------------------------
pc=$(find "$prefix" -name ae2d.pc -path '*/pkgconfig/*' | head -n 1)
[ -n "$pc" ] || fail "no ae2d.pc installed"
libdir=$(cd "$(dirname "$pc")/.." && pwd)
for f in bin/ae2d include/ae2d/ae2d.h include/ae2d/model.h include/ae2d/config.h include/ae2d/status.h \
         include/ae2d/tensor.h; do
  [ -f "$prefix/$f" ] || fail "$f not installed"
done
for f in libae2d.a libae2d.so cmake/ae2d/ae2dConfig.cmake cmake/ae2d/ae2dConfigVersion.cmake; do
  [ -e "$libdir/$f" ] || fail "${libdir#"$prefix"/}/$f not installed"
done
step "installed into $prefix:"
(cd "$prefix" && find . -type f -o -type l | sed 's|^\./|  |' | sort)

# --- public headers: self-contained, no Halide; the C header is C89, C99 and C++ -----------------
cc=${CC:-cc}
cxx=${CXX:-c++}
if grep -nE '#[[:space:]]*include.*[Hh]alide' "$prefix"/include/ae2d/*.h; then fail "a public header includes Halide"; fi
for h in "$prefix"/include/ae2d/*.h; do
  echo "#include <ae2d/$(basename "$h")>" | "$cxx" -std=c++17 -Wall -Wextra -Wpedantic -Werror -fsyntax-only \
      -I"$prefix/include" -x c++ - || fail "ae2d/$(basename "$h") does not compile on its own (C++17)"
done
for std in c89 c99 c11; do
  echo '#include <ae2d/ae2d.h>' | "$cc" -std=$std -Wall -Wextra -pedantic-errors -Werror -fsyntax-only \
      -I"$prefix/include" -x c - || fail "ae2d/ae2d.h is not valid $std"
done
step "headers: self-contained, no Halide include, ae2d.h is valid C89/C99/C11 and C++17"

# --- libae2d.so exports only the C API and namespace ae2d ----------------------------------------
so=$(readlink -f "$libdir/libae2d.so")
exported=$(nm -D --defined-only "$so" | awk '{print $3}')
grep -qx ae2d_version <<< "$exported" || fail "libae2d.so does not export ae2d_version"
grep -qx ae2d_model_forward <<< "$exported" || fail "libae2d.so does not export ae2d_model_forward"
if grep -qE '^halide_' <<< "$exported"; then fail "libae2d.so exports the Halide runtime"; fi
step "libae2d.so: SONAME $(readelf -d "$so" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p'), $(wc -l <<< "$exported") exported symbols, no halide_*"

# --- examples ------------------------------------------------------------------------------------
fixture=$root/tests/fixtures/plain_k3_d2   # 3 input planes, 2 output planes
export PKG_CONFIG_PATH="$libdir/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
results=()

# build_example NAME SOURCE_DIR [cmake args...]
build_example() {
  local name=$1 src=$2
  shift 2
  "$cmake" -S "$src" -B "$tmp/$name" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" \
      -DCMAKE_COMPILE_WARNING_AS_ERROR=ON "$@" > "$tmp/$name.log" 2>&1 \
    && "$cmake" --build "$tmp/$name" >> "$tmp/$name.log" 2>&1 \
    || { cat "$tmp/$name.log"; fail "building example $name"; }
}

# run_example NAME EXE LINKAGE(shared|static)
run_example() {
  local name=$1 exe=$2 linkage=$3 out
  out=$("$exe" "$fixture.safetensors" 20 16) || fail "example $name exited with status $?"
  local needed
  needed=$(readelf -d "$exe")
  if grep -q 'NEEDED.*libae2d' <<< "$needed"; then
    [ "$linkage" = shared ] || fail "example $name should not need libae2d.so"
  else
    [ "$linkage" = static ] || fail "example $name should need libae2d.so"
  fi
  grep -qx 'output shape (1, 2, 20, 16)' <<< "$out" || { echo "$out"; fail "example $name: wrong output shape"; }
  step "example $name ($linkage):"
  echo "$out" | sed 's/^/  /'
  results+=("$(grep -E '^(output shape|checksum)' <<< "$out")")
}

build_example cpp-shared examples/cpp
run_example cpp-shared "$tmp/cpp-shared/ae2d_example_cpp" shared
build_example cpp-static examples/cpp -DAE2D_USE_STATIC_LIBS=ON
run_example cpp-static "$tmp/cpp-static/ae2d_example_cpp" static
build_example c-pkgconfig examples/c
run_example c-pkgconfig "$tmp/c-pkgconfig/ae2d_example_c" shared
build_example c-cmake-static examples/c -DAE2D_EXAMPLE_USE_CMAKE_PACKAGE=ON -DAE2D_USE_STATIC_LIBS=ON
run_example c-cmake-static "$tmp/c-cmake-static/ae2d_example_c" static

# Plain cc with `pkg-config --static`: -lae2d picks libae2d.a, Libs.private supplies the rest.
read -r -a cflags <<< "$(pkg-config --cflags ae2d)"
read -r -a libs <<< "$(pkg-config --static --libs ae2d)"
link=()
for f in "${libs[@]}"; do
  if [ "$f" = -lae2d ]; then link+=(-Wl,-Bstatic -lae2d -Wl,-Bdynamic); else link+=("$f"); fi
done
"$cc" -std=c99 -O2 -Wall -Wextra -pedantic -Werror "${cflags[@]}" examples/c/main.c -o "$tmp/c-pkgconfig-static" \
    "${link[@]}" -lm || fail "cc with pkg-config --static"
run_example c-pkgconfig-static "$tmp/c-pkgconfig-static" static

for r in "${results[@]}"; do
  [ "$r" = "${results[0]}" ] || fail "the examples disagree: '${results[0]}' vs '$r'"
done

# --- the installed CLI -----------------------------------------------------------------------------
"$prefix/bin/ae2d" run --model "$fixture.safetensors" --input "$fixture.input.npy" --output "$tmp/y.npy" \
    --compare "$fixture.output.npy" > "$tmp/cli.log" 2>&1 || { cat "$tmp/cli.log"; fail "installed ae2d run"; }
step "installed bin/ae2d run --compare: ok"
step "all checks passed (${#results[@]} example builds agree)"
