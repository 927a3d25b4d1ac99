#!/usr/bin/python3
# -*- coding: UTF-8 -*-
'''Export the peer-benchmark workloads: same random weights for every engine.

Run from anywhere, best with the .venv-peers venv from bench/peers/setup_peers.sh (PyTorch 2.x
from PyPI, plus ONNX Runtime for the check of the exported graph). Debian's python3-torch 1.13
(/usr/bin/python3) works too; it then skips the ONNX Runtime check.

    .venv-peers/bin/python bench/peers/export_workloads.py            # W1..W6
    .venv-peers/bin/python bench/peers/export_workloads.py --workloads W1
    .venv-peers/bin/python bench/peers/export_workloads.py --network W2 --shapes 1x1x240x320,4x1x127x200
    .venv-peers/bin/python bench/peers/export_workloads.py --sweep    # the sweep's shapes, W2's and W4's nets

--network W2 --shapes S1,S2 exports W2's network (the same weights as W2) on each shape
(BxCxHxW or BxHxW), as the workload <model>-<shape>, e.g. bneck4-1x1x240x320 (names and
the sweep's shapes: bench/peers/workloads.py). --network takes a comma list, each shape
goes on each network. Every workload gets its own fixed-shape ONNX graph, not dynamic axes:
a fixed shape lets ONNX Runtime and OpenVINO specialize as they do for W1-W4, as a user who
deploys one image size would export it.

Writes, for each workload W, under bench/work/ (git-ignored):
  W.safetensors    F32 weights + __metadata__ (arch, channel, layers, block, kernel_size,
                   in_planes, out_planes; all strings), for ae2d
  W.onnx           torch.onnx.export, opset 13, fixed input shape, do_constant_folding (the
                   TorchScript exporter, dynamo=False on PyTorch 2.x, as on 1.13)
  W.input.npy      float32 input ~ N(0, 1), fixed seed
  W.torch_out.npy  PyTorch float32 eager output (1 thread)
  W.torch64_out.npy  the same net in float64 (skip with --no-f64; --threads N threads): the
                   reference every engine's error is measured against
  workloads.json   per workload: config, input shape, conv MACs, weight seed, ONNX op counts
                   and the ONNX Runtime max |ort - torch| check (merged with earlier runs)

Weights come from tests/reference/make_fixtures.py's random_state_dict (numpy PCG64, fixed
seed): conv ~ N(0, 2 / fan_in) (kaiming), InstanceNorm weight ~ U(0.5, 1.5), bias ~ 0.2 N(0, 1),
PReLU slopes ~ U(0.05, 0.5), conv_final bias ~ 0.5 N(0, 1) pushed away from 0. Workloads
that share a model (W2, W3 and every bneck4-* shape) share a weight seed, so their weights
are identical.

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
import unet2d_ref  # noqa: E402
from make_fixtures import metadata_for, random_state_dict  # noqa: E402

WORK = os.path.join(ROOT, 'bench', 'work')
ARCHS = {'AE2d': ref.AE2d, 'UNet2d': unet2d_ref.UNet2d}

sys.path.insert(0, HERE)
import workloads as wls  # noqa: E402
from workloads import MODELS, WORKLOADS  # noqa: E402,F401  (kept importable from here)


def build_model(model_name):
    '''(float32 eval AE2d or UNet2d with the model's fixed random weights, float64 state_dict,
    config).'''
    cfg, seed = MODELS[model_name]
    net = ARCHS[wls.arch_of(cfg)](**wls.net_kwargs(cfg))
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


def onnx_export(net, xt, path):
    """torch.onnx.export with the TorchScript exporter on any PyTorch (1.13 has only it; 2.x
    defaults to the dynamo exporter from 2.9 on, which needs onnxscript and makes a different
    graph): the same graphs whichever torch exports them."""
    import inspect
    import warnings
    kw = dict(opset_version=13, do_constant_folding=True, input_names=['x'], output_names=['y'],
              export_params=True)
    if 'dynamo' in inspect.signature(torch.onnx.export).parameters:
        kw['dynamo'] = False
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # TracerWarnings from the shape-dependent crop, deprecations
        torch.onnx.export(net, (xt,), path, **kw)


def export_one(name, model_name, shape, in_seed, f64=True, threads=2):
    net, sd, cfg = build_model(model_name)
    ref.check_input_hw(cfg['layers'], cfg['kernel_size'], shape[2], shape[3])
    base = os.path.join(WORK, name)

    meta = metadata_for(cfg['channel'], cfg['layers'], cfg['block'], cfg['kernel_size'],
                        cfg['in_planes'], cfg['out_planes'], arch=wls.arch_of(cfg))
    ref.save_safetensors(base + '.safetensors', sd, meta, dtype='F32')

    x = np.random.default_rng(in_seed).standard_normal(shape).astype(np.float32)
    np.save(base + '.input.npy', x)
    xt = torch.from_numpy(x)
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    macs, y = conv_macs(net, xt)
    t_fwd = time.perf_counter() - t0
    y = y.numpy().astype(np.float32)
    assert y.shape == (shape[0], cfg['out_planes'], shape[2], shape[3]), y.shape
    np.save(base + '.torch_out.npy', y)
    f64_diff = None
    if f64:
        torch.set_num_threads(threads)
        with torch.inference_mode():
            y64 = net.double()(xt.double()).numpy()
        net.float()
        torch.set_num_threads(1)
        np.save(base + '.torch64_out.npy', y64)
        f64_diff = float(np.abs(y.astype(np.float64) - y64).max())

    onnx_export(net, xt, base + '.onnx')
    ops = onnx_op_summary(base + '.onnx')
    chk = ort_check(base + '.onnx', x, y)

    entry = {
        'name': name, 'model': model_name, 'network_label': wls.NETWORK_LABEL.get(model_name, model_name),
        'named_workload': name in WORKLOADS, 'config': cfg, 'weight_seed': MODELS[model_name][1],
        'input_seed': in_seed, 'input_shape': list(shape), 'output_shape': list(y.shape),
        'conv_macs': macs, 'max_abs_torch_out': float(np.abs(y).max()),
        'torch_f32_max_abs_diff_to_f64': f64_diff, 'exported_with': 'torch ' + torch.__version__,
        'onnx_opset': 13, 'onnx_ops': ops['ops'] if ops else None,
        'onnx_resize_modes': ops['resize'] if ops else None,
        'ort_max_abs_diff_to_torch': chk[0] if chk else None,
        'ort_version': chk[1] if chk else None,
    }
    opstr = ', '.join('{0}x{1}'.format(k, v) for k, v in sorted(entry['onnx_ops'].items())) if ops else 'n/a'
    print('{0}: {1} {2} {3} input {4}, {5:.2f} GMAC, torch {6} fwd {7:.2f} s, max|y| {8:.3g}'.format(
        name, model_name, wls.arch_of(cfg), cfg['layers'], list(shape), macs / 1e9, torch.__version__, t_fwd,
        entry['max_abs_torch_out']))
    print('    onnx ops: {0}'.format(opstr))
    if f64_diff is not None:
        print('    torch float32 vs float64: max diff {0:.3g} (float32 noise floor)'.format(f64_diff))
    if ops and ops['resize'] is not None:
        print('    Resize modes: {0}'.format(', '.join(ops['resize']) or 'none'))
    if chk:
        print('    onnxruntime {0}: max |ort - torch| = {1:.3g}'.format(chk[1], chk[0]))
    else:
        print('    onnxruntime not importable: ONNX check skipped (use .venv-peers/bin/python)')
    sys.stdout.flush()
    return entry


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    wls.add_selection_args(ap, ','.join(WORKLOADS))
    ap.add_argument('--no-f64', action='store_true', help='skip the float64 reference output')
    ap.add_argument('--threads', type=int, default=2,
                    help='threads for the float64 reference pass (default 2; the float32 output uses 1)')
    ap.add_argument('--missing', action='store_true',
                    help='export only the workloads whose files are not all in bench/work/ yet')
    args = ap.parse_args()
    sel = wls.selected_workloads(ap, args, ','.join(WORKLOADS))
    torch.manual_seed(0)
    torch.set_num_threads(1)
    os.makedirs(WORK, exist_ok=True)
    manifest_path = os.path.join(WORK, 'workloads.json')
    manifest = {}
    if os.path.exists(manifest_path):
        with open(manifest_path) as f:
            manifest = {e['name']: e for e in json.load(f)}
    for name, (model, shape, seed) in sel.items():
        if args.missing and name in manifest and not wls.missing_files(name, f64=not args.no_f64):
            continue
        manifest[name] = export_one(name, model, shape, seed, f64=not args.no_f64, threads=args.threads)
        # write after every workload: a long export that stops keeps what it did
        with open(manifest_path, 'w') as f:
            json.dump([manifest[k] for k in sorted(manifest)], f, indent=2)
            f.write('\n')
    print('wrote {0}'.format(os.path.relpath(WORK, os.getcwd())))


if __name__ == '__main__':
    main()
