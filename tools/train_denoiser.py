#!/usr/bin/python3
# -*- coding: UTF-8 -*-
'''Train a small AE2d Gaussian denoiser on synthetic images; write the sample images.

Usage (from the repository root; Debian python3-torch + python3-numpy):

    /usr/bin/python3 tools/train_denoiser.py                 # train, save, samples, table
    /usr/bin/python3 tools/train_denoiser.py --samples-only  # re-make samples/, evaluate the saved model
    /usr/bin/python3 tools/train_denoiser.py --iters 200 --out /tmp/d.safetensors --no-samples

What it does (everything seeded, so a run is reproducible for a given thread count):

  * Training data is generated procedurally (numpy, seed TRAIN_SEED): gray backgrounds with
    smooth gradients, overlapping rotated ellipses / rectangles / convex polygons / thin bars with
    random gray levels, gradient or sinusoidal-stripe fills and random edge softness; one image in
    five is instead a flat background with thin bars of one ink level (render_strokes). Each step draws
    fresh images: first (--small-frac of the steps) batches of 16 images of 64 x 64, then batches
    of 4 images of 128 x 128, the size of the samples. The noisy input is clean + N(0, (25/255)^2),
    clipped to [0, 1] and quantized to 8 bits, exactly like the sample images.
  * The network is the reference AE2d (tests/reference/ae2d_ref.py) and predicts the clean image
    directly (mdnc's AE2d has no global skip; `ae2d run` only runs the network). It starts near a
    smooth pass-through (identity-like shortcut convolutions, down-scaled residual branches).
  * Why two sizes: every unit of AE2d starts with an instance norm, so the network never sees the
    absolute gray level of the image directly; it can only infer it from the zero padding at the
    image border (and from the clipping of the noise at 0 and 1), and that cue depends on the
    image size. Small images teach the denoising quickly; the last phase calibrates the gray level
    for 128 x 128 inputs. On inputs of very different size the output may be brighter or darker.
  * The model is saved as F32 safetensors with the mdnc configuration in __metadata__
    (arch, channel, layers, block, kernel_size, in_planes, out_planes as strings).
  * samples/: 128 x 128 images of a different seed (SAMPLE_SEED) and generator (busier shapes,
    a scene, a text-like page, a checkerboard/rings chart), written as 8-bit gray PNG:
    samples/clean/<name>.png, samples/noisy/<name>.png (noise seed NOISE_SEED + index) and
    samples/denoised/<name>.png (the model's output, clamped, 8-bit). samples/README.md gets the
    table of PSNR(noisy), PSNR(denoised) and the gain, computed with the PyTorch reference on the
    8-bit noisy PNG scaled to [0, 1], output clamped to [0, 1].

Budget: the default 1500 steps took 600 s wall with --threads 1 on two cores shared with
parallel compiles (load ~5, the process got ~2/3 of a core); on two idle cores with the default
--threads 2 expect roughly 5 minutes. The result depends slightly on the thread count (summation
order); models/denoiser.safetensors and the samples/README.md table come from --threads 1.
'''

import argparse
import json
import math
import os
import struct
import sys
import time
import types
import zlib

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'reference'))
import ae2d_ref as ref  # noqa: E402

SIGMA = 25.0 / 255.0
TRAIN_SEED = 1234
SAMPLE_SEED = 98765
NOISE_SEED = 555
SAMPLE_SIZE = 128

CONFIG = dict(channel=16, layers=[2, 2], block='plain', kernel_size=3, in_planes=1, out_planes=1)


# ----------------------------------------------------------------------------
# Minimal 8-bit grayscale PNG I/O (no dependencies)
# ----------------------------------------------------------------------------
def write_png_gray8(path, img_u8):
    img = np.ascontiguousarray(img_u8, dtype=np.uint8)
    h, w = img.shape
    raw = b''.join(b'\x00' + img[y].tobytes() for y in range(h))

    def chunk(tag, data):
        c = struct.pack('>I', len(data)) + tag + data
        return c + struct.pack('>I', zlib.crc32(tag + data) & 0xffffffff)

    png = b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 0, 0, 0, 0))
    png += chunk(b'IDAT', zlib.compress(raw, 9)) + chunk(b'IEND', b'')
    with open(path, 'wb') as f:
        f.write(png)


def read_png_gray8(path):
    '''Read an 8-bit gray, non-interlaced PNG (any filter types) as a uint8 (H, W) array.'''
    with open(path, 'rb') as f:
        data = f.read()
    if data[:8] != b'\x89PNG\r\n\x1a\n':
        raise ValueError('{0}: not a PNG'.format(path))
    pos, idat, w = 8, b'', None
    while pos < len(data):
        n, tag = struct.unpack('>I4s', data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if tag == b'IHDR':
            w, h, depth, ctype, _, _, interlace = struct.unpack('>IIBBBBB', body)
            if depth != 8 or ctype != 0 or interlace != 0:
                raise ValueError('{0}: only 8-bit gray non-interlaced PNGs are supported'.format(path))
        elif tag == b'IDAT':
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    out = np.zeros((h, w), dtype=np.int32)
    prev = np.zeros(w, dtype=np.int32)
    for y in range(h):
        ft = raw[y * (w + 1)]
        line = np.frombuffer(raw, dtype=np.uint8, count=w, offset=y * (w + 1) + 1).astype(np.int32)
        cur = np.zeros(w, dtype=np.int32)
        for x in range(w):
            a = cur[x - 1] if x else 0
            b = prev[x]
            c = prev[x - 1] if x else 0
            if ft == 0:
                p = 0
            elif ft == 1:
                p = a
            elif ft == 2:
                p = b
            elif ft == 3:
                p = (a + b) // 2
            else:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                p = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            cur[x] = (line[x] + p) & 255
        out[y] = cur
        prev = cur
    return out.astype(np.uint8)


# ----------------------------------------------------------------------------
# Procedural images
# ----------------------------------------------------------------------------
def _grid(h, w):
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    return yy + 0.5, xx + 0.5


def _soft(dist, width):
    '''Coverage from a signed distance (positive inside), edge width in pixels.'''
    return 1.0 / (1.0 + np.exp(-np.clip(dist / max(width, 1e-3), -30, 30)))


def _fill(rng, yy, xx, stripes_p=0.2, grad_p=0.3):
    '''A shape's fill: flat gray, a linear gradient, or sinusoidal stripes around a gray level.'''
    g = rng.beta(0.6, 0.6)  # gray level, more often near black or white
    u = rng.uniform()
    if u < stripes_p:
        period = rng.uniform(5.0, 16.0)
        th = rng.uniform(0, math.pi)
        amp = rng.uniform(0.08, 0.3)
        ph = rng.uniform(0, 2 * math.pi)
        return g + amp * np.sin(2 * math.pi * (xx * math.cos(th) + yy * math.sin(th)) / period + ph)
    if u < stripes_p + grad_p:
        th = rng.uniform(0, 2 * math.pi)
        slope = rng.uniform(0.002, 0.012)
        cy, cx = yy.mean(), xx.mean()
        return g + slope * ((xx - cx) * math.cos(th) + (yy - cy) * math.sin(th))
    return np.full_like(yy, g)


def _shape_dist(rng, yy, xx, h, w, smin, smax):
    '''Signed distance (approx., pixels, positive inside) of a random ellipse/rectangle/polygon.'''
    cy, cx = rng.uniform(-0.1, 1.1) * h, rng.uniform(-0.1, 1.1) * w
    size = rng.uniform(smin, smax) * min(h, w)
    kind = rng.choice(4, p=[0.25, 0.25, 0.2, 0.3])  # ellipse, rectangle, polygon, thin bar
    th = rng.uniform(0, math.pi)
    dy, dx = yy - cy, xx - cx
    u = dx * math.cos(th) + dy * math.sin(th)
    v = -dx * math.sin(th) + dy * math.cos(th)
    if kind == 0:  # ellipse
        a, b = size, size * rng.uniform(0.3, 1.0)
        r = np.sqrt((u / a) ** 2 + (v / b) ** 2)
        return (1.0 - r) * min(a, b)
    if kind == 1:  # rectangle
        a, b = size, size * rng.uniform(0.2, 1.0)
        return np.minimum(a - np.abs(u), b - np.abs(v))
    if kind == 3:  # thin bar / stroke
        a, b = size, rng.uniform(0.8, 3.0)
        return np.minimum(a - np.abs(u), b - np.abs(v))
    # convex polygon: sorted random angles on a jittered circle, intersection of half-planes
    nv = int(rng.integers(3, 7))
    ang = (np.arange(nv) + rng.uniform(-0.3, 0.3, nv)) * (2 * math.pi / nv) + rng.uniform(0, 2 * math.pi)
    rad = size * rng.uniform(0.6, 1.0, nv)
    py, px = rad * np.sin(ang), rad * np.cos(ang)
    d = np.full_like(u, np.inf)
    for i in range(nv):
        j = (i + 1) % nv
        ey, ex = py[j] - py[i], px[j] - px[i]
        ln = math.hypot(ey, ex) + 1e-9
        # counter-clockwise order: the inside is on the left of every edge
        d = np.minimum(d, ((v - py[i]) * ex - (u - px[i]) * ey) / ln)
    return d


def render_shapes(rng, h, w, nshapes=(3, 9), smin=0.08, smax=0.45, stripes_p=0.2, grad_p=0.3,
                  edge=(0.3, 1.5)):
    '''Training-style image: gradient background + overlapping soft-edged shapes.'''
    yy, xx = _grid(h, w)
    img = _fill(rng, yy, xx, stripes_p=0.1, grad_p=0.7)
    for _ in range(int(rng.integers(nshapes[0], nshapes[1] + 1))):
        d = _shape_dist(rng, yy, xx, h, w, smin, smax)
        cov = _soft(d, rng.uniform(*edge))
        img = img * (1 - cov) + _fill(rng, yy, xx, stripes_p, grad_p) * cov
    return np.clip(img, 0.0, 1.0)


def render_strokes(rng, h, w):
    '''Training-style image, "drawing" flavour: a flat or gently graded background with many thin
    bars and small blocks of one contrasting ink level (mostly dark on light).'''
    yy, xx = _grid(h, w)
    bg = rng.uniform(0.55, 0.95) if rng.uniform() < 0.75 else rng.uniform(0.05, 0.4)
    ink = rng.uniform(0.0, 0.35) if bg > 0.5 else rng.uniform(0.65, 1.0)
    img = bg + rng.uniform(-0.08, 0.08) * (xx / w - 0.5) + rng.uniform(-0.08, 0.08) * (yy / h - 0.5)
    for _ in range(int(rng.integers(6, 16))):
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        th = rng.choice([0.0, math.pi / 2]) if rng.uniform() < 0.7 else rng.uniform(0, math.pi)
        u = (xx - cx) * math.cos(th) + (yy - cy) * math.sin(th)
        v = -(xx - cx) * math.sin(th) + (yy - cy) * math.cos(th)
        a = rng.uniform(0.05, 0.25) * min(h, w)
        b = rng.uniform(0.8, 2.5) if rng.uniform() < 0.8 else rng.uniform(2.5, 8.0)
        cov = _soft(np.minimum(a - np.abs(u), b - np.abs(v)), rng.uniform(0.4, 1.0))
        img = img * (1 - cov) + ink * cov
    return np.clip(img, 0.0, 1.0)


def training_batch(rng, n, size, width=None, strokes_p=0.2):
    return np.stack([render_strokes(rng, size, width or size) if rng.uniform() < strokes_p else
                     render_shapes(rng, size, width or size) for _ in range(n)])[:, None]




# --- sample generators (different seed and distribution from training) ---
_FONT = {  # 5x7 bitmap glyphs, rows top to bottom
    'A': ['01110', '10001', '10001', '11111', '10001', '10001', '10001'],
    'D': ['11110', '10001', '10001', '10001', '10001', '10001', '11110'],
    'E': ['11111', '10000', '10000', '11110', '10000', '10000', '11111'],
    'H': ['10001', '10001', '10001', '11111', '10001', '10001', '10001'],
    'I': ['01110', '00100', '00100', '00100', '00100', '00100', '01110'],
    'L': ['10000', '10000', '10000', '10000', '10000', '10000', '11111'],
    'N': ['10001', '11001', '10101', '10011', '10001', '10001', '10001'],
    'O': ['01110', '10001', '10001', '10001', '10001', '10001', '01110'],
    'R': ['11110', '10001', '10001', '11110', '10100', '10010', '10001'],
    'S': ['01111', '10000', '10000', '01110', '00001', '00001', '11110'],
    'T': ['11111', '00100', '00100', '00100', '00100', '00100', '00100'],
    'U': ['10001', '10001', '10001', '10001', '10001', '10001', '01110'],
    'M': ['10001', '11011', '10101', '10101', '10001', '10001', '10001'],
    'C': ['01110', '10001', '10000', '10000', '10000', '10001', '01110'],
    'P': ['11110', '10001', '10001', '11110', '10000', '10000', '10000'],
    '2': ['01110', '10001', '00001', '00010', '00100', '01000', '11111'],
    ' ': ['00000'] * 7,
}


def _blur(img, sigma):
    r = int(math.ceil(3 * sigma))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k /= k.sum()
    p = np.pad(img, r, mode='edge')
    p = np.apply_along_axis(lambda v: np.convolve(v, k, mode='valid'), 0, p)
    return np.apply_along_axis(lambda v: np.convolve(v, k, mode='valid'), 1, p)


def render_text(rng, h, w, scale=4):
    '''A text-like page: dark 5x7 bitmap letters (scaled, slightly blurred) on a light gradient.'''
    words = ['HALIDE', 'AE2D', 'TORCH', 'DENOISE', 'RESNET', 'MODEL', 'PLAIN', 'STRIDE', 'UNIT',
             'CROP', 'SOLAR', 'LEMON', 'TRAIN', 'NOISE']
    ink = np.zeros((h, w))
    gh, gw = 7 * scale, 6 * scale
    y = scale * 2
    while y + gh <= h - scale:
        x = scale * 2
        line = ''
        while True:
            fits = [wd for wd in words if (len(line) + len(wd)) * gw + x <= w - scale]
            if not fits:
                break
            line += fits[int(rng.integers(0, len(fits)))] + ' '
        for ch in line[:max(0, (w - x) // gw)]:
            g = np.array([[int(c) for c in row] for row in _FONT[ch]], dtype=np.float64)
            ink[y:y + gh, x:x + 5 * scale] = np.kron(g, np.ones((scale, scale)))
            x += gw
        y += gh + 2 * scale
    ink = _blur(ink, 0.8)
    yy, xx = _grid(h, w)
    paper = 0.78 + 0.06 * (xx / w) - 0.04 * (yy / h)
    return np.clip(paper * (1 - ink) + 0.18 * ink, 0, 1)


def render_chart(rng, h, w):
    '''A test chart: checkerboard left half, concentric rings right half, gray ramp strip.'''
    yy, xx = _grid(h, w)
    cell = int(rng.integers(14, 20))
    board = ((np.floor(yy / cell) + np.floor(xx / cell)) % 2) * 0.6 + 0.2
    cy, cx = h * 0.45, w * 0.72
    r = np.hypot(yy - cy, xx - cx)
    rings = 0.5 + 0.3 * np.cos(2 * math.pi * r / rng.uniform(14.0, 18.0))
    img = np.where(xx < w * 0.45, board, rings)
    ramp = xx / w
    img = np.where(yy > h * 0.85, ramp, img)
    return np.clip(_blur(img, 0.7), 0, 1)


def render_scene(rng, h, w):
    '''A landscape-like scene: sky gradient, sun disc, two layers of rolling hills, a house.'''
    yy, xx = _grid(h, w)
    img = 0.85 - 0.35 * (yy / h)
    sun = _soft(h * 0.1 - np.hypot(yy - h * 0.22, xx - w * 0.75), 1.0)
    img = img * (1 - sun) + 0.97 * sun
    for k, (base, amp, gray) in enumerate([(0.55, 0.08, 0.45), (0.72, 0.06, 0.28)]):
        f1, f2 = rng.uniform(1.0, 2.5), rng.uniform(3.0, 5.0)
        p1, p2 = rng.uniform(0, 2 * math.pi, 2)
        top = h * (base + amp * np.sin(2 * math.pi * f1 * xx / w + p1) + amp * 0.4 * np.sin(2 * math.pi * f2 * xx / w + p2))
        cov = _soft(yy - top, 1.2)
        fill = gray + 0.08 * (yy - top) / h + 0.04 * np.sin(xx / 3.0) * (k == 1)
        img = img * (1 - cov) + fill * cov
    hx, hy, hw_, hh = w * 0.25, h * 0.62, w * 0.16, h * 0.12
    wall = _soft(np.minimum(np.minimum(xx - hx, hx + hw_ - xx), np.minimum(yy - hy, hy + hh - yy)), 0.6)
    img = img * (1 - wall) + 0.78 * wall
    slope = 0.8
    apex = (yy - (hy - hh * 0.8) - slope * np.abs(xx - (hx + hw_ / 2))) / math.hypot(1.0, slope)
    roof = _soft(np.minimum(hy - yy, apex), 0.6)
    img = img * (1 - roof) + 0.18 * roof
    door = _soft(np.minimum(np.minimum(xx - (hx + hw_ * 0.4), hx + hw_ * 0.6 - xx), np.minimum(yy - (hy + hh * 0.4), hy + hh - yy)), 0.6)
    img = img * (1 - door) + 0.35 * door
    return np.clip(img, 0, 1)


SAMPLES = [
    # name, generator description (for the README), function of a numpy Generator
    ('shapes', 'render_shapes with 10 to 16 smaller shapes, stripes in 40% of fills, crisper edges',
     lambda rng: render_shapes(rng, SAMPLE_SIZE, SAMPLE_SIZE, nshapes=(10, 16), smin=0.06, smax=0.3,
                               stripes_p=0.4, grad_p=0.2, edge=(0.4, 1.0))),
    ('scene', 'render_scene: sky gradient, sun, two rolling hills (one striped), a house',
     lambda rng: render_scene(rng, SAMPLE_SIZE, SAMPLE_SIZE)),
    ('text', 'render_text: page of random words in a 5x7 bitmap font scaled x4, lightly blurred',
     lambda rng: render_text(rng, SAMPLE_SIZE, SAMPLE_SIZE, scale=4)),
    ('chart', 'render_chart: checkerboard, concentric rings, gray ramp strip',
     lambda rng: render_chart(rng, SAMPLE_SIZE, SAMPLE_SIZE)),
]


# ----------------------------------------------------------------------------
# Noise, metrics, model I/O
# ----------------------------------------------------------------------------
def quantize8(x):
    return np.clip(np.round(np.clip(x, 0, 1) * 255.0), 0, 255).astype(np.uint8)


def add_noise_u8(clean01, rng):
    return quantize8(clean01 + rng.standard_normal(clean01.shape) * SIGMA)


def psnr(a, b):
    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    return 10.0 * math.log10(1.0 / max(mse, 1e-12))


def metadata(cfg):
    return {'arch': 'AE2d', 'channel': str(cfg['channel']), 'layers': json.dumps(list(cfg['layers'])),
            'block': cfg['block'], 'kernel_size': json.dumps(cfg['kernel_size']),
            'in_planes': str(cfg['in_planes']), 'out_planes': str(cfg['out_planes'])}


def load_model(path):
    sd, meta = ref.load_safetensors(path)
    net = ref.AE2d(int(meta['channel']), json.loads(meta['layers']), block=meta['block'],
                   kernel_size=json.loads(meta['kernel_size']), in_planes=int(meta['in_planes']),
                   out_planes=int(meta['out_planes'])).double()
    net.load_state_dict(sd)
    return net.eval()


def denoise(net, noisy01):
    p = next(net.parameters())
    with torch.no_grad():
        y = net(torch.from_numpy(np.asarray(noisy01))[None, None].to(p.dtype))
    return y[0, 0].clamp(0, 1).double().numpy()


# ----------------------------------------------------------------------------
# Training
# ----------------------------------------------------------------------------
def _up_shortcut_forward(self, x):
    '''Upsample -> Conv1x1 -> IN computed as Conv1x1 -> Upsample -> IN: the same function (both
    linear, the bilinear weights sum to 1), a quarter of the work. Training only.'''
    return self[2](self[0](self[1](x)))


def init_weights(net, branch_scale=0.1):
    '''Start near a smooth pass-through: shortcut 1x1 convs as (channel-repeating) identities and
    the last convolution of every residual branch scaled down, so the untrained network already
    outputs a normalised, smoothed copy of its input and training skips the long "predict the
    mean" plateau.'''
    for m in net.modules():
        if isinstance(m, (ref._BlockPlainNd, ref._BlockBottleneckNd)):
            last = m.conv3 if isinstance(m, ref._BlockBottleneckNd) else m.conv2
            with torch.no_grad():
                last[-1].weight.mul_(branch_scale)
            if m.in_node is not None:
                conv = [c for c in m.in_node if isinstance(c, torch.nn.Conv2d)][0]
                cout, cin = conv.weight.shape[:2]
                k = min(cin, cout)
                w = torch.tensor([[1.0 if i % k == o % k else 0.0 for i in range(cin)] for o in range(cout)])
                with torch.no_grad():
                    conv.weight.copy_((w / w.sum(1, keepdim=True))[:, :, None, None])
    with torch.no_grad():
        net.conv_final.bias.fill_(0.5)


def speed_up_for_training(net):
    for m in net.modules():
        if (isinstance(m, torch.nn.Sequential) and len(m) == 3 and isinstance(m[0], torch.nn.Upsample)
                and isinstance(m[1], torch.nn.Conv2d) and m[1].kernel_size == (1, 1)):
            m.forward = types.MethodType(_up_shortcut_forward, m)


def train(args):
    torch.manual_seed(TRAIN_SEED)
    np.random.seed(TRAIN_SEED)
    rng = np.random.default_rng(TRAIN_SEED)
    nrng = np.random.default_rng(TRAIN_SEED + 1)
    cfg = CONFIG
    net = ref.AE2d(cfg['channel'], cfg['layers'], block=cfg['block'], kernel_size=cfg['kernel_size'],
                   in_planes=cfg['in_planes'], out_planes=cfg['out_planes'])
    init_weights(net)
    speed_up_for_training(net)
    npar = sum(p.numel() for p in net.parameters())
    print('AE2d({0}) {1} parameters, nlayers {2}'.format(
        ', '.join('{0}={1}'.format(k, v) for k, v in cfg.items()), npar, net.nlayers), flush=True)
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=args.iters, pct_start=0.1)
    # fixed validation batch
    vrng = np.random.default_rng(TRAIN_SEED + 2)
    vclean = training_batch(vrng, 8, args.size)
    vnoisy = add_noise_u8(vclean, vrng).astype(np.float32) / 255.0
    vnoisy_t = torch.from_numpy(vnoisy)
    t0, c0 = time.time(), time.process_time()
    run = 0.0
    for it in range(1, args.iters + 1):
        if it <= args.iters * args.small_frac:  # phase 1: many small images, phase 2: the sample size
            clean = training_batch(rng, args.batch * (args.size // args.small) ** 2, args.small)
        else:
            clean = training_batch(rng, args.batch, args.size)
        noisy = add_noise_u8(clean, nrng).astype(np.float32) / 255.0
        c, x = torch.from_numpy(clean).float(), torch.from_numpy(noisy)
        y = net(x)
        loss = F.mse_loss(y, c) if it > args.iters * 0.5 else F.l1_loss(y, c)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        mse = float(F.mse_loss(y.detach().clamp(0, 1), c))
        run = 0.95 * run + 0.05 * mse if it > 1 else mse  # running training MSE, for the log
        if it % args.log_every == 0 or it == args.iters:
            with torch.no_grad():
                vy = net(vnoisy_t).clamp(0, 1)
            print('iter {0:5d}/{1}  {2:6.1f}s  train PSNR {3:5.2f} dB  val PSNR {4:5.2f} dB (noisy {5:5.2f})'.format(
                it, args.iters, time.time() - t0, 10 * math.log10(1 / max(run, 1e-12)),
                psnr(vy.numpy(), vclean), psnr(vnoisy, vclean)), flush=True)
    print('training took {0:.1f} s wall, {1:.1f} s CPU ({2} thread(s))'.format(
        time.time() - t0, time.process_time() - c0, torch.get_num_threads()), flush=True)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    ref.save_safetensors(args.out, net.state_dict(), metadata(cfg), dtype='F32')
    print('saved {0} ({1} bytes)'.format(args.out, os.path.getsize(args.out)), flush=True)


def make_samples(args):
    root = args.samples_dir
    for sub in ('clean', 'noisy', 'denoised'):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    net = load_model(args.out)
    rows = []
    for i, (name, desc, fn) in enumerate(SAMPLES):
        clean_u8 = quantize8(fn(np.random.default_rng(SAMPLE_SEED + i)))
        noisy_u8 = add_noise_u8(clean_u8.astype(np.float64) / 255.0, np.random.default_rng(NOISE_SEED + i))
        write_png_gray8(os.path.join(root, 'clean', name + '.png'), clean_u8)
        write_png_gray8(os.path.join(root, 'noisy', name + '.png'), noisy_u8)
        # evaluate from the files as written
        clean = read_png_gray8(os.path.join(root, 'clean', name + '.png')) / 255.0
        noisy = read_png_gray8(os.path.join(root, 'noisy', name + '.png')) / 255.0
        den = denoise(net, noisy)
        write_png_gray8(os.path.join(root, 'denoised', name + '.png'), quantize8(den))
        pn, pd = psnr(noisy, clean), psnr(den, clean)
        rows.append((name, desc, clean.shape, SAMPLE_SEED + i, NOISE_SEED + i, pn, pd))
    print('{0:8s} {1:>11s} {2:>14s} {3:>8s}'.format('sample', 'PSNR noisy', 'PSNR denoised', 'gain'))
    for name, _, _, _, _, pn, pd in rows:
        print('{0:8s} {1:9.2f} dB {2:11.2f} dB {3:5.2f} dB'.format(name, pn, pd, pd - pn))
    return rows


def write_readme(args, rows):
    lines = [
        '# Sample images for the AE2d denoiser',
        '',
        'Written by `tools/train_denoiser.py` (`/usr/bin/python3 tools/train_denoiser.py --samples-only`',
        're-makes them from `models/denoiser.safetensors`). All are 8-bit grayscale PNG.',
        '',
        '- `clean/<name>.png`: the procedurally generated image, seed `{0} + i` (numpy PCG64), made by'.format(SAMPLE_SEED),
        '  generators that differ from the training data (training: `render_shapes` and `render_strokes`',
        '  at 64x64 and 128x128, seed {0}; here `render_shapes` with other parameters, and three'.format(TRAIN_SEED),
        '  generators never used in training: a scene, a text-like page, a test chart).',
        '- `noisy/<name>.png`: clean (as 8-bit, scaled to [0, 1]) + N(0, (25/255)^2), seed `{0} + i`,'.format(NOISE_SEED),
        '  clipped to [0, 1] and rounded to 8 bits.',
        '- `denoised/<name>.png`: `models/denoiser.safetensors` run by the PyTorch reference',
        '  (tests/reference/ae2d_ref.py) on the noisy PNG scaled to [0, 1], clamped, rounded to 8 bits.',
        '  `ae2d run --model models/denoiser.safetensors --input samples/noisy/<name>.png --output out.png`',
        '  should give the same picture.',
        '',
        '| i | sample | size (HxW) | generator | image seed | noise seed | PSNR noisy | PSNR denoised | gain |',
        '|---|--------|------------|-----------|------------|------------|-----------:|--------------:|-----:|',
    ]
    for i, (name, desc, shape, s1, s2, pn, pd) in enumerate(rows):
        lines.append('| {0} | {1} | {2}x{3} | {4} | {5} | {6} | {7:.2f} dB | {8:.2f} dB | {9:+.2f} dB |'.format(
            i, name, shape[0], shape[1], desc, s1, s2, pn, pd, pd - pn))
    lines += ['', 'PSNR = 10 log10(1 / MSE) against the clean PNG, images in [0, 1].', '',
              'The model is calibrated for 128x128 inputs: AE2d normalises every feature map (instance',
              'norm), so it can tell the absolute gray level only from the image border and the noise',
              'clipping, and that cue depends on the image size. Much smaller or larger inputs are still',
              'denoised, but their overall brightness may drift.', '']
    with open(os.path.join(args.samples_dir, 'README.md'), 'w') as f:
        f.write('\n'.join(lines))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--iters', type=int, default=1500)
    ap.add_argument('--batch', type=int, default=4)
    ap.add_argument('--size', type=int, default=128, help='training images are SIZE x SIZE (as the samples)')
    ap.add_argument('--lr', type=float, default=3e-3)
    ap.add_argument('--small', type=int, default=64, help='image size of the first training phase')
    ap.add_argument('--small-frac', type=float, default=0.6, help='fraction of the iterations at --small')
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--log-every', type=int, default=100)
    ap.add_argument('--out', default=os.path.join(ROOT, 'models', 'denoiser.safetensors'))
    ap.add_argument('--samples-dir', default=os.path.join(ROOT, 'samples'))
    ap.add_argument('--samples-only', action='store_true', help='skip training; re-make samples and the table')
    ap.add_argument('--no-samples', action='store_true', help='train only')
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    if not args.samples_only:
        train(args)
    if not args.no_samples:
        rows = make_samples(args)
        write_readme(args, rows)
        if min(pd - pn for *_, pn, pd in rows) < 4.0:
            print('WARNING: a sample gains less than 4 dB', file=sys.stderr)
            return 2
    return 0


if __name__ == '__main__':
    sys.exit(main())
