#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/) from the committed
fixtures plus a few hand-made files covering the format variants. Run with Debian's python3
(numpy, Pillow): /usr/bin/python3 tests/fuzz/make_corpus.py. Every file stays under 64 KiB."""
import io
import json
import os
import shutil
import struct
import sys

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIX = os.path.join(ROOT, "tests", "fixtures")
OUT = os.path.join(ROOT, "tests", "fuzz", "corpus")


def put(target, name, data):
    assert len(data) < 64 * 1024, (target, name, len(data))
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def st_file(tensors, metadata=None):
    """tensors: name -> (dtype, shape, raw bytes)."""
    header, offset, blobs = {}, 0, []
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        blobs.append(raw)
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def st_header(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    return json.loads(b[8:8 + n])


def npy_bytes(arr, version=(1, 0)):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, arr, version=version)
    return buf.getvalue()


def png_bytes(img, **kw):
    buf = io.BytesIO()
    img.save(buf, format="PNG", **kw)
    return buf.getvalue()


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    rng = np.random.default_rng(7)
    manifest = json.load(open(os.path.join(FIX, "manifest.json")))

    # safetensors: small fixtures (F32, F16, BF16) and hand-made variants.
    for name in ["bneck_k1_d2_bf16", "plain_k3_d2_1x9", "plain_k5_d3_f16"]:
        put("safetensors", name + ".safetensors", open(os.path.join(FIX, name + ".safetensors"), "rb").read())
    put("safetensors", "f64_meta.safetensors",
        st_file({"a": ("F64", [2, 3], np.arange(6, dtype="<f8").tobytes()),
                 "b": ("F32", [], np.float32(-2.5).tobytes()),
                 "e": ("F16", [0, 4], b"")}, {"format": "pt", "channel": "4"}))
    put("safetensors", "empty_header.safetensors", st_file({}))

    # npy: fixture inputs and format variants.
    for name in ["plain_k3_d2_1x9.input", "bneck_k1_d2_bf16.input", "plain_k5_d3_f16.input"]:
        put("npy", name + ".npy", open(os.path.join(FIX, name + ".npy"), "rb").read())
    put("npy", "f8_2d.npy", npy_bytes(rng.standard_normal((5, 7))))
    put("npy", "be_f4.npy", npy_bytes(rng.standard_normal((1, 2, 3, 4)).astype(">f4")))
    put("npy", "v2_f4.npy", npy_bytes(rng.standard_normal((3, 4)).astype("<f4"), version=(2, 0)))
    put("npy", "v3_scalar.npy", npy_bytes(np.float32(1.5), version=(3, 0)))
    put("npy", "empty.npy", npy_bytes(np.zeros((0, 3), dtype="<f4")))

    # png: every colour type and depth libpng decodes differently.
    g8 = (rng.random((9, 11)) * 255).astype(np.uint8)
    put("png", "gray8.png", png_bytes(Image.fromarray(g8, "L")))
    put("png", "gray16.png", png_bytes(Image.fromarray((rng.random((6, 5)) * 65535).astype(np.uint16), "I;16")))
    put("png", "rgb8.png", png_bytes(Image.fromarray((rng.random((7, 6, 3)) * 255).astype(np.uint8), "RGB")))
    put("png", "rgba8_interlaced.png",
        png_bytes(Image.fromarray((rng.random((9, 10, 4)) * 255).astype(np.uint8), "RGBA"), interlace=1))
    put("png", "gray_alpha.png", png_bytes(Image.fromarray((rng.random((4, 4, 2)) * 255).astype(np.uint8), "LA")))
    pal = Image.fromarray(g8 // 64, "P")
    pal.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255])
    put("png", "palette_trns.png", png_bytes(pal, transparency=0))
    put("png", "gray1.png", png_bytes(Image.fromarray(g8 > 127).convert("1")))

    # config: metadata + tensor names/shapes (+ input shapes) of every fixture under 64 KiB.
    for entry in manifest:
        name = entry["name"]
        header = st_header(os.path.join(FIX, name + ".safetensors"))
        lines = [f"meta {k} {v}" for k, v in sorted(header.pop("__metadata__", {}).items())]
        lines += [f"tensor {k} " + " ".join(str(d) for d in v["shape"]) for k, v in sorted(header.items())]
        n, c, h, w = entry["input_shape"]
        lines += [f"input {n} {c} {h} {w}", f"input 1 {c} {h + 3} {w + 1}"]
        text = ("\n".join(lines) + "\n").encode()
        if len(text) < 64 * 1024:
            put("config", name + ".txt", text)
    put("config", "meta_only.txt", b"meta arch AE2d\nmeta channel 4\nmeta layers [2, 2, 2, 2, 3]\n"
        b"meta block bottleneck\nmeta kernel_size [3, 5]\nmeta in_planes 3\nmeta out_planes 1\n"
        b"input 1 3 64 63\ninput 2 3 5 1\n")
    print("corpus written to", OUT)


if __name__ == "__main__":
    sys.exit(main())
