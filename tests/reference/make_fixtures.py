#!/usr/bin/python3
# -*- coding: UTF-8 -*-
'''Generate the AE2d and UNet2d test fixtures and summary texts (deterministic).

Regenerate with (from the repository root; Debian python3-torch + python3-numpy):

    /usr/bin/python3 tests/reference/make_fixtures.py

Writes:
  tests/fixtures/<name>.safetensors   random weights (fixed seeds), stored as the case's dtype
                                      (F32/F16/BF16/F64), with or without __metadata__
  tests/fixtures/<name>.input.npy     float32 (B, in_planes, H, W)
  tests/fixtures/<name>.output.npy    float32 (B, out_planes, H, W): the reference output
                                      computed in float64 from the weights as read back from
                                      the .safetensors file (so F16/BF16 rounding is included),
                                      then cast to float32
  tests/fixtures/manifest.json        [{name, config{[arch,] channel, layers, block, kernel_size,
                                      in_planes, out_planes}, input_shape, has_metadata, dtype,
                                      nlayers, max_abs_output}]; config.arch is "UNet2d" for the
                                      UNet2d cases (unet_*) and absent for AE2d
  tests/data/seed_summary.txt         the seed's Output block (re-extracted from the seed page
                                      /work/shared/seed/AE2d.md, or $AE2D_SEED, when present)
  tests/data/summary_<name>.txt       the same layout for other configurations
  tests/data/summaries.json           [{file, [arch,] channel, layers, block, kernel_size,
                                      in_planes, out_planes, input_shape [C, H, W]}]; arch is
                                      "UNet2d" for the UNet2d summaries and absent for AE2d

Weights: conv ~ N(0, 2 / fan_in); InstanceNorm weight ~ U(0.5, 1.5), bias ~ 0.2 N(0, 1);
PReLU slopes ~ U(0.05, 0.5); conv_final bias ~ 0.5 N(0, 1) pushed away from 0. Inputs ~ N(0, 1).
The __metadata__ "arch" is "AE2d" or "UNet2d". The script checks every output (max|y| > 1e-2,
not dominated by one value), that the reference reproduces the seed summary exactly and the
UNet2d spec's figures (unet2d_ref.self_check), and that the spec's no-metadata rule
(unet2d_ref.arch_from_shapes) tells every fixture's architecture; it exits non-zero otherwise.
'''

import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import ae2d_ref as ref  # noqa: E402
import unet2d_ref  # noqa: E402

ROOT = os.path.normpath(os.path.join(HERE, '..', '..'))
FIX = os.path.join(ROOT, 'tests', 'fixtures')
DATA = os.path.join(ROOT, 'tests', 'data')
SEED_PAGE = os.environ.get('AE2D_SEED', '/work/shared/seed/AE2d.md')

# name, channel, layers, block, kernel_size, in_planes, out_planes, batch, H, W, metadata, dtype
CASES = [
    ('bneck_k3_d3', 6, [1, 2, 1], 'bottleneck', 3, 1, 1, 2, 17, 23, True, 'F32'),
    ('plain_k3_d2', 8, [2, 1], 'plain', 3, 3, 2, 1, 20, 16, True, 'F32'),
    ('bneck_k31_d4_nometa', 4, [1, 1, 1, 2], 'bottleneck', [3, 1], 1, 1, 1, 33, 5, False, 'F32'),
    ('plain_k5_d3_f16', 5, [1, 1, 1], 'plain', 5, 2, 1, 1, 15, 12, True, 'F16'),
    ('bneck_k1_d2_bf16', 4, [2, 2], 'bottleneck', 1, 1, 3, 3, 9, 7, True, 'BF16'),
    ('plain_k3_d5_f64', 4, [1, 1, 1, 1, 1], 'plain', 3, 1, 1, 1, 35, 40, True, 'F64'),
    ('seedlike_c4', 4, [2, 2, 2, 2, 3], 'bottleneck', 3, 3, 1, 1, 64, 63, True, 'F32'),
    ('plain_k3_d2_1x9', 4, [1, 2], 'plain', 3, 1, 2, 2, 1, 9, True, 'F32'),
]

# UNet2d cases, same columns; weight and input seeds continue after CASES'.
UNET_CASES = [
    ('unet_bneck_k3_d3', 8, [2, 2, 3], 'bottleneck', 3, 1, 2, 1, 37, 45, True, 'F32'),
    ('unet_plain_k3_d2_b3', 6, [1, 2], 'plain', 3, 3, 1, 3, 20, 17, True, 'F32'),
    ('unet_bneck_k31_d4_nometa', 4, [2, 2, 2, 1], 'bottleneck', [3, 1], 1, 1, 1, 33, 5, False, 'F32'),
    ('unet_plain_k5_d3_f16', 5, [1, 2, 2], 'plain', 5, 2, 1, 1, 15, 12, True, 'F16'),
    ('unet_bneck_k3_d4', 6, [2, 3, 2, 1], 'bottleneck', 3, 2, 2, 1, 31, 27, True, 'F32'),
    ('unet_plain_k3_d5_nometa', 4, [1, 2, 2, 2, 1], 'plain', 3, 1, 1, 1, 35, 40, False, 'F32'),
    ('unet_bneck_k1_d2_b2', 4, [2, 2], 'bottleneck', 1, 1, 3, 2, 9, 7, True, 'F32'),
    ('unet_plain_k3_d3_1x9', 4, [2, 2, 1], 'plain', 3, 1, 2, 2, 1, 9, True, 'F32'),
    ('unet_seedlike_c4', 4, [2, 2, 2, 2, 3], 'bottleneck', 3, 3, 1, 1, 64, 63, True, 'F32'),
]

# file, channel, layers, block, kernel_size, in_planes, out_planes, input_shape (C, H, W)
SUMMARIES = [
    ('seed_summary.txt', 64, [2, 2, 2, 2, 3], 'bottleneck', 3, 3, 1, [3, 64, 63]),
    ('summary_plain_k31.txt', 8, [2, 1, 2], 'plain', [3, 1], 2, 1, [2, 33, 10]),
    ('summary_bneck_k5.txt', 4, [1, 2, 2], 'bottleneck', 5, 1, 2, [1, 30, 17]),
]

# UNet2d summaries, same columns: the spec's reference configuration and the seed's network.
UNET_SUMMARIES = [
    ('summary_unet_bneck_c8.txt', 8, [2, 2, 3], 'bottleneck', 3, 1, 2, [1, 37, 45]),
    ('summary_unet_seed.txt', 64, [2, 2, 2, 2, 3], 'bottleneck', 3, 3, 1, [3, 64, 63]),
]

ARCHS = {'AE2d': ref.AE2d, 'UNet2d': unet2d_ref.UNet2d}


def metadata_for(channel, layers, block, kernel_size, in_planes, out_planes, arch='AE2d'):
    return {
        'arch': arch,
        'channel': str(channel),
        'layers': json.dumps(list(layers)),          # e.g. "[2, 2]"
        'block': block,
        'kernel_size': json.dumps(kernel_size),      # "3" or "[3, 1]"
        'in_planes': str(in_planes),
        'out_planes': str(out_planes),
    }


def random_state_dict(net, seed):
    '''Deterministic random parameters (numpy PCG64), float64 tensors in state_dict order.'''
    rng = np.random.default_rng(seed)
    owner = {}
    for mname, m in net.named_modules():
        for pname, _ in m.named_parameters(recurse=False):
            owner[(mname + '.' if mname else '') + pname] = m
    sd = {}
    for key, t in net.state_dict().items():
        m = owner[key]
        shape = tuple(t.shape)
        if isinstance(m, nn.Conv2d) and key.endswith('.weight'):
            fan_in = shape[1] * shape[2] * shape[3]
            v = rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)
        elif isinstance(m, nn.Conv2d):  # conv_final.bias: clearly non-zero
            v = rng.standard_normal(shape) * 0.5
            v = v + np.where(v >= 0, 0.1, -0.1)
        elif isinstance(m, nn.InstanceNorm2d) and key.endswith('.weight'):
            v = rng.uniform(0.5, 1.5, shape)
        elif isinstance(m, nn.InstanceNorm2d):
            v = rng.standard_normal(shape) * 0.2
        elif isinstance(m, nn.PReLU):
            v = rng.uniform(0.05, 0.5, shape)
        else:
            raise RuntimeError('unexpected parameter ' + key)
        sd[key] = torch.from_numpy(np.asarray(v, dtype=np.float64))
    return sd


def extract_seed_output(page):
    '''The "Output" code block of the seed page, de-indented (8 spaces), newline-terminated.'''
    lines = open(page, 'r').read().split('\n')
    i = next(k for k, l in enumerate(lines) if l.strip() == '=== "Output"')
    a = next(k for k in range(i + 1, len(lines)) if lines[k].strip().startswith('```'))
    b = next(k for k in range(a + 1, len(lines)) if lines[k].strip() == '```')
    body = lines[a + 1:b]
    if not all(l.startswith(' ' * 8) or l == '' for l in body):
        raise RuntimeError('unexpected indentation in the seed Output block')
    return '\n'.join(l[8:] for l in body) + '\n'


def make_summaries():
    seed_path = os.path.join(DATA, 'seed_summary.txt')
    if os.path.exists(SEED_PAGE):
        with open(seed_path, 'w') as f:
            f.write(extract_seed_output(SEED_PAGE))
    entries = []
    bad = unet2d_ref.self_check()
    for b in bad:
        print('ERROR: UNet2d reference: ' + b, file=sys.stderr)
    ok = not bad
    for arch, (fname, ch, layers, block, ks, cin, cout, chw) in (
            [('AE2d', s) for s in SUMMARIES] + [('UNet2d', s) for s in UNET_SUMMARIES]):
        torch.manual_seed(0)
        net = ARCHS[arch](ch, layers, block=block, kernel_size=ks, in_planes=cin, out_planes=cout)
        text = ref.summary_text(net, tuple(chw))
        path = os.path.join(DATA, fname)
        if fname == 'seed_summary.txt':
            with open(path, 'r') as f:
                want = f.read()
            if text != want:
                print('ERROR: reference summary differs from the seed', file=sys.stderr)
                ok = False
            else:
                print('seed summary reproduced exactly ({0} lines)'.format(len(want.splitlines())))
        else:
            with open(path, 'w') as f:
                f.write(text)
            print('wrote {0} ({1} lines)'.format(fname, len(text.splitlines())))
        entry = {'file': fname}
        if arch != 'AE2d':
            entry['arch'] = arch
        entry.update({'channel': ch, 'layers': layers, 'block': block, 'kernel_size': ks,
                      'in_planes': cin, 'out_planes': cout, 'input_shape': chw})
        entries.append(entry)
    with open(os.path.join(DATA, 'summaries.json'), 'w') as f:
        json.dump(entries, f, indent=2)
        f.write('\n')
    return ok


def make_fixtures():
    torch.set_num_threads(1)
    manifest = []
    ok = True
    print('{:<26} {:>10} {:>9} {:>9} {:>9}'.format('case', 'dtype', 'max|y|', 'rms(y)', 'max/rms'))
    cases = [('AE2d', c) for c in CASES] + [('UNet2d', c) for c in UNET_CASES]
    for idx, (arch, (name, ch, layers, block, ks, cin, cout, B, H, W, has_meta, dtype)) in enumerate(cases):
        ref.check_input_hw(layers, ks, H, W)
        net = ARCHS[arch](ch, layers, block=block, kernel_size=ks, in_planes=cin, out_planes=cout)
        sd = random_state_dict(net, seed=1000 + idx)
        meta = metadata_for(ch, layers, block, ks, cin, cout, arch) if has_meta else None
        st_path = os.path.join(FIX, name + '.safetensors')
        ref.save_safetensors(st_path, sd, meta, dtype=dtype)

        # Reference from exactly what the file holds (rounded to its dtype), in float64.
        loaded, lmeta = ref.load_safetensors(st_path)
        assert list(loaded) == list(sd) and lmeta == meta
        for k in sd:
            want = sd[k].to(ref._ST_DTYPES[dtype]).to(torch.float64)
            assert torch.equal(loaded[k], want), k
        told = unet2d_ref.arch_from_shapes(loaded)
        if told != arch:
            print('ERROR: the no-metadata rule tells {0} from {1}, a {2}'.format(told, name, arch), file=sys.stderr)
            ok = False
        net = net.double().eval()
        net.load_state_dict(loaded, strict=True)

        x = np.random.default_rng(2000 + idx).standard_normal((B, cin, H, W)).astype(np.float32)
        with torch.no_grad():
            y = net(torch.from_numpy(x).double()).numpy()
        assert y.shape == (B, cout, H, W), y.shape
        y32 = y.astype(np.float32)
        np.save(os.path.join(FIX, name + '.input.npy'), x)
        np.save(os.path.join(FIX, name + '.output.npy'), y32)

        mx = float(np.abs(y).max())
        rms = float(np.sqrt(np.mean(y * y)))
        ratio = mx / rms
        print('{:<26} {:>10} {:>9.4g} {:>9.4g} {:>9.3g}'.format(name, dtype, mx, rms, ratio))
        if not (mx > 1e-2 and mx < 1e3 and ratio < 8.0 and float(y.std()) > 1e-3):
            print('ERROR: output of {0} is degenerate'.format(name), file=sys.stderr)
            ok = False
        config = {} if arch == 'AE2d' else {'arch': arch}
        config.update({'channel': ch, 'layers': layers, 'block': block, 'kernel_size': ks,
                       'in_planes': cin, 'out_planes': cout})
        manifest.append({
            'name': name,
            'config': config,
            'input_shape': [B, cin, H, W],
            'has_metadata': has_meta,
            'dtype': dtype,
            'nlayers': net.nlayers,
            'max_abs_output': round(mx, 6),
        })
    with open(os.path.join(FIX, 'manifest.json'), 'w') as f:
        json.dump(manifest, f, indent=2)
        f.write('\n')
    return ok


def main():
    os.makedirs(FIX, exist_ok=True)
    os.makedirs(DATA, exist_ok=True)
    ok = make_summaries()
    ok = make_fixtures() and ok
    total = sum(os.path.getsize(os.path.join(FIX, f)) for f in os.listdir(FIX))
    print('fixtures: {0} files, {1:.2f} MB'.format(len(os.listdir(FIX)), total / 2 ** 20))
    if not ok:
        raise SystemExit(1)


if __name__ == '__main__':
    main()
