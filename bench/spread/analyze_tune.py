#!/usr/bin/env python3
'''Summarizes `ae2d tune --all-variants` reports (bench/spread/run_tune.sh): per model, the sum
over its measured stages (each times its occurrences) of the policy's variant, the fastest
variant and manual, and the stages where the policy is more than 10% off the fastest.

    python3 bench/spread/analyze_tune.py bench/work/spread/*.holdout.txt
'''
import re
import sys


def parse(path):
    stages, cur = [], None
    for line in open(path):
        m = re.match(r'^(\S+ .*?)\s+(\d+)\s+(\S+)\s+([\d.]+)\s+(\S+)\s+([\d.]+)\s+([\d.]+)$', line.rstrip())
        if m:
            cur = {'key': m.group(1).strip(), 'count': int(m.group(2)), 'policy': m.group(3),
                   'policy_ms': float(m.group(4)), 'times': {}}
            stages.append(cur)
            continue
        if line.startswith('     ') and cur is not None:
            words = line.split()
            cur['times'] = {words[i]: float(words[i + 1]) for i in range(0, len(words), 2)}
    return [s for s in stages if s['times']]


def main():
    total = {'policy': 0.0, 'best': 0.0, 'manual': 0.0}
    for path in sys.argv[1:]:
        stages = parse(path)
        if not stages:
            print(path.split('/')[-1] + ': no measured stage')
            continue
        sums = {'policy': 0.0, 'best': 0.0, 'manual': 0.0}
        off = []
        for s in stages:
            best_v = min(s['times'], key=s['times'].get)
            best = s['times'][best_v]
            pol = s['times'].get(s['policy'], s['policy_ms'])
            sums['policy'] += s['count'] * pol
            sums['best'] += s['count'] * best
            sums['manual'] += s['count'] * s['times'].get('manual', pol)
            if pol > 1.10 * best and s['count'] * (pol - best) > 0.05:
                off.append('    {0}: policy {1} {2:.3f} ms, fastest {3} {4:.3f} ms ({5:.2f}x), x{6}'.format(
                    s['key'], s['policy'], pol, best_v, best, pol / best, s['count']))
        for k in total:
            total[k] += sums[k]
        print('{0}: {1} stages; sum policy {2:.1f} ms, fastest {3:.1f} ({4:.3f}), manual {5:.1f} ({6:.3f})'.format(
            path.split('/')[-1], len(stages), sums['policy'], sums['best'], sums['policy'] / sums['best'],
            sums['manual'], sums['manual'] / sums['best']))
        for line in off:
            print(line)
    if len(sys.argv) > 2:
        print('all: policy / fastest {0:.3f}, manual / fastest {1:.3f}'.format(
            total['policy'] / total['best'], total['manual'] / total['best']))


if __name__ == '__main__':
    main()
