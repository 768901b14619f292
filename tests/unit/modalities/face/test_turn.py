"""Faces on their side: points found in quarter-turned copies map back to the image."""

from __future__ import annotations

import numpy as np
import pytest

from fortify.modalities.face.turn import unturn_points


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_unturn_points_inverts_rot90(k: int) -> None:
    h, w = 7, 11
    img = np.arange(h * w).reshape(h, w)
    turned = np.rot90(img, k)
    ys, xs = np.mgrid[0 : turned.shape[0], 0 : turned.shape[1]]
    pts = np.stack([xs.ravel(), ys.ravel()], axis=1).astype(float)
    back = unturn_points(pts, k, h, w).astype(int)
    assert (back[:, 0] >= 0).all() and (back[:, 0] < w).all()
    assert (back[:, 1] >= 0).all() and (back[:, 1] < h).all()
    # every pixel of the turned copy is the pixel of the image its point maps back to
    assert np.array_equal(turned[ys.ravel(), xs.ravel()], img[back[:, 1], back[:, 0]])
