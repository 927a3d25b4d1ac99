"""ae2d: run residual auto-encoders trained in PyTorch (mdnc's AE2d) with ahead-of-time compiled
Halide kernels, from Python.

    import ae2d
    m = ae2d.Model.load("model.safetensors")          # or ae2d.Model.from_state_dict(net.state_dict())
    y = m(x)            # numpy or torch CPU, float32/float64, (H, W), (C, H, W) or (B, C, H, W)
    m.forward(x, out=y) # into a preallocated float32 array

The forward pass releases the GIL, and one Model may be called from many threads at once.
Errors are exceptions with the library's message: ValueError (shapes, dtypes, configurations,
a closed model), TypeError (an argument of the wrong type), OSError (files), RuntimeError (a GPU
backend that is not usable here).
"""

import os as _os
import warnings as _warnings
from dataclasses import dataclass as _dataclass
from typing import Optional, Tuple, Union

import numpy as _np

from . import _ae2d

__all__ = ["Model", "Config", "set_num_threads", "backends", "summary", "limits", "set_limits", "version",
           "default_model_path", "cpu_target"]

version = _ae2d.__version__
__version__ = version

_HERE = _os.path.dirname(_os.path.abspath(__file__))


def default_model_path() -> str:
    """The bundled denoiser, UNet2d(16, [2, 2, 2], plain, kernel 3, 1 -> 1), the default of `ae2d run`."""
    return _os.path.join(_HERE, "models", "denoiser.safetensors")


def set_num_threads(threads: int) -> None:
    """Worker threads of the kernels, shared by all models of the process (0: one per core)."""
    _ae2d.set_num_threads(_int_arg("threads", threads))


def cpu_target() -> str:
    """The CPU code that runs here, as a schedule-table target: "x86-64-avx512", "x86-64-avx2",
    "x86-64-sse41" or "arm64-neon" (AE2D_CPU_TARGET may hold an x86 CPU to a lower one)."""
    return _ae2d.cpu_target()


def backends() -> list:
    """What `ae2d info` says of each backend: [{"name", "compiled", "usable", "detail"}, ...]."""
    return [dict(name=n, compiled=c, usable=u, detail=d) for n, c, u, d in _ae2d.backends()]


def limits() -> dict:
    """The process-wide limits checked before anything is allocated (see ae2d/limits.h)."""
    return dict(_ae2d.limits())


def set_limits(**values: int) -> None:
    """Replaces some limits, e.g. set_limits(max_forward_bytes=64 << 30)."""
    _ae2d.set_limits({k: _int_arg(k, v) for k, v in values.items()})


@_dataclass(frozen=True)
class Config:
    """The arguments of mdnc.modules.resnet.AE2d or UNet2d (`arch`: "AE2d" or "UNet2d")."""
    channel: int
    layers: Tuple[int, ...]
    block: str
    kernel_size: Union[int, Tuple[int, int]]
    in_planes: int
    out_planes: int
    arch: str = "AE2d"

    def __str__(self) -> str:
        k = self.kernel_size if isinstance(self.kernel_size, int) else list(self.kernel_size)
        return "{}({}, {}, block='{}', kernel_size={}, in_planes={}, out_planes={})".format(
            self.arch, self.channel, list(self.layers), self.block, k, self.in_planes, self.out_planes)

    def _tuple(self):
        k = self.kernel_size
        kh, kw = (k, k) if isinstance(k, int) else (int(k[0]), int(k[1]))
        return (int(self.channel), [int(v) for v in self.layers], str(self.block), (kh, kw), int(self.in_planes),
                int(self.out_planes), str(self.arch))

    @staticmethod
    def _from_tuple(t) -> "Config":
        channel, layers, block, (kh, kw), in_planes, out_planes, arch = t
        return Config(channel, tuple(layers), block, kh if kh == kw else (kh, kw), in_planes, out_planes, arch)


def summary(config: Config, input_shape) -> str:
    """The torchsummary-style table of `ae2d summary` for a configuration and an input (C, H, W)."""
    if not isinstance(config, Config):
        raise TypeError("config must be an ae2d.Config, got {}".format(type(config).__name__))
    c, h, w = _shape_arg("input_shape", input_shape, (3,))
    return _ae2d.summary(config._tuple(), c, h, w)


def _int_arg(name, v):
    if isinstance(v, bool) or not isinstance(v, (int, _np.integer)):
        raise TypeError("{} must be an int, got {}".format(name, type(v).__name__))
    return int(v)


def _shape_arg(name, shape, ranks):
    if isinstance(shape, (str, bytes)) or not hasattr(shape, "__len__"):
        raise TypeError("{} must be a tuple of ints, got {}".format(name, type(shape).__name__))
    shape = tuple(_int_arg(name, d) for d in shape)
    if len(shape) not in ranks:
        raise ValueError("{} must have {} dimensions, got {}".format(
            name, " or ".join(str(r) for r in ranks), shape))
    if any(d < 1 for d in shape):
        raise ValueError("{} must be positive, got {}".format(name, shape))
    return shape


def _is_torch(x) -> bool:
    return type(x).__module__.split(".", 1)[0] == "torch" and hasattr(x, "detach")


def _torch_to_numpy(x, what):
    import torch
    if not isinstance(x, torch.Tensor):
        raise TypeError("{} must be a numpy array or a torch tensor, got {}".format(what, type(x).__name__))
    if x.device.type != "cpu":
        raise ValueError("{} is a torch tensor on {}; ae2d takes CPU tensors (use .cpu())".format(what, x.device))
    if x.dtype not in (torch.float32, torch.float64):
        raise ValueError("{} has dtype {}; ae2d takes float32 or float64".format(what, x.dtype))
    if x.layout != torch.strided:
        raise ValueError("{} is a {} torch tensor; ae2d takes dense tensors".format(what, x.layout))
    return x.detach().numpy()  # a view, no copy


def _as_nchw(x, what="x"):
    """x as a C-contiguous float32 (B, C, H, W) array: a view of x when it already is one."""
    if _is_torch(x):
        x = _torch_to_numpy(x, what)
    elif not isinstance(x, _np.ndarray):
        raise TypeError("{} must be a numpy array or a torch tensor, got {}".format(what, type(x).__name__))
    if x.dtype != _np.float32 and x.dtype != _np.float64:
        raise ValueError("{} has dtype {}; ae2d takes float32 or float64".format(what, x.dtype))
    if x.ndim not in (2, 3, 4):
        raise ValueError("{} must have shape (H, W), (C, H, W) or (B, C, H, W), got {}".format(what, x.shape))
    if x.dtype != _np.float32 or not x.flags.c_contiguous:
        x = _np.ascontiguousarray(x, dtype=_np.float32)  # one conversion
    if x.ndim != 4:
        x = x.reshape((1,) * (4 - x.ndim) + x.shape)  # a view
    return x


class Model:
    """An AE2d network loaded from a safetensors file or a state_dict.

    m(x) and m.forward(x, out=...) run it; m.config, m.nlayers, m.num_parameters,
    m.output_shape(shape) and m.summary((C, H, W)) describe it. close() (or a `with` block)
    releases the weights; a closed model raises ValueError.
    """

    __slots__ = ("_m", "_source", "__weakref__")

    def __init__(self, *args, **kwargs):
        raise TypeError("use ae2d.Model.load(path) or ae2d.Model.from_state_dict(state_dict)")

    @classmethod
    def _wrap(cls, native, source):
        self = object.__new__(cls)
        self._m = native
        self._source = source
        for message in native.warnings:  # an ignored tune-cache entry
            _warnings.warn(message, RuntimeWarning, stacklevel=3)
        return self

    @classmethod
    def load(cls, path=None, backend: str = "cpu", threads: Optional[int] = None) -> "Model":
        """Loads a safetensors file holding the state_dict of AE2d (None: the bundled denoiser).

        backend: "cpu", "cuda" or "opencl". threads: if given, set_num_threads(threads) (the
        worker threads are shared by the whole process).
        """
        if path is None:
            path = default_model_path()
        if not isinstance(path, (str, _os.PathLike)):
            raise TypeError("path must be a str or os.PathLike, got {}".format(type(path).__name__))
        path = _os.fspath(path)
        if not isinstance(path, str):
            raise TypeError("path must be a str path, got {}".format(type(path).__name__))
        if not isinstance(backend, str):
            raise TypeError("backend must be a str, got {}".format(type(backend).__name__))
        if threads is not None:
            set_num_threads(threads)
        with open(path, "rb"):  # OSError (FileNotFoundError, IsADirectoryError, ...) for the file itself
            pass
        return cls._wrap(_ae2d.Model.load(path, backend), path)

    @classmethod
    def from_state_dict(cls, state_dict, *, channel=None, layers=None, block=None, kernel_size=None,
                        in_planes=None, out_planes=None, arch=None, output: Optional[str] = None,
                        backend: str = "cpu", threads: Optional[int] = None) -> "Model":
        """A model from a state_dict in memory: torch tensors or numpy arrays, any float dtype.

        The configuration is read off the names and shapes, or given (all or some of channel,
        layers, block, kernel_size, in_planes, out_planes, arch; the rest is inferred). An
        AE2d and a UNet2d are told apart by their decoder's input widths. `output` is the file
        metadata's "output" ("raw", "normalized" or "residual", see Model.output_mode).
        """
        if not hasattr(state_dict, "items"):
            raise TypeError("state_dict must be a mapping of names to tensors, got {}".format(
                type(state_dict).__name__))
        if not isinstance(backend, str):
            raise TypeError("backend must be a str, got {}".format(type(backend).__name__))
        arrays = {}
        for name, t in state_dict.items():
            if not isinstance(name, str):
                raise TypeError("state_dict keys must be str, got {}".format(type(name).__name__))
            what = "state_dict[{!r}]".format(name)
            if _is_torch(t):
                import torch
                if not isinstance(t, torch.Tensor):
                    raise TypeError("{} must be a tensor or an array, got {}".format(what, type(t).__name__))
                if not t.is_floating_point():
                    raise ValueError("{} has dtype {}; weights must be floating point".format(what, t.dtype))
                t = t.detach().to("cpu", torch.float32).numpy()
            elif isinstance(t, _np.ndarray):
                if t.dtype.kind != "f":
                    raise ValueError("{} has dtype {}; weights must be floating point".format(what, t.dtype))
            else:
                raise TypeError("{} must be a torch tensor or a numpy array, got {}".format(what, type(t).__name__))
            arrays[name] = _np.ascontiguousarray(t, dtype=_np.float32)
        given = dict(channel=channel, layers=layers, block=block, kernel_size=kernel_size, in_planes=in_planes,
                     out_planes=out_planes, arch=arch)
        metadata = {}
        if any(v is not None for v in given.values()):
            if any(v is None for v in given.values()):
                inferred = Config._from_tuple(_ae2d.infer_config(arrays))
                given = {k: (getattr(inferred, k) if v is None else v) for k, v in given.items()}
            metadata = _metadata(**given)
        if output is not None:
            metadata["output"] = str(output)
        if threads is not None:
            set_num_threads(threads)
        return cls._wrap(_ae2d.Model.from_tensors(arrays, metadata, "state_dict", backend), "state_dict")

    # ---- running --------------------------------------------------------------------------
    def __call__(self, x):
        """y = m(x): x numpy or torch CPU, float32/float64, (H, W), (C, H, W) or (B, C, H, W).

        Returns float32 (B, out_planes, H, W): numpy for numpy input, torch for torch input.
        """
        return self.forward(x)

    def forward(self, x, out=None):
        """Like m(x); with `out` (a C-contiguous float32 array or CPU tensor of the output's
        shape) the result is written there and `out` is returned: nothing is allocated."""
        torch_in = _is_torch(x)
        a = _as_nchw(x)
        if out is None:
            y = self._m.forward(a)
            if torch_in:
                import torch
                return torch.from_numpy(y)
            return y
        o = _torch_to_numpy(out, "out") if _is_torch(out) else out
        if not isinstance(o, _np.ndarray):
            raise TypeError("out must be a numpy array or a torch tensor, got {}".format(type(out).__name__))
        if o.dtype != _np.float32 or not o.flags.c_contiguous or not o.flags.writeable or o.ndim != 4:
            raise ValueError("out must be a writable C-contiguous float32 array of shape (B, out_planes, H, W), "
                             "got {} {}{}".format(o.dtype, o.shape, "" if o.flags.c_contiguous else ", not contiguous"))
        if _np.may_share_memory(a, o):  # exact here: both are contiguous blocks
            raise ValueError("out must not overlap the input")
        self._m.forward_into(a, o)
        return out

    # ---- describing -----------------------------------------------------------------------
    @property
    def config(self) -> Config:
        return Config._from_tuple(self._m.config)

    @property
    def nlayers(self) -> int:
        """Convolutional layers along the depth (the module's `nlayers`)."""
        return self._m.nlayers

    @property
    def schedule(self) -> str:
        """The schedule table the CPU backend runs: the tune cache's entry for this configuration
        and CPU (`ae2d tune --model M`), else the table shipped for this CPU."""
        return self._m.schedule

    @property
    def output_mode(self) -> str:
        """What the model returns (the file's metadata "output"): "raw", the network's output,
        "normalized", mean + std * f((x - mean) / std), or "residual", x - std * f((x - mean) / std),
        per image and channel."""
        return self._m.output_mode

    @property
    def num_parameters(self) -> int:
        return self._m.num_parameters

    @property
    def backend(self) -> str:
        return self._m.backend

    @property
    def closed(self) -> bool:
        return self._m.closed

    def output_shape(self, input_shape) -> Tuple[int, ...]:
        """The output shape (B, out_planes, H, W) for an input shape of 2 to 4 dimensions."""
        shape = _shape_arg("input_shape", input_shape, (2, 3, 4))
        shape = (1,) * (4 - len(shape)) + shape
        return tuple(self._m.output_shape(list(shape)))

    def summary(self, input_shape) -> str:
        """The text `ae2d summary --model M --input-shape C,H,W` prints."""
        return summary(self.config, input_shape) + self._m.output_line

    def close(self) -> None:
        """Releases this handle's weights (a pass running on another thread finishes first)."""
        self._m.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        if self.closed:
            return "<ae2d.Model (closed) from {!r}>".format(self._source)
        return "<ae2d.Model {} on {} from {!r}>".format(self._m.description, self.backend, self._source)


def _metadata(channel, layers, block, kernel_size, in_planes, out_planes, arch):
    """The safetensors __metadata__ of a configuration (every value a string, as exported)."""
    import json

    def as_int(name, v):
        return str(_int_arg(name, v))
    if isinstance(layers, (str, bytes)) or not hasattr(layers, "__iter__"):
        raise TypeError("layers must be a list of ints, got {}".format(type(layers).__name__))
    if not isinstance(block, str):
        raise TypeError("block must be 'plain' or 'bottleneck', got {}".format(type(block).__name__))
    if not isinstance(arch, str):
        raise TypeError("arch must be 'AE2d' or 'UNet2d', got {}".format(type(arch).__name__))
    if isinstance(kernel_size, (list, tuple)):
        kernel = json.dumps([_int_arg("kernel_size", k) for k in kernel_size])
    else:
        kernel = json.dumps(_int_arg("kernel_size", kernel_size))
    return {"arch": arch, "channel": as_int("channel", channel),
            "layers": json.dumps([_int_arg("layers", v) for v in layers]), "block": block,
            "kernel_size": kernel, "in_planes": as_int("in_planes", in_planes),
            "out_planes": as_int("out_planes", out_planes)}
