"""Batch inference on Ray Data with ae2d (pip install .[ray]).

    import ray, ae2d.ray
    ds = ray.data.read_images(src, include_paths=True)
    ds = ds.map_batches(ae2d.ray.Predictor, fn_constructor_kwargs={"model": None},   # None: bundled denoiser
                        compute=ray.data.ActorPoolStrategy(size=2), batch_size=8, num_cpus=1)
    ds.write_datasink(ae2d.ray.ImageSink(dst))        # write_images, each file named after its input

Each actor loads the model once. A batch's `image` column holds (H, W) or (H, W, C) uint8 or
uint16 arrays, of mixed sizes; they are scaled to [0, 1] as `ae2d run` scales a PNG (8-bit / 255,
16-bit / 65535, alpha dropped), run in groups of the same size, and written back at the input's
dtype as `ae2d run` writes a PNG (clamped to [0, 1], NaN to 0, rounded), by the library's own
conversion. So the PNGs written equal `ae2d run`'s, pixel for pixel.
"""

import os

import numpy as np

import ae2d
from . import _ae2d

__all__ = ["Predictor", "ImageSink", "image_to_planes", "planes_to_image"]


def _image_array(img):
    a = np.asarray(img)
    if a.dtype == np.uint8 or a.dtype == np.uint16:
        return np.ascontiguousarray(a)
    raise ValueError("an image must be a uint8 or uint16 array (as read_images decodes 8- and 16-bit PNG), "
                     "got {}".format(a.dtype))


def image_to_planes(img) -> np.ndarray:
    """(H, W) or (H, W, C) uint8/uint16 -> (C', H, W) float32 in [0, 1], as `ae2d run` reads a PNG."""
    return _ae2d.image_to_planes(_image_array(img))


def planes_to_image(planes, dtype) -> np.ndarray:
    """(C, H, W) float32 -> (H, W) (C = 1) or (H, W, C) of dtype uint8/uint16, as `ae2d run` writes a PNG."""
    dtype = np.dtype(dtype)
    if dtype not in (np.dtype(np.uint8), np.dtype(np.uint16)):
        raise ValueError("dtype must be uint8 or uint16, got {}".format(dtype))
    p = np.ascontiguousarray(planes, dtype=np.float32)
    if p.ndim != 3:
        raise ValueError("planes must have shape (C, H, W), got {}".format(p.shape))
    return _ae2d.planes_to_image(p, 16 if dtype == np.uint16 else 8)


class Predictor:
    """A callable class for Dataset.map_batches: denoises the `column` column of each batch.

    model: a safetensors path, or None for the bundled denoiser. threads: the kernels' worker
    threads in this actor (default 1: one actor per CPU). batch: same-sized images run together
    in groups of up to this many (as `ae2d run --batch`).
    """

    def __init__(self, model=None, threads=1, column="image", batch=8, backend="cpu"):
        if threads is not None:
            ae2d.set_num_threads(threads)
        self.model = ae2d.Model.load(model, backend=backend)
        # As `ae2d run`: the bundled gray denoiser takes each channel of a colour image as a gray
        # image ((B, C, H, W) viewed as (B * C, 1, H, W)); a model given by path keeps its check.
        c = self.model.config
        self.channels_as_batch = model is None and c.in_planes == 1 and c.out_planes == 1
        self.column = column
        self.batch = int(batch)
        if self.batch < 1:
            raise ValueError("batch must be positive, got {}".format(batch))

    def __call__(self, batch):
        images = batch[self.column]
        n = len(images)
        arrays = [_image_array(img) for img in images]
        out = [None] * n
        groups = {}
        for i, a in enumerate(arrays):
            groups.setdefault((a.shape, a.dtype.str), []).append(i)
        for (_, _), idx in groups.items():
            for start in range(0, len(idx), self.batch):
                chunk = idx[start:start + self.batch]
                x = np.stack([_ae2d.image_to_planes(arrays[i]) for i in chunk])
                if self.channels_as_batch and x.shape[1] > 1:
                    b, ch = x.shape[:2]
                    y = self.model(x.reshape(b * ch, 1, *x.shape[2:])).reshape(b, ch, *x.shape[2:])
                else:
                    y = self.model(x)
                for k, i in enumerate(chunk):
                    out[i] = planes_to_image(y[k], arrays[i].dtype)  # gray: (H, W), as PNG writes it
        result = dict(batch)
        if n and all(o.shape == out[0].shape and o.dtype == out[0].dtype for o in out):
            result[self.column] = np.stack(out)
        else:
            column = np.empty(n, dtype=object)
            for i, o in enumerate(out):
                column[i] = o
            result[self.column] = column
        return result


def ImageSink(path, column="image", path_column="path"):
    """A Ray Data datasink (Dataset.write_datasink) that writes each row's `column` as a PNG named
    after its input, <path>/<stem of the row's `path_column`>.png, as `ae2d run` names outputs
    (read_images with include_paths=True gives `path`). It is Ray's RowBasedFileDatasink, as
    write_images uses, with the row's own name: since Ray 2.5x a FilenameProvider names files per
    task only. uint16 gray images are written as 16-bit PNGs."""
    import io
    import posixpath

    from PIL import Image
    from ray.data.datasource import RowBasedFileDatasink

    class _ImageSink(RowBasedFileDatasink):
        def __init__(self):
            super().__init__(path, file_format="png")

        def write_row_to_file(self, row, file):
            buffer = io.BytesIO()
            Image.fromarray(np.asarray(row[column])).save(buffer, format="png")
            file.write(buffer.getvalue())

        def write_block(self, block, block_index, ctx):
            for row in block.iter_rows(public_row_format=False):
                name = os.path.splitext(os.path.basename(str(row[path_column])))[0] + ".png"
                with self.open_output_stream(posixpath.join(self.path, name)) as f:
                    self.write_row_to_file(row, f)

    return _ImageSink()
