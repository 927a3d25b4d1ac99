#!/usr/bin/env bash
# Times every compiled variant of every stage of the spread's models (make_models.py), starting
# from the built-in policy, and writes one report per model to bench/work/spread/<model>.<set>.txt
# (every variant's median per stage: --all-variants). analyze_tune.py then compares the policy's
# choices with the fastest. Two sets of input sizes: "fit", `ae2d tune`'s default spread, which the
# policy's thresholds were read from, and "holdout", three other sizes it was then checked on.
#
#   bash bench/spread/run_tune.sh fit|holdout [budget minutes per model, default 2] [model ...]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$root/bench/work/spread
set_name=${1:?fit or holdout}
budget=${2:-2}
shift 2 || shift $#
models=("$@")
if [ ${#models[@]} -eq 0 ]; then
  models=($(cd "$work" && ls *.safetensors | sed 's/\.safetensors$//'))
fi
for m in "${models[@]}"; do
  echo "== $m"
  shapes=()
  if [ "$set_name" = holdout ]; then
    c=$(python3 -c 'import json, struct, sys
f = open(sys.argv[1], "rb"); n = struct.unpack("<Q", f.read(8))[0]
print(json.loads(f.read(n))["__metadata__"]["in_planes"])' "$work/$m.safetensors")
    shapes=(--input-shape "1,$c,240,320" --input-shape "1,$c,333,250" --input-shape "4,$c,112,144")
  fi
  "$root/build/ae2d" tune --model "$work/$m.safetensors" "${shapes[@]}" --schedule policy --threads 2 \
      --all-variants --budget-minutes "$budget" --output "$work/$m.$set_name.table.txt" > "$work/$m.$set_name.txt"
  tail -2 "$work/$m.$set_name.txt"
done
