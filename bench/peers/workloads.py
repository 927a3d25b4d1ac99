# -*- coding: UTF-8 -*-
'''Workload names and shapes shared by export_workloads.py and run_peers.py (no torch import).

A workload is one network (with its fixed random weights) on one input shape. The named
workloads W1-W4 are the AE2d ones the tables were tuned and reported on; W5 and W6 are UNet2d
networks (the seed's network with skips, and W2's). Any other input shape
on one of their networks is a shape workload named `<model>-<B>x<C>x<H>x<W>`, e.g.
`bneck4-1x1x240x320` is W2's network (same weights) on a 1x1x240x320 input.
'''

import os
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, '..', '..'))
WORK = os.path.join(ROOT, 'bench', 'work')

# model name -> (network kwargs, weight seed); kwargs['arch'] names the class, AE2d when absent
MODELS = {
    'seed': (dict(channel=64, layers=[2, 2, 2, 2, 3], block='bottleneck', kernel_size=3,
                  in_planes=3, out_planes=1), 5001),
    'bneck4': (dict(channel=64, layers=[2, 2, 2, 2], block='bottleneck', kernel_size=3,
                    in_planes=1, out_planes=1), 5002),
    'plain3': (dict(channel=64, layers=[2, 1, 1], block='plain', kernel_size=3,
                    in_planes=1, out_planes=1), 5003),
    'unet_seed': (dict(arch='UNet2d', channel=64, layers=[2, 2, 2, 2, 3], block='bottleneck', kernel_size=3,
                       in_planes=3, out_planes=1), 5004),
    'unet_bneck4': (dict(arch='UNet2d', channel=64, layers=[2, 2, 2, 2], block='bottleneck', kernel_size=3,
                         in_planes=1, out_planes=1), 5005),
}

# workload -> (model name, input shape B, C, H, W, input seed)
WORKLOADS = {
    'W1': ('seed', (1, 3, 64, 63), 6001),
    'W2': ('bneck4', (1, 1, 256, 256), 6002),
    'W3': ('bneck4', (4, 1, 256, 256), 6003),
    'W4': ('plain3', (1, 1, 512, 512), 6004),
    'W5': ('unet_seed', (1, 3, 64, 63), 6005),
    'W6': ('unet_bneck4', (1, 1, 256, 256), 6006),
}

# The sweep of sizes the schedule tables were not tuned on (the tuned ones: 64x63, 256x256,
# 512x512): non-square, odd, 64 to 1024 pixels a side, batch 1 and 4. C is the network's.
SWEEP_NETWORKS = ['W2', 'W4']
SWEEP_SHAPES = ['1x97x131', '1x150x150', '4x96x96', '1x240x320', '4x127x200', '1x64x1000',
                '1x333x500', '4x200x300', '1x480x640', '1x720x540', '1x768x1024', '1x1023x767']

# the network's label in tables: the first named workload that uses it
NETWORK_LABEL = {}
for _w, (_m, _s, _seed) in sorted(WORKLOADS.items()):
    NETWORK_LABEL.setdefault(_m, _w + ' net')


def arch_of(cfg):
    ''''AE2d' or 'UNet2d': the class of a MODELS configuration.'''
    return cfg.get('arch', 'AE2d')


def net_kwargs(cfg):
    '''A MODELS configuration as the class's constructor arguments (without arch).'''
    return {k: v for k, v in cfg.items() if k != 'arch'}


def model_of(network):
    '''A network given as a named workload (W2) or a model name (bneck4) -> model name.'''
    if network in WORKLOADS:
        return WORKLOADS[network][0]
    if network in MODELS:
        return network
    raise ValueError('unknown network {0!r} (one of {1} or {2})'.format(
        network, ', '.join(WORKLOADS), ', '.join(MODELS)))


def parse_shape(spec, in_planes):
    '''"BxCxHxW" or "BxHxW" (C = the network's in_planes) -> (B, C, H, W).'''
    try:
        v = [int(p) for p in spec.lower().split('x')]
    except ValueError:
        v = []
    if len(v) == 3:
        v = [v[0], in_planes, v[1], v[2]]
    if len(v) != 4 or min(v) < 1:
        raise ValueError('bad shape {0!r}: expected BxCxHxW or BxHxW with positive sizes'.format(spec))
    if v[1] != in_planes:
        raise ValueError('shape {0!r}: the network takes {1} input plane(s), not {2}'.format(spec, in_planes, v[1]))
    return tuple(v)


def shape_name(model, shape):
    return '{0}-{1}'.format(model, 'x'.join(str(v) for v in shape))


def shape_seed(name):
    '''A fixed input seed per shape workload, from its name.'''
    return 100000 + zlib.crc32(name.encode('utf-8')) % 900000


def resolve(workloads=(), networks=(), shapes=()):
    '''Ordered dict name -> (model, shape, input seed) for named workloads plus every shape of
    `shapes` on every network of `networks`. Raises ValueError on unknown names or bad shapes.'''
    out = {}
    for w in workloads:
        if w not in WORKLOADS:
            raise ValueError('unknown workload {0!r} (one of {1})'.format(w, ', '.join(WORKLOADS)))
        out[w] = WORKLOADS[w]
    if shapes and not networks:
        raise ValueError('--shapes needs --network (e.g. --network W2)')
    for net in networks:
        model = model_of(net)
        for spec in shapes:
            shape = parse_shape(spec, MODELS[model][0]['in_planes'])
            name = shape_name(model, shape)
            out[name] = (model, shape, shape_seed(name))
    return out


def split_list(s):
    '''"a,b, c" -> ['a', 'b', 'c'] (shapes too: 1x1x240x320,4x1x96x96).'''
    return [p.strip() for p in (s or '').split(',') if p.strip()]


def add_selection_args(ap, default_workloads):
    """--workloads / --network / --shapes / --sweep, shared with run_peers.py."""
    ap.add_argument('--workloads', default=None,
                    help='comma-separated named workloads, of ' + ','.join(WORKLOADS) +
                    ' (default {0}, none when --shapes is given)'.format(default_workloads or 'none'))
    ap.add_argument('--network', '--networks', dest='networks', default=None,
                    help='network(s) for --shapes: a named workload (W2: its network and weights) '
                    'or a model ({0}); comma-separated'.format(', '.join(MODELS)))
    ap.add_argument('--shapes', '--shape', dest='shapes', default=None,
                    help='input shapes BxCxHxW or BxHxW (C = the network\'s), comma-separated, '
                    'e.g. 1x1x240x320,4x1x127x200')
    ap.add_argument('--sweep', action='store_true',
                    help='the sweep: networks {0} on {1} sizes the tables were not tuned on '
                    '(bench/peers/workloads.py); --network/--shapes override either list'.format(
                        ','.join(SWEEP_NETWORKS), len(SWEEP_SHAPES)))


def selected_workloads(ap, args, default_workloads):
    """Resolve the selection arguments to an ordered dict name -> (model, shape, seed)."""
    networks = split_list(args.networks)
    shapes = split_list(args.shapes)
    if args.sweep:
        networks = networks or list(SWEEP_NETWORKS)
        shapes = shapes or list(SWEEP_SHAPES)
    if args.workloads is not None:
        named = split_list(args.workloads)
    else:
        named = [] if (shapes or networks) else split_list(default_workloads)
    if networks and not shapes:
        ap.error('--network needs --shapes (or --sweep)')
    try:
        sel = resolve(named, networks, shapes)
    except ValueError as e:
        ap.error(str(e))
    if not sel:
        ap.error('no workload selected')
    return sel


def missing_files(name, f64=True):
    """The files of workload `name` not in bench/work/ (for --missing and run_peers.py)."""
    exts = ['.safetensors', '.onnx', '.input.npy', '.torch_out.npy'] + (['.torch64_out.npy'] if f64 else [])
    return [name + e for e in exts if not os.path.exists(os.path.join(WORK, name + e))]
