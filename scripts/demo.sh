#!/usr/bin/env bash
# The main job on the bundled default: sets everything up, builds, then denoises the bundled
# noisy samples with the bundled denoiser (ae2d run without --model) and prints the PSNR of each
# against its clean original, before and after.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
mkdir -p build
bash scripts/build.sh > build/build.log 2>&1 || { tail -n 40 build/build.log; exit 1; }
build/ae2d info
build/ae2d run --input samples/noisy --output build/denoised --clean samples/clean
echo "denoised images: build/denoised/"
