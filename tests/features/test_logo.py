"""Logos are PNGs sized by motif length; bad input is refused."""

from __future__ import annotations

import io

import numpy as np
import pytest

from genolens.errors import ConfigError
from genolens.features.logo import logo_png


def test_logo_is_a_png_whose_width_follows_the_motif():
    import matplotlib.image as mpimg

    short = logo_png(np.eye(4)[[0, 1, 2, 3, 0, 1, 2, 3]], title="x", highlight=(2, 5))
    long = logo_png(np.full((30, 4), 0.25), first_position=-15)
    assert short[:8] == b"\x89PNG\r\n\x1a\n"
    w_short = mpimg.imread(io.BytesIO(short)).shape[1]
    w_long = mpimg.imread(io.BytesIO(long)).shape[1]
    assert w_long > w_short
    img = mpimg.imread(io.BytesIO(short))
    assert img[..., :3].std() > 0.05  # letters drawn, not a blank image


def test_logo_refuses_wrong_shape():
    with pytest.raises(ConfigError, match=r"\[length >= 1, 4\]"):
        logo_png(np.ones((5, 3)))
