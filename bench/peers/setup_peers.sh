#!/usr/bin/env bash
# Create the git-ignored venv .venv-peers (repository root) for the peer-engine benchmarks.
#
# The venv is self-contained (no --system-site-packages): pinned PyTorch 2.x from PyPI (eager
# and torch.compile), ONNX Runtime, OpenVINO, onnx (to inspect the exported graphs) and the
# numpy they agree on. Debian's python3-torch 1.13 stays outside it, at /usr/bin/python3:
# run_peers.py's torch_debian engine runs it as a subprocess (bench/peers/torch_worker.py), so
# the two PyTorch builds and their numpys never meet in one interpreter.
#
# PyPI serves one Linux x86-64 torch wheel, built with CUDA: pip pulls its nvidia-* and triton
# dependencies too (about 5.7 GB installed, a few minutes), and `import torch` needs them even
# on a CPU (a --no-deps install fails to load libcufile). PyTorch's CPU-only wheels live on its
# own index, not on PyPI. The benchmarks use the CPU only.
#
# Debian packages (installed with apt-get when missing): python3-venv, and g++ with
# python3-dev, which torch.compile's inductor backend compiles its C++ kernels with;
# python3-torch and python3-numpy for the torch_debian engine (and tests/reference).
#
# Idempotent: a second run only checks. A .venv-peers of the older layout (on Debian's
# site-packages) is recreated.
#
#   bash bench/peers/setup_peers.sh
set -euo pipefail

TORCH_VERSION=2.15.0
ORT_VERSION=1.32.0
OPENVINO_VERSION=2026.4.1
ONNX_VERSION=1.23.2    # only to inspect the exported graphs (op types, Resize modes)
NUMPY_VERSION=2.4.6    # what torch, onnxruntime and openvino above resolve to

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$ROOT/.venv-peers"
PY=/usr/bin/python3

apt_pkgs=(python3-venv python3-dev g++ python3-torch python3-numpy)
missing=()
for p in "${apt_pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup_peers: installing Debian packages: ${missing[*]}"
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ -f "$VENV/pyvenv.cfg" ] && grep -qi '^include-system-site-packages *= *true' "$VENV/pyvenv.cfg"; then
    echo "setup_peers: $VENV sees Debian's site-packages (older layout): recreating it"
    rm -rf "$VENV"
fi
if [ ! -x "$VENV/bin/python" ]; then
    echo "setup_peers: creating $VENV"
    "$PY" -m venv "$VENV"
fi

want=("torch==$TORCH_VERSION" "onnxruntime==$ORT_VERSION" "openvino==$OPENVINO_VERSION"
      "onnx==$ONNX_VERSION" "numpy==$NUMPY_VERSION")
if ! "$VENV/bin/python" - "${want[@]}" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version
for req in sys.argv[1:]:
    name, v = req.split('==')
    # torch's local version (+cu132) does not count
    if version(name).split('+')[0] != v:
        sys.exit(1)
PY
then
    "$VENV/bin/python" -m pip install --disable-pip-version-check -q --upgrade pip
    "$VENV/bin/python" -m pip install --disable-pip-version-check -q "${want[@]}"
fi

"$VENV/bin/python" - <<'PY'
import numpy, torch, onnx, onnxruntime, openvino
print('setup_peers: .venv-peers: torch {0}, numpy {1}, onnxruntime {2}, openvino {3}, onnx {4}'.format(
    torch.__version__, numpy.__version__, onnxruntime.__version__, openvino.__version__.split('-')[0],
    onnx.__version__))
PY
if "$PY" -c 'import torch, numpy' 2>/dev/null; then
    "$PY" -c 'import torch, numpy; print("setup_peers: {0} (torch_debian engine): torch {1}, numpy {2}".format(
        __import__("sys").executable, torch.__version__, numpy.__version__))'
else
    echo "setup_peers: $PY has no torch: run_peers.py's torch_debian engine will be skipped" >&2
fi
