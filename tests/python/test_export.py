"""tools/export_mdnc.py on PyTorch checkpoints as users save them (a state_dict, a DataParallel
one, a training dict), for AE2d and UNet2d: the file it writes names the architecture, and ae2d
runs it to PyTorch's output within the parity bound."""

import os
import subprocess
import sys

import numpy as np
import pytest

import ae2d
from conftest import ROOT, assert_close, cli_path, read_safetensors, require

EXPORT = os.path.join(ROOT, "tools", "export_mdnc.py")


def reference_net(arch, channel, layers, block, kernel_size, in_planes, out_planes):
    torch = require("torch")
    sys.path.insert(0, os.path.join(ROOT, "tests", "reference"))
    try:
        import ae2d_ref
        import unet2d_ref
        from make_fixtures import random_state_dict
    finally:
        sys.path.pop(0)
    module = unet2d_ref.UNet2d if arch == "UNet2d" else ae2d_ref.AE2d
    net = module(channel, layers, block=block, kernel_size=kernel_size, in_planes=in_planes,
                 out_planes=out_planes).double()
    net.load_state_dict(random_state_dict(net, seed=11))
    net.eval()
    return torch, net


@pytest.mark.parametrize("arch,channel,layers,block,kernel_size,in_planes,out_planes,saved", [
    ("UNet2d", 6, [2, 2, 1], "bottleneck", 3, 1, 2, "state_dict"),
    ("UNet2d", 4, [1, 2, 2], "plain", [3, 1], 3, 1, "data_parallel"),
    ("AE2d", 6, [1, 2, 1], "bottleneck", 3, 1, 1, "training_dict"),
])
def test_export_then_run_equals_pytorch(tmp_path, arch, channel, layers, block, kernel_size, in_planes,
                                        out_planes, saved):
    torch, net = reference_net(arch, channel, layers, block, kernel_size, in_planes, out_planes)
    sd = net.state_dict()
    if saved == "data_parallel":
        sd = {"module." + k: v for k, v in sd.items()}
    elif saved == "training_dict":
        sd = {"state_dict": sd, "epoch": 3}
    ckpt, out = str(tmp_path / "ckpt.pth"), str(tmp_path / "model.safetensors")
    torch.save(sd, ckpt)
    # No configuration flags: the architecture and the configuration are read off the shapes.
    r = subprocess.run([sys.executable, EXPORT, ckpt, out, "--verify", "--ae2d", cli_path()],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    _, meta = read_safetensors(out)
    assert meta["arch"] == arch
    m = ae2d.Model.load(out)
    assert m.config.arch == arch and list(m.config.layers) == layers
    x = np.random.default_rng(5).standard_normal((2, in_planes, 21, 18))
    with torch.no_grad():
        want = net(torch.from_numpy(x)).numpy()
    assert_close(m(x.astype(np.float32)), want)


def test_export_refuses_a_unet_the_original_cannot_run(tmp_path):
    torch, net = reference_net("UNet2d", 4, [2, 2, 2], "plain", 3, 1, 1)
    ckpt, out = str(tmp_path / "ckpt.pth"), str(tmp_path / "model.safetensors")
    torch.save(net.state_dict(), ckpt)
    r = subprocess.run([sys.executable, EXPORT, ckpt, out, "--layers", "2,1,2"], capture_output=True, text=True)
    assert r.returncode != 0
    assert "layers[1] = 1 cannot run as a UNet2d" in r.stderr and not os.path.exists(out)
