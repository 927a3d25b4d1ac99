"""ae2d.ray on a real local Ray cluster: examples/ray_batch.py over a directory of mixed images
(8-bit and 16-bit gray, several sizes) gives the same PNGs as `ae2d run`, file by file."""

import os
import secrets
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

import ae2d
from conftest import DENOISER, ROOT, cli_path, require


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory):
    """`ray start --head --num-cpus 2` on 127.0.0.1, stopped (its process group) afterwards."""
    require("ray")
    ray_cli = os.path.join(os.path.dirname(sys.executable), "ray")
    port = _free_port()
    tmp = tmp_path_factory.mktemp("ray")
    # Ray 2.5x+ clusters require a token: one made here, given to every client through the env.
    os.environ.update(RAY_USAGE_STATS_ENABLED="0", RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(32))
    env = dict(os.environ)
    log = open(tmp / "ray_start.log", "w")
    head = subprocess.Popen(
        [ray_cli, "start", "--head", "--block", "--num-cpus", "2", "--node-ip-address", "127.0.0.1", "--port",
         str(port), "--include-dashboard", "false", "--object-store-memory", str(200 << 20),
         "--temp-dir", str(tmp / "r")],
        stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    address = "127.0.0.1:{}".format(port)
    try:
        deadline = time.time() + 120
        while True:
            r = subprocess.run([ray_cli, "status", "--address", address], capture_output=True, text=True, env=env)
            if r.returncode == 0 and "CPU" in r.stdout:
                break
            if head.poll() is not None or time.time() > deadline:
                log.flush()
                raise RuntimeError("ray start failed:\n" + open(tmp / "ray_start.log").read()[-3000:])
            time.sleep(1)
        yield address
    finally:
        for k in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN"):
            os.environ.pop(k, None)
        try:
            os.killpg(head.pid, signal.SIGTERM)  # the head, its raylet, GCS and workers: ours only
        except ProcessLookupError:
            pass
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait()
        log.close()


def _write_png(path, array):
    from PIL import Image
    Image.fromarray(array).save(path)


def _read_png(path):
    from PIL import Image
    with Image.open(path) as im:
        return im.mode, np.asarray(im)


def _make_images(src, sixteen):
    """Mixed sizes; one bit depth and one channel layout per directory (Ray Data cannot mix
    uint8 with uint16, nor (H, W) with (H, W, C), in one column)."""
    rng = np.random.default_rng(11 + sixteen)
    os.makedirs(src)
    dtype, top = (np.uint16, 65535) if sixteen else (np.uint8, 255)
    ramp = np.linspace(0, 1, 48 * 40).reshape(48, 40)
    noisy = np.clip(ramp + rng.normal(0, 0.1, ramp.shape), 0, 1)
    _write_png(os.path.join(src, "a_48x40.png"), (noisy * top).round().astype(dtype))
    for i in range(3):  # three of one size: ae2d run batches them together
        _write_png(os.path.join(src, "c_same_{}.png".format(i)), rng.integers(0, top + 1, (32, 32), dtype=dtype))
    _write_png(os.path.join(src, "e_odd_37x53.png"), rng.integers(0, top + 1, (37, 53), dtype=dtype))
    if not sixteen:
        for name in sorted(os.listdir(os.path.join(ROOT, "samples", "noisy")))[:2]:  # real 8-bit gray PNGs
            with open(os.path.join(ROOT, "samples", "noisy", name), "rb") as f:
                data = f.read()
            with open(os.path.join(src, "f_sample_" + name), "wb") as f:
                f.write(data)
    return sorted(os.listdir(src))


def test_predictor_conversion_is_the_clis():
    """The Predictor on one batch in-process (no cluster): its scaling is ae2d run's."""
    from ae2d.ray import Predictor, image_to_planes, planes_to_image
    img8 = np.array([[0, 51, 255]], np.uint8)
    np.testing.assert_array_equal(image_to_planes(img8), (img8 / np.float32(255)).astype(np.float32)[None])
    assert image_to_planes(np.zeros((2, 3, 4), np.uint16)).shape == (3, 2, 3)  # alpha dropped
    y = np.array([[[-1.0, 0.5, 2.0, np.nan, 0.50196]]], np.float32)
    np.testing.assert_array_equal(planes_to_image(y, np.uint8), [[0, 128, 255, 0, 128]])
    assert planes_to_image(y, np.uint16).dtype == np.uint16
    with pytest.raises(ValueError):
        image_to_planes(np.zeros((4, 4), np.float32))
    p = Predictor(model=None, threads=1)
    batch = {"image": np.zeros((2, 16, 16), np.uint8), "path": np.array(["x", "y"])}
    out = p(batch)
    assert out["image"].shape == (2, 16, 16) and out["image"].dtype == np.uint8
    assert list(out["path"]) == ["x", "y"]
    rgb = {"image": np.zeros((2, 16, 16, 3), np.uint8), "path": np.array(["x", "y"])}
    assert p(rgb)["image"].shape == (2, 16, 16, 3)  # the bundled gray model, channel by channel


@pytest.mark.parametrize("sixteen", [False, True], ids=["8-bit", "16-bit"])
def test_ray_example_equals_ae2d_run(ray_cluster, tmp_path, sixteen):
    src, dst, ref = str(tmp_path / "src"), str(tmp_path / "dst"), str(tmp_path / "ref")
    names = _make_images(src, sixteen)
    subprocess.run([cli_path(), "run", "--input", src, "--output", ref], check=True, capture_output=True)
    r = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "ray_batch.py"), src, dst, "--model",
                        DENOISER, "--address", ray_cluster, "--workers", "2", "--threads", "1", "--batch-size", "4"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert sorted(os.listdir(dst)) == names == sorted(os.listdir(ref))
    for name in names:
        mode_ray, ray_px = _read_png(os.path.join(dst, name))
        mode_cli, cli_px = _read_png(os.path.join(ref, name))
        assert mode_ray == mode_cli, name
        assert ray_px.dtype == cli_px.dtype == (np.uint16 if sixteen else np.uint8), name
        np.testing.assert_array_equal(ray_px, cli_px, err_msg=name)
