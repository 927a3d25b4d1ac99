#!/usr/bin/python3
# -*- coding: UTF-8 -*-
'''Export the peer-benchmark workloads: same random weights for every engine.

Run from anywhere (Debian python3-torch 1.13 + numpy; the ONNX Runtime check needs the
.venv-peers venv from bench/peers/setup_peers.sh, and is skipped without it):

    .venv-peers/bin/python bench/peers/export_workloads.py            # all workloads
    .venv-peers/bin/python bench/peers/export_workloads.py --workloads W1

Writes, for each workload W, under bench/work/ (git-ignored):
  W.safetensors    F32 weights + __metadata__ (arch, channel, layers, block, kernel_size,
                   in_planes, out_planes; all strings), for ae2d
  W.onnx           torch.onnx.export, opset 13, fixed input shape, do_constant_folding
  W.input.npy      float32 input ~ N(0, 1), fixed seed
  W.torch_out.npy  PyTorch float32 eager output (1 thread)
  W.torch64_out.npy  the same net in float64 (skip with --no-f64): the float32 noise floor,
                   so the engines' differences to W.torch_out.npy can be judged
  workloads.json   per workload: config, input shape, conv MACs, weight seed, ONNX op counts
                   and the ONNX Runtime max |ort - torch| check (merged with earlier runs)

Weights come from tests/reference/make_fixtures.py's random_state_dict (numpy PCG64, fixed
seed): conv ~ N(0, 2 / fan_in) (kaiming), InstanceNorm weight ~ U(0.5, 1.5), bias ~ 0.2 N(0, 1),
PReLU slopes ~ U(0.05, 0.5), conv_final bias ~ 0.5 N(0, 1) pushed away from 0. Workloads
that share a model (W2, W3) share a weight seed, so their weights are identical.

The ONNX graph is checked for the ops that matter: the align_corners bilinear Upsample must
become Resize (coordinate_transformation_mode=align_corners, mode=linear) and the forward's
center crop must become Slice (or fold away where it is a no-op).
'''

import argparse
import json
import os
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, '..', '..'))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'reference'))
import ae2d_ref as ref  # noqa: E402
from make_fixtures import metadata_for, random_state_dict  # noqa: E402

WORK = os.path.join(ROOT, 'bench', 'work')

# model name -> (AE2d kwargs, weight seed)
MODELS = {
    'seed': (dict(channel=64, layers=[2, 2, 2, 2, 3], block='bottleneck', kernel_size=3,
                  in_planes=3, out_planes=1), 5001),
    'bneck4': (dict(channel=64, layers=[2, 2, 2, 2], block='bottleneck', kernel_size=3,
                    in_planes=1, out_planes=1), 5002),
    'plain3': (dict(channel=64, layers=[2, 1, 1], block='plain', kernel_size=3,
                    in_planes=1, out_planes=1), 5003),
}

# workload -> (model name, input shape B, C, H, W, input seed)
WORKLOADS = {
    'W1': ('seed', (1, 3, 64, 63), 6001),
    'W2': ('bneck4', (1, 1, 256, 256), 6002),
    'W3': ('bneck4', (4, 1, 256, 256), 6003),
    'W4': ('plain3', (1, 1, 512, 512), 6004),
}


def build_model(model_name):
    '''(float32 eval AE2d with the model's fixed random weights, float64 state_dict, config).'''
    cfg, seed = MODELS[model_name]
    net = ref.AE2d(**cfg)
    sd = random_state_dict(net, seed=seed)
    net.load_state_dict(sd, strict=True)  # copies into the float32 parameters
    return net.float().eval(), sd, cfg


def conv_macs(net, x):
    '''Multiply-accumulates of all Conv2d layers for input x (one forward, hooks).'''
    total = [0]

    def hook(m, inp, out):
        total[0] += int(out.numel()) * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]

    hooks = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    try:
        with torch.inference_mode():
            y = net(x)
    finally:
        for h in hooks:
            h.remove()
    return total[0], y


def onnx_op_summary(path):
    '''Op-type counts and Resize attributes of an ONNX file (via the onnx package if present,
    else via OpenVINO's reader for the counts only); None if neither is installed.'''
    try:
        import onnx
        m = onnx.load(path)
        ops, resize = {}, set()
        for n in m.graph.node:
            ops[n.op_type] = ops.get(n.op_type, 0) + 1
            if n.op_type == 'Resize':
                attrs = {a.name: (a.s.decode() if a.s else a.i) for a in n.attribute}
                resize.add('{0}/{1}'.format(attrs.get('mode', '?'), attrs.get('coordinate_transformation_mode', '?')))
        return {'ops': ops, 'resize': sorted(resize)}
    except ImportError:
        pass
    try:
        import openvino as ov
        fw = ov.frontend.FrontEndManager().load_by_framework('onnx')
        model = fw.load(path)
        ops = {}
        for n in fw.decode(model).get_ordered_ops():
            t = n.get_type_name()
            if t == 'ONNXFrameworkNode':
                t = n.get_attributes().get('ONNX_META_type', t)
            ops[t] = ops.get(t, 0) + 1
        return {'ops': ops, 'resize': None}
    except Exception:  # noqa: BLE001 - purely informative
        return None


def ort_check(onnx_path, x, y_torch):
    '''max |ORT - torch| on x with ORT_ENABLE_ALL, or None when onnxruntime is missing.'''
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(onnx_path, so, providers=['CPUExecutionProvider'])
    y = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    if y.shape != y_torch.shape:
        raise RuntimeError('ORT output shape {0} != torch {1}'.format(y.shape, y_torch.shape))
    return float(np.abs(y.astype(np.float64) - y_torch).max()), ort.__version__


def export_one(name, f64=True):
    model_name, shape, in_seed = WORKLOADS[name]
    net, sd, cfg = build_model(model_name)
    ref.check_input_hw(cfg['layers'], cfg['kernel_size'], shape[2], shape[3])
    base = os.path.join(WORK, name)

    meta = metadata_for(cfg['channel'], cfg['layers'], cfg['block'], cfg['kernel_size'],
                        cfg['in_planes'], cfg['out_planes'])
    ref.save_safetensors(base + '.safetensors', sd, meta, dtype='F32')

    x = np.random.default_rng(in_seed).standard_normal(shape).astype(np.float32)
    np.save(base + '.input.npy', x)
    xt = torch.from_numpy(x)
    t0 = time.perf_counter()
    macs, y = conv_macs(net, xt)
    t_fwd = time.perf_counter() - t0
    y = y.numpy().astype(np.float32)
    assert y.shape == (shape[0], cfg['out_planes'], shape[2], shape[3]), y.shape
    np.save(base + '.torch_out.npy', y)
    f64_diff = None
    if f64:
        with torch.inference_mode():
            y64 = net.double()(xt.double()).numpy()
        net.float()
        np.save(base + '.torch64_out.npy', y64)
        f64_diff = float(np.abs(y.astype(np.float64) - y64).max())

    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # TracerWarnings from the shape-dependent crop
        torch.onnx.export(net, (xt,), base + '.onnx', opset_version=13, do_constant_folding=True,
                          input_names=['x'], output_names=['y'], export_params=True)
    ops = onnx_op_summary(base + '.onnx')
    chk = ort_check(base + '.onnx', x, y)

    entry = {
        'name': name, 'model': model_name, 'config': cfg, 'weight_seed': MODELS[model_name][1],
        'input_seed': in_seed, 'input_shape': list(shape), 'output_shape': list(y.shape),
        'conv_macs': macs, 'max_abs_torch_out': float(np.abs(y).max()),
        'torch_f32_max_abs_diff_to_f64': f64_diff,
        'onnx_opset': 13, 'onnx_ops': ops['ops'] if ops else None,
        'onnx_resize_modes': ops['resize'] if ops else None,
        'ort_max_abs_diff_to_torch': chk[0] if chk else None,
        'ort_version': chk[1] if chk else None,
    }
    opstr = ', '.join('{0}x{1}'.format(k, v) for k, v in sorted(entry['onnx_ops'].items())) if ops else 'n/a'
    print('{0}: {1} {2} input {3}, {4:.2f} GMAC, torch fwd {5:.2f} s, max|y| {6:.3g}'.format(
        name, model_name, cfg['layers'], list(shape), macs / 1e9, t_fwd, entry['max_abs_torch_out']))
    print('    onnx ops: {0}'.format(opstr))
    if f64_diff is not None:
        print('    torch float32 vs float64: max diff {0:.3g} (float32 noise floor)'.format(f64_diff))
    if ops and ops['resize'] is not None:
        print('    Resize modes: {0}'.format(', '.join(ops['resize']) or 'none'))
    if chk:
        print('    onnxruntime {0}: max |ort - torch| = {1:.3g}'.format(chk[1], chk[0]))
    else:
        print('    onnxruntime not importable: ONNX check skipped (use .venv-peers/bin/python)')
    return entry


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--workloads', default=','.join(WORKLOADS),
                    help='comma-separated subset of ' + ','.join(WORKLOADS))
    ap.add_argument('--no-f64', action='store_true', help='skip the float64 reference output')
    args = ap.parse_args()
    names = [w.strip() for w in args.workloads.split(',') if w.strip()]
    bad = [w for w in names if w not in WORKLOADS]
    if bad:
        ap.error('unknown workload(s): ' + ', '.join(bad))
    torch.manual_seed(0)
    torch.set_num_threads(1)
    os.makedirs(WORK, exist_ok=True)
    manifest_path = os.path.join(WORK, 'workloads.json')
    manifest = {}
    if os.path.exists(manifest_path):
        with open(manifest_path) as f:
            manifest = {e['name']: e for e in json.load(f)}
    for name in names:
        manifest[name] = export_one(name, f64=not args.no_f64)
    with open(manifest_path, 'w') as f:
        json.dump([manifest[k] for k in sorted(manifest)], f, indent=2)
        f.write('\n')
    print('wrote {0}'.format(os.path.relpath(WORK, os.getcwd())))


if __name__ == '__main__':
    main()
