#!/usr/bin/python3
'''Prints where PyTorch's AE2d output is NaN when a NaN/Inf is put into an input pixel or a
weight: the patterns tests/test_nan.cpp expects of ae2d. Run from the repository root with
Debian's python3-torch:  /usr/bin/python3 tests/reference/nan_patterns.py
It runs in float32 (like ae2d) and float64. They differ in one place: a NaN kernel tap that
meets only zero padding at some output pixels. float64 (explicit zero padding, 0 * NaN = NaN)
makes those pixels NaN; float32 on the CPU (oneDNN, which skips padding) leaves them finite.'''
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ae2d_ref as R  # noqa: E402

FIX = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'fixtures')


def load(name, dtype):
    sd, meta = R.load_safetensors(os.path.join(FIX, name + '.safetensors'))
    net = R.AE2d(int(meta['channel']), json.loads(meta['layers']), block=meta['block'],
                 kernel_size=json.loads(meta['kernel_size']), in_planes=int(meta['in_planes']),
                 out_planes=int(meta['out_planes'])).to(dtype).eval()
    sd = {k: v.to(dtype) for k, v in sd.items()}
    x = torch.as_tensor(np.load(os.path.join(FIX, name + '.input.npy'))).to(dtype)
    return net, sd, x


def report(tag, y, clean):
    for b in range(y.shape[0]):
        for c in range(y.shape[1]):
            n = int(torch.isnan(y[b, c]).sum())
            same = bool(torch.equal(y[b, c], clean[b, c]))
            print(f'{tag:55s} sample {b} channel {c}: {n:4d} of {y[b, c].numel()} NaN'
                  + (', unchanged' if same else ''))


def main(dtype):
    print(f'--- {dtype}')
    net, sd, x = load('bneck_k3_d3', dtype)
    net.load_state_dict(sd)
    with torch.no_grad():
        clean = net(x)
    for tag, (b, h, w), v in [('input NaN at (0, 0, 3, 4)', (0, 3, 4), float('nan')),
                              ('input +Inf at (1, 0, 0, 0)', (1, 0, 0), float('inf')),
                              ('input -Inf at (1, 0, 16, 22)', (1, 16, 22), -float('inf'))]:
        xb = x.clone()
        xb[b, 0, h, w] = v
        with torch.no_grad():
            report('bneck_k3_d3 ' + tag, net(xb), clean)
    for key in ['conv_first.weight', 'conv_down_list.0.conv_scale.conv1.0.weight',
                'conv_down_list.0.conv_scale.conv1.1.weight']:
        sd2 = {k: v.clone() for k, v in sd.items()}
        sd2[key].view(-1)[0] = float('nan')
        net.load_state_dict(sd2)
        with torch.no_grad():
            report(f'bneck_k3_d3 NaN in {key}[0]', net(x), clean)

    net, sd, x = load('plain_k3_d2', dtype)
    net.load_state_dict(sd)
    with torch.no_grad():
        clean = net(x)
    for key, flat in [('conv_final.bias', 1), ('conv_final.weight', 1 * 8 * 25),
                      ('conv_final.weight', 1 * 8 * 25 + 12)]:
        sd2 = {k: v.clone() for k, v in sd.items()}
        sd2[key].view(-1)[flat] = float('nan')
        net.load_state_dict(sd2)
        with torch.no_grad():
            report(f'plain_k3_d2 NaN in {key}[{flat}]', net(x), clean)


if __name__ == '__main__':
    main(torch.float32)
    main(torch.float64)
