# -*- coding: UTF-8 -*-
'''The output modes of a model file (its __metadata__ "output"), in PyTorch: what ae2d's
Model::forward returns for each (src/graph/output_transform.cpp runs them as graph stages).

  "raw" (or no key):  y = f(x), the AE2d module's output.
  "normalized":       y = m + s * f((x - m) / s), with m the mean and s = sqrt(biased variance
                      + 1e-5) of each (image, channel) plane of x: InstanceNorm2d's statistics
                      without its affine map. Needs in_planes == out_planes.
  "residual":         y = x - s * f((x - m) / s), m and s as above: f predicts the normalized
                      noise (residual learning, as DnCNN). Needs in_planes == out_planes.
'''
import torch

MODES = ('raw', 'normalized', 'residual')
STAT_EPS = 1e-5


def input_stats(x):
    '''Per-(image, channel) mean and sqrt(biased variance + STAT_EPS), shaped (B, C, 1, 1).'''
    m = x.mean(dim=(2, 3), keepdim=True)
    v = ((x - m) ** 2).mean(dim=(2, 3), keepdim=True)
    return m, torch.sqrt(v + STAT_EPS)


def forward(net, x, mode='raw'):
    '''The model's output for input x (B, C, H, W) in output mode `mode`.'''
    if mode in (None, 'raw'):
        return net(x)
    if mode == 'normalized':
        m, s = input_stats(x)
        return m + s * net((x - m) / s)
    if mode == 'residual':
        m, s = input_stats(x)
        return x - s * net((x - m) / s)
    raise ValueError('unknown output mode {0!r}; expected one of {1}'.format(mode, MODES))
