#!/usr/bin/python3
# -*- coding: UTF-8 -*-
'''One PyTorch eager AE2d or UNet2d served over a pipe: run_peers.py's engine for another interpreter.

run_peers.py runs in .venv-peers (PyTorch 2.x from PyPI). Its `torch_debian` engine is this
script under Debian's /usr/bin/python3 (python3-torch 1.13), as a long-lived subprocess, so
that the net is built and warm once per workload and every timed inference is measured
inside that interpreter exactly as the in-process engines are (time.perf_counter around
one forward). Also usable by hand:

    /usr/bin/python3 bench/peers/torch_worker.py --model bench/work/W1.safetensors \\
        --input bench/work/W1.input.npy --threads 2 <<< '{"cmd": "time", "k": 3}'

Protocol: after start-up it writes one JSON line {"version": ..., "python": ...} (or
{"error": ...}); then it reads one JSON request per line and answers one JSON line each:
  {"cmd": "infer", "output": PATH}  -> {"ok": true}   (output of the --input tensor, .npy float32)
  {"cmd": "warm", "n": N}           -> {"ok": true}   (N untimed inferences)
  {"cmd": "time", "k": K}           -> {"ms": [...]}  (one untimed, then K timed inferences)
  {"cmd": "quit"}                   -> exits
Anything the libraries print goes to stderr; stdout carries only the protocol.
'''

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, '..', '..'))


def load_net(path):
    '''(float32 eval AE2d or UNet2d, by the metadata's arch, from a ae2d .safetensors file with
    __metadata__, torch module).'''
    import torch
    sys.path.insert(0, os.path.join(ROOT, 'tests', 'reference'))
    import ae2d_ref as ref
    import unet2d_ref
    sd, meta = ref.load_safetensors(path)
    cfg = dict(channel=int(meta['channel']), layers=json.loads(meta['layers']), block=meta['block'],
               kernel_size=json.loads(meta['kernel_size']), in_planes=int(meta['in_planes']),
               out_planes=int(meta['out_planes']))
    arch = meta.get('arch', 'AE2d')
    archs = {'AE2d': ref.AE2d, 'UNet2d': unet2d_ref.UNet2d}
    if arch not in archs:
        raise ValueError('{0}: unknown arch {1!r} in the metadata'.format(path, arch))
    net = archs[arch](**cfg)
    net.load_state_dict(sd, strict=True)
    return net.float().eval(), torch


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--model', required=True, help='.safetensors with __metadata__')
    ap.add_argument('--input', required=True, help='float32 .npy input')
    ap.add_argument('--threads', type=int, default=2)
    args = ap.parse_args()

    proto = os.fdopen(os.dup(1), 'w', buffering=1)
    os.dup2(2, 1)  # whatever else writes to fd 1 lands on stderr
    sys.stdout = sys.stderr

    def send(obj):
        proto.write(json.dumps(obj) + '\n')
        proto.flush()

    try:
        import numpy as np
        net, torch = load_net(args.model)
        torch.set_num_threads(args.threads)
        xt = torch.from_numpy(np.load(args.input).astype(np.float32))

        def run():
            with torch.inference_mode():
                return net(xt)

        run()  # first inference before the 'ready' line: allocator and thread pool up
    except Exception as ex:  # noqa: BLE001 - told to the parent
        send({'error': '{0}: {1}'.format(type(ex).__name__, ex)})
        return 1
    send({'version': torch.__version__, 'python': sys.executable, 'numpy': np.__version__})

    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            cmd = req.get('cmd')
            if cmd == 'quit':
                break
            if cmd == 'infer':
                np.save(req['output'], run().numpy().astype(np.float32))
                send({'ok': True})
            elif cmd == 'warm':
                for _ in range(int(req.get('n', 1))):
                    run()
                send({'ok': True})
            elif cmd == 'time':
                run()  # untimed, as run_peers.py's in-process engines do per chunk
                ms = []
                for _ in range(int(req['k'])):
                    t0 = time.perf_counter()
                    run()
                    ms.append((time.perf_counter() - t0) * 1e3)
                send({'ms': ms})
            else:
                send({'error': 'unknown cmd {0!r}'.format(cmd)})
        except Exception as ex:  # noqa: BLE001
            send({'error': '{0}: {1}'.format(type(ex).__name__, ex)})
    return 0


if __name__ == '__main__':
    sys.exit(main())
