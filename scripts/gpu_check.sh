#!/usr/bin/env bash
# The one-shot check for the day a machine with an NVIDIA GPU is lent (the `device` tool: one
# GPU, a many-core CPU, no network, 15 minutes, at most 64 MiB of ignored build outputs carried).
#
#   here:   bash scripts/gpu_check.sh --prepare
#           builds build/ if needed and writes the benchmark models into build/gpu-check/
#   there:  bash scripts/gpu_check.sh            (from the repository root; carry
#           build/ae2d build/tests/ae2d_tests build/gpu-check: 45 MiB, with the 5 MiB tree
#           under the 64 MiB that travels)
#
# There it runs, in this order, and prints one Markdown table per part (also to $OUT/gpu_check.md
# when $OUT is set):
#   1. the GPU and CPU names and `ae2d info`;
#   2. the CUDA parity suite on every fixture (AE2D_REQUIRE_CUDA=1: no usable CUDA is a failure);
#   3. `ae2d bench --backend cuda` against `--backend cpu` (every core) on W2's network
#      (AE2d(64, [2,2,2,2]) at 256x256) and W4's (AE2d(64, [2,1,1], plain) at 512x512), at
#      batch 1 and 8 (UNet2d is in the parity suite; its weights would not fit what travels);
#   4. the CPU backend on W2 and W3 (W2's network at batch 4) at 1, 2, 4, 8 and 16 threads
#      (AE2D_GPU_CHECK_THREADS overrides the list, e.g. "1 2" for a dry run here).
# Each step runs under a timeout, so a slow or hung part cannot use up the lease; the exit status
# is 1 when the parity suite failed, else 0.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=${AE2D_BUILD:-build}
models=$build/gpu-check

if [ "${1:-}" = "--prepare" ]; then
  set -e
  [ -x "$build/ae2d" ] && [ -x "$build/tests/ae2d_tests" ] || bash scripts/build.sh
  mkdir -p "$models"
  # Random weights (the fixtures' generator), stored as F16 to halve what travels; ae2d reads F16
  # into float32, so the timings are those of float32 models.
  /usr/bin/python3 - "$models" <<'EOF'
import os, sys
sys.path.insert(0, os.path.join('tests', 'reference'))
import ae2d_ref
from make_fixtures import metadata_for, random_state_dict
out = sys.argv[1]
for name, channel, layers, block in [('w2net', 64, [2, 2, 2, 2], 'bottleneck'), ('w4net', 64, [2, 1, 1], 'plain')]:
    net = ae2d_ref.AE2d(channel, layers, block=block, kernel_size=3, in_planes=1, out_planes=1).double()
    net.load_state_dict(random_state_dict(net, seed=2026))
    ae2d_ref.save_safetensors(os.path.join(out, name + '.safetensors'), net.state_dict(),
                              metadata_for(channel, layers, block, 3, 1, 1), dtype='F16')
EOF
  du -ch "$build/ae2d" "$build/tests/ae2d_tests" "$models" | tail -1
  echo "carry: $build/ae2d $build/tests/ae2d_tests $models"
  exit 0
fi

report=${OUT:+$OUT/gpu_check.md}
say() { echo "$*"; [ -z "$report" ] || echo "$*" >> "$report"; }
[ -z "$report" ] || : > "$report"

gpu=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo "no nvidia-smi")
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
say "# ae2d GPU check, $(date -u +%Y-%m-%dT%H:%MZ)"
say ""
avx512=$(grep -o 'avx512[a-z_]*' /proc/cpuinfo | sort -u | tr '\n' ' ')
say "GPU: $gpu; CPU: $cpu, $(nproc) cores, ${avx512:-no AVX-512}"
say ""
say '```'
while IFS= read -r line; do say "$line"; done < <(timeout 60 "$build/ae2d" info 2>&1)
say '```'

# 2. Parity: every fixture on CUDA against PyTorch's output.
say ""
say "## CUDA parity (every fixture; bound max|y - ref| <= 1e-4 max|ref|)"
say '```'
parity_log=$(mktemp)
AE2D_SOURCE_DIR="$root" AE2D_REQUIRE_CUDA=1 timeout 300 \
    "$build/tests/ae2d_tests" "CUDA backend equals the PyTorch reference on every fixture" > "$parity_log" 2>&1
parity_rc=$?
while IFS= read -r line; do say "$line"; done < "$parity_log"
say '```'

# One `ae2d bench` median in ms, or "failed" (the reason goes to the notes under the tables).
notes=$(mktemp)
bench() {  # model input_shape backend threads
  local json err
  err=$(mktemp)
  if json=$(timeout 240 "$build/ae2d" bench --model "$models/$1.safetensors" --input-shape "$2" --backend "$3" \
            --threads "$4" --runs 5 --warmup 2 --json 2>"$err"); then
    echo "$json" | grep -o '"median_ms": *[0-9.]*' | grep -o '[0-9.]*$' | xargs printf '%.2f'
  else
    echo "failed"
    echo "- $1 $2 $3 $4 threads: $(head -c 300 "$err")" >> "$notes"
  fi
  rm -f "$err"
}

# 3. CUDA against the CPU backend on this machine.
say ""
say "## CUDA against the CPU ($(nproc) threads), median ms of 5 runs"
say ""
say "| network | input | cuda | cpu | cpu / cuda |"
say "|---|---|---:|---:|---:|"
for row in "w2net 256,256" "w4net 512,512"; do
  set -- $row
  for batch in 1 8; do
    shape="$batch,1,$2"
    g=$(bench "$1" "$shape" cuda 0)
    c=$(bench "$1" "$shape" cpu 0)
    ratio=$(awk -v c="$c" -v g="$g" 'BEGIN { if (c + 0 > 0 && g + 0 > 0) printf "%.2f", c / g; else print "-" }')
    say "| $1 | ${shape//,/x} | $g | $c | $ratio |"
  done
done

# 4. How the CPU backend scales past 2 cores.
say ""
say "## CPU backend by threads, median ms of 5 runs (speed-up over 1 thread)"
say ""
say "| workload | 1 | 2 | 4 | 8 | 16 |"
say "|---|---:|---:|---:|---:|---:|"
for row in "W2 1,1,256,256" "W3 4,1,256,256"; do
  set -- $row
  line="| $1 ${2//,/x} |"
  one=""
  for t in ${AE2D_GPU_CHECK_THREADS:-1 2 4 8 16}; do
    ms=$(bench w2net "$2" cpu "$t")
    [ -n "$one" ] || one=$ms
    line="$line $ms ($(awk -v a="$one" -v b="$ms" 'BEGIN { if (b + 0 > 0) printf "%.1fx", a / b; else print "-" }')) |"
  done
  say "$line"
done

if [ -s "$notes" ]; then
  say ""
  say "Failed runs:"
  while IFS= read -r line; do say "$line"; done < "$notes"
fi
[ "$parity_rc" = 0 ] || { echo "gpu_check: the CUDA parity suite failed (status $parity_rc)" >&2; exit 1; }
