#!/usr/bin/env bash
# The main job on the bundled default: sets everything up, prints the seed document's summary,
# then runs a bundled AE2d (the seed's architecture at channel 4, random weights, exported from
# the PyTorch reference) on its bundled input and compares with PyTorch's output.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/build.sh > build.log 2>&1 || { tail -n 40 build.log; exit 1; }
ae2d=build/ae2d
$ae2d summary --channel 64 --layers 2,2,2,2,3 --block bottleneck --kernel-size 3 \
    --in-planes 3 --out-planes 1 --input-shape 3,64,63
fx=tests/fixtures/seedlike_c4
$ae2d run --model $fx.safetensors --input $fx.input.npy --output build/seedlike_c4.output.npy \
    --compare $fx.output.npy
