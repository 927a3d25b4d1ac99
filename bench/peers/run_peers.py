#!/usr/bin/env python3
# -*- coding: UTF-8 -*-
'''Time ae2d against PyTorch eager, ONNX Runtime and OpenVINO on the exported workloads.

Needs the venv from bench/peers/setup_peers.sh and the files from export_workloads.py:

    .venv-peers/bin/python bench/peers/run_peers.py --threads 2
    .venv-peers/bin/python bench/peers/run_peers.py --workloads W1 --runs 2 --engines torch,ort,openvino

Engines (--engines, default all four):
  torch     PyTorch eager, float32, torch.set_num_threads(N), torch.inference_mode(); the net is
            rebuilt from W.safetensors (tests/reference/ae2d_ref.py)
  ort       ONNX Runtime, CPUExecutionProvider, ORT_ENABLE_ALL, intra_op_num_threads=N,
            inter_op_num_threads=1, ORT_SEQUENTIAL, on W.onnx
  openvino  OpenVINO CPU plugin on W.onnx, INFERENCE_NUM_THREADS=N, PERFORMANCE_HINT=LATENCY,
            INFERENCE_PRECISION_HINT=f32 (so it never drops to bf16 where the CPU has it)
  ae2d      build/ae2d (--ae2d PATH): `ae2d bench --json` for timing, `ae2d run` for the output.
            If the binary is missing or does not answer `bench --json`, it is skipped with a
            message and the ratio column is left empty.

Timing method (the same for every engine, chosen so that no engine gets a quieter stretch
of the machine than another): the --runs timed inferences per engine are split into --chunks
chunks of about runs/chunks inferences. Chunks are interleaved: chunk 1 of every engine in
turn, then chunk 2 of every engine, and so on, the engine order rotating by one each chunk.
Each chunk starts with one untimed inference (caches, thread pools, arenas), after --warmup
untimed inferences per engine before the first chunk. Between two engines the script sleeps
--cooldown seconds so that the previous engine's spinning worker threads have gone idle.
  * torch / ort / openvino run in this process, so every timed inference is one sample
    (time.perf_counter around one call; the input is the workload's W.input.npy).
  * ae2d runs as a subprocess per chunk: `ae2d bench --json --runs K --warmup 1 --threads N`
    (its model load and warm-up are outside its timed loop; its input is its own uniform
    random tensor of the same shape, which does not change the work done). Its JSON gives
    the chunk's median, min and max, not each run, so ae2d's samples are the chunk medians.
The reported median is the median of an engine's samples (for ae2d the median of its chunk
medians, which equals the median of all runs when runs agree within a chunk), min is the
fastest inference seen. ratio = engine median / ae2d median (> 1: ae2d is faster).

Accuracy: every engine's output on W.input.npy is compared with W.torch_out.npy (PyTorch
float32 eager at 1 thread, from the export); for ae2d through `ae2d run --input W.input.npy
--output bench/work/W.ae2d_out.npy`. When W.torch64_out.npy exists, the difference to the
float64 reference is reported too (the float32 noise floor).

Prints one markdown table per workload and writes bench/work/results.json (machine: CPU model
from /proc/cpuinfo, logical CPUs, SIMD flags, load average; versions; per engine samples).
'''

import argparse
import datetime
import gc
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, '..', '..'))
WORK = os.path.join(ROOT, 'bench', 'work')
ALL_ENGINES = ['ae2d', 'torch', 'ort', 'openvino']
ENGINE_TITLES = {'ae2d': 'ae2d', 'torch': 'PyTorch eager', 'ort': 'ONNX Runtime', 'openvino': 'OpenVINO'}


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
                                         'avx512_bf16', 'amx_tile', 'avx_vnni') if x in have]
    except OSError:
        pass
    return {
        'cpu_model': cpu, 'logical_cpus': os.cpu_count(), 'simd_flags': flags,
        'threads': threads, 'loadavg_at_start': list(os.getloadavg()),
        'kernel': platform.release(), 'python': platform.python_version(),
    }


# ----------------------------------------------------------------------------
# Engines: each has .version, .infer(x) -> float32 ndarray, .time_chunk(k) -> [ms]
# ----------------------------------------------------------------------------
class PyEngine:
    '''In-process engine: subclasses define self._run(x) and self.version.'''

    def __init__(self, x):
        self.x = x

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


class TorchEngine(PyEngine):
    def __init__(self, wl, x, threads):
        super().__init__(x)
        import torch
        sys.path.insert(0, os.path.join(ROOT, 'tests', 'reference'))
        import ae2d_ref as ref
        torch.set_num_threads(threads)
        sd, meta = ref.load_safetensors(os.path.join(WORK, wl + '.safetensors'))
        cfg = dict(channel=int(meta['channel']), layers=json.loads(meta['layers']), block=meta['block'],
                   kernel_size=json.loads(meta['kernel_size']), in_planes=int(meta['in_planes']),
                   out_planes=int(meta['out_planes']))
        net = ref.AE2d(**cfg)
        net.load_state_dict(sd, strict=True)
        self.net = net.float().eval()
        self.torch = torch
        self.version = 'torch ' + torch.__version__
        self.xt = torch.from_numpy(x)

    def _run(self, x):
        with self.torch.inference_mode():
            xt = self.xt if x is self.x else self.torch.from_numpy(x)
            return self.net(xt).numpy()


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
    def __init__(self, wl, x, threads):
        super().__init__(x)
        import openvino as ov
        core = ov.Core()
        model = core.read_model(os.path.join(WORK, wl + '.onnx'))
        self.compiled = core.compile_model(model, 'CPU', {
            'INFERENCE_NUM_THREADS': threads,
            'PERFORMANCE_HINT': 'LATENCY',
            'INFERENCE_PRECISION_HINT': 'f32',
        })
        self.req = self.compiled.create_infer_request()
        self.version = 'openvino ' + ov.__version__.split('-')[0]

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

    def _bench(self, runs, warmup):
        cmd = [self.exe, 'bench', '--model', self.model, '--input-shape', self.shape, '--threads',
               str(self.threads), '--runs', str(runs), '--warmup', str(warmup), '--json']
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError('{0} failed (rc {1}): {2}'.format(' '.join(cmd), p.returncode,
                                                                 (p.stderr or p.stdout).strip()[-500:]))
        try:
            j = json.loads(p.stdout)
            float(j['median_ms'])
        except (ValueError, KeyError, TypeError):
            raise RuntimeError('{0} printed no JSON with median_ms: {1!r}'.format(' '.join(cmd), p.stdout[-300:]))
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
        rev = subprocess.run(['git', '-C', ROOT, 'rev-parse', '--short', 'HEAD'], capture_output=True,
                             text=True).stdout.strip()
        dirty = subprocess.run(['git', '-C', ROOT, 'status', '--porcelain', '--untracked-files=no'],
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


def make_engine(name, wl, x, threads, exe):
    if name == 'torch':
        return TorchEngine(wl, x, threads)
    if name == 'ort':
        return OrtEngine(wl, x, threads)
    if name == 'openvino':
        return OpenVinoEngine(wl, x, threads)
    return Ae2dEngine(wl, x, threads, exe)


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
        try:
            t0 = time.perf_counter()
            e = make_engine(name, wl, x, args.threads, args.ae2d)
            r['version'] = e.version
            y = e.infer(x)
            r['load_and_first_infer_s'] = round(time.perf_counter() - t0, 3)
            if y.shape != y_ref.shape:
                raise RuntimeError('output shape {0} != {1}'.format(y.shape, y_ref.shape))
            r['max_abs_diff_to_torch'] = float(np.abs(y.astype(np.float64) - y_ref).max())
            if y64 is not None:
                r['max_abs_diff_to_f64'] = float(np.abs(y.astype(np.float64) - y64).max())
            e.warm(args.warmup)
            live[name] = e
        except Exception as ex:  # noqa: BLE001 - report and go on with the other engines
            r['error'] = '{0}: {1}'.format(type(ex).__name__, ex)
            print('  {0}: skipped: {1}'.format(name, r['error']), file=sys.stderr)
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
                del live[name]
        gc.collect()

    macs = wl_meta.get('conv_macs') if wl_meta else None
    for name, e in live.items():
        r = res[name]
        s = r['samples_ms']
        r['median_ms'] = statistics.median(s)
        if isinstance(e, Ae2dEngine):
            r['min_ms'] = min(float(j['min_ms']) for j in e.chunks)
            r['max_ms'] = max(float(j['max_ms']) for j in e.chunks)
            r['runs'] = sum(int(j.get('runs', 0)) for j in e.chunks)
            r['samples_are'] = 'chunk medians of ae2d bench --json'
            last = e.chunks[-1]
            for key in ('gflops', 'macs', 'peak_rss_bytes', 'arena_bytes', 'stages'):
                if key in last:
                    r['ae2d_' + key] = last[key]
        else:
            r['min_ms'], r['max_ms'], r['runs'] = min(s), max(s), len(s)
            r['samples_are'] = 'single inferences'
        if macs:
            r['gflops'] = 2.0 * macs / (r['median_ms'] * 1e-3) / 1e9
    base = res.get('ae2d', {}).get('median_ms')
    for r in res.values():
        if 'median_ms' in r and base:
            r['ratio_to_ae2d'] = r['median_ms'] / base
    return res


def fmt(v, spec, empty='-'):
    return empty if v is None else format(v, spec)


def print_table(wl, wl_meta, res, args):
    shape = 'x'.join(str(v) for v in wl_meta['input_shape']) if wl_meta else '?'
    desc = ''
    if wl_meta:
        c = wl_meta['config']
        desc = ' AE2d({0}, {1}, {2}, k{3}, in {4}, out {5})'.format(
            c['channel'], c['layers'], c['block'], c['kernel_size'], c['in_planes'], c['out_planes'])
        desc += ', {0:.2f} GMAC'.format(wl_meta['conv_macs'] / 1e9)
    print('\n### {0}: input {1},{2}, {3} threads, {4} runs in {5} chunks\n'.format(
        wl, shape, desc, args.threads, args.runs, len(split_runs(args.runs, args.chunks))))
    print('| engine | median ms | min ms | GFLOP/s | ratio to ae2d | max abs diff to PyTorch | to float64 |')
    print('|---|---:|---:|---:|---:|---:|---:|')
    for r in res.values():
        if 'error' in r and 'median_ms' not in r:
            print('| {0} | skipped: {1} | | | | | |'.format(r.get('version', r['title']), r['error'][:90].replace('|', '/')))
            continue
        print('| {0} | {1} | {2} | {3} | {4} | {5} | {6} |'.format(
            r['version'], fmt(r.get('median_ms'), '.2f'), fmt(r.get('min_ms'), '.2f'), fmt(r.get('gflops'), '.1f'),
            fmt(r.get('ratio_to_ae2d'), '.2f'), fmt(r.get('max_abs_diff_to_torch'), '.2e'),
            fmt(r.get('max_abs_diff_to_f64'), '.2e')))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--workloads', default='W1,W2,W3,W4', help='comma-separated, default W1,W2,W3,W4')
    ap.add_argument('--engines', default=','.join(ALL_ENGINES), help='comma-separated subset of ' + ','.join(ALL_ENGINES))
    ap.add_argument('--threads', type=int, default=2, help='threads for every engine (default 2)')
    ap.add_argument('--runs', type=int, default=10, help='timed inferences per engine (default 10)')
    ap.add_argument('--warmup', type=int, default=2, help='untimed inferences per engine first (default 2)')
    ap.add_argument('--chunks', type=int, default=5, help='interleaved chunks the runs are split into (default 5)')
    ap.add_argument('--cooldown', type=float, default=0.2, help='seconds of sleep between engines (default 0.2)')
    ap.add_argument('--ae2d', default=os.path.join(ROOT, 'build', 'ae2d'), help='ae2d binary (default build/ae2d)')
    ap.add_argument('--output', default=os.path.join(WORK, 'results.json'), help='results JSON')
    args = ap.parse_args()
    if args.runs < 1 or args.threads < 1 or args.warmup < 0 or args.chunks < 1:
        ap.error('--runs, --threads, --chunks must be >= 1 and --warmup >= 0')

    engines = [e.strip() for e in args.engines.split(',') if e.strip()]
    bad = [e for e in engines if e not in ALL_ENGINES]
    if bad:
        ap.error('unknown engine(s): {0} (choose from {1})'.format(', '.join(bad), ','.join(ALL_ENGINES)))
    workloads = [w.strip() for w in args.workloads.split(',') if w.strip()]
    missing = [w for w in workloads for ext in ('.safetensors', '.onnx', '.input.npy', '.torch_out.npy')
               if not os.path.exists(os.path.join(WORK, w + ext))]
    if missing:
        sys.exit('run_peers: workload(s) {0} not exported; run bench/peers/export_workloads.py --workloads {1}'.format(
            ', '.join(sorted(set(missing))), ','.join(sorted(set(missing)))))

    skipped = {}
    if 'ae2d' in engines:
        why = ae2d_usable(args.ae2d)
        if why:
            print('run_peers: skipping ae2d: {0}; pass --engines torch,ort,openvino to silence this'.format(why),
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
    out = {'date': datetime.datetime.now().isoformat(timespec='seconds'), 'machine': machine,
           'settings': {k: getattr(args, k) for k in ('threads', 'runs', 'warmup', 'chunks', 'cooldown', 'ae2d')},
           'engines': engines, 'skipped_engines': skipped, 'workloads': {}}
    for wl in workloads:
        res = bench_workload(wl, engines, args, manifest.get(wl))
        print_table(wl, manifest.get(wl), res, args)
        out['workloads'][wl] = {'meta': manifest.get(wl), 'results': res}
    if skipped:
        print('\nnot run: ' + '; '.join('{0} ({1})'.format(k, v) for k, v in skipped.items()))
    out['machine']['loadavg_at_end'] = list(os.getloadavg())
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    with open(args.output, 'w') as f:
        json.dump(out, f, indent=2)
        f.write('\n')
    print('\nwrote {0}'.format(os.path.relpath(args.output, os.getcwd())))


if __name__ == '__main__':
    main()
