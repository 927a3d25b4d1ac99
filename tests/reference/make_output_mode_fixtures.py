#!/usr/bin/python3
# -*- coding: UTF-8 -*-
'''Fixtures of the model files' output modes (tests/reference/output_modes.py), for
tests/test_output_mode.cpp. Run from the repository root:

    /usr/bin/python3 tests/reference/make_output_mode_fixtures.py

Writes, from one AE2d(4, [2, 2], plain, k3, in_planes = out_planes = 2) with random weights
(make_fixtures.random_state_dict, seed 7100):

  tests/fixtures/output_mode_normalized.safetensors   metadata "output": "normalized"
  tests/fixtures/output_mode_residual.safetensors     metadata "output": "residual"
  tests/fixtures/output_mode_raw.safetensors          the same tensors, metadata without "output"
  tests/fixtures/output_mode.input.npy                (2, 2, 21, 26): every plane at its own level
                                                      and contrast (means -3 to 5, stds 0.05 to 2)
  tests/fixtures/output_mode_normalized.output.npy    y = m + s * f((x - m) / s), float64 -> float32
  tests/fixtures/output_mode_residual.output.npy      y = x - s * f((x - m) / s), float64 -> float32
  tests/fixtures/output_mode_raw.output.npy           y = f(x)
'''
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, '..', 'fixtures')
sys.path.insert(0, HERE)
import ae2d_ref as ref  # noqa: E402
import output_modes  # noqa: E402
from make_fixtures import metadata_for, random_state_dict  # noqa: E402

CONFIG = (4, [2, 2], 'plain', 3, 2, 2)


def main():
    torch.set_num_threads(1)
    ch, layers, block, ks, cin, cout = CONFIG
    net = ref.AE2d(ch, layers, block=block, kernel_size=ks, in_planes=cin, out_planes=cout)
    sd = random_state_dict(net, seed=7100)
    rng = np.random.default_rng(7101)
    x = rng.standard_normal((2, cin, 21, 26))
    level = np.array([[0.2, 0.7], [5.0, -3.0]])[:, :, None, None]
    contrast = np.array([[0.05, 0.3], [2.0, 1.0]])[:, :, None, None]
    x = (level + contrast * x).astype(np.float32)
    np.save(os.path.join(FIX, 'output_mode.input.npy'), x)
    for mode in ('normalized', 'residual', 'raw'):
        meta = metadata_for(ch, layers, block, ks, cin, cout)
        if mode != 'raw':
            meta['output'] = mode
        path = os.path.join(FIX, 'output_mode_{0}.safetensors'.format(mode))
        ref.save_safetensors(path, sd, meta, dtype='F32')
        loaded, _ = ref.load_safetensors(path)
        n = ref.AE2d(ch, layers, block=block, kernel_size=ks, in_planes=cin, out_planes=cout).double().eval()
        n.load_state_dict(loaded, strict=True)
        with torch.no_grad():
            y = output_modes.forward(n, torch.from_numpy(x).double(), mode).numpy()
        np.save(os.path.join(FIX, 'output_mode_{0}.output.npy'.format(mode)), y.astype(np.float32))
        print('{0:<10} max|y| {1:8.4f}  plane means {2}'.format(
            mode, float(np.abs(y).max()), np.round(y.mean(axis=(2, 3)), 3).tolist()))


if __name__ == '__main__':
    main()
