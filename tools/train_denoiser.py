#!/usr/bin/python3
# -*- coding: UTF-8 -*-
'''Train the bundled denoiser, a UNet2d (blind Gaussian noise, sigma 4-55 on the 0-255 scale, gray;
`ae2d run` gives it each channel of a colour image as a gray image); write the sample images.

Usage (from the repository root; Debian python3-torch + python3-numpy for training, and the
photographs collected once by tools/denoiser_photos.py in a venv with scikit-image):

    python3 -m venv .venv-eval && .venv-eval/bin/pip install scikit-image opencv-python-headless bm3d
    .venv-eval/bin/python tools/denoiser_photos.py                  # build-photos/photos.npz
    /usr/bin/python3 tools/train_denoiser.py --budget-minutes 72 --log-every 200 --no-samples \
        --out build-train/denoiser.safetensors   # UNet2d(16, [2, 2, 2]) plain, output "residual"
    cp build-train/denoiser.safetensors models/denoiser.safetensors
    /usr/bin/python3 tools/train_denoiser.py --samples-only         # samples/ and its README table

What it does (seeded: TRAIN_SEED for the data, the noise and the initial weights; 1 thread):

  * Network --arch UNet2d (--channel 16 --layers 2,2,2 --block plain): its skip connections carry
    full-resolution detail past the bottleneck, which AE2d cannot (docs/denoiser.md).
  * Output formulation --output residual (the model file's metadata "output", run by ae2d as
    graph stages): y = x - s * f((x - m) / s), m and s the mean and sqrt(variance + 1e-5) of each
    input plane: the network predicts the noise of the normalized image. Every path through the
    network passes an instance norm, so it cannot keep the input's level or contrast itself; the
    statistics are taken out and put back outside it, which makes the output follow any affine
    change of the input's levels exactly. "normalized" (y = m + s * f((x - m) / s)) and "stats"
    (y = m + s * f(x)) are kept for probes.
  * Training data, fresh every step (batch --batch of --patch x --patch): half patches of the
    training photographs (tools/denoiser_photos.py: CC0 / public-domain scikit-image images that
    are not in the evaluation set; each colour channel is a gray image; random crop, 2x
    downscale, rotation, flip, contrast), 35% dead-leaves images (discs with radii ~ r^-3, flat,
    graded or striped), 15% the shape, stroke and text generators. Noise sigma is log-uniform in
    --sigma-min..--sigma-max per image, clipped and rounded to 8 bits as a PNG holds it.
  * Loss: per-image MSE weighted by 25 / sigma, so that low noise levels count; Adam, learning
    rate warm-up over 50 steps, flat, then a cosine decay over the last --decay-frac of the
    budget (wall clock, --budget-minutes, or --iters steps, whichever ends first).
  * Validation (never a gradient step): a 192 x 256 crop of scikit-image `coffee` (mean of its
    channels) at sigma 15, 25, 50, logged every --log-every steps with the change of its mean level.
  * The model is saved as F32 safetensors with the mdnc configuration and "output" in __metadata__.
  * samples/: 128 x 128 generated images (SAMPLE_SEED, generators of their own) and two
    photographs of the evaluation set (camera, chelsea), noise sigma 25, as 8-bit PNG:
    samples/clean, samples/noisy (noise seed NOISE_SEED + index) and samples/denoised (the model
    run by the PyTorch reference); samples/README.md gets the PSNR table.

The result depends slightly on the thread count and on how many steps the wall-clock budget
allows on the machine (it shares 2 cores with builds); docs/denoiser.md has the log of the run
that made models/denoiser.safetensors.
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
import output_modes  # noqa: E402
import unet2d_ref  # noqa: E402

ARCHS = {'AE2d': ref.AE2d, 'UNet2d': unet2d_ref.UNet2d}

SIGMA = 25.0 / 255.0
TRAIN_SEED = 1234
SAMPLE_SEED = 98765
NOISE_SEED = 555
SAMPLE_SIZE = 128

CONFIG = dict(kernel_size=3, in_planes=1, out_planes=1)  # channel, layers, block: the flags


# ----------------------------------------------------------------------------
# Minimal 8-bit grayscale PNG I/O (no dependencies)
# ----------------------------------------------------------------------------
def write_png_gray8(path, img_u8):
    """8-bit gray (H, W) or RGB (H, W, 3) PNG."""
    img = np.ascontiguousarray(img_u8, dtype=np.uint8)
    h, w = img.shape[:2]
    ctype = 2 if img.ndim == 3 else 0
    raw = b''.join(b'\x00' + img[y].tobytes() for y in range(h))

    def chunk(tag, data):
        c = struct.pack('>I', len(data)) + tag + data
        return c + struct.pack('>I', zlib.crc32(tag + data) & 0xffffffff)

    png = b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, ctype, 0, 0, 0))
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


PHOTO_SAMPLES = [
    # name, key in tools/denoiser_photos.py's .npz, description with the licence
    ('camera', 'evalgray/camera', 'photograph: scikit-image `camera` (CC0, Lav Varshney), gray'),
    ('chelsea', 'evalcolor/chelsea', 'photograph: scikit-image `chelsea` (CC0, Stefan van der Walt), RGB'),
]

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
# Training data for photographs: dead leaves, photo patches
# ----------------------------------------------------------------------------
def render_dead_leaves(rng, h, w, rmin=1.0, rmax=None, texture_p=0.3):
    """Dead-leaves image: occluding discs with radii drawn from p(r) ~ r^-3 on [rmin, rmax]
    (scale-invariant statistics close to natural images); each disc flat, graded or textured."""
    rmax = rmax or 0.5 * max(h, w)
    yy, xx = _grid(h, w)
    img = np.full((h, w), rng.uniform())
    covered = np.zeros((h, w), bool)
    for _ in range(600):  # painted front to back; stop when (nearly) everything is covered
        u = rng.uniform()
        r = 1.0 / math.sqrt((1 - u) / rmin ** 2 + u / rmax ** 2)  # inverse CDF of r^-3
        cy, cx = rng.uniform(-r, h + r), rng.uniform(-r, w + r)
        d2 = (yy - cy) ** 2 + (xx - cx) ** 2
        m = (d2 <= r * r) & ~covered
        if not m.any():
            continue
        g = rng.uniform()
        if rng.uniform() < texture_p:
            g = _fill(rng, yy, xx, stripes_p=0.5, grad_p=0.5)[m]
        img[m] = g
        covered |= m
        if covered.mean() > 0.995:
            break
    return np.clip(_blur(img, rng.uniform(0.3, 1.0)), 0, 1)


_PHOTOS = None


def load_photos(path):
    """Training photographs from tools/denoiser_photos.py, as float64 planes in [0, 1]: every
    colour channel is its own gray image (the model denoises one channel at a time)."""
    global _PHOTOS
    if _PHOTOS is None:
        z = np.load(path)
        planes, valid = [], []
        for k in sorted(z.files):
            a = z[k].astype(np.float64) / 255.0
            chans = [a] if a.ndim == 2 else [a[..., i] for i in range(a.shape[-1])]
            (planes if k.startswith('train/') else valid if k.startswith('valid/') else []).extend(chans)
        _PHOTOS = (planes, valid)
    return _PHOTOS


def photo_patch(rng, planes, size):
    p = planes[int(rng.integers(len(planes)))]
    f = int(rng.choice([1, 1, 1, 2]))  # sometimes a 2x box-downscaled view: other scales of detail
    if f > 1 and min(p.shape) >= 2 * size + 2:
        hh, ww = p.shape[0] // 2 * 2, p.shape[1] // 2 * 2
        p = p[:hh, :ww].reshape(hh // 2, 2, ww // 2, 2).mean(axis=(1, 3))
    if min(p.shape) < size:
        p = np.pad(p, ((0, max(0, size - p.shape[0])), (0, max(0, size - p.shape[1]))), mode='reflect')
    y0 = int(rng.integers(0, p.shape[0] - size + 1))
    x0 = int(rng.integers(0, p.shape[1] - size + 1))
    q = p[y0:y0 + size, x0:x0 + size]
    q = np.rot90(q, int(rng.integers(4)))
    if rng.uniform() < 0.5:
        q = q[:, ::-1]
    if rng.uniform() < 0.3:  # contrast / level variety
        q = np.clip((q - q.mean()) * rng.uniform(0.5, 1.5) + rng.uniform(0.1, 0.9), 0, 1)
    return np.ascontiguousarray(q)


def photo_batch(rng, n, size, photos, mix=(0.5, 0.35, 0.15)):
    """n images of size x size: photo patches, dead leaves, and the shape/stroke/text generators."""
    planes = load_photos(photos)[0] if photos else None
    out = []
    for _ in range(n):
        u = rng.uniform()
        if planes and u < mix[0]:
            out.append(photo_patch(rng, planes, size))
        elif u < mix[0] + mix[1]:
            out.append(render_dead_leaves(rng, size, size))
        else:
            v = rng.uniform()
            out.append(render_strokes(rng, size, size) if v < 0.3 else
                       render_text(rng, size, size, scale=int(rng.integers(1, 4))) if v < 0.5 else
                       render_shapes(rng, size, size))
    return np.stack(out)[:, None]


def add_noise_sigma_u8(clean01, rng, sigmas):
    """clean + N(0, sigma^2) per image (sigma on the [0, 1] scale), clipped, 8-bit quantized."""
    s = np.asarray(sigmas, np.float64).reshape(-1, *([1] * (clean01.ndim - 1)))
    return quantize8(clean01 + rng.standard_normal(clean01.shape) * s)


# ----------------------------------------------------------------------------
# Output formulations (the model file's "output" metadata)
# ----------------------------------------------------------------------------
# "normalized": y = m + s * f((x - m) / s), m and s the per-(image, channel) mean and
#   sqrt(biased variance + 1e-5) of the input x (InstanceNorm2d's statistics, no affine).
# "residual":   y = x - s * f((x - m) / s), m and s as above
# "stats":      y = m + s * f(x)          (probe only)
# "raw":        y = f(x)                   (files without the key)
STAT_EPS = 1e-5


def input_stats(x):
    m = x.mean(dim=(2, 3), keepdim=True)
    v = ((x - m) ** 2).mean(dim=(2, 3), keepdim=True)
    return m, torch.sqrt(v + STAT_EPS)


def apply_output(net, x, mode):
    if mode in output_modes.MODES:  # what ae2d runs
        return output_modes.forward(net, x, mode)
    m, s = input_stats(x)
    if mode == 'stats':
        return m + s * net(x)
    raise ValueError(mode)


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
    return {'arch': cfg['arch'], 'channel': str(cfg['channel']), 'layers': json.dumps(list(cfg['layers'])),
            'block': cfg['block'], 'kernel_size': json.dumps(cfg['kernel_size']),
            'in_planes': str(cfg['in_planes']), 'out_planes': str(cfg['out_planes'])}


def load_model(path):
    """The model file as (network in float64, its output mode)."""
    sd, meta = ref.load_safetensors(path)
    net = ARCHS[meta.get('arch', 'AE2d')](
        int(meta['channel']), json.loads(meta['layers']), block=meta['block'],
        kernel_size=json.loads(meta['kernel_size']), in_planes=int(meta['in_planes']),
        out_planes=int(meta['out_planes'])).double()
    net.load_state_dict(sd)
    return net.eval(), meta.get('output', 'raw')


def denoise(model, noisy01):
    """A gray (H, W) or colour (H, W, 3) image in [0, 1]; colour channels run as a batch of gray
    images, as `ae2d run` does with the bundled model."""
    net, mode = model
    x = np.asarray(noisy01, np.float64)
    planes = x[None, None] if x.ndim == 2 else np.moveaxis(x, 2, 0)[:, None]
    with torch.no_grad():
        y = output_modes.forward(net, torch.from_numpy(np.ascontiguousarray(planes)), mode)
    y = y.clamp(0, 1).numpy()
    return y[0, 0] if x.ndim == 2 else np.moveaxis(y[:, 0], 0, 2)


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


def photo_validation(photos, sigmas=(15, 25, 50)):
    """Fixed validation set: the validation photograph (never trained on), gray (mean of its
    channels), with fixed noise at each sigma (0-255 scale)."""
    valid = load_photos(photos)[1]
    clean = np.mean(valid, axis=0) if len(valid) > 1 else valid[0]
    h, w = clean.shape
    clean = clean[h // 2 - 96:h // 2 + 96, w // 2 - 128:w // 2 + 128]  # 192 x 256: cheap to log
    rng = np.random.default_rng(TRAIN_SEED + 3)
    return clean, [(sg, add_noise_sigma_u8(clean[None], rng, [sg / 255.0])[0] / 255.0) for sg in sigmas]


def validate(net, mode, clean, noisy_list):
    res = []
    with torch.no_grad():
        for sg, noisy in noisy_list:
            y = apply_output(net, torch.from_numpy(noisy)[None, None].float(), mode)[0, 0]
            y = y.clamp(0, 1).double().numpy()
            res.append((sg, psnr(noisy, clean), psnr(y, clean), 255 * (y.mean() - clean.mean())))
    return res


def train_photo(args):
    """Blind Gaussian denoiser for photographs (sigma --sigma-min..--sigma-max on the 0-255 scale),
    in the output formulation --output, stopped after --iters steps or --budget-minutes."""
    torch.manual_seed(TRAIN_SEED)
    np.random.seed(TRAIN_SEED)
    rng = np.random.default_rng(TRAIN_SEED)
    nrng = np.random.default_rng(TRAIN_SEED + 1)
    cfg = dict(arch=args.arch, channel=args.channel, layers=[int(v) for v in args.layers.split(',')],
               block=args.block, **CONFIG)
    net = ARCHS[args.arch](cfg['channel'], cfg['layers'], block=cfg['block'], kernel_size=cfg['kernel_size'],
                           in_planes=1, out_planes=1)
    init_weights(net)
    if args.output != 'raw':
        with torch.no_grad():
            net.conv_final.bias.zero_()
    speed_up_for_training(net)
    npar = sum(p.numel() for p in net.parameters())
    print('{0} {1} parameters, output {2!r}, sigma {3}-{4}, budget {5} min'.format(
        ', '.join('{0}={1}'.format(k, v) for k, v in cfg.items()), npar, args.output,
        args.sigma_min, args.sigma_max, args.budget_minutes), flush=True)
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    vclean, vnoisy = photo_validation(args.photos)
    t0, c0 = time.time(), time.process_time()
    budget = args.budget_minutes * 60.0 if args.budget_minutes else float('inf')
    run, it = 0.0, 0
    # Learning rate: warm-up, flat, then cosine decay over the last --decay-frac of the planned
    # time (steps or budget, whichever is known) so that a budget-capped run still anneals.
    def progress():
        a = it / args.iters
        b = (time.time() - t0) / budget if budget < float('inf') else 0.0
        return max(a, b)
    while True:
        it += 1
        pr = progress()
        if pr >= 1.0 or it > args.iters:
            it -= 1
            break
        lr = args.lr * min(1.0, it / 50.0)
        if pr > 1 - args.decay_frac:
            lr *= 0.5 * (1 + math.cos(math.pi * (pr - (1 - args.decay_frac)) / args.decay_frac)) * 0.98 + 0.02
        for g in opt.param_groups:
            g['lr'] = lr
        clean = photo_batch(rng, args.batch, args.patch, args.photos)
        sig = np.exp(nrng.uniform(math.log(args.sigma_min), math.log(args.sigma_max), args.batch)) / 255.0
        noisy = add_noise_sigma_u8(clean, nrng, sig).astype(np.float32) / 255.0
        c, x = torch.from_numpy(clean).float(), torch.from_numpy(noisy)
        y = apply_output(net, x, args.output)
        # per-image MSE weighted by 1/sigma: every noise level counts, not only the largest
        w = torch.from_numpy((25.0 / 255.0) / sig).float().view(-1, 1, 1, 1)
        loss = ((y - c) ** 2 * w).mean()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        mse = float(F.mse_loss(y.detach().clamp(0, 1), c))
        run = 0.95 * run + 0.05 * mse if it > 1 else mse
        if it % args.log_every == 0:
            v = validate(net, args.output, vclean, vnoisy)
            print('iter {0:5d} {1:6.0f}s lr {2:.1e} train {3:5.2f} dB | valid '.format(
                it, time.time() - t0, lr, 10 * math.log10(1 / max(run, 1e-12))) +
                '  '.join('s{0}: {1:5.2f} ({2:+.2f}, mean {3:+.2f})'.format(sg, pd, pd - pn, dm)
                          for sg, pn, pd, dm in v), flush=True)
    v = validate(net, args.output, vclean, vnoisy)
    print('final iter {0} {1:.0f} s wall, {2:.0f} s CPU | valid '.format(
        it, time.time() - t0, time.process_time() - c0) +
        '  '.join('s{0}: {1:5.2f} ({2:+.2f}, mean {3:+.2f})'.format(sg, pd, pd - pn, dm)
                  for sg, pn, pd, dm in v), flush=True)
    meta = metadata(cfg)
    if args.output != 'raw':
        meta['output'] = args.output
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    ref.save_safetensors(args.out, net.state_dict(), meta, dtype='F32')
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
    # Real photographs (tools/denoiser_photos.py; never trained on): the same noise, from arrays
    # (the PNG round trip is lossless).
    z = np.load(args.photos)
    for j, (name, key, desc) in enumerate(PHOTO_SAMPLES):
        i = len(SAMPLES) + j
        clean_u8 = z[key]
        noisy_u8 = add_noise_u8(clean_u8.astype(np.float64) / 255.0, np.random.default_rng(NOISE_SEED + i))
        write_png_gray8(os.path.join(root, 'clean', name + '.png'), clean_u8)
        write_png_gray8(os.path.join(root, 'noisy', name + '.png'), noisy_u8)
        clean, noisy = clean_u8 / 255.0, noisy_u8 / 255.0
        den = denoise(net, noisy)
        write_png_gray8(os.path.join(root, 'denoised', name + '.png'), quantize8(den))
        pn, pd = psnr(noisy, clean), psnr(den, clean)
        rows.append((name, desc, clean.shape, '-', NOISE_SEED + i, pn, pd))
    print('{0:8s} {1:>11s} {2:>14s} {3:>8s}'.format('sample', 'PSNR noisy', 'PSNR denoised', 'gain'))
    for name, _, _, _, _, pn, pd in rows:
        print('{0:8s} {1:9.2f} dB {2:11.2f} dB {3:5.2f} dB'.format(name, pn, pd, pd - pn))
    return rows


def write_readme(args, rows):
    lines = [
        '# Sample images for the bundled denoiser',
        '',
        'Written by `tools/train_denoiser.py` (`/usr/bin/python3 tools/train_denoiser.py --samples-only`',
        're-makes them from `models/denoiser.safetensors` and `build-photos/photos.npz`). All are 8-bit PNG.',
        '',
        '- `clean/<name>.png`: a procedurally generated 128 x 128 gray image, seed `{0} + i` (numpy'.format(SAMPLE_SEED),
        '  PCG64), made by generators of their own (busier shapes, a scene, a test chart; the text page\'s',
        '  generator also makes training data, at letter scales 1 to 3 where the sample has 4), or a',
        '  real photograph that the model was not trained on:',
        '  - `camera.png`: scikit-image `camera` (512 x 512 gray), CC0 by the photographer, Lav Varshney.',
        '  - `chelsea.png`: scikit-image `chelsea` (300 x 451 RGB), CC0 by the photographer, Stefan van',
        '    der Walt. `ae2d run` denoises each colour channel with the gray model.',
        '  (Licences as stated in scikit-image\'s `skimage/data/_fetchers.py`.)',
        '- `noisy/<name>.png`: clean (as 8-bit, scaled to [0, 1]) + N(0, (25/255)^2), seed `{0} + i`,'.format(NOISE_SEED),
        '  clipped to [0, 1] and rounded to 8 bits.',
        '- `denoised/<name>.png`: `models/denoiser.safetensors` run by the PyTorch reference',
        '  (tests/reference/unet2d_ref.py, output mode from tests/reference/output_modes.py) on the noisy',
        '  PNG scaled to [0, 1], clamped, rounded to 8 bits. `ae2d run --input samples/noisy/<name>.png',
        '  --output out.png` gives the same picture.',
        '',
        '| i | sample | size (HxW) | image | image seed | noise seed | PSNR noisy | PSNR denoised | gain |',
        '|---|--------|------------|-------|------------|------------|-----------:|--------------:|-----:|',
    ]
    for i, (name, desc, shape, s1, s2, pn, pd) in enumerate(rows):
        lines.append('| {0} | {1} | {2}x{3} | {4} | {5} | {6} | {7:.2f} dB | {8:.2f} dB | {9:+.2f} dB |'.format(
            i, name, shape[0], shape[1], desc, s1, s2, pn, pd, pd - pn))
    lines += ['', 'PSNR = 10 log10(1 / MSE) against the clean PNG, images in [0, 1], all channels together.', '']
    with open(os.path.join(args.samples_dir, 'README.md'), 'w') as f:
        f.write('\n'.join(lines))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--iters', type=int, default=1000000, help='step cap (the budget usually ends first)')
    ap.add_argument('--budget-minutes', type=float, default=72.0, help='wall-clock cap of the training loop')
    ap.add_argument('--batch', type=int, default=8)
    ap.add_argument('--patch', type=int, default=64, help='training patches are PATCH x PATCH')
    ap.add_argument('--lr', type=float, default=2e-3)
    ap.add_argument('--decay-frac', type=float, default=0.3, help='cosine decay over the last fraction')
    ap.add_argument('--arch', default='UNet2d', choices=sorted(ARCHS))
    ap.add_argument('--channel', type=int, default=16)
    ap.add_argument('--layers', default='2,2,2')
    ap.add_argument('--block', default='plain')
    ap.add_argument('--output', default='residual', choices=list(output_modes.MODES) + ['stats'])
    ap.add_argument('--sigma-min', type=float, default=4.0)
    ap.add_argument('--sigma-max', type=float, default=55.0)
    ap.add_argument('--photos', default=os.path.join(ROOT, 'build-photos', 'photos.npz'),
                    help='tools/denoiser_photos.py output')
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--log-every', type=int, default=100)
    ap.add_argument('--out', default=os.path.join(ROOT, 'models', 'denoiser.safetensors'))
    ap.add_argument('--samples-dir', default=os.path.join(ROOT, 'samples'))
    ap.add_argument('--samples-only', action='store_true', help='skip training; re-make samples and the table')
    ap.add_argument('--no-samples', action='store_true', help='train only')
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    if not args.samples_only:
        train_photo(args)
    if not args.no_samples:
        rows = make_samples(args)
        write_readme(args, rows)
        if min(pd - pn for *_, pn, pd in rows) < 4.0:
            print('WARNING: a sample gains less than 4 dB', file=sys.stderr)
            return 2
    return 0


if __name__ == '__main__':
    sys.exit(main())
