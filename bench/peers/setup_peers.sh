#!/usr/bin/env bash
# Create the git-ignored venv .venv-peers (repository root) for the peer-engine benchmarks.
#
# It sees Debian's python3-torch (1.13) and python3-numpy through --system-site-packages and
# adds pinned ONNX Runtime and OpenVINO from PyPI (and onnx, to inspect the exported graphs). numpy is held at the system version (a
# constraint), so pip never pulls a numpy 2.x that Debian's torch was not built against.
# Idempotent: an existing venv is reused and pip skips what is already installed.
#
#   bash bench/peers/setup_peers.sh
set -euo pipefail

ORT_VERSION=1.32.0
OPENVINO_VERSION=2026.4.1
ONNX_VERSION=1.23.2   # only to inspect the exported graphs (op types, Resize modes)

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$ROOT/.venv-peers"
PY=/usr/bin/python3

if ! "$PY" -c 'import torch, numpy' 2>/dev/null; then
    echo "setup_peers: $PY lacks torch/numpy; install Debian's python3-torch python3-numpy" >&2
    exit 1
fi
if [ ! -x "$VENV/bin/python" ]; then
    echo "setup_peers: creating $VENV"
    "$PY" -m venv --system-site-packages "$VENV"
fi

NUMPY_VERSION="$("$PY" -c 'import numpy; print(numpy.__version__)')"
CONSTRAINTS="$(mktemp)"
trap 'rm -f "$CONSTRAINTS"' EXIT
echo "numpy==$NUMPY_VERSION" > "$CONSTRAINTS"

"$VENV/bin/python" -m pip install --disable-pip-version-check -q -c "$CONSTRAINTS" \
    "onnxruntime==$ORT_VERSION" "openvino==$OPENVINO_VERSION" "onnx==$ONNX_VERSION"

"$VENV/bin/python" - <<'PY'
import numpy, torch, onnx, onnxruntime, openvino
print('setup_peers: torch {0}, numpy {1}, onnxruntime {2}, openvino {3}, onnx {4}'.format(
    torch.__version__, numpy.__version__, onnxruntime.__version__, openvino.__version__, onnx.__version__))
PY
