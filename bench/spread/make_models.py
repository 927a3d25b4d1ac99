#!/usr/bin/python3
'''Random-weight AE2d models of the configurations the schedule policy is checked on.

    /usr/bin/python3 bench/spread/make_models.py      # writes bench/work/spread/<name>.safetensors

The configurations cover what users train: channel 16 to 64, depth 2 to 5, plain and
bottleneck, kernel 3 and 5, gray and color input. Weights as in tests/reference/make_fixtures.py
(fixed seeds), so every engine and every run sees the same model.
'''
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, '..', '..'))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'reference'))
import ae2d_ref as ref  # noqa: E402
from make_fixtures import metadata_for, random_state_dict  # noqa: E402

# name -> AE2d configuration
MODELS = {
    'c16_plain_d2_k3': dict(channel=16, layers=[2, 2], block='plain', kernel_size=3, in_planes=1, out_planes=1),
    'c32_bneck_d3_k3': dict(channel=32, layers=[2, 2, 2], block='bottleneck', kernel_size=3, in_planes=3,
                            out_planes=3),
    'c32_plain_d5_k5': dict(channel=32, layers=[1, 1, 1, 1, 1], block='plain', kernel_size=5, in_planes=1,
                            out_planes=1),
    'c48_plain_d4_k3': dict(channel=48, layers=[2, 1, 1, 2], block='plain', kernel_size=3, in_planes=1,
                            out_planes=1),
    'c64_bneck_d4_k3': dict(channel=64, layers=[2, 2, 2, 2], block='bottleneck', kernel_size=3, in_planes=1,
                            out_planes=1),
    'c64_plain_d3_k3': dict(channel=64, layers=[2, 1, 1], block='plain', kernel_size=3, in_planes=1, out_planes=1),
    'c64_bneck_d5_k3': dict(channel=64, layers=[2, 2, 2, 2, 3], block='bottleneck', kernel_size=3, in_planes=3,
                            out_planes=1),
}


def main():
    out = os.path.join(ROOT, 'bench', 'work', 'spread')
    os.makedirs(out, exist_ok=True)
    for i, (name, cfg) in enumerate(MODELS.items()):
        net = ref.AE2d(**cfg)
        sd = random_state_dict(net, seed=7000 + i)
        meta = metadata_for(cfg['channel'], cfg['layers'], cfg['block'], cfg['kernel_size'], cfg['in_planes'],
                            cfg['out_planes'])
        ref.save_safetensors(os.path.join(out, name + '.safetensors'), sd, meta, dtype='F32')
        print(name, cfg)


if __name__ == '__main__':
    main()
