"""``restore.figures``: labelled side-by-side panels for the demo and the benchmark figures."""

from __future__ import annotations

import numpy as np
import pytest

from restore.figures import LABEL_HEIGHT, side_by_side, zoomed


def test_panels_sit_side_by_side_under_their_labels_and_gray_becomes_rgb():
    color = np.full((20, 120, 3), 200, np.uint8)
    gray = np.full((20, 10), 50, np.uint8)
    figure = side_by_side([color, gray], ["a label longer than its panel is wide", "g"])
    assert figure.shape == (20 + LABEL_HEIGHT, 130, 3) and figure.dtype == np.uint8
    assert (figure[LABEL_HEIGHT:, :120] == 200).all() and (figure[LABEL_HEIGHT:, 120:] == 50).all()
    assert figure[:LABEL_HEIGHT, :120].max() > 150, "the label is drawn on the band, shrunk to its panel"


def test_a_label_per_image_is_required():
    with pytest.raises(ValueError, match="2 images but 1 labels"):
        side_by_side([np.zeros((4, 4, 3), np.uint8)] * 2, ["one"])


def test_zoomed_repeats_pixels():
    image = np.arange(16, dtype=np.uint8).reshape(4, 4)
    detail = zoomed(image, np.s_[1:3, 2:4], 3)
    assert detail.shape == (6, 6) and (detail[:3, :3] == image[1, 2]).all() and (detail[3:, 3:] == image[2, 3]).all()
