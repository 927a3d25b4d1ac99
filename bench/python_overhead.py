#!/usr/bin/env python3
"""Per-call overhead of the Python API: the median time of a call from Python (m(x), and
m.forward(x, out=y)) minus the median time of the same pass timed in C++ in the same process
(Model._time_forward: forward_view in a C++ loop), interleaved in chunks so that both see the
same machine. Optionally also `ae2d bench` on the same model and shape, interleaved.

    python bench/python_overhead.py [--model M] [--shape 1,1,64,64] [--threads 2] [--runs 200]
                                    [--chunks 5] [--cli]
"""

import argparse
import json
import statistics
import subprocess
import time

import numpy as np

import ae2d


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", default=None)
    p.add_argument("--shape", default="1,1,64,64")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--runs", type=int, default=200, help="passes per chunk and way")
    p.add_argument("--chunks", type=int, default=5)
    p.add_argument("--cli", action="store_true", help="also time `ae2d bench` in each chunk")
    a = p.parse_args()
    shape = tuple(int(v) for v in a.shape.split(","))
    m = ae2d.Model.load(a.model, threads=a.threads)
    x = np.random.default_rng(0).random(shape, dtype=np.float32)
    y = np.empty(m.output_shape(shape), np.float32)
    for _ in range(max(3, a.runs // 10)):
        m.forward(x, out=y)
    ways = {"cpp": [], "py_out": [], "py_alloc": [], "cli": []}
    for _ in range(a.chunks):
        ways["cpp"] += m._m._time_forward(x, y, a.runs)
        for _ in range(a.runs):
            t0 = time.perf_counter()
            m.forward(x, out=y)
            ways["py_out"].append(time.perf_counter() - t0)
        for _ in range(a.runs):
            t0 = time.perf_counter()
            m(x)
            ways["py_alloc"].append(time.perf_counter() - t0)
        if a.cli:
            import os
            import sys
            exe = os.path.join(os.path.dirname(sys.executable), "ae2d")
            r = subprocess.run([exe, "bench", "--model", a.model or ae2d.default_model_path(), "--input-shape",
                                a.shape, "--threads", str(a.threads), "--runs", str(a.runs), "--warmup", "1",
                                "--json", "--peak-gflops", "1"], capture_output=True, text=True, check=True)
            ways["cli"].append(json.loads(r.stdout)["median_ms"] / 1e3)
    med = {k: statistics.median(v) for k, v in ways.items() if v}
    print("model {} input {} threads {}, {} chunks x {} runs".format(m.config, shape, a.threads, a.chunks, a.runs))
    for k, v in med.items():
        print("  {:<9} median {:10.1f} us".format(k, v * 1e6))
    print("overhead m.forward(x, out=y): {:+.1f} us per call".format((med["py_out"] - med["cpp"]) * 1e6))
    print("overhead m(x) (allocates y):  {:+.1f} us per call".format((med["py_alloc"] - med["cpp"]) * 1e6))
    if "cli" in med:
        print("python m.forward(out=) / ae2d bench median: {:.3f}".format(med["py_out"] / med["cli"]))


if __name__ == "__main__":
    main()
