#!/usr/bin/env python3
'''Collect the scikit-image photographs used to train and evaluate the bundled denoiser into one
.npz (uint8 arrays), so that tools/train_denoiser.py (Debian python3 + torch, no image library)
can read them. Run with the evaluation venv, which has scikit-image:

    python3 -m venv .venv-eval && .venv-eval/bin/pip install scikit-image opencv-python-headless bm3d
    .venv-eval/bin/python tools/denoiser_photos.py            # writes build-photos/photos.npz

Only images that ship inside the scikit-image wheel and whose documented license is CC0 or public
domain are used (skimage/data/_fetchers.py docstrings; skimage.data README points there):

  train: astronaut (public domain, NASA), rocket (public domain, SpaceX), hubble_deep_field (public
         domain, NASA), retina (CC0), grass (CC0), gravel (CC0), cell (CC0), microaneurysms (CC0)
  validation during training (never a gradient step): coffee (CC0, Rachel Michetti)
  evaluation only, never seen in training: camera (CC0), moon, coins, text, page, brick (the set
         of issue 25; moon and coins: no known copyright restrictions) and chelsea (CC0, colour)
'''
import os
import sys

import numpy as np
from skimage import data

TRAIN = ['astronaut', 'rocket', 'hubble_deep_field', 'retina', 'grass', 'gravel', 'cell',
         'microaneurysms']
VALID = ['coffee']
EVAL_GRAY = ['camera', 'moon', 'coins', 'text', 'page', 'brick']
EVAL_COLOR = ['chelsea']


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), '..', 'build-photos', 'photos.npz')
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    arrays = {}
    for group, names in (('train', TRAIN), ('valid', VALID), ('evalgray', EVAL_GRAY),
                         ('evalcolor', EVAL_COLOR)):
        for name in names:
            img = np.asarray(getattr(data, name)())
            if img.dtype != np.uint8:
                img = (img.astype(np.float64) / img.max() * 255).round().astype(np.uint8)
            arrays['{0}/{1}'.format(group, name)] = img
            print(group, name, img.shape, img.dtype)
    np.savez_compressed(out, **arrays)
    print('wrote', out)


if __name__ == '__main__':
    main()
