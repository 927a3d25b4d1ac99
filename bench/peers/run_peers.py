#!/usr/bin/env python3
# -*- coding: UTF-8 -*-
'''Time ae2d against PyTorch (eager, torch.compile), ONNX Runtime and OpenVINO.

Needs the venv from bench/peers/setup_peers.sh. Workloads that are not exported yet are
exported first (export_workloads.py --missing, in a subprocess):

    .venv-peers/bin/python bench/peers/run_peers.py --threads 2                # W1..W6
    .venv-peers/bin/python bench/peers/run_peers.py --workloads W1 --runs 2 --engines torch,ort,openvino
    .venv-peers/bin/python bench/peers/run_peers.py --network W2 --shapes 1x1x240x320,4x1x127x200
    .venv-peers/bin/python bench/peers/run_peers.py --sweep                    # W2's and W4's nets, 12 sizes
    .venv-peers/bin/python bench/peers/run_peers.py --render bench/work/sweep.json --update-doc docs/performance.md

Engines (--engines; default all, the sweep all but torch_debian):
  ae2d              build/ae2d (--ae2d PATH): `ae2d bench --json` for timing, `ae2d run` for the
                    output. If the binary is missing or does not answer `bench --json`, it is
                    skipped with a message and the ratio columns are left empty.
  torch             the running interpreter's PyTorch (the venv's 2.x from PyPI), eager,
                    float32, torch.set_num_threads(N), torch.inference_mode(); the net is rebuilt
                    from W.safetensors (tests/reference/ae2d_ref.py, unet2d_ref.py)
  torch_compile     torch.compile(net, dynamic=False) of the same net, default backend (inductor)
                    and mode, compiled for the workload's shape by one call before any timing
                    (its compile time is reported, not timed). Skipped, with a message, on torch < 2.
  torch_debian      Debian's python3-torch (1.13) eager, in a long-lived subprocess of
                    --debian-python (default /usr/bin/python3) running bench/peers/torch_worker.py,
                    which times each inference inside that interpreter as the in-process engines do
  ort               ONNX Runtime, CPUExecutionProvider, ORT_ENABLE_ALL, intra_op_num_threads=N,
                    inter_op_num_threads=1, ORT_SEQUENTIAL, on W.onnx
  openvino          OpenVINO CPU plugin on W.onnx, INFERENCE_NUM_THREADS=N, PERFORMANCE_HINT=LATENCY,
                    INFERENCE_PRECISION_HINT=f32
  openvino_default  the same without INFERENCE_PRECISION_HINT: OpenVINO's own default, bf16 on
                    CPUs with AVX512_BF16 or AMX (not an fp32 result there: its error is shown next
                    to its time), f32 elsewhere. The precision it reports
                    (compiled_model.get_property('INFERENCE_PRECISION_HINT')) is printed with it.

Every ONNX graph has the workload's fixed input shape (export_workloads.py), as ae2d's
schedule tables are per shape: ORT and OpenVINO may specialize on it.

Timing method (the same for every engine, chosen so that no engine gets a quieter stretch
of the machine than another): the --runs timed inferences per engine are split into --chunks
chunks of about runs/chunks inferences. Chunks are interleaved: chunk 1 of every engine in
turn, then chunk 2 of every engine, and so on, the engine order rotating by one each chunk.
Each chunk starts with one untimed inference (caches, thread pools, arenas), after --warmup
untimed inferences per engine before the first chunk. Between two engines the script sleeps
--cooldown seconds so that the previous engine's spinning worker threads have gone idle.
  * torch / torch_compile / ort / openvino* run in this process, so every timed inference is
    one sample (time.perf_counter around one call; the input is the workload's W.input.npy).
    torch_debian does the same in its own interpreter and returns the samples.
  * ae2d runs as a subprocess per chunk: `ae2d bench --json --runs K --warmup 1 --threads N`
    (its model load and warm-up are outside its timed loop; its input is its own uniform
    random tensor of the same shape, which does not change the work done; the FMA peak it
    measures in the first call is passed to later calls with --peak-gflops). Its JSON gives
    the chunk's median, min and max, not each run, so ae2d's samples are the chunk medians.
The reported median is the median of an engine's samples (for ae2d the median of its chunk
medians, which equals the median of all runs when runs agree within a chunk), min is the
fastest inference seen. Per workload table: ratio = engine median / ae2d median (> 1: ae2d is
faster). Summary table: ae2d / engine = ae2d median / engine median (< 1: ae2d is faster;
the form of issue 20's targets, e.g. ae2d <= 0.6x OpenVINO f32).

Accuracy: every engine's output on W.input.npy is compared with W.torch64_out.npy, the same
net in float64 PyTorch (the reference), and with W.torch_out.npy (PyTorch float32 eager at 1
thread); for ae2d through `ae2d run --input W.input.npy --output bench/work/W.ae2d_out.npy`.
The summary also gives ae2d's error relative to the reference's largest magnitude.

Prints one markdown table per workload and a summary table (one row per workload: every
engine's median ms with its max abs error to float64, ae2d's effective GFLOP/s = 2 * conv MACs
/ time, and the ratios), writes the results JSON (--output; default bench/work/results.json,
with --sweep bench/work/sweep.json: machine, settings, versions, every sample) and the same
markdown next to it (.md). --render JSON re-renders a results file without running anything;
--update-doc FILE puts the summary between the markers <!-- peers-sweep:begin --> and
<!-- peers-sweep:end --> of FILE (appending a section with them when FILE has none).
'''

import argparse
import datetime
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, '..', '..'))
WORK = os.path.join(ROOT, 'bench', 'work')
sys.path.insert(0, HERE)
import workloads as wls  # noqa: E402

ALL_ENGINES = ['ae2d', 'torch', 'torch_compile', 'torch_debian', 'ort', 'openvino', 'openvino_default']
SWEEP_ENGINES = [e for e in ALL_ENGINES if e != 'torch_debian']
ENGINE_TITLES = {'ae2d': 'ae2d', 'torch': 'PyTorch eager', 'torch_compile': 'torch.compile',
                 'torch_debian': 'PyTorch eager (Debian)', 'ort': 'ONNX Runtime', 'openvino': 'OpenVINO f32',
                 'openvino_default': 'OpenVINO default precision'}
SHORT = {'torch': 'torch eager', 'torch_compile': 'torch.compile', 'torch_debian': 'torch 1.13',
         'ort': 'ORT', 'openvino': 'OV f32', 'openvino_default': 'OV default'}
DOC_BEGIN, DOC_END = '<!-- peers-sweep:begin -->', '<!-- peers-sweep:end -->'


class SkipEngine(Exception):
    '''An engine that cannot run here (not an error of the engine).'''


# ----------------------------------------------------------------------------
# Machine
# ----------------------------------------------------------------------------
def machine_info(threads):
    cpu, flags = platform.processor() or 'unknown', []
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name') and cpu in ('unknown', 'x86_64', ''):
                    cpu = line.split(':', 1)[1].strip()
                elif line.startswith('flags') and not flags:
                    have = set(line.split(':', 1)[1].split())
                    flags = [x for x in ('sse4_2', 'avx', 'avx2', 'fma', 'avx512f', 'avx512_vnni',
                                         'avx512_bf16', 'amx_tile', 'amx_bf16', 'avx_vnni') if x in have]
    except OSError:
        pass
    return {
        'cpu_model': cpu, 'logical_cpus': os.cpu_count(), 'simd_flags': flags,
        'threads': threads, 'loadavg_at_start': list(os.getloadavg()),
        'kernel': platform.release(), 'python': platform.python_version(),
    }


# ----------------------------------------------------------------------------
# Engines: each has .version, .infer(x) -> float32 ndarray, .time_chunk(k) -> [ms], .warm(n)
# ----------------------------------------------------------------------------
class PyEngine:
    '''In-process engine: subclasses define self._run(x) and self.version.'''

    def __init__(self, x):
        self.x = x
        self.info = {}

    def infer(self, x):
        return np.asarray(self._run(x), dtype=np.float32)

    def time_chunk(self, k):
        self._run(self.x)  # untimed
        out = []
        for _ in range(k):
            t0 = time.perf_counter()
            self._run(self.x)
            out.append((time.perf_counter() - t0) * 1e3)
        return out

    def warm(self, n):
        for _ in range(n):
            self._run(self.x)

    def close(self):
        pass


class TorchEngine(PyEngine):
    def __init__(self, wl, x, threads):
        super().__init__(x)
        from torch_worker import load_net
        self.net, self.torch = load_net(os.path.join(WORK, wl + '.safetensors'))
        self.torch.set_num_threads(threads)
        self.fn = self.net
        self.version = 'torch ' + self.torch.__version__ + ' eager'
        self.xt = self.torch.from_numpy(x)

    def _run(self, x):
        with self.torch.inference_mode():
            xt = self.xt if x is self.x else self.torch.from_numpy(x)
            return self.fn(xt).numpy()


class TorchCompileEngine(TorchEngine):
    def __init__(self, wl, x, threads):
        super().__init__(wl, x, threads)
        torch = self.torch
        if int(torch.__version__.split('.')[0]) < 2 or not hasattr(torch, 'compile'):
            raise SkipEngine('torch.compile needs PyTorch >= 2; this interpreter has torch {0} '
                             '(run with .venv-peers/bin/python)'.format(torch.__version__))
        self.fn = torch.compile(self.net, dynamic=False)  # default backend: inductor
        t0 = time.perf_counter()
        self._run(self.x)  # compiles for this shape
        self.info['compile_s'] = round(time.perf_counter() - t0, 2)
        self.version = 'torch.compile {0} (inductor)'.format(torch.__version__)

    def close(self):
        self.torch._dynamo.reset()


class TorchWorkerEngine:
    '''PyTorch eager in another interpreter (bench/peers/torch_worker.py over a pipe).'''

    def __init__(self, wl, x, threads, python):
        self.wl = wl
        self.info = {}
        if not (os.path.isfile(python) and os.access(python, os.X_OK)):
            raise SkipEngine('{0} not found'.format(python))
        cmd = [python, os.path.join(HERE, 'torch_worker.py'), '--model', os.path.join(WORK, wl + '.safetensors'),
               '--input', os.path.join(WORK, wl + '.input.npy'), '--threads', str(threads)]
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        hello = self._read()
        if 'error' in hello:
            self.close()
            raise SkipEngine('{0}: {1}'.format(python, hello['error']))
        self.version = 'torch {0} eager ({1})'.format(hello['version'], python)
        self.info['python'] = python

    def _read(self):
        line = self.p.stdout.readline()
        if not line:
            rc = self.p.wait()
            raise RuntimeError('torch_worker exited (rc {0})'.format(rc))
        return json.loads(line)

    def _ask(self, req):
        self.p.stdin.write(json.dumps(req) + '\n')
        self.p.stdin.flush()
        r = self._read()
        if 'error' in r:
            raise RuntimeError('torch_worker: ' + r['error'])
        return r

    def infer(self, x):
        out = os.path.join(WORK, self.wl + '.torch_debian_out.npy')
        self._ask({'cmd': 'infer', 'output': out})
        return np.load(out).astype(np.float32)

    def warm(self, n):
        if n > 0:
            self._ask({'cmd': 'warm', 'n': n})

    def time_chunk(self, k):
        return [float(v) for v in self._ask({'cmd': 'time', 'k': k})['ms']]

    def close(self):
        if self.p.poll() is None:
            try:
                self.p.stdin.write('{"cmd": "quit"}\n')
                self.p.stdin.flush()
                self.p.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.p.kill()
                self.p.wait()


class OrtEngine(PyEngine):
    def __init__(self, wl, x, threads):
        super().__init__(x)
        import onnxruntime as ort
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        self.sess = ort.InferenceSession(os.path.join(WORK, wl + '.onnx'), so,
                                         providers=['CPUExecutionProvider'])
        self.name = self.sess.get_inputs()[0].name
        self.version = 'onnxruntime ' + ort.__version__

    def _run(self, x):
        return self.sess.run(None, {self.name: x})[0]


class OpenVinoEngine(PyEngine):
    def __init__(self, wl, x, threads, precision='f32'):
        super().__init__(x)
        import openvino as ov
        core = ov.Core()
        model = core.read_model(os.path.join(WORK, wl + '.onnx'))
        cfg = {'INFERENCE_NUM_THREADS': threads, 'PERFORMANCE_HINT': 'LATENCY'}
        if precision:
            cfg['INFERENCE_PRECISION_HINT'] = precision
        self.compiled = core.compile_model(model, 'CPU', cfg)
        self.req = self.compiled.create_infer_request()
        used = self.compiled.get_property('INFERENCE_PRECISION_HINT')
        used = used.get_type_name() if hasattr(used, 'get_type_name') else str(used)
        self.info['inference_precision'] = used
        ver = ov.__version__.split('-')[0]
        if precision:
            self.version = 'openvino {0} {1}'.format(ver, used)
        else:
            self.version = 'openvino {0} default precision: {1}{2}'.format(
                ver, used, '' if used == 'f32' else ' (not fp32)')

    def _run(self, x):
        self.req.infer({0: x})
        return self.req.get_output_tensor(0).data.copy()


class Ae2dEngine:
    '''The ae2d CLI as subprocesses (see the module docstring for the method).'''

    def __init__(self, wl, x, threads, exe):
        self.exe, self.threads, self.wl = exe, threads, wl
        self.model = os.path.join(WORK, wl + '.safetensors')
        self.shape = ','.join(str(v) for v in x.shape)
        self.version = 'ae2d ' + ae2d_version(exe)
        self.chunks = []  # JSON objects of `ae2d bench`
        self.peak = None  # measured by the first call, given to the later ones
        self.info = {}

    def _bench(self, runs, warmup):
        cmd = [self.exe, 'bench', '--model', self.model, '--input-shape', self.shape, '--threads',
               str(self.threads), '--runs', str(runs), '--warmup', str(warmup), '--json']
        if self.peak:
            cmd += ['--peak-gflops', '{0:.3f}'.format(self.peak)]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError('{0} failed (rc {1}): {2}'.format(' '.join(cmd), p.returncode,
                                                                 (p.stderr or p.stdout).strip()[-500:]))
        try:
            j = json.loads(p.stdout)
            float(j['median_ms'])
        except (ValueError, KeyError, TypeError):
            raise RuntimeError('{0} printed no JSON with median_ms: {1!r}'.format(' '.join(cmd), p.stdout[-300:]))
        if not self.peak and j.get('peak_gflops'):
            self.peak = float(j['peak_gflops'])
            self.info['fma_peak_gflops'] = self.peak
        for key in ('cpu_target', 'schedule_table'):
            if key in j:
                self.info[key] = j[key]
        return j

    def warm(self, n):
        self._bench(1, max(n - 1, 0))  # also checks that `bench --json` works

    def time_chunk(self, k):
        j = self._bench(k, 1)
        self.chunks.append(j)
        return [float(j['median_ms'])]

    def infer(self, x):
        inp = os.path.join(WORK, self.wl + '.input.npy')
        out = os.path.join(WORK, self.wl + '.ae2d_out.npy')
        if os.path.exists(out):
            os.remove(out)
        cmd = [self.exe, 'run', '--model', self.model, '--input', inp, '--output', out, '--threads',
               str(self.threads)]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0 or not os.path.exists(out):
            raise RuntimeError('{0} failed (rc {1}): {2}'.format(' '.join(cmd), p.returncode,
                                                                 (p.stderr or p.stdout).strip()[-500:]))
        return np.load(out).astype(np.float32)

    def close(self):
        pass


def ae2d_version(exe):
    for args in (['--version'], ['version']):
        try:
            p = subprocess.run([exe] + args, capture_output=True, text=True, timeout=20)
            s = p.stdout.strip().splitlines()
            if p.returncode == 0 and s:
                return s[0].replace('ae2d', '').strip() or s[0]
        except (OSError, subprocess.TimeoutExpired):
            pass
    try:
        where = os.path.dirname(os.path.abspath(exe))
        rev = subprocess.run(['git', '-C', where, 'rev-parse', '--short', 'HEAD'], capture_output=True,
                             text=True).stdout.strip()
        dirty = subprocess.run(['git', '-C', where, 'status', '--porcelain', '--untracked-files=no'],
                               capture_output=True, text=True).stdout.strip()
        return 'git ' + rev + ('+dirty' if dirty else '') if rev else 'unknown'
    except OSError:
        return 'unknown'


def ae2d_usable(exe):
    '''None if `exe` looks like a working ae2d CLI with bench --json, else why not.'''
    if not (os.path.isfile(exe) and os.access(exe, os.X_OK)):
        return '{0} not found (build it first, e.g. bash scripts/build.sh)'.format(exe)
    try:
        p = subprocess.run([exe, 'bench', '--help'], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        return '{0} bench --help failed: {1}'.format(exe, e)
    if p.returncode != 0 or '--json' not in (p.stdout + p.stderr):
        return '{0} has no working `bench --json` (bench --help: rc {1}, {2!r})'.format(
            exe, p.returncode, (p.stdout + p.stderr).strip()[:120])
    return None


def make_engine(name, wl, x, args):
    if name == 'torch':
        return TorchEngine(wl, x, args.threads)
    if name == 'torch_compile':
        return TorchCompileEngine(wl, x, args.threads)
    if name == 'torch_debian':
        return TorchWorkerEngine(wl, x, args.threads, args.debian_python)
    if name == 'ort':
        return OrtEngine(wl, x, args.threads)
    if name == 'openvino':
        return OpenVinoEngine(wl, x, args.threads, 'f32')
    if name == 'openvino_default':
        return OpenVinoEngine(wl, x, args.threads, None)
    return Ae2dEngine(wl, x, args.threads, args.ae2d)


# ----------------------------------------------------------------------------
# One workload
# ----------------------------------------------------------------------------
def split_runs(runs, chunks):
    chunks = max(1, min(chunks, runs))
    base, extra = divmod(runs, chunks)
    return [base + (1 if i < extra else 0) for i in range(chunks)]


def bench_workload(wl, engines, args, wl_meta):
    x = np.load(os.path.join(WORK, wl + '.input.npy')).astype(np.float32)
    y_ref = np.load(os.path.join(WORK, wl + '.torch_out.npy')).astype(np.float64)
    p64 = os.path.join(WORK, wl + '.torch64_out.npy')
    y64 = np.load(p64) if os.path.exists(p64) else None

    res = {}
    live = {}
    for name in engines:
        r = res[name] = {'engine': name, 'title': ENGINE_TITLES[name]}
        e = None
        try:
            t0 = time.perf_counter()
            e = make_engine(name, wl, x, args)
            r['version'] = e.version
            y = e.infer(x)
            r['load_and_first_infer_s'] = round(time.perf_counter() - t0, 3)
            if y.shape != y_ref.shape:
                raise RuntimeError('output shape {0} != {1}'.format(y.shape, y_ref.shape))
            r['max_abs_diff_to_torch'] = float(np.abs(y.astype(np.float64) - y_ref).max())
            if y64 is not None:
                r['max_abs_diff_to_f64'] = float(np.abs(y.astype(np.float64) - y64).max())
                r['rel_diff_to_f64'] = r['max_abs_diff_to_f64'] / float(np.abs(y64).max())
            e.warm(args.warmup)
            r.update(e.info)
            live[name] = e
        except SkipEngine as ex:
            r['skipped'] = str(ex)
            print('  {0}: skipped: {1}'.format(name, ex), file=sys.stderr)
        except Exception as ex:  # noqa: BLE001 - report and go on with the other engines
            r['error'] = '{0}: {1}'.format(type(ex).__name__, ex)
            print('  {0}: skipped: {1}'.format(name, r['error']), file=sys.stderr)
            if e is not None:
                e.close()
        r['samples_ms'] = []

    plan = split_runs(args.runs, args.chunks)
    order = [n for n in engines if n in live]
    for ci, k in enumerate(plan):
        rot = order[ci % len(order):] + order[:ci % len(order)] if order else []
        for name in rot:
            if name not in live:
                continue
            time.sleep(args.cooldown)
            try:
                res[name]['samples_ms'] += live[name].time_chunk(k)
            except Exception as ex:  # noqa: BLE001
                res[name]['error'] = '{0}: {1}'.format(type(ex).__name__, ex)
                print('  {0}: stopped: {1}'.format(name, res[name]['error']), file=sys.stderr)
                live.pop(name).close()
        gc.collect()

    macs = wl_meta.get('conv_macs') if wl_meta else None
    for name, e in live.items():
        r = res[name]
        r.update(e.info)
        s = r['samples_ms']
        r['median_ms'] = statistics.median(s)
        if isinstance(e, Ae2dEngine):
            r['min_ms'] = min(float(j['min_ms']) for j in e.chunks)
            r['max_ms'] = max(float(j['max_ms']) for j in e.chunks)
            r['runs'] = sum(int(j.get('runs', 0)) for j in e.chunks)
            r['samples_are'] = 'chunk medians of ae2d bench --json'
            last = e.chunks[-1]
            for key in ('gflops', 'macs', 'peak_rss_bytes', 'arena_bytes', 'stages', 'peak_fraction'):
                if key in last:
                    r['ae2d_' + key] = last[key]
        else:
            r['min_ms'], r['max_ms'], r['runs'] = min(s), max(s), len(s)
            r['samples_are'] = 'single inferences'
        if macs:
            r['gflops'] = 2.0 * macs / (r['median_ms'] * 1e-3) / 1e9
    for e in live.values():
        e.close()
    live.clear()
    gc.collect()
    base = res.get('ae2d', {}).get('median_ms')
    for r in res.values():
        if 'median_ms' in r and base:
            r['ratio_to_ae2d'] = r['median_ms'] / base
            r['ae2d_over_engine'] = base / r['median_ms']
    return res


# ----------------------------------------------------------------------------
# Tables
# ----------------------------------------------------------------------------
def fmt(v, spec, empty='-'):
    return empty if v is None else format(v, spec)


def shape_str(meta):
    return 'x'.join(str(v) for v in meta['input_shape']) if meta else '?'


def workload_table(wl, wl_meta, res, settings):
    '''Markdown lines of one workload's table.'''
    desc = ''
    if wl_meta:
        c = wl_meta['config']
        desc = ' {0}({1}, {2}, {3}, k{4}, in {5}, out {6})'.format(
            c.get('arch', 'AE2d'), c['channel'], c['layers'], c['block'], c['kernel_size'], c['in_planes'], c['out_planes'])
        desc += ', {0:.2f} GMAC'.format(wl_meta['conv_macs'] / 1e9)
    lines = ['', '### {0}: input {1},{2}, {3} threads, {4} runs in {5} chunks'.format(
        wl, shape_str(wl_meta), desc, settings['threads'], settings['runs'],
        len(split_runs(settings['runs'], settings['chunks']))), '',
        '| engine | median ms | min ms | GFLOP/s | ratio to ae2d | max abs diff to float64 | to PyTorch f32 |',
        '|---|---:|---:|---:|---:|---:|---:|']
    for r in res.values():
        if 'median_ms' not in r:
            why = r.get('skipped') or r.get('error', '?')
            lines.append('| {0} | skipped: {1} | | | | | |'.format(
                r.get('version', r['title']), why[:90].replace('|', '/')))
            continue
        extra = ' (compile {0:.1f} s)'.format(r['compile_s']) if 'compile_s' in r else ''
        lines.append('| {0}{1} | {2} | {3} | {4} | {5} | {6} | {7} |'.format(
            r['version'], extra, fmt(r.get('median_ms'), '.2f'), fmt(r.get('min_ms'), '.2f'),
            fmt(r.get('gflops'), '.1f'), fmt(r.get('ratio_to_ae2d'), '.2f'),
            fmt(r.get('max_abs_diff_to_f64'), '.2e'), fmt(r.get('max_abs_diff_to_torch'), '.2e')))
    return lines


def cell(r, with_precision=False):
    '''"median (error to float64)" of an engine's result, or why it did not run.'''
    if not r:
        return 'n/a'
    if 'median_ms' not in r:
        return 'skipped' if 'skipped' in r else 'failed'
    err = fmt(r.get('max_abs_diff_to_f64'), '.0e', '?')
    if with_precision:
        p = r.get('inference_precision', '?')
        tag = p if p == 'f32' else '**{0}, not fp32**'.format(p)
        return '{0:.1f} ({1}, {2})'.format(r['median_ms'], tag, err)
    return '{0:.1f} ({1})'.format(r['median_ms'], err)


def summary_table(data):
    '''Markdown lines: one row per workload, every engine's time and error, ae2d/peer ratios,
    then per network the per-MAC spread of ae2d and the issue-20 target counts.'''
    engines = [e for e in data['engines'] if e != 'ae2d']
    has_ae2d = 'ae2d' in data['engines']
    m, st = data['machine'], data['settings']
    versions = {}
    for w in data['workloads'].values():
        for name, r in w['results'].items():
            if 'version' in r:
                versions.setdefault(name, r['version'])
    lines = ['Machine: {0}, {1} logical CPUs ({2}); {3} threads per engine; {4} runs in {5} interleaved '
             'chunks per engine and size; load average {6:.2f} at start, {7} at end; {8}.'.format(
                 m['cpu_model'], m['logical_cpus'], ' '.join(m['simd_flags']), st['threads'], st['runs'],
                 len(split_runs(st['runs'], st['chunks'])), m['loadavg_at_start'][0],
                 fmt((m.get('loadavg_at_end') or [None])[0], '.2f'), data['date']),
             '', 'Engines: ' + '; '.join(versions[e] for e in data['engines'] if e in versions) + '.']
    ae = [w['results'].get('ae2d', {}) for w in data['workloads'].values()]
    tgt = sorted({r.get('cpu_target') for r in ae if r.get('cpu_target')})
    peak = sorted(round(r['fma_peak_gflops']) for r in ae if r.get('fma_peak_gflops'))
    if tgt or peak:
        # measured once per workload: a spread means the machine was busy
        lines[-1] += ' ae2d CPU target {0}, measured FMA peak {1}.'.format(
            ', '.join(tgt) or '?', '?' if not peak else '{0} GFLOP/s'.format(peak[0]) if peak[0] == peak[-1] else
            '{0}-{1} GFLOP/s (measured per size: the machine was busy)'.format(peak[0], peak[-1]))
    lines.append('')
    head = ['network', 'input', 'GMAC']
    if has_ae2d:
        head += ['ae2d ms (err)', 'ae2d GFLOP/s', 'ae2d rel err']
    for e in engines:
        head.append(SHORT[e] + ' ms (' + ('precision, ' if e == 'openvino_default' else '') + 'err)')
        if has_ae2d:
            head.append('ae2d / ' + SHORT[e])
    lines += ['| ' + ' | '.join(head) + ' |', '|' + '|'.join(['---', '---'] + ['---:'] * (len(head) - 2)) + '|']
    per_net = {}
    for wl, w in data['workloads'].items():
        meta, res = w.get('meta') or {}, w['results']
        a = res.get('ae2d', {})
        # a named workload by its name, a shape workload by its network: "W2 net"
        label = wl if wl in wls.WORKLOADS else wls.NETWORK_LABEL.get(meta.get('model'), meta.get('model', wl))
        row = [label, shape_str(meta), fmt(meta.get('conv_macs') and meta['conv_macs'] / 1e9, '.1f')]
        if has_ae2d:
            row += [cell(a), fmt(a.get('gflops'), '.0f'), fmt(a.get('rel_diff_to_f64'), '.1e')]
        for e in engines:
            row.append(cell(res.get(e), with_precision=(e == 'openvino_default')))
            if has_ae2d:
                row.append(fmt(res.get(e, {}).get('ae2d_over_engine'), '.2f'))
        lines.append('| ' + ' | '.join(row) + ' |')
        if has_ae2d and 'gflops' in a:
            per_net.setdefault(meta.get('model', '?'), []).append((wl, meta, res))
    lines += ['', 'ms: median of the timed inferences; (err): max abs difference to the same net in float64 '
              'PyTorch; ae2d rel err: that difference over the reference\'s largest magnitude; '
              'ae2d GFLOP/s: 2 x conv MACs / median time; ae2d / X: ae2d\'s median over X\'s (< 1: ae2d is '
              'faster). OV default is OpenVINO without INFERENCE_PRECISION_HINT: its precision is what it '
              'reports; where that is not f32 its time is no fp32 result.']
    targets = [('openvino', 0.6), ('ort', 0.45), ('torch_compile', 0.5)]
    for model, rows in per_net.items():
        label = wls.NETWORK_LABEL.get(model, model)
        big = [(wl, meta, res) for wl, meta, res in rows
               if meta.get('input_shape') and meta['input_shape'][2] * meta['input_shape'][3] >= 128 * 128]
        parts = []
        if big:
            best = max(res['ae2d']['gflops'] for _, _, res in big)
            worst = min(big, key=lambda t: t[2]['ae2d']['gflops'])
            parts.append('per MAC, the slowest of the {0} sizes of >= 128x128 pixels ({1}) is {2:.2f}x the '
                         'fastest (target <= 1.2)'.format(len(big), shape_str(worst[1]),
                                                          best / worst[2]['ae2d']['gflops']))
        for eng, lim in targets:
            have = [res[eng]['ae2d_over_engine'] for _, _, res in rows if 'ae2d_over_engine' in res.get(eng, {})]
            if have:
                parts.append('ae2d / {0} <= {1} on {2} of {3} sizes (worst {4:.3f})'.format(
                    SHORT[eng], lim, sum(v <= lim for v in have), len(have), max(have)))
        errs = [res['ae2d'].get('rel_diff_to_f64') for _, _, res in rows if res['ae2d'].get('rel_diff_to_f64')]
        if errs:
            parts.append('ae2d rel err at most {0:.1e} (target <= 1e-4)'.format(max(errs)))
        if parts:
            lines += ['', '{0} ({1}): {2}.'.format(label, model, '; '.join(parts))]
    return lines


def render(data, title):
    lines = ['# ' + title, ''] + summary_table(data)
    for wl, w in data['workloads'].items():
        lines += workload_table(wl, w.get('meta'), w['results'], data['settings'])
    return '\n'.join(lines) + '\n'


def update_doc(path, data):
    '''Put the summary table between the markers of `path` (appending a section if absent).'''
    body = '\n'.join(summary_table(data))
    block = DOC_BEGIN + '\n' + body + '\n' + DOC_END
    text = open(path).read() if os.path.exists(path) else '# Performance\n'
    if DOC_BEGIN in text and DOC_END in text:
        a = text.index(DOC_BEGIN)
        b = text.index(DOC_END) + len(DOC_END)
        text = text[:a] + block + text[b:]
    else:
        text = text.rstrip('\n') + (
            '\n\n## Peers on sizes the tables were not tuned on\n\n'
            'Generated by `bench/peers/run_peers.py --sweep` (bench/README.md); regenerate this block with\n'
            '`.venv-peers/bin/python bench/peers/run_peers.py --render bench/work/sweep.json '
            '--update-doc docs/performance.md`.\n\n') + block + '\n'
    with open(path, 'w') as f:
        f.write(text)
    print('updated {0}'.format(os.path.relpath(path, os.getcwd())))


# ----------------------------------------------------------------------------
def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    wls.add_selection_args(ap, ','.join(wls.WORKLOADS))
    ap.add_argument('--engines', default=None,
                    help='comma-separated subset of {0} (default all; --sweep: {1})'.format(
                        ','.join(ALL_ENGINES), ','.join(SWEEP_ENGINES)))
    ap.add_argument('--threads', type=int, default=2, help='threads for every engine (default 2)')
    ap.add_argument('--runs', type=int, default=None, help='timed inferences per engine (default 10; --sweep 4)')
    ap.add_argument('--warmup', type=int, default=None,
                    help='untimed inferences per engine first (default 2; --sweep 0: the accuracy pass '
                    'and each chunk\'s untimed inference warm it)')
    ap.add_argument('--chunks', type=int, default=None,
                    help='interleaved chunks the runs are split into (default 5; --sweep 2)')
    ap.add_argument('--cooldown', type=float, default=0.2, help='seconds of sleep between engines (default 0.2)')
    ap.add_argument('--ae2d', default=os.path.join(ROOT, 'build', 'ae2d'), help='ae2d binary (default build/ae2d)')
    ap.add_argument('--debian-python', default='/usr/bin/python3',
                    help='interpreter of the torch_debian engine (default /usr/bin/python3)')
    ap.add_argument('--output', default=None,
                    help='results JSON (default bench/work/results.json; --sweep bench/work/sweep.json); '
                    'the markdown goes next to it (.md)')
    ap.add_argument('--render', metavar='JSON', default=None,
                    help='only re-render the markdown of an earlier results JSON (no runs)')
    ap.add_argument('--update-doc', metavar='FILE', default=None,
                    help='also put the summary table into FILE between {0} and {1}'.format(DOC_BEGIN, DOC_END))
    args = ap.parse_args()

    if args.render:
        with open(args.render) as f:
            data = json.load(f)
        md = os.path.splitext(args.render)[0] + '.md'
        with open(md, 'w') as f:
            f.write(render(data, data.get('title', 'Peers')))
        print('wrote {0}'.format(os.path.relpath(md, os.getcwd())))
        if args.update_doc:
            update_doc(args.update_doc, data)
        return

    sweep = args.sweep
    args.runs = args.runs if args.runs is not None else (4 if sweep else 10)
    args.warmup = args.warmup if args.warmup is not None else (0 if sweep else 2)
    args.chunks = args.chunks if args.chunks is not None else (2 if sweep else 5)
    if args.runs < 1 or args.threads < 1 or args.warmup < 0 or args.chunks < 1:
        ap.error('--runs, --threads, --chunks must be >= 1 and --warmup >= 0')
    output = args.output or os.path.join(WORK, 'sweep.json' if sweep else 'results.json')
    sel = wls.selected_workloads(ap, args, ','.join(wls.WORKLOADS))

    engines = wls.split_list(args.engines) if args.engines else list(SWEEP_ENGINES if sweep else ALL_ENGINES)
    bad = [e for e in engines if e not in ALL_ENGINES]
    if bad:
        ap.error('unknown engine(s): {0} (choose from {1})'.format(', '.join(bad), ','.join(ALL_ENGINES)))

    # export what is missing, in a subprocess (its torch threads and memory stay there)
    missing = [w for w in sel if wls.missing_files(w)]
    if missing:
        print('run_peers: exporting {0} workload(s) first: {1}'.format(len(missing), ', '.join(missing)))
        named = [w for w in missing if w in wls.WORKLOADS]
        calls = [['--workloads', ','.join(named)]] if named else []
        by_model = {}
        for w in missing:
            if w not in wls.WORKLOADS:
                model, shape, _ = sel[w]
                by_model.setdefault(model, []).append('x'.join(str(v) for v in shape))
        for model, shapes in by_model.items():
            calls.append(['--workloads', '', '--network', model, '--shapes', ','.join(shapes)])
        for c in calls:
            cmd = [sys.executable, os.path.join(HERE, 'export_workloads.py'), '--missing',
                   '--threads', str(args.threads)] + c
            if subprocess.run(cmd).returncode != 0:
                sys.exit('run_peers: export failed: ' + ' '.join(cmd))

    skipped = {}
    if 'ae2d' in engines:
        why = ae2d_usable(args.ae2d)
        if why:
            print('run_peers: skipping ae2d: {0}; pass --engines without ae2d to silence this'.format(why),
                  file=sys.stderr)
            skipped['ae2d'] = why
            engines.remove('ae2d')
    if not engines:
        sys.exit('run_peers: no engine left to run')

    manifest = {}
    mpath = os.path.join(WORK, 'workloads.json')
    if os.path.exists(mpath):
        with open(mpath) as f:
            manifest = {e['name']: e for e in json.load(f)}

    machine = machine_info(args.threads)
    print('machine: {0}, {1} logical CPUs ({2}), {3} threads per engine, load average {4:.2f}'.format(
        machine['cpu_model'], machine['logical_cpus'], ' '.join(machine['simd_flags']), args.threads,
        machine['loadavg_at_start'][0]))
    if machine['loadavg_at_start'][0] > (machine['logical_cpus'] or 1):
        print('run_peers: WARNING: load average {0:.1f} > {1} CPUs: other work is running, timings are not '
              'reliable (PyTorch\'s spinning OpenMP threads suffer most when CPUs are oversubscribed)'.format(
                  machine['loadavg_at_start'][0], machine['logical_cpus']), file=sys.stderr)
    title = 'Peers: sweep of sizes the schedule tables were not tuned on' if sweep else 'Peers'
    settings = {k: getattr(args, k) for k in ('threads', 'runs', 'warmup', 'chunks', 'cooldown', 'ae2d')}
    out = {'title': title, 'date': datetime.datetime.now().isoformat(timespec='seconds'), 'machine': machine,
           'settings': settings, 'engines': engines, 'skipped_engines': skipped, 'workloads': {}}

    def save():
        out['machine']['loadavg_at_end'] = list(os.getloadavg())
        os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
        with open(output, 'w') as f:
            json.dump(out, f, indent=2)
            f.write('\n')
        with open(os.path.splitext(output)[0] + '.md', 'w') as f:
            f.write(render(out, title))

    for i, wl in enumerate(sel):
        t0 = time.perf_counter()
        print('\n[{0}/{1}] {2} ...'.format(i + 1, len(sel), wl), flush=True)
        res = bench_workload(wl, engines, args, manifest.get(wl))
        print('\n'.join(workload_table(wl, manifest.get(wl), res, settings)))
        print('({0:.0f} s)'.format(time.perf_counter() - t0), flush=True)
        out['workloads'][wl] = {'meta': manifest.get(wl), 'results': res}
        save()  # after every workload: a long sweep that stops keeps what it measured
    if skipped:
        print('\nnot run: ' + '; '.join('{0} ({1})'.format(k, v) for k, v in skipped.items()))
    save()
    print('\n' + '\n'.join(summary_table(out)))
    print('\nwrote {0} and {1}'.format(os.path.relpath(output, os.getcwd()),
                                     os.path.relpath(os.path.splitext(output)[0] + '.md', os.getcwd())))
    if args.update_doc:
        update_doc(args.update_doc, out)


if __name__ == '__main__':
    main()
