#!/usr/bin/python3
# -*- coding: UTF-8 -*-
'''PyTorch reference of the mdnc AE2d residual auto-encoder (test oracle).

Written from /work/shared/spec/ae2d-semantics.md (the authoritative network
definition), not from mdnc. It provides:

  * AE2d(channel, layers, block='bottleneck', kernel_size=3, in_planes=1,
    out_planes=1): an nn.Module whose state_dict keys/shapes are exactly the
    spec's names (conv_first.weight, conv_down_list.0.conv_list.0.conv1.0.weight,
    ..., conv_final.bias) and whose module classes are named like the seed's
    summary rows (AE2d, _BlockResStkNd, _BlockBottleneckNd, _BlockPlainNd and
    torch's Conv2d, InstanceNorm2d, PReLU, Upsample). `net.nlayers` as in mdnc.
  * summary_lines(net, input_chw): the mdnc/torchsummary table, as a list of
    lines (no "number of layers" line; see summary_text() for the seed layout).
  * the stacks' ex_planes / export_hidden options and center_crop_to(), which
    unet2d_ref.UNet2d builds on (AE2d uses neither option).
  * summary_text(net, input_chw): "The number of convolutional layers along the
    depth is N." + the table + trailing newline, i.e. the seed's Output block.
  * deepest_hw(...) / check_input_hw(...): input-size validity (> 1 element per IN plane).
  * save_safetensors(path, state_dict, metadata_or_None, dtype='F32'|'F16'|
    'BF16'|'F64') and load_safetensors(path) (hand-written format, no deps).

Self-check (needs tests/data/seed_summary.txt, written by make_fixtures.py):

    /usr/bin/python3 tests/reference/ae2d_ref.py

Regenerate all fixtures and summaries (uses this module):

    /usr/bin/python3 tests/reference/make_fixtures.py

Always use /usr/bin/python3 (Debian python3-torch 1.13 + python3-numpy).
'''

import json
import os
import struct

import numpy as np
import torch
import torch.nn as nn

__all__ = ['AE2d', 'summary_lines', 'summary_text', 'save_safetensors', 'load_safetensors',
           'kernel_params', 'deepest_hw', 'check_input_hw', 'round_state_dict']


# ----------------------------------------------------------------------------
# Configuration helpers
# ----------------------------------------------------------------------------
def _norm_kernel(kernel_size, arch='AE2d'):
    '''Validate kernel_size; return it as an int or a 2-tuple (kept as given).'''
    if isinstance(kernel_size, (list, tuple)):
        if len(kernel_size) != 2:
            raise ValueError('{0}: kernel_size must be an int or a pair (kh, kw), got {1!r}'.format(arch, kernel_size))
        ks = tuple(int(k) for k in kernel_size)
    else:
        ks = int(kernel_size)
    for k in (ks if isinstance(ks, tuple) else (ks,)):
        if k < 1:
            raise ValueError('{0}: kernel sizes must be positive, got {1!r}'.format(arch, kernel_size))
        if k % 2 == 0:
            raise ValueError('{0}: even kernel size {1!r} is not supported (the original module fails at '
                             'the residual add: shape off by one); use an odd kernel'.format(arch, kernel_size))
    return ks


def kernel_params(kernel_size, plus=0):
    '''(ksize, padding, stride) per the spec, as ints or 2-tuples like the input.

    plus=0: block kernel ks = k, ps = ks // 2, s = 2 if k > 1 else 1.
    plus=2: first/last kernel ke = k + 2 if k > 1 else 1, pe = ke // 2.
    '''
    def one(k):
        kk = k + plus if k > 1 else 1
        return kk, kk // 2, (2 if k > 1 else 1)
    kernel_size = _norm_kernel(kernel_size)
    if isinstance(kernel_size, tuple):
        r = [one(k) for k in kernel_size]
        return tuple(x[0] for x in r), tuple(x[1] for x in r), tuple(x[2] for x in r)
    return one(kernel_size)


def _pair(v):
    return tuple(v) if isinstance(v, (list, tuple)) else (v, v)


def _is_stride(stride):
    return any(s > 1 for s in _pair(stride))


def _block_depth(block, arch='AE2d'):
    b = block.casefold()
    if b == 'bottleneck':
        return 3
    if b == 'plain':
        return 2
    raise ValueError('{0}: block must be "plain" or "bottleneck", got {1!r}'.format(arch, block))


def _check_layers(layers, arch='AE2d'):
    '''layers as a list of ints: at least 2 entries, all positive.'''
    layers = [int(v) for v in layers]
    if len(layers) < 2:
        raise ValueError('{0}: layers must contain at least 2 values, got {1!r}'.format(arch, layers))
    if any(v < 1 for v in layers):
        raise ValueError('{0}: layers entries must be positive, got {1!r}'.format(arch, layers))
    return layers


# ----------------------------------------------------------------------------
# Building blocks
# ----------------------------------------------------------------------------
def _unit(cin, cout, k, s, p, direction='down'):
    '''U(cin, cout, k, s, p, dir): IN(cin) -> PReLU(cin) -> [Upsample] -> Conv.'''
    seq = [nn.InstanceNorm2d(cin, eps=1e-5, affine=True, track_running_stats=False),
           nn.PReLU(num_parameters=cin)]
    if direction == 'up' and _is_stride(s):
        seq.append(nn.Upsample(scale_factor=_pair(s), mode='bilinear', align_corners=True))
        seq.append(nn.Conv2d(cin, cout, kernel_size=k, stride=1, padding=p, bias=False))
    else:
        seq.append(nn.Conv2d(cin, cout, kernel_size=k, stride=s, padding=p, bias=False))
    return nn.Sequential(*seq)


def _shortcut(cin, cout, s, direction='down'):
    '''S(cin, cout, s, dir), or None for the identity.

    Note: in the 'up' direction the Upsample is present whenever the shortcut
    exists, even with stride 1 (k = 1 nets: scale factor (1, 1), an identity),
    exactly as the spec writes it ("[Upsample(x s) if dir = up]"), so its Conv
    is index 1 and its InstanceNorm index 2 there.
    '''
    if not (_is_stride(s) or cin != cout):
        return None
    seq = []
    if direction == 'up':
        seq.append(nn.Upsample(scale_factor=_pair(s), mode='bilinear', align_corners=True))
        seq.append(nn.Conv2d(cin, cout, kernel_size=1, stride=1, padding=0, bias=False))
    else:
        seq.append(nn.Conv2d(cin, cout, kernel_size=1, stride=s, padding=0, bias=False))
    seq.append(nn.InstanceNorm2d(cout, eps=1e-5, affine=True, track_running_stats=False))
    return nn.Sequential(*seq)


class _BlockPlainNd(nn.Module):
    def __init__(self, cin, cout, ks, ps, stride=1, direction='down'):
        super().__init__()
        self.conv1 = _unit(cin, cin, ks, 1, ps)
        self.conv2 = _unit(cin, cout, ks, stride, ps, direction)
        self.in_node = _shortcut(cin, cout, stride, direction)

    def forward(self, x):
        res = self.conv2(self.conv1(x))
        bch = self.in_node(x) if self.in_node is not None else x
        return res + bch


class _BlockBottleneckNd(nn.Module):
    def __init__(self, cin, cout, ks, ps, stride=1, direction='down'):
        super().__init__()
        self.conv1 = _unit(cin, cin, 1, 1, 0)
        self.conv2 = _unit(cin, cin, ks, stride, ps, direction)
        self.conv3 = _unit(cin, cout, 1, 1, 0)
        self.in_node = _shortcut(cin, cout, stride, direction)

    def forward(self, x):
        res = self.conv3(self.conv2(self.conv1(x)))
        bch = self.in_node(x) if self.in_node is not None else x
        return res + bch


def center_crop_to(x, ref_hw):
    '''x cropped per spatial axis to g = min(size, ref), starting at (size - g) // 2.'''
    sl = [Ellipsis]
    for size, ref in zip(x.shape[2:], ref_hw):
        g = min(size, ref)
        st = (size - g) // 2
        sl.append(slice(st, st + g))
    return x[tuple(sl)]


class _BlockResStkNd(nn.Module):
    '''Stack(cin, cout, hidden h, m levels, s, dir) of the spec, with UNet2d's two options.

    ex_planes > 0 (UNet2d decoder stacks): forward(x, x_sk) crops x and x_sk to their common
    spatial size (each centred in its own), concatenates them along channels, x first, and runs
    the blocks on cin + ex_planes channels (conv_list[0], or conv_scale when m = 1, and its
    shortcut read that width).
    export_hidden (UNet2d encoder stacks): forward returns (output, the tensor that entered
    conv_scale), the latter being the stack's own input when m = 1.
    '''

    def __init__(self, cin, cout, block, ks, ps, stride, levels, hidden=None, direction='down',
                 ex_planes=0, export_hidden=False):
        super().__init__()
        if levels < 1:
            raise ValueError('AE2d: every entry of layers must be >= 1')
        Block = _BlockBottleneckNd if block.casefold() == 'bottleneck' else _BlockPlainNd
        h = hidden if hidden else cout
        self.ex_planes = int(ex_planes)
        self.export_hidden = bool(export_hidden)
        first_in = cin + self.ex_planes
        self.conv_list = nn.ModuleList()
        for i in range(levels - 1):
            self.conv_list.append(Block(first_in if i == 0 else h, h, ks, ps, stride=1, direction='down'))
        self.conv_scale = Block(h if levels > 1 else first_in, cout, ks, ps, stride=stride, direction=direction)

    def forward(self, x, x_sk=None):
        if self.ex_planes:
            if x_sk is None:
                raise ValueError('_BlockResStkNd: a stack with ex_planes = {0} takes a skip tensor'.format(
                    self.ex_planes))
            common = [min(a, b) for a, b in zip(x.shape[2:], x_sk.shape[2:])]
            x = torch.cat((center_crop_to(x, common), center_crop_to(x_sk, common)), dim=1)
        elif x_sk is not None:
            raise ValueError('_BlockResStkNd: a stack without ex_planes takes no skip tensor')
        for layer in self.conv_list:
            x = layer(x)
        out = self.conv_scale(x)
        return (out, x) if self.export_hidden else out


def _nlayers(layers, block_depth):
    return block_depth * layers[-1] + sum(2 * block_depth * v for v in layers[:-1]) + 2


class AE2d(nn.Module):
    def __init__(self, channel, layers, block='bottleneck', kernel_size=3, in_planes=1, out_planes=1):
        super().__init__()
        layers = _check_layers(layers)
        self._layers = layers
        self._block_depth = _block_depth(block)
        self.kernel_size = _norm_kernel(kernel_size)
        ke, pe, _ = kernel_params(self.kernel_size, plus=2)
        ks, ps, s = kernel_params(self.kernel_size)
        self.stride = s
        C = channel
        self.conv_first = nn.Conv2d(in_planes, C, kernel_size=ke, stride=1, padding=pe, bias=False)
        self.conv_down_list = nn.ModuleList()
        self.conv_up_list = nn.ModuleList()
        self.conv_down_list.append(_BlockResStkNd(C, C, block, ks, ps, s, layers[0], direction='down'))
        c = C
        for m in layers[1:-1]:
            self.conv_down_list.append(_BlockResStkNd(c, 2 * c, block, ks, ps, s, m, direction='down'))
            c *= 2
        self.conv_middle_up = _BlockResStkNd(c, c, block, ks, ps, s, layers[-1], hidden=2 * c, direction='up')
        for m in layers[-2:0:-1]:
            self.conv_up_list.append(_BlockResStkNd(c, c // 2, block, ks, ps, s, m, hidden=c, direction='up'))
            c //= 2
        self.conv_up_list.append(_BlockResStkNd(c, c, block, ks, ps, 1, layers[0], hidden=c, direction='down'))
        self.conv_final = nn.Conv2d(c, out_planes, kernel_size=ke, stride=1, padding=pe, bias=True)

    @property
    def nlayers(self):
        return _nlayers(self._layers, self._block_depth)

    @staticmethod
    def cropping(x, ref_hw):
        return center_crop_to(x, ref_hw)

    def forward(self, x):
        x = self.conv_first(x)
        route = []
        for layer in self.conv_down_list:
            route.append(tuple(x.shape[2:]))
            x = layer(x)
        x = self.conv_middle_up(x)
        route.reverse()
        for layer, ref in zip(self.conv_up_list, route):
            x = self.cropping(x, ref)
            x = layer(x)
        return self.conv_final(x)


# ----------------------------------------------------------------------------
# Input size limits
# ----------------------------------------------------------------------------
def deepest_hw(layers, kernel_size, H, W):
    '''Spatial size at the deepest level for an H x W input.

    Every InstanceNorm plane must hold more than one element. The smallest
    planes are at the deepest level, reached after len(layers) - 1 stride-s
    convolutions; with the odd kernels and "same" padding used here each maps
    n to floor((n - 1) / s) + 1 = ceil(n / s).
    '''
    _, _, s = kernel_params(kernel_size)
    sh, sw = _pair(s)
    for _ in range(len(layers) - 1):
        H = (H - 1) // sh + 1
        W = (W - 1) // sw + 1
    return H, W


def check_input_hw(layers, kernel_size, H, W):
    '''Raise ValueError if some InstanceNorm plane would have a single element.'''
    h, w = deepest_hw(layers, kernel_size, H, W)
    if h * w <= 1:
        raise ValueError('AE2d: input {0}x{1} is too small: the deepest level is {2}x{3} (needs > 1 '
                         'element per instance-norm plane)'.format(H, W, h, w))


# ----------------------------------------------------------------------------
# torchsummary (mdnc.contribs.torchsummary layout)
# ----------------------------------------------------------------------------
def summary_lines(net, input_chw):
    '''The mdnc torchsummary table for `net` on one input of shape (C, H, W).

    Rows in forward-hook completion order for every module except
    Sequential/ModuleList (the network itself included), named Class-N; a name
    over 20 characters is shown as first 8 + '...' + last 9; batch shown as -1;
    sizes in MB assume 4 bytes per number; "Forward/backward pass size" counts
    each row's output twice.

    A module that returns a tuple (UNet2d's encoder stacks: output, skip) shows
    its first output's shape on its row and each further output on a line of
    its own with empty name and parameter columns (trailing spaces included),
    and every output counts in the pass size, as mdnc.contribs.torchsummary
    prints it. AE2d modules return single tensors only.
    '''
    rows = []
    hooks = []

    def hook(module, inp, out):
        name = '{0}-{1}'.format(type(module).__name__, len(rows) + 1)
        outs = out if isinstance(out, (list, tuple)) else (out,)
        shapes = [[-1] + list(o.shape[1:]) for o in outs]
        nb = sum(int(np.prod(list(p.shape))) for p in module.parameters(recurse=False))
        nbt = sum(int(np.prod(list(p.shape))) for p in module.parameters(recurse=False) if p.requires_grad)
        rows.append((name, shapes, nb, nbt))

    for m in net.modules():
        if not isinstance(m, (nn.Sequential, nn.ModuleList)):
            hooks.append(m.register_forward_hook(hook))
    try:
        p = next(net.parameters())
        x = torch.rand(2, *input_chw, dtype=p.dtype, device=p.device)
        with torch.no_grad():
            net(x)
    finally:
        for h in hooks:
            h.remove()

    fmt = '{:>20}  {:>25} {:>15}'
    lines = ['-' * 64, fmt.format('Layer (type)', 'Output Shape', 'Param #'), '=' * 64]
    total_params = trainable = total_output = 0
    for name, shapes, nb, nbt in rows:
        disp = '{0}...{1}'.format(name[:8], name[-9:]) if len(name) > 20 else name
        lines.append(fmt.format(disp, str(shapes[0]), '{0:,}'.format(nb)))
        lines += [fmt.format('', str(shape), '') for shape in shapes[1:]]
        total_params += nb
        trainable += nbt
        for shape in shapes:
            total_output += int(np.prod(shape))  # negative (batch -1); abs() below, as torchsummary
    total_input_size = abs(int(np.prod(input_chw)) * -1 * 4. / (1024 ** 2.))
    total_output_size = abs(2. * total_output * 4. / (1024 ** 2.))
    total_params_size = abs(total_params * 4. / (1024 ** 2.))
    total_size = total_params_size + total_output_size + total_input_size
    lines += ['=' * 64,
              'Total params: {0:,}'.format(total_params),
              'Trainable params: {0:,}'.format(trainable),
              'Non-trainable params: {0:,}'.format(total_params - trainable),
              '-' * 64,
              'Input size (MB): %0.2f' % total_input_size,
              'Forward/backward pass size (MB): %0.2f' % total_output_size,
              'Params size (MB): %0.2f' % total_params_size,
              'Estimated Total Size (MB): %0.2f' % total_size,
              '-' * 64]
    return lines


def summary_text(net, input_chw):
    '''The seed's Output block: nlayers sentence, then the table, newline-terminated.'''
    head = 'The number of convolutional layers along the depth is {0}.'.format(net.nlayers)
    return '\n'.join([head] + summary_lines(net, input_chw)) + '\n'


# ----------------------------------------------------------------------------
# safetensors (hand-written)
# ----------------------------------------------------------------------------
_ST_DTYPES = {'F32': torch.float32, 'F16': torch.float16, 'BF16': torch.bfloat16, 'F64': torch.float64}


def round_state_dict(state_dict, dtype):
    '''Round every tensor to the storage dtype, returned as float64 tensors.'''
    td = _ST_DTYPES[dtype]
    return {k: v.detach().to(td).to(torch.float64) for k, v in state_dict.items()}


def _tensor_bytes(t, dtype):
    t = t.detach().cpu().contiguous().to(_ST_DTYPES[dtype])
    if dtype == 'BF16':
        arr = t.view(torch.int16).numpy().astype('<i2')
    else:
        arr = t.numpy()
        arr = arr.astype(arr.dtype.newbyteorder('<'))
    return arr.tobytes()


def save_safetensors(path, state_dict, metadata=None, dtype='F32'):
    '''Write `state_dict` (name -> tensor, in its order) as a safetensors file.

    Header: u64 LE length N, then N bytes of JSON padded with spaces to a
    multiple of 8; then raw little-endian data, contiguous and in order.
    metadata: None (no "__metadata__" key) or a dict of str -> str.
    '''
    if dtype not in _ST_DTYPES:
        raise ValueError('save_safetensors: dtype must be one of {0}'.format(sorted(_ST_DTYPES)))
    header = {}
    blobs = []
    off = 0
    for name, t in state_dict.items():
        b = _tensor_bytes(t, dtype)
        header[name] = {'dtype': dtype, 'shape': [int(v) for v in t.shape], 'data_offsets': [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    if metadata is not None:
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
            raise ValueError('save_safetensors: metadata must map str to str')
        header['__metadata__'] = dict(metadata)
    hj = json.dumps(header, separators=(',', ':')).encode('utf-8')
    hj += b' ' * ((-len(hj)) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(hj)))
        f.write(hj)
        for b in blobs:
            f.write(b)


def load_safetensors(path):
    '''Read a safetensors file: returns (dict name -> float64 tensor, metadata or None).'''
    with open(path, 'rb') as f:
        raw = f.read()
    n = struct.unpack('<Q', raw[:8])[0]
    header = json.loads(raw[8:8 + n].decode('utf-8'))
    data = raw[8 + n:]
    meta = header.pop('__metadata__', None)
    out = {}
    for name, info in header.items():
        b, e = info['data_offsets']
        chunk = data[b:e]
        dt = info['dtype']
        if dt == 'BF16':
            i16 = torch.from_numpy(np.frombuffer(chunk, dtype='<i2').copy())
            t = i16.view(torch.bfloat16)
        else:
            npdt = {'F32': '<f4', 'F16': '<f2', 'F64': '<f8'}[dt]
            t = torch.from_numpy(np.frombuffer(chunk, dtype=npdt).astype(npdt[1:]))
        out[name] = t.to(torch.float64).reshape(info['shape'])
    return out, meta


# ----------------------------------------------------------------------------
# Self-check against the seed
# ----------------------------------------------------------------------------
def _main():
    here = os.path.dirname(os.path.abspath(__file__))
    seed = os.path.join(here, '..', 'data', 'seed_summary.txt')
    net = AE2d(64, [2, 2, 2, 2, 3], in_planes=3, out_planes=1)
    got = summary_text(net, (3, 64, 63))
    with open(seed, 'r') as f:
        want = f.read()
    gl, wl = got.splitlines(), want.splitlines()
    bad = [i for i in range(max(len(gl), len(wl))) if i >= len(gl) or i >= len(wl) or gl[i] != wl[i]]
    if bad:
        i = bad[0]
        print('MISMATCH at line {0}:\n got: {1!r}\nwant: {2!r}'.format(
            i + 1, gl[i] if i < len(gl) else None, wl[i] if i < len(wl) else None))
        raise SystemExit(1)
    print('seed summary reproduced exactly ({0} lines)'.format(len(wl)))


if __name__ == '__main__':
    _main()
