#!/usr/bin/env bash
# Times every compiled variant of every stage of the spread's models (make_models.py) on
# `ae2d tune`'s default spread of input sizes, starting from the built-in policy, and writes one
# report per model to bench/work/spread/<model>.tune.txt (every variant's median per stage:
# --all-variants). analyze_tune.py then compares the policy's choices with the fastest.
#
#   bash bench/spread/run_tune.sh [budget minutes per model, default 2] [model ...]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$root/bench/work/spread
budget=${1:-2}
shift || true
models=("$@")
if [ ${#models[@]} -eq 0 ]; then
  models=($(cd "$work" && ls *.safetensors | sed 's/\.safetensors$//'))
fi
for m in "${models[@]}"; do
  echo "== $m"
  "$root/build/ae2d" tune --model "$work/$m.safetensors" --schedule policy --threads 2 --all-variants \
      --budget-minutes "$budget" --output "$work/$m.table.txt" > "$work/$m.tune.txt"
  tail -2 "$work/$m.tune.txt"
done
