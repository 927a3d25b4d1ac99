"""The Python API (import ae2d) against the PyTorch reference fixtures, the CLI and the C++ API's
rules: parity, from_state_dict, every bad input, threads, leaks."""

import gc
import json
import os
import subprocess
import threading
import time

import numpy as np
import pytest

import ae2d
from conftest import (DATA, DENOISER, FIXTURES, ROOT, assert_close, cli_path, fixture_arrays, manifest,
                      read_safetensors, require)

CASES = [c["name"] for c in manifest()]


def fixture_model(name):
    return ae2d.Model.load(os.path.join(FIXTURES, name + ".safetensors"))


# ---- parity with the PyTorch reference ------------------------------------------------------
@pytest.mark.parametrize("name", CASES)
def test_fixture_parity_numpy(name):
    x, ref = fixture_arrays(name)
    m = fixture_model(name)
    y = m(x)
    assert isinstance(y, np.ndarray) and y.dtype == np.float32
    assert_close(y, ref)
    # float64 input, and a non-contiguous view of it, are converted once and give the same result
    np.testing.assert_array_equal(m(x.astype(np.float64)), y)
    xt = np.asfortranarray(x)
    np.testing.assert_array_equal(m(xt), y)
    # forward into a preallocated output
    out = np.full(m.output_shape(x.shape), np.nan, dtype=np.float32)
    assert m.forward(x, out=out) is out
    np.testing.assert_array_equal(out, y)


@pytest.mark.parametrize("name", CASES)
def test_fixture_parity_torch(name):
    torch = require("torch")
    x, ref = fixture_arrays(name)
    m = fixture_model(name)
    xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    y = m(xt)
    assert isinstance(y, torch.Tensor) and y.dtype == torch.float32
    assert_close(y.numpy(), ref)
    np.testing.assert_array_equal(m(xt.double()).numpy(), y.numpy())
    np.testing.assert_array_equal(m(xt.requires_grad_(True)).numpy(), y.numpy())
    out = torch.empty(tuple(y.shape))
    assert m.forward(xt, out=out) is out
    np.testing.assert_array_equal(out.numpy(), y.numpy())


def test_ranks_2_and_3():
    m = ae2d.Model.load(DENOISER)
    x = np.random.default_rng(0).random((37, 41), dtype=np.float32)
    y4 = m(x[None, None])
    np.testing.assert_array_equal(m(x), y4)
    np.testing.assert_array_equal(m(x[None]), y4)
    assert m.output_shape((37, 41)) == (1, 1, 37, 41)


def test_zero_copy_for_contiguous_float32():
    x = np.zeros((2, 1, 16, 16), np.float32)
    assert ae2d._as_nchw(x) is x
    assert np.shares_memory(ae2d._as_nchw(x[0, 0]), x)  # (H, W) is a view
    assert not np.shares_memory(ae2d._as_nchw(x[:, :, ::-1]), x)  # a negative stride: one copy


def test_description_matches_manifest():
    for case in manifest():
        m = fixture_model(case["name"])
        c = case["config"]
        assert m.config.channel == c["channel"]
        assert list(m.config.layers) == c["layers"]
        assert m.config.block == c["block"]
        assert m.config.arch == c.get("arch", "AE2d")
        ks = c["kernel_size"]
        assert m.config.kernel_size == (ks if isinstance(ks, int) else tuple(ks))
        assert (m.config.in_planes, m.config.out_planes) == (c["in_planes"], c["out_planes"])
        assert m.nlayers == case["nlayers"]
        b, _, h, w = case["input_shape"]
        assert m.output_shape(case["input_shape"]) == (b, c["out_planes"], h, w)
    m = ae2d.Model.load(DENOISER)
    assert m.num_parameters == 217217
    assert str(m.config) == "UNet2d(16, [2, 2, 2], block='plain', kernel_size=3, in_planes=1, out_planes=1)"
    assert "UNet2d(16" in repr(m)
    assert m.output_mode == "residual"
    arrays, _ = read_safetensors(DENOISER)
    assert ae2d.Model.from_state_dict(arrays).output_mode == "raw"
    assert ae2d.Model.from_state_dict(arrays, output="normalized").output_mode == "normalized"
    assert ae2d.Model.from_state_dict(arrays, output="residual").output_mode == "residual"


def test_summary_is_the_seeds_table():
    with open(os.path.join(DATA, "summaries.json")) as f:
        entries = json.load(f)
    for e in entries:
        ks = e["kernel_size"]
        cfg = ae2d.Config(e["channel"], tuple(e["layers"]), e["block"], ks if isinstance(ks, int) else tuple(ks),
                          e["in_planes"], e["out_planes"], e.get("arch", "AE2d"))
        with open(os.path.join(DATA, e["file"])) as f:
            assert ae2d.summary(cfg, tuple(e["input_shape"])) == f.read(), e["file"]
    m = ae2d.Model.load(DENOISER)
    text = m.summary((1, 64, 64))
    r = subprocess.run([cli_path(), "summary", "--model", DENOISER, "--input-shape", "1,64,64"],
                       capture_output=True, text=True, check=True)
    assert r.stdout == text


def test_module_functions():
    assert ae2d.version == ae2d.__version__ and ae2d.version.count(".") == 2
    names = [b["name"] for b in ae2d.backends()]
    assert names == ["cpu", "cuda", "opencl"]
    assert ae2d.backends()[0]["usable"] is True
    info = subprocess.run([cli_path(), "info"], capture_output=True, text=True, check=True).stdout
    assert ae2d.version in info
    ae2d.set_num_threads(2)
    ae2d.set_num_threads(0)
    lim = ae2d.limits()
    assert lim["max_dimension"] == 65536
    ae2d.set_limits(max_dimension=100)
    try:
        with pytest.raises(ValueError, match="max_dimension"):
            ae2d.Model.load(DENOISER)(np.zeros((1, 1, 8, 101), np.float32))
    finally:
        ae2d.set_limits(**lim)
    assert ae2d.limits() == lim


def test_tune_cache_entries_run_and_bad_ones_warn(tmp_path, monkeypatch):
    # ae2d tune --model M stores a table per target and configuration (docs/schedules.md); a
    # model loaded later runs it, and a corrupt entry is a RuntimeWarning, never an error.
    monkeypatch.setenv("AE2D_TUNE_CACHE", str(tmp_path))
    path = os.path.join(FIXTURES, "plain_k3_d2.safetensors")
    shipped = fixture_model("plain_k3_d2").schedule
    assert "tune cache" not in shipped
    subprocess.run([cli_path(), "tune", "--model", path, "--input-shape", "1,3,20,16", "--budget-minutes", "0"],
                   capture_output=True, check=True)
    (entry,) = list(tmp_path.glob(ae2d.cpu_target() + "/*.txt"))
    assert "tune cache: " + str(entry) in fixture_model("plain_k3_d2").schedule
    entry.write_text("not a table\n")
    with pytest.warns(RuntimeWarning, match="ignored the tune cache entry"):
        m = fixture_model("plain_k3_d2")
    assert m.schedule == shipped
    x = np.zeros((1, 3, 20, 16), np.float32)
    assert m(x).shape == m.output_shape(x.shape)


def test_cli_entry_point_runs_with_bundled_model(tmp_path):
    x = np.random.default_rng(1).random((1, 1, 24, 24), dtype=np.float32)
    np.save(tmp_path / "x.npy", x)
    subprocess.run([cli_path(), "run", "--input", str(tmp_path / "x.npy"), "--output", str(tmp_path / "y.npy")],
                   check=True, capture_output=True)
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), ae2d.Model.load()(x))
    assert os.path.samefile(ae2d.default_model_path(), ae2d.default_model_path())


# ---- from_state_dict ------------------------------------------------------------------------
@pytest.mark.parametrize("name", CASES)
def test_from_state_dict_of_numpy_equals_the_file(name):
    x, _ = fixture_arrays(name)
    arrays, meta = read_safetensors(os.path.join(FIXTURES, name + ".safetensors"))
    want = fixture_model(name)(x)
    np.testing.assert_array_equal(ae2d.Model.from_state_dict(arrays)(x), want)  # config inferred
    c = fixture_model(name).config
    given = dict(channel=c.channel, layers=list(c.layers), block=c.block, kernel_size=c.kernel_size,
                 in_planes=c.in_planes, out_planes=c.out_planes, arch=c.arch)
    np.testing.assert_array_equal(ae2d.Model.from_state_dict(arrays, **given)(x), want)
    np.testing.assert_array_equal(ae2d.Model.from_state_dict(arrays, channel=c.channel)(x), want)  # partial


def test_from_state_dict_of_the_reference_module_equals_its_file(tmp_path):
    torch = require("torch")
    import sys
    sys.path.insert(0, os.path.join(ROOT, "tests", "reference"))
    try:
        import ae2d_ref as ref
        import unet2d_ref as unet_ref
        from make_fixtures import metadata_for, random_state_dict
    finally:
        sys.path.pop(0)
    for (arch, ch, layers, block, ks, cin, cout) in [("AE2d", 6, [1, 2, 1], "bottleneck", 3, 1, 1),
                                                     ("AE2d", 8, [2, 1], "plain", 5, 3, 2),
                                                     ("UNet2d", 6, [1, 2, 2], "bottleneck", 3, 2, 1)]:
        torch.manual_seed(0)
        module = unet_ref.UNet2d if arch == "UNet2d" else ref.AE2d
        net = module(ch, layers, block=block, kernel_size=ks, in_planes=cin, out_planes=cout).double()
        net.load_state_dict(random_state_dict(net, seed=7))
        net.eval()
        path = str(tmp_path / "m.safetensors")
        ref.save_safetensors(path, net.state_dict(), metadata_for(ch, layers, block, ks, cin, cout, arch))
        x = torch.from_numpy(np.random.default_rng(3).standard_normal((2, cin, 19, 22)))
        from_file = ae2d.Model.load(path)(x.float())
        from_sd = ae2d.Model.from_state_dict(net.state_dict())(x.float())  # float64 torch tensors
        np.testing.assert_array_equal(from_sd.numpy(), from_file.numpy())
        with torch.no_grad():
            want = net(x).numpy()
        assert_close(from_sd.numpy(), want)


# ---- bad input: exceptions, never a crash ---------------------------------------------------
def test_bad_inputs_raise():
    m = ae2d.Model.load(DENOISER)
    good = np.zeros((1, 1, 16, 16), np.float32)
    value_errors = [
        np.zeros((1, 1, 16, 16), np.int32), np.zeros((16, 16), np.uint8), np.zeros((16, 16), np.complex64),
        np.zeros((16, 16), object), np.zeros((16, 16), np.float16), np.zeros((16, 16), bool),
        np.zeros((), np.float32), np.zeros(16, np.float32), np.zeros((1, 1, 1, 16, 16), np.float32),
        np.zeros((1, 2, 16, 16), np.float32),  # in_planes is 1
        np.zeros((0, 1, 16, 16), np.float32), np.zeros((1, 1, 0, 16), np.float32),
        np.zeros((1, 1, 1, 1), np.float32),  # too small for the depth
        np.zeros((1, 1, 70000, 1), np.float32)[:, :, :, :0],  # past max_dimension, empty
    ]
    for x in value_errors:
        with pytest.raises(ValueError):
            m(x)
    for x in [None, "x", [[0.0] * 16] * 16, 3.0, np.float32(1.0), {"x": good}, memoryview(good.tobytes())]:
        with pytest.raises(TypeError):
            m(x)
    big = np.lib.stride_tricks.as_strided(np.zeros(1, np.float32), (1, 1, 70000, 16), (0, 0, 0, 0))
    with pytest.raises(ValueError, match="max_dimension"):
        m.output_shape(big.shape)
    with pytest.raises(ValueError):
        m.output_shape((1, 1, 3, 1 << 40))
    # out= of the wrong kind
    y = m(good)
    for out in [np.zeros((1, 1, 16, 15), np.float32), np.zeros((1, 1, 16, 16), np.float64),
                np.zeros((1, 1, 16, 32), np.float32)[:, :, :, ::2], np.zeros((1, 16, 16), np.float32)]:
        with pytest.raises(ValueError):
            m.forward(good, out=out)
    ro = np.zeros_like(y)
    ro.flags.writeable = False
    with pytest.raises(ValueError):
        m.forward(good, out=ro)
    with pytest.raises(ValueError, match="overlap"):
        m.forward(good, out=good)
    with pytest.raises(TypeError):
        m.forward(good, out=[0.0])
    # wrong types for every argument
    for bad in [(1, "cpu"), (b"x", "cpu"), (DENOISER, 1), (DENOISER, None)]:
        with pytest.raises(TypeError):
            ae2d.Model.load(*bad)
    with pytest.raises(ValueError, match="backend"):
        ae2d.Model.load(DENOISER, backend="tpu")
    with pytest.raises(TypeError):
        ae2d.Model.load(DENOISER, threads="2")
    with pytest.raises(ValueError):
        ae2d.Model.load(DENOISER, threads=-1)
    for bad in [None, "x", (1, 2), (1, 2, 3, 4, 5), (1, 1, 0, 4), (1.5, 2)]:
        with pytest.raises((TypeError, ValueError)):
            m.output_shape(bad)
    for bad in [None, (1, 8), ("1", 8, 8), (1, -8, 8)]:
        with pytest.raises((TypeError, ValueError)):
            m.summary(bad)
    with pytest.raises(TypeError):
        ae2d.summary("AE2d", (1, 8, 8))
    with pytest.raises(TypeError):
        ae2d.set_num_threads(1.5)
    with pytest.raises(ValueError):
        ae2d.set_limits(max_dimension=0)
    with pytest.raises(ValueError):
        ae2d.set_limits(nonsense=1)
    with pytest.raises(TypeError):
        ae2d.Model()
    m(good)  # still fine after all that


def test_bad_files_raise_oserror_or_valueerror(tmp_path):
    with pytest.raises(FileNotFoundError):
        ae2d.Model.load(str(tmp_path / "missing.safetensors"))
    with pytest.raises(IsADirectoryError):
        ae2d.Model.load(tmp_path)
    (tmp_path / "junk.safetensors").write_bytes(b"\x07\x00\x00\x00\x00\x00\x00\x00{nope}")
    with pytest.raises(ValueError, match="junk.safetensors"):
        ae2d.Model.load(tmp_path / "junk.safetensors")
    (tmp_path / "short.safetensors").write_bytes(open(DENOISER, "rb").read()[:1000])
    with pytest.raises(ValueError):
        ae2d.Model.load(tmp_path / "short.safetensors")


def test_bad_state_dicts_raise():
    arrays, _ = read_safetensors(DENOISER)
    for bad in [None, [1, 2], "conv"]:
        with pytest.raises(TypeError):
            ae2d.Model.from_state_dict(bad)
    with pytest.raises(TypeError):
        ae2d.Model.from_state_dict({1: np.zeros(3, np.float32)})
    with pytest.raises(TypeError):
        ae2d.Model.from_state_dict({"conv_first.weight": [1.0]})
    with pytest.raises(ValueError):
        ae2d.Model.from_state_dict({k: v.astype(np.int32) for k, v in arrays.items()})
    with pytest.raises(ValueError, match="conv_first.weight"):
        ae2d.Model.from_state_dict({k: v for k, v in arrays.items() if k != "conv_first.weight"})
    with pytest.raises(ValueError):
        ae2d.Model.from_state_dict({})
    with pytest.raises(ValueError):
        ae2d.Model.from_state_dict(arrays, channel=17)  # shapes disagree with the configuration
    with pytest.raises(ValueError):
        ae2d.Model.from_state_dict(arrays, block="dense")
    with pytest.raises(ValueError):
        ae2d.Model.from_state_dict(arrays, kernel_size=4)
    with pytest.raises(TypeError):
        ae2d.Model.from_state_dict(arrays, layers="2,2")
    with pytest.raises(TypeError):
        ae2d.Model.from_state_dict(arrays, channel="16")


def test_nan_propagates_per_sample():
    m = ae2d.Model.load(DENOISER)
    x = np.random.default_rng(2).random((2, 1, 20, 20), dtype=np.float32)
    clean = m(x)
    x[0, 0, 3, 4] = np.nan
    y = m(x)
    assert np.isnan(y[0]).all()
    np.testing.assert_array_equal(y[1], clean[1])


def test_closed_model_raises():
    m = ae2d.Model.load(DENOISER)
    with m:
        m(np.zeros((8, 8), np.float32))
    assert m.closed and "closed" in repr(m)
    for call in [lambda: m(np.zeros((8, 8), np.float32)), lambda: m.config, lambda: m.nlayers,
                 lambda: m.num_parameters, lambda: m.output_shape((8, 8)), lambda: m.summary((1, 8, 8)),
                 lambda: m.forward(np.zeros((8, 8), np.float32), out=np.zeros((1, 1, 8, 8), np.float32))]:
        with pytest.raises(ValueError, match="closed"):
            call()
    m.close()  # twice is fine


# ---- threads, GIL, leaks --------------------------------------------------------------------
def test_eight_threads_fifty_calls_exact():
    m = ae2d.Model.load(DENOISER)
    rng = np.random.default_rng(5)
    inputs = [rng.random((1 + i % 2, 1, 24 + 8 * (i % 3), 32), dtype=np.float32) for i in range(8)]
    want = [m(x) for x in inputs]
    errors = []

    def work(i):
        try:
            out = np.empty_like(want[i])
            for k in range(50):
                y = m(inputs[i]) if k % 2 else m.forward(inputs[i], out=out)
                if not np.array_equal(y, want[i]):
                    errors.append((i, k))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_gil_released_during_forward():
    m = ae2d.Model.load(DENOISER)
    x = np.random.default_rng(6).random((1, 1, 512, 512), dtype=np.float32)
    m(x)  # plan and arena
    done = threading.Event()
    span = []

    def run():
        t0 = time.perf_counter()
        m(x)
        span.append(time.perf_counter() - t0)
        done.set()

    t = threading.Thread(target=run)
    ticks = []
    t.start()
    while not done.is_set():
        ticks.append(time.perf_counter())
        time.sleep(0.001)
    t.join()
    gaps = np.diff(ticks) if len(ticks) > 1 else np.array([span[0]])
    # With the GIL held for the whole pass, this thread could not run at all during it.
    assert len(ticks) >= 3 and gaps.max() < 0.5 * span[0], (len(ticks), gaps.max(), span[0])


def _rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_no_leak_over_1000_calls():
    m = ae2d.Model.load(DENOISER)
    x = np.random.default_rng(7).random((1, 1, 64, 64), dtype=np.float32)
    out = np.empty((1, 1, 64, 64), np.float32)
    for _ in range(100):
        m(x)
        m.forward(x, out=out)
    gc.collect()
    before = _rss_bytes()
    for _ in range(1000):
        m(x)
        m.forward(x, out=out)
    gc.collect()
    grown = _rss_bytes() - before
    # 2000 passes: a leak of one 16 KiB output per call would be 16 MiB.
    assert grown < 2 << 20, "RSS grew by {} bytes".format(grown)
    for _ in range(200):  # models made and dropped
        ae2d.Model.load(DENOISER).close()
    gc.collect()
    assert _rss_bytes() - before < 4 << 20
