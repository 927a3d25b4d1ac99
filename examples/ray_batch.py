#!/usr/bin/env python3
"""Denoise a directory of PNG images on a Ray cluster with ae2d:
read_images -> map_batches(ae2d.ray.Predictor) -> write (write_images with input names).

    python examples/ray_batch.py SRC_DIR DST_DIR [--model M] [--address ADDR]
                                 [--workers N] [--threads T] [--batch-size K]

Each output PNG keeps its input's file name and bit depth, and equals what
`ae2d run --input SRC_DIR --output DST_DIR` writes. Without --address a local Ray instance with
WORKERS x THREADS CPUs is started for the run (and stopped after); with --address (host:port of
a running cluster's head, or "auto") the job runs there. Needs `pip install .[ray]`.
"""

import argparse
import os
import sys
import time


def _zero_cpus(fn):
    """Zero CPUs for a read or write: named num_cpus where Ray has it, else ray_remote_args."""
    import inspect
    params = inspect.signature(fn).parameters
    return {"num_cpus": 0} if "num_cpus" in params else {"ray_remote_args": {"num_cpus": 0}}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("src", help="directory of .png images (8 or 16 bit, gray or RGB, mixed sizes)")
    p.add_argument("dst", help="output directory (created)")
    p.add_argument("--model", default=None, help="safetensors file (default: the bundled denoiser)")
    p.add_argument("--address", default=None, help="Ray cluster to join, e.g. 10.0.0.5:6379 or auto")
    p.add_argument("--workers", type=int, default=2, help="ae2d actors (default 2)")
    p.add_argument("--threads", type=int, default=1, help="kernel threads per actor (default 1)")
    p.add_argument("--batch-size", type=int, default=8, help="images per Ray batch (default 8)")
    a = p.parse_args(argv)
    if a.workers < 1 or a.threads < 1 or a.batch_size < 1:
        p.error("--workers, --threads and --batch-size must be positive")

    import ray
    import ae2d.ray

    model = os.path.abspath(a.model) if a.model else None  # actors may run in another directory
    if model is not None and not os.path.isfile(model):
        p.error("--model: no such file: " + model)
    files = sorted(f for f in os.listdir(a.src) if f.lower().endswith(".png"))
    if not files:
        p.error("no .png file in " + a.src)
    os.makedirs(a.dst, exist_ok=True)

    if a.address:
        ray.init(address=a.address, log_to_driver=False)
    else:
        ray.init(num_cpus=a.workers * a.threads, include_dashboard=False, log_to_driver=False)
    try:
        ray.data.DataContext.get_current().enable_progress_bars = False
        start = time.perf_counter()
        # The actors hold the CPUs (THREADS each); reading and writing PNGs take none, so that
        # WORKERS actors may fill a cluster of WORKERS x THREADS CPUs.
        ds = ray.data.read_images([os.path.join(os.path.abspath(a.src), f) for f in files], include_paths=True,
                                  **_zero_cpus(ray.data.read_images))
        ds = ds.map_batches(ae2d.ray.Predictor, fn_constructor_kwargs={"model": model, "threads": a.threads},
                            compute=ray.data.ActorPoolStrategy(size=a.workers), num_cpus=a.threads,
                            batch_size=a.batch_size, batch_format="numpy")
        # write_images, but each file named after its input (ae2d.ray.ImageSink)
        ds.write_datasink(ae2d.ray.ImageSink(os.path.abspath(a.dst)), **_zero_cpus(ds.write_datasink))
        seconds = time.perf_counter() - start
    finally:
        ray.shutdown()
    print("{} images written to {} in {:.2f} s ({:.2f} images/s, {} workers x {} threads)".format(
        len(files), a.dst, seconds, len(files) / seconds, a.workers, a.threads))
    return 0


if __name__ == "__main__":
    sys.exit(main())
