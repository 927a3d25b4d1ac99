#!/usr/bin/env python3
"""Per-call overhead of the Python API, and the Python API against `ae2d bench`.

Overhead: for each call, the wall time seen from Python minus the time the C++ forward pass
(Model::forward_view) took inside that same call (ae2d._ae2d._last_forward_seconds()). The
difference is what the Python layer, nanobind, the output allocation and the GIL release add.
Measuring both in the same call keeps the noise of a shared machine out of it. The medians over
all calls are printed for m.forward(x, out=y) and m(x).

With --cli, chunks of Python calls alternate with `ae2d bench` runs on the same model and shape,
and the ratio of the medians is printed.

    python bench/python_overhead.py [--model M] [--shape 1,1,64,64] [--threads 2] [--runs 200]
                                    [--chunks 5] [--cli]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

import ae2d
from ae2d import _ae2d


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", default=None, help="safetensors file (default: the bundled denoiser)")
    p.add_argument("--shape", default="1,1,64,64")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--runs", type=int, default=200, help="calls per chunk and way")
    p.add_argument("--chunks", type=int, default=5)
    p.add_argument("--cli", action="store_true", help="alternate with `ae2d bench` (same runs per chunk)")
    a = p.parse_args()
    shape = tuple(int(v) for v in a.shape.split(","))
    model = a.model or ae2d.default_model_path()
    m = ae2d.Model.load(model, threads=a.threads)
    x = np.random.default_rng(0).random(shape, dtype=np.float32)
    y = np.empty(m.output_shape(shape), np.float32)
    for _ in range(max(2, a.runs // 10)):
        m.forward(x, out=y)
    wall = {"out": [], "alloc": [], "cli": []}
    over = {"out": [], "alloc": []}
    for _ in range(a.chunks):
        for _ in range(a.runs):
            t0 = time.perf_counter()
            m.forward(x, out=y)
            t = time.perf_counter() - t0
            wall["out"].append(t)
            over["out"].append(t - _ae2d._last_forward_seconds())
            t0 = time.perf_counter()
            m(x)
            t = time.perf_counter() - t0
            wall["alloc"].append(t)
            over["alloc"].append(t - _ae2d._last_forward_seconds())
        if a.cli:
            exe = os.path.join(os.path.dirname(sys.executable), "ae2d")
            r = subprocess.run([exe, "bench", "--model", model, "--input-shape", a.shape, "--threads", str(a.threads),
                                "--runs", str(a.runs), "--warmup", "1", "--json", "--peak-gflops", "1"],
                               capture_output=True, text=True, check=True)
            wall["cli"].append(json.loads(r.stdout)["median_ms"] / 1e3)
    med = {k: statistics.median(v) for k, v in wall.items() if v}
    print("model {} input {} threads {}, {} chunks x {} calls".format(m.config, shape, a.threads, a.chunks, a.runs))
    print("  median wall m.forward(x, out=y) {:.1f} us, m(x) {:.1f} us".format(med["out"] * 1e6, med["alloc"] * 1e6))
    for k, label in (("out", "m.forward(x, out=y)"), ("alloc", "m(x), allocates y ")):
        v = np.array(over[k]) * 1e6
        print("  overhead {}: median {:.1f} us, p90 {:.1f} us".format(label, np.median(v), np.percentile(v, 90)))
    if "cli" in med:
        print("  ae2d bench median (of chunk medians) {:.1f} us; Python m.forward(out=) / ae2d bench = {:.3f}".format(
            med["cli"] * 1e6, med["out"] / med["cli"]))


if __name__ == "__main__":
    main()
