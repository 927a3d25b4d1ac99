"""Shared helpers of the Python tests (pytest tests/python; scripts/test_python.sh runs them).

AE2D_REQUIRE_TORCH=1 / AE2D_REQUIRE_RAY=1 (set by scripts/test_python.sh, so by CI) turn the
skip of a test whose optional dependency is missing into a failure."""

import json
import os
import shutil
import struct
import sys

import numpy as np
import pytest

# The tests run the shipped schedule tables, never the user's tune cache.
os.environ["AE2D_TUNE_CACHE"] = "off"

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "tests", "fixtures")
DATA = os.path.join(ROOT, "tests", "data")
DENOISER = os.path.join(ROOT, "models", "denoiser.safetensors")


def manifest():
    with open(os.path.join(FIXTURES, "manifest.json")) as f:
        return json.load(f)


def fixture_arrays(name):
    base = os.path.join(FIXTURES, name)
    return np.load(base + ".input.npy"), np.load(base + ".output.npy")


def assert_close(got, ref):
    """The project's bound: max |y - ref| <= 1e-4 * max |ref| (tests/parity_support.h)."""
    got = np.asarray(got, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    assert got.shape == ref.shape
    max_ref = np.abs(ref).max()
    max_diff = np.abs(got - ref).max()
    assert max_ref > 0.1
    assert max_diff <= 1e-4 * max_ref, "max |y - ref| = {} > 1e-4 * {}".format(max_diff, max_ref)


def read_safetensors(path):
    """A safetensors file as (dict of float32 numpy arrays, metadata): the conversions of the
    C++ reader (F16 and BF16 widen exactly, F64 rounds to nearest)."""
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", None) or {}
    data = raw[8 + n:]
    out = {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        chunk = data[b:e]
        dt = info["dtype"]
        if dt == "BF16":
            a = (np.frombuffer(chunk, "<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            a = np.frombuffer(chunk, {"F32": "<f4", "F16": "<f2", "F64": "<f8"}[dt]).astype(np.float32)
        out[name] = a.reshape(info["shape"])
    return out, meta


def require(module):
    """import `module`, or skip (fail where AE2D_REQUIRE_<MODULE>=1)."""
    if os.environ.get("AE2D_REQUIRE_" + module.upper()) == "1":
        return __import__(module)
    return pytest.importorskip(module)


def cli_path():
    """The `ae2d` console entry point of the environment running the tests."""
    exe = os.path.join(os.path.dirname(sys.executable), "ae2d")
    return exe if os.path.exists(exe) else shutil.which("ae2d")
