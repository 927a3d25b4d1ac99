#!/usr/bin/python3
# -*- coding: UTF-8 -*-
'''Export a PyTorch mdnc AE2d or UNet2d checkpoint to a safetensors file that `ae2d` reads.

Usage (from the repository root; Debian python3-torch + python3-numpy, no other dependency):

    /usr/bin/python3 tools/export_mdnc.py CHECKPOINT OUT.safetensors \\
        [--arch AE2d|UNet2d] [--channel 64] [--layers 2,2,2,2] [--block bottleneck|plain] \\
        [--kernel-size 3 | 3,1] [--in-planes 1] [--out-planes 1] [--output-mode raw|normalized|residual] \\
        [--dtype F32|F16|BF16] \\
        [--verify] [--ae2d build/ae2d] [--verify-shape B,C,H,W] [--seed 0]

CHECKPOINT may be
  * a state_dict saved with torch.save(net.state_dict(), 'x.pt' / 'x.pth'),
  * a whole pickled model (torch.save(net, ...); the module's class, e.g. mdnc, must be importable),
  * a dict holding either of those under 'state_dict' or 'model' (training checkpoints),
  * a .safetensors file (re-export, e.g. to another dtype or to add the metadata).
A 'module.' prefix (DataParallel) is stripped. Instance-norm running-stat buffers (running_mean,
running_var, num_batches_tracked) are dropped with a note: AE2d and UNet2d always normalise with
instance statistics, so they never take part.

The architecture (--arch) is the pickled module's class name when that is AE2d or UNet2d, else a
re-exported file's metadata, else read off the shapes: a UNet2d's decoder stacks' first blocks
read twice their stack's input channels (its skip connections), an AE2d's read them once.
Configuration flags that are left out are read off the tensor names and shapes (channel,
in/out planes and kernel from conv_first/conv_final, block from the presence of conv3, layers
from the conv_list counts). The tensors are then checked against the reference model built from
the configuration (tests/reference/ae2d_ref.py, unet2d_ref.py): every expected tensor must be
present with its shape and no other tensor may be; otherwise the script lists the missing,
unexpected and mis-shaped tensors and exits with status 1. A UNet2d with layers[j] = 1 for some
1 <= j <= n-2 is refused (status 1): the original module cannot run it.

The output holds the tensors in the reference's state_dict order, stored as --dtype (default F32),
with __metadata__ = {arch, channel, layers, block, kernel_size, in_planes, out_planes}, all strings
(arch "AE2d" or "UNet2d"; layers and kernel_size as JSON, e.g. "[2, 2, 2, 2]" and "3" or
"[3, 1]"). --output-mode normalized adds "output": "normalized": ae2d then returns
mean + std * f((x - mean) / std) per image and channel; "residual" returns
x - std * f((x - mean) / std) (tests/reference/output_modes.py), for networks trained that way;
without it (or with "raw") ae2d returns the network's output. A
re-exported .safetensors keeps its "output" unless the flag is given.

--verify reads the written file back, runs the PyTorch reference (float64, on the stored,
rounded weights) and `AE2D run --model OUT --input X.npy --output Y.npy` on the same random input
(uniform [0, 1), shape --verify-shape, default 1,in_planes,64,64, seed --seed), prints the max
absolute and relative difference and exits with status 3 if the max abs difference exceeds
1e-4 * max|reference| (status 4 if the ae2d binary is missing or fails).
'''

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'reference'))
import ae2d_ref as ref  # noqa: E402
import unet2d_ref  # noqa: E402
import output_modes  # noqa: E402

_BUFFER_SUFFIXES = ('.running_mean', '.running_var', '.num_batches_tracked')
ARCHS = {'AE2d': ref.AE2d, 'UNet2d': unet2d_ref.UNet2d}


class ExportError(Exception):
    pass


# ----------------------------------------------------------------------------
# Checkpoint loading
# ----------------------------------------------------------------------------
def _as_state_dict(obj, where):
    '''Reduce a loaded checkpoint object to an ordered name -> tensor dict.'''
    if isinstance(obj, torch.nn.Module):
        return collections.OrderedDict(obj.state_dict())
    if isinstance(obj, dict):
        for key in ('state_dict', 'model', 'model_state_dict', 'net'):
            if key in obj and isinstance(obj[key], (dict, torch.nn.Module)):
                return _as_state_dict(obj[key], '{0}[{1!r}]'.format(where, key))
        tensors = collections.OrderedDict((k, v) for k, v in obj.items() if torch.is_tensor(v))
        if tensors and len(tensors) == len(obj):
            return tensors
        if tensors:
            other = sorted(str(k) for k, v in obj.items() if not torch.is_tensor(v))
            raise ExportError('{0}: a dict that mixes tensors with other entries ({1}); expected a '
                              'state_dict, or a dict with a "state_dict" or "model" key'.format(
                                  where, ', '.join(other[:8])))
        raise ExportError('{0}: a dict without tensors (keys: {1}); expected a state_dict, or a dict '
                          'with a "state_dict" or "model" key'.format(where, ', '.join(sorted(map(str, obj))[:12])))
    raise ExportError('{0}: unsupported checkpoint object of type {1}'.format(where, type(obj).__name__))


def _module_arch(obj):
    ''''AE2d' or 'UNet2d' when the checkpoint holds a module of that class (directly or under a
    training dict's key), else None.'''
    if isinstance(obj, torch.nn.Module):
        name = type(obj).__name__
        return name if name in ARCHS else None
    if isinstance(obj, dict):
        for key in ('state_dict', 'model', 'model_state_dict', 'net'):
            if key in obj and isinstance(obj[key], (dict, torch.nn.Module)):
                return _module_arch(obj[key])
    return None


def load_checkpoint(path):
    '''(state_dict, safetensors metadata or None, architecture named by a pickled module or None).'''
    if not os.path.isfile(path):
        raise ExportError('{0}: no such file'.format(path))
    if path.lower().endswith('.safetensors'):
        sd, meta = ref.load_safetensors(path)
        return collections.OrderedDict(sd), meta, None
    try:
        obj = torch.load(path, map_location='cpu')
    except (ModuleNotFoundError, AttributeError) as e:
        raise ExportError('{0}: cannot unpickle the model ({1}); make its classes importable (e.g. install '
                          'mdnc) or save net.state_dict() instead'.format(path, e))
    except Exception as e:  # noqa: BLE001 - report any torch.load failure plainly
        raise ExportError('{0}: torch.load failed: {1}'.format(path, e))
    sd = _as_state_dict(obj, path)
    if sd and all(k.startswith('module.') for k in sd):
        sd = collections.OrderedDict((k[len('module.'):], v) for k, v in sd.items())
    return sd, None, _module_arch(obj)


# ----------------------------------------------------------------------------
# Configuration
# ----------------------------------------------------------------------------
def _int_list(text, what):
    try:
        vals = [int(v) for v in str(text).replace('[', '').replace(']', '').split(',') if v.strip()]
    except ValueError:
        raise ExportError('{0}: expected comma-separated integers, got {1!r}'.format(what, text))
    if not vals:
        raise ExportError('{0}: empty'.format(what))
    return vals


def _count_indices(sd, prefix):
    idx = set()
    for k in sd:
        if k.startswith(prefix):
            head = k[len(prefix):].split('.', 1)[0]
            if head.isdigit():
                idx.add(int(head))
    return max(idx) + 1 if idx else 0


def infer_config(sd, meta=None, module_arch=None):
    '''Configuration read off the tensors (or a safetensors file's metadata); None where unknown.

    arch: the pickled module's class (module_arch) if given, else the metadata's, else the
    spec's shape rule (unet2d_ref.arch_from_shapes).
    '''
    cfg = dict(arch=None, channel=None, layers=None, block=None, kernel_size=None, in_planes=None,
               out_planes=None)
    if meta and meta.get('arch', 'AE2d') in ARCHS and 'channel' in meta:
        try:
            cfg.update(arch=module_arch or meta.get('arch', 'AE2d'),
                       channel=int(meta['channel']), layers=json.loads(meta['layers']), block=meta['block'],
                       kernel_size=json.loads(meta['kernel_size']), in_planes=int(meta['in_planes']),
                       out_planes=int(meta['out_planes']))
            return cfg
        except (KeyError, ValueError):
            pass
    cfg['arch'] = module_arch or unet2d_ref.arch_from_shapes(sd)
    w = sd.get('conv_first.weight')
    if w is not None and w.dim() == 4:
        cfg['channel'], cfg['in_planes'] = int(w.shape[0]), int(w.shape[1])
        ks = [int(v) - 2 if int(v) > 1 else 1 for v in w.shape[2:]]
        cfg['kernel_size'] = ks[0] if ks[0] == ks[1] else ks
    w = sd.get('conv_down_list.0.conv_scale.conv2.2.weight')  # the block kernel itself
    if w is not None and w.dim() == 4:
        ks = [int(v) for v in w.shape[2:]]
        cfg['kernel_size'] = ks[0] if ks[0] == ks[1] else ks
    w = sd.get('conv_final.weight')
    if w is not None and w.dim() == 4:
        cfg['out_planes'] = int(w.shape[0])
    if any(k.startswith('conv_') for k in sd):
        cfg['block'] = 'bottleneck' if any('.conv3.' in k for k in sd) else 'plain'
    ndown = _count_indices(sd, 'conv_down_list.')
    if ndown:
        layers = [_count_indices(sd, 'conv_down_list.{0}.conv_list.'.format(j)) + 1 for j in range(ndown)]
        layers.append(_count_indices(sd, 'conv_middle_up.conv_list.') + 1)
        cfg['layers'] = layers
    return cfg


def resolve_config(args, sd, meta, module_arch=None):
    guess = infer_config(sd, meta, module_arch)
    cfg = dict(guess)
    if args.arch is not None:
        cfg['arch'] = args.arch
    if args.channel is not None:
        cfg['channel'] = args.channel
    if args.layers is not None:
        cfg['layers'] = _int_list(args.layers, '--layers')
    if args.block is not None:
        cfg['block'] = args.block
    if args.kernel_size is not None:
        ks = _int_list(args.kernel_size, '--kernel-size')
        if len(ks) > 2:
            raise ExportError('--kernel-size: one value or two (kh,kw), got {0!r}'.format(args.kernel_size))
        cfg['kernel_size'] = ks[0] if len(ks) == 1 else ks
    if args.in_planes is not None:
        cfg['in_planes'] = args.in_planes
    if args.out_planes is not None:
        cfg['out_planes'] = args.out_planes
    inferred = [k for k in cfg if cfg[k] is not None and getattr(args, k) is None
                and not (k == 'arch' and module_arch)]
    if inferred and not meta:
        print('note: read off the tensors: ' + ', '.join('{0}={1!r}'.format(k, cfg[k]) for k in inferred))
    missing = [k for k, v in cfg.items() if v is None]
    if missing:
        raise ExportError('cannot tell {0} from the checkpoint; pass {1}'.format(
            ', '.join(missing), ' '.join('--' + m.replace('_', '-') for m in missing)))
    why = unet2d_ref.unet_layers_error(cfg['channel'], cfg['layers']) if cfg['arch'] == 'UNet2d' else None
    if why:
        raise ExportError('UNet2d: ' + why)
    cfg['block'] = str(cfg['block']).lower()
    if cfg['block'] not in ('plain', 'bottleneck'):
        raise ExportError('--block must be plain or bottleneck, got {0!r}'.format(cfg['block']))
    if isinstance(cfg['kernel_size'], (list, tuple)):
        cfg['kernel_size'] = [int(v) for v in cfg['kernel_size']]
    return cfg


def metadata(cfg):
    return {'arch': cfg['arch'], 'channel': str(cfg['channel']), 'layers': json.dumps(list(cfg['layers'])),
            'block': cfg['block'], 'kernel_size': json.dumps(cfg['kernel_size']),
            'in_planes': str(cfg['in_planes']), 'out_planes': str(cfg['out_planes'])}


def build_reference(cfg):
    try:
        return ARCHS[cfg['arch']](cfg['channel'], cfg['layers'], block=cfg['block'], kernel_size=cfg['kernel_size'],
                                  in_planes=cfg['in_planes'], out_planes=cfg['out_planes'])
    except ValueError as e:
        raise ExportError(str(e))


def describe(cfg):
    '''E.g. "UNet2d(channel=64, layers=[2, 2], ...)".'''
    return '{0}({1})'.format(cfg['arch'], ', '.join('{0}={1!r}'.format(k, v) for k, v in cfg.items() if k != 'arch'))


def _fmt_shape(s):
    return '(' + ', '.join(str(int(v)) for v in s) + ')'


def validate(sd, net, cfg):
    '''Return the checkpoint's tensors in the reference order; raise listing every mismatch.'''
    want = net.state_dict()
    dropped = [k for k in sd if k.endswith(_BUFFER_SUFFIXES) and k not in want]
    if dropped:
        print('note: dropping {0} running-stat buffer(s) (instance norm never uses them), e.g. {1}'.format(
            len(dropped), dropped[0]))
    have = collections.OrderedDict((k, v) for k, v in sd.items() if k not in dropped)
    missing = [k for k in want if k not in have]
    unexpected = [k for k in have if k not in want]
    misshaped = [(k, tuple(want[k].shape), tuple(have[k].shape)) for k in want
                 if k in have and tuple(want[k].shape) != tuple(have[k].shape)]
    notfloat = [k for k in want if k in have and not torch.is_floating_point(have[k])]
    if missing or unexpected or misshaped or notfloat:
        lines = ['checkpoint does not match {0} ({1} tensors expected, {2} given):'.format(
            describe(cfg), len(want), len(have))]
        if missing:
            lines.append('  missing ({0}):'.format(len(missing)))
            lines += ['    {0}  expected {1}'.format(k, _fmt_shape(want[k].shape)) for k in missing]
        if unexpected:
            lines.append('  unexpected ({0}):'.format(len(unexpected)))
            lines += ['    {0}  {1}'.format(k, _fmt_shape(have[k].shape)) for k in unexpected]
        if misshaped:
            lines.append('  wrong shape ({0}):'.format(len(misshaped)))
            lines += ['    {0}  expected {1}, got {2}'.format(k, _fmt_shape(a), _fmt_shape(b)) for k, a, b in misshaped]
        if notfloat:
            lines.append('  not floating point: ' + ', '.join(notfloat))
        raise ExportError('\n'.join(lines))
    return collections.OrderedDict((k, have[k].detach().cpu()) for k in want)


# ----------------------------------------------------------------------------
# Verification against the ae2d CLI
# ----------------------------------------------------------------------------
def verify(out_path, cfg, args):
    sd, meta = ref.load_safetensors(out_path)
    net = build_reference(cfg).double().eval()
    net.load_state_dict(sd)
    if args.verify_shape:
        shape = _int_list(args.verify_shape, '--verify-shape')
        if len(shape) != 4:
            raise ExportError('--verify-shape: expected B,C,H,W, got {0!r}'.format(args.verify_shape))
    else:
        shape = [1, cfg['in_planes'], 64, 64]
    if shape[1] != cfg['in_planes']:
        raise ExportError('--verify-shape: C = {0} but the model has in_planes = {1}'.format(shape[1], cfg['in_planes']))
    try:
        ref.check_input_hw(cfg['layers'], cfg['kernel_size'], shape[2], shape[3])
    except ValueError as e:
        raise ExportError(str(e))
    x = np.random.default_rng(args.seed).random(shape).astype(np.float32)
    with torch.no_grad():
        y_ref = output_modes.forward(net, torch.from_numpy(x).double(), getattr(args, 'mode', 'raw')).numpy()
    ae2d = args.ae2d
    if not (os.path.isfile(ae2d) and os.access(ae2d, os.X_OK)):
        print('verify: the ae2d binary {0!r} does not exist or is not executable (build it with '
              'scripts/build.sh, or pass --ae2d PATH)'.format(ae2d), file=sys.stderr)
        return 4
    with tempfile.TemporaryDirectory(prefix='ae2d_verify_') as tmp:
        xin, yout = os.path.join(tmp, 'input.npy'), os.path.join(tmp, 'output.npy')
        np.save(xin, x)
        cmd = [ae2d, 'run', '--model', out_path, '--input', xin, '--output', yout]
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
        if proc.returncode != 0 or not os.path.isfile(yout):
            why = 'failed (status {0})'.format(proc.returncode) if proc.returncode else 'wrote no output file'
            print('verify: `{0}` {1}:\n{2}'.format(' '.join(cmd), why, proc.stdout.rstrip()), file=sys.stderr)
            return 4
        y = np.load(yout)
    if tuple(y.shape) != tuple(y_ref.shape):
        print('verify: ae2d output shape {0} != reference {1}'.format(tuple(y.shape), tuple(y_ref.shape)),
              file=sys.stderr)
        return 3
    diff = float(np.max(np.abs(y.astype(np.float64) - y_ref)))
    scale = float(np.max(np.abs(y_ref)))
    rel = diff / scale if scale > 0 else float('inf') if diff > 0 else 0.0
    tol = 1e-4 * scale
    ok = diff <= tol
    print('verify: input {0}, max|ref| = {1:.6g}, max abs diff = {2:.3e}, relative = {3:.3e} '
          '(tolerance 1e-4 * max|ref| = {4:.3e}): {5}'.format(
              _fmt_shape(shape), scale, diff, rel, tol, 'OK' if ok else 'FAIL'))
    return 0 if ok else 3


# ----------------------------------------------------------------------------
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('checkpoint', help='.pt/.pth state_dict, pickled model, training dict, or .safetensors')
    ap.add_argument('output', help='output .safetensors path')
    ap.add_argument('--arch', choices=sorted(ARCHS),
                    help='AE2d or UNet2d (default: the module class, the metadata, or read off the shapes)')
    ap.add_argument('--channel', type=int)
    ap.add_argument('--layers', help='comma-separated, e.g. 2,2,2,2')
    ap.add_argument('--block', help='plain or bottleneck')
    ap.add_argument('--kernel-size', help='3 or kh,kw e.g. 3,1')
    ap.add_argument('--in-planes', type=int)
    ap.add_argument('--out-planes', type=int)
    ap.add_argument('--output-mode', choices=list(output_modes.MODES),
                    help='the "output" metadata (default: the input file\'s, else raw)')
    ap.add_argument('--dtype', default='F32', choices=['F32', 'F16', 'BF16'])
    ap.add_argument('--verify', action='store_true', help='compare the ae2d CLI with the PyTorch reference')
    ap.add_argument('--ae2d', default=os.path.join('build', 'ae2d'), help='ae2d binary (default build/ae2d)')
    ap.add_argument('--verify-shape', help='B,C,H,W of the random input (default 1,in_planes,64,64)')
    ap.add_argument('--seed', type=int, default=0, help='seed of the random verification input')
    args = ap.parse_args(argv)
    torch.set_num_threads(min(2, torch.get_num_threads()))
    try:
        sd, meta, module_arch = load_checkpoint(args.checkpoint)
        cfg = resolve_config(args, sd, meta, module_arch)
        net = build_reference(cfg)
        tensors = validate(sd, net, cfg)
        out_dir = os.path.dirname(os.path.abspath(args.output))
        os.makedirs(out_dir, exist_ok=True)
        tmp = args.output + '.tmp'
        meta_out = metadata(cfg)
        mode = args.output_mode or (meta or {}).get('output', 'raw')
        if mode not in output_modes.MODES:
            raise ExportError('the checkpoint\'s metadata has output {0!r}; expected one of {1}'.format(
                mode, ', '.join(output_modes.MODES)))
        if mode != 'raw':
            if cfg['in_planes'] != cfg['out_planes']:
                raise ExportError('--output-mode {0} needs in_planes == out_planes, got {1} and {2}'.format(
                    mode, cfg['in_planes'], cfg['out_planes']))
            meta_out['output'] = mode
        args.mode = mode
        ref.save_safetensors(tmp, tensors, meta_out, dtype=args.dtype)
        os.replace(tmp, args.output)
        nparam = sum(int(t.numel()) for t in tensors.values())
        print('wrote {0}: {1}, {2} tensors, {3:,} parameters, {4}, {5:,} bytes'.format(
            args.output, describe(cfg), len(tensors), nparam, args.dtype, os.path.getsize(args.output)))
        if args.verify:
            return verify(args.output, cfg, args)
        return 0
    except ExportError as e:
        print('export_mdnc: error: {0}'.format(e), file=sys.stderr)
        return 1


if __name__ == '__main__':
    sys.exit(main())
