#!/usr/bin/python3
# -*- coding: UTF-8 -*-
'''PyTorch reference of the mdnc UNet2d residual U-Net (test oracle).

Written from /work/shared/spec/unet2d-semantics.md: UNet2d is AE2d with block-level skip
connections, so it is built from ae2d_ref's units, blocks and stacks (the stacks' ex_planes and
export_hidden options). It provides:

  * UNet2d(channel, layers, block='bottleneck', kernel_size=3, in_planes=1, out_planes=1):
    an nn.Module with AE2d's parameter names and registration order, `net.nlayers` as AE2d's.
    The decoder stacks' first blocks read twice their stack's input channels, so besides the
    wider shapes they have a shortcut conv (in_node) where AE2d's block is an identity.
    Configurations the original cannot run (layers[j] = 1 for 1 <= j <= n-2) raise ValueError.
  * unet_layers_error(channel, layers): that refusal's reason, or None.
  * arch_from_shapes(shapes): 'UNet2d' or 'AE2d' for a state_dict without metadata, by the
    spec's rule (decoder stacks' first blocks read twice their stack's input channels).
  * ae2d_ref's summary_lines / summary_text work on UNet2d too (the encoder stacks' second
    output, the skip tensor, gets a line of its own, as mdnc's torchsummary prints it).

Self-check of the spec's reference figures:

    /usr/bin/python3 tests/reference/unet2d_ref.py
'''

import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ae2d_ref import (_BlockResStkNd, _block_depth, _check_layers, _nlayers, _norm_kernel,  # noqa: E402
                      kernel_params, summary_text)

__all__ = ['UNet2d', 'unet_layers_error', 'arch_from_shapes']


def unet_layers_error(channel, layers):
    '''Why the original UNet2d cannot run `layers` (a str), or None when it can.

    With layers[j] = 1 for some 1 <= j <= n-2, encoder stack j (channel * 2**(j-1) ->
    channel * 2**j) has no conv_list block, so it exports its own input as the skip tensor,
    with half the channels that the decoder stack taking it (conv_up_list.{n-2-j}) was built
    for; the original module then fails at that stack's first instance norm. layers[0] = 1 is
    fine (encoder stack 0 keeps the channel count) and layers[n-1] (the middle stack) exports
    nothing.
    '''
    layers = [int(v) for v in layers]
    bad = [j for j in range(1, len(layers) - 1) if layers[j] == 1]
    if not bad:
        return None
    j, n = bad[0], len(layers)
    return ('layers[{0}] = 1 cannot run as a UNet2d (layers = {1}): encoder stack conv_down_list.{0} then '
            'exports its own input ({2} channels) as the skip tensor while conv_up_list.{3}, which takes it, '
            'expects {4}, and the original module fails at that stack\'s first instance norm; every layers[j] '
            'with 1 <= j <= n-2 must be >= 2 (layers[0] and layers[n-1] may be 1)'.format(
                j, layers, channel * 2 ** (j - 1), n - 2 - j, channel * 2 ** j))


class UNet2d(nn.Module):
    '''AE2d with block-level skip connections (unet2d-semantics.md).

    AE2d's modules, parameter names and registration order; the encoder stacks export the
    tensor that entered their conv_scale, and every decoder stack concatenates the matching one
    (in reverse order) after its input, so its first block reads twice its input channels and,
    its input and output widths now differing, has a shortcut conv (in_node) in every case.
    '''

    def __init__(self, channel, layers, block='bottleneck', kernel_size=3, in_planes=1, out_planes=1):
        super().__init__()
        layers = _check_layers(layers, 'UNet2d')
        why = unet_layers_error(channel, layers)
        if why:
            raise ValueError('UNet2d: ' + why)
        self._layers = layers
        self._block_depth = _block_depth(block, 'UNet2d')
        self.kernel_size = _norm_kernel(kernel_size, 'UNet2d')
        ke, pe, _ = kernel_params(self.kernel_size, plus=2)
        ks, ps, s = kernel_params(self.kernel_size)
        self.stride = s
        C = channel
        self.conv_first = nn.Conv2d(in_planes, C, kernel_size=ke, stride=1, padding=pe, bias=False)
        self.conv_down_list = nn.ModuleList()
        self.conv_up_list = nn.ModuleList()
        self.conv_down_list.append(_BlockResStkNd(C, C, block, ks, ps, s, layers[0], direction='down',
                                                  export_hidden=True))
        c = C
        for m in layers[1:-1]:
            self.conv_down_list.append(_BlockResStkNd(c, 2 * c, block, ks, ps, s, m, direction='down',
                                                      export_hidden=True))
            c *= 2
        self.conv_middle_up = _BlockResStkNd(c, c, block, ks, ps, s, layers[-1], hidden=2 * c, direction='up')
        for m in layers[-2:0:-1]:
            self.conv_up_list.append(_BlockResStkNd(c, c // 2, block, ks, ps, s, m, hidden=c, direction='up',
                                                    ex_planes=c))
            c //= 2
        self.conv_up_list.append(_BlockResStkNd(c, c, block, ks, ps, 1, layers[0], hidden=c, direction='down',
                                                ex_planes=c))
        self.conv_final = nn.Conv2d(c, out_planes, kernel_size=ke, stride=1, padding=pe, bias=True)

    @property
    def nlayers(self):
        return _nlayers(self._layers, self._block_depth)

    def forward(self, x):
        x = self.conv_first(x)
        skips = []
        for layer in self.conv_down_list:
            x, x_sk = layer(x)
            skips.append(x_sk)
        x = self.conv_middle_up(x)
        for layer, x_sk in zip(self.conv_up_list, reversed(skips)):
            x = layer(x, x_sk)
        return self.conv_final(x)


def _shape(v):
    return tuple(int(d) for d in (v.shape if hasattr(v, 'shape') else v))


def arch_from_shapes(shapes):
    ''''UNet2d' or 'AE2d' for a state_dict (name -> tensor or shape) without metadata; None
    when neither fits.

    The spec's rule: a UNet2d's decoder stacks' first blocks (conv_list.0, or conv_scale when
    the stack has one level) read twice their stack's input channels, an AE2d's read them once.
    Decoder stack k of n - 1 takes channel * 2**(n-2-k) channels; every block's conv1 starts with
    an instance norm over its input channels.
    '''
    first = shapes.get('conv_first.weight')
    if first is None or len(_shape(first)) != 4:
        return None
    channel = _shape(first)[0]
    n_up = 0
    while any(k.startswith('conv_up_list.{0}.'.format(n_up)) for k in shapes):
        n_up += 1
    if n_up == 0:
        return None
    reads = []
    for k in range(n_up):
        stack = 'conv_up_list.{0}.'.format(k)
        block = stack + ('conv_list.0.' if any(n.startswith(stack + 'conv_list.0.') for n in shapes)
                         else 'conv_scale.')
        norm = shapes.get(block + 'conv1.0.weight')
        if norm is None:
            return None
        reads.append(_shape(norm)[0] / float(channel * 2 ** (n_up - 1 - k)))
    if all(r == 2 for r in reads):
        return 'UNet2d'
    if all(r == 1 for r in reads):
        return 'AE2d'
    return None


# ----------------------------------------------------------------------------
# Self-check against the spec's reference figures
# ----------------------------------------------------------------------------
SPEC_SHAPES = {  # unet2d-semantics.md, UNet2d(8, [2, 2, 3]), bottleneck
    'conv_up_list.0.conv_list.0.conv1.0.weight': (32,),
    'conv_up_list.0.conv_list.0.conv1.2.weight': (32, 32, 1, 1),
    'conv_up_list.0.conv_list.0.conv2.2.weight': (32, 32, 3, 3),
    'conv_up_list.0.conv_list.0.conv3.2.weight': (16, 32, 1, 1),
    'conv_up_list.0.conv_list.0.in_node.0.weight': (16, 32, 1, 1),
    'conv_up_list.1.conv_list.0.conv1.2.weight': (16, 16, 1, 1),
}


def self_check():
    '''The spec's figures, output shapes and refusals; returns a list of failures (empty: all good).'''
    from ae2d_ref import AE2d
    bad = []
    net = UNet2d(8, [2, 2, 3], block='bottleneck', in_planes=1, out_planes=2)
    nparam = sum(p.numel() for p in net.parameters())
    text = summary_text(net, (1, 37, 45))
    lines = text.splitlines()
    table = [i for i, l in enumerate(lines) if l == '=' * 64]
    rows = [l for l in lines[table[0] + 1:table[1]] if l[:20].strip()]  # skip-tensor lines have no name
    if net.nlayers != 35:
        bad.append('nlayers {0} != 35'.format(net.nlayers))
    if nparam != 51722:
        bad.append('parameters {0} != 51,722'.format(nparam))
    if len(rows) != 138 or not rows[-1].split()[0] == 'UNet2d-138':
        bad.append('{0} summary rows ending in {1!r}, want 138 ending in UNet2d-138'.format(
            len(rows), rows[-1].split()[0] if rows else None))
    if 'Total params: 51,722' not in lines:
        bad.append('summary total is not 51,722')
    sd = net.state_dict()
    for k, want in SPEC_SHAPES.items():
        got = tuple(sd[k].shape) if k in sd else None
        if got != want:
            bad.append('{0}: {1} != {2}'.format(k, got, want))
    ae = AE2d(8, [2, 2, 3], block='bottleneck', in_planes=1, out_planes=2).state_dict()
    extra = [k for k in sd if k not in ae]
    if [k for k in ae if k not in sd] or any('.in_node.' not in k for k in extra):
        bad.append('keys are not AE2d\'s plus decoder shortcuts: {0}'.format(extra))
    if arch_from_shapes(sd) != 'UNet2d' or arch_from_shapes(ae) != 'AE2d':
        bad.append('arch_from_shapes: {0} / {1}'.format(arch_from_shapes(sd), arch_from_shapes(ae)))
    for ch, layers, block, ks, shape in [(4, [2, 2, 3], 'bottleneck', 3, (2, 1, 37, 45)),
                                         (4, [1, 2, 1], 'plain', [3, 1], (1, 1, 33, 5)),
                                         (4, [2, 2, 2, 2, 1], 'plain', 3, (1, 1, 1, 40)),
                                         (4, [2, 2], 'bottleneck', 5, (1, 1, 15, 12)),
                                         (4, [2, 1], 'plain', 1, (1, 1, 9, 7))]:
        y = UNet2d(ch, layers, block=block, kernel_size=ks, out_planes=3)(torch.randn(*shape))
        if tuple(y.shape) != (shape[0], 3) + shape[2:]:
            bad.append('UNet2d({0}, {1}, kernel_size={2}) on {3}: output {4}'.format(
                ch, layers, ks, shape, tuple(y.shape)))
    for layers in ([2, 1, 2], [2, 2, 1, 3], [1, 1, 1]):
        try:
            UNet2d(4, layers)
            bad.append('UNet2d(4, {0}) was not refused'.format(layers))
        except ValueError as e:
            if 'layers[' not in str(e):
                bad.append('UNet2d(4, {0}): unclear refusal {1!r}'.format(layers, str(e)))
    return bad


def _main():
    torch.manual_seed(0)
    bad = self_check()
    for b in bad:
        print('MISMATCH: ' + b)
    if bad:
        raise SystemExit(1)
    print('UNet2d reference figures reproduced (35 layers, 51,722 parameters, 138 rows, UNet2d-138)')


if __name__ == '__main__':
    _main()
