"""Camera raw orientation: DNGs carry it, ``read_raw`` records it, and every raw path displays its result as a raw
viewer does (``rawpy``'s ``postprocess()`` with LibRaw's default flip) or writes it into the DNGs it makes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rawpy

import restore
from restore.cli import main as cli_main
from restore.errors import InvalidOptionError
from restore.io import CFA, ImageMetadata, read_image, read_raw, write_dng, write_image, write_linear_rgb_dng
from restore.io.orientation import apply_orientation
from restore.io.raw import orientation_from_libraw_flip
from restore.runs import develop_linear_raw, write_burst_dng, write_invisp_dng

HEIGHT, WIDTH = 32, 48  # landscape as stored; orientations 5 to 8 display it as portrait
LIBRAW_FLIP = {1: 0, 2: 1, 3: 3, 4: 2, 5: 4, 6: 6, 7: 7, 8: 5}  # EXIF orientation -> LibRaw's sizes.flip


@pytest.fixture
def linear_rgb(smooth_image) -> np.ndarray:
    """A smooth linear RGB image (HEIGHT, WIDTH, 3) with no symmetry that a turn or mirror would keep."""
    rgb = smooth_image(HEIGHT, WIDTH, 3).astype(np.float32) * 0.8
    rgb[2:8, 3:9] = 1.0  # a bright patch near the stored top-left corner
    return rgb


def oriented_dng(folder: Path, rgb: np.ndarray, orientation: int) -> Path:
    path = folder / f"orientation-{orientation}.dng"
    write_linear_rgb_dng(path, rgb, orientation=orientation)
    return path


def displayed(path: Path) -> np.ndarray:
    """LibRaw's rendering with its default flip, float (H, W, 3): what a raw viewer shows."""
    with rawpy.imread(str(path)) as raw:
        return raw.postprocess().astype(np.float64) / 255


def best_turn(image: np.ndarray, reference: np.ndarray) -> int:
    """The EXIF orientation that, applied to ``image``, best matches ``reference`` (1: it is already displayed so)."""
    scores = {}
    for orientation in range(1, 9):
        turned = apply_orientation(image, orientation).mean(axis=2)
        if turned.shape == reference.shape[:2]:
            scores[orientation] = np.corrcoef(turned.ravel(), reference.mean(axis=2).ravel())[0, 1]
    return max(scores, key=scores.get)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_dng_orientation_reads_back_and_matches_libraw(tmp_path, orientation: int) -> None:
    values = np.random.default_rng(orientation).integers(0, 4096, (24, 40)).astype(np.uint16)
    write_dng(tmp_path / "x.dng", values, CFA.GBRG, white_level=4095, orientation=orientation)
    raw = read_raw(tmp_path / "x.dng")
    assert raw.orientation == orientation
    assert np.array_equal(raw.raw_values, values) and raw.cfa == CFA.GBRG  # the mosaic stays as stored
    with rawpy.imread(str(tmp_path / "x.dng")) as opened:
        assert opened.sizes.flip == LIBRAW_FLIP[orientation]
        assert orientation_from_libraw_flip(opened.sizes.flip) == orientation
        assert read_raw(opened).orientation == orientation
        stored = opened.postprocess(user_flip=0)
        shown = opened.postprocess()
    assert np.array_equal(apply_orientation(stored, orientation), shown)
    assert np.array_equal(apply_orientation(shown, orientation, inverse=True), stored)


def test_raw_image_defaults_to_no_orientation(tmp_path) -> None:
    raw = read_raw(oriented_dng(tmp_path, np.full((24, 24, 3), 0.5, np.float32), 1))
    built = restore.io.RawImage(
        raw.mosaic, raw.cfa, raw.black_level, raw.white_level, raw.wb_gains, None, raw.raw_values
    )
    assert built.orientation == 1


@pytest.mark.parametrize("orientation", [0, 9, -1, True, "6"])
def test_bad_orientations_are_refused(tmp_path, orientation) -> None:
    with pytest.raises(InvalidOptionError, match="orientation"):
        write_dng(tmp_path / "x.dng", np.zeros((24, 24), np.uint16), CFA.RGGB, orientation=orientation)
    assert not (tmp_path / "x.dng").exists()
    if orientation is not True:
        with pytest.raises(InvalidOptionError, match="orientation"):
            apply_orientation(np.zeros((2, 3)), orientation)


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_conventional_rendering_is_displayed_like_libraw(tmp_path, linear_rgb, orientation: int) -> None:
    path = oriented_dng(tmp_path, linear_rgb, orientation)
    out = restore.restore(path, model="lowlight-conventional", ratio=1)
    reference = displayed(path)
    assert out.shape == reference.shape  # (48, 32, 3) for 6 and 8
    assert best_turn(out, reference) == 1
    as_stored = restore.restore(oriented_dng(tmp_path, linear_rgb, 1), model="lowlight-conventional", ratio=1)
    assert np.array_equal(out, apply_orientation(as_stored, orientation))  # same pixels, only turned


def test_nlmeans_baseline_is_turned_too(tmp_path, linear_rgb) -> None:
    out = restore.restore(oriented_dng(tmp_path, linear_rgb, 6), model="lowlight-nlmeans", ratio=1)
    as_stored = restore.restore(oriented_dng(tmp_path, linear_rgb, 1), model="lowlight-nlmeans", ratio=1)
    assert np.array_equal(out, apply_orientation(as_stored, 6))


@pytest.mark.parametrize("orientation", [6, 8])
def test_lowlight_network_sees_the_stored_mosaic_and_turns_its_output(tmp_path, linear_rgb, orientation) -> None:
    """The shipped network on a tiny raw: the same pixels as for the unturned raw, displayed like LibRaw's."""
    restorer = restore.load("lowlight-raw", device="cpu", precision="fp32")
    path = oriented_dng(tmp_path, linear_rgb, orientation)
    out = restorer(path, ratio=1)
    assert np.array_equal(out, apply_orientation(restorer(oriented_dng(tmp_path, linear_rgb, 1), ratio=1), orientation))
    reference = displayed(path)
    assert out.shape == reference.shape and best_turn(out, reference) == 1
    with rawpy.imread(str(path)) as raw:  # an open rawpy.RawPy and a RawImage are turned alike
        assert np.array_equal(restorer(raw, ratio=1), out)
    assert np.array_equal(restorer(read_raw(path), ratio=1), out)


@pytest.mark.usefixtures("untrained_weights")
@pytest.mark.parametrize("orientation", [3, 6])
def test_invisp_renders_raws_as_displayed(tmp_path, linear_rgb, orientation: int) -> None:
    path = oriented_dng(tmp_path, linear_rgb, orientation)
    out = restore.restore(path, model="invisp")
    reference = displayed(path)
    assert out.shape == reference.shape and best_turn(out, reference) == 1
    as_stored = restore.restore(oriented_dng(tmp_path, linear_rgb, 1), model="invisp")
    assert np.array_equal(out, apply_orientation(as_stored, orientation))


def test_develop_linear_raw_keeps_the_stored_geometry_and_the_rawpy_flip(tmp_path, linear_rgb) -> None:
    path = oriented_dng(tmp_path, linear_rgb, 6)
    with rawpy.imread(str(path)) as raw:
        stored = develop_linear_raw(raw)
        assert raw.sizes.flip == LIBRAW_FLIP[6]  # not left at user_flip=0 for the caller's next read
        assert read_raw(raw).orientation == 6
    assert stored.shape == (HEIGHT, WIDTH, 3)
    assert np.array_equal(stored, develop_linear_raw(oriented_dng(tmp_path, linear_rgb, 1)))


@pytest.mark.usefixtures("untrained_weights")
def test_invisp_inverse_of_an_oriented_jpeg_gives_a_dng_displayed_alike(tmp_path, linear_rgb) -> None:
    photo = np.round(linear_rgb * 255).astype(np.uint8)
    write_image(tmp_path / "portrait.jpg", photo, metadata=ImageMetadata("JPEG", 8, orientation=6))
    shown = read_image(tmp_path / "portrait.jpg")
    assert shown.shape == (WIDTH, HEIGHT, 3)
    raw_rgb = restore.restore(tmp_path / "portrait.jpg", model="invisp", inverse=True)  # read as displayed
    assert raw_rgb.shape == shown.shape
    write_invisp_dng(tmp_path / "displayed.dng", raw_rgb)
    assert read_raw(tmp_path / "displayed.dng").orientation == 1
    assert displayed(tmp_path / "displayed.dng").shape == shown.shape
    stored = restore.restore(photo, model="invisp", inverse=True)  # the pixels as stored, with their orientation
    write_invisp_dng(tmp_path / "stored.dng", stored, orientation=6)
    assert read_raw(tmp_path / "stored.dng").orientation == 6
    assert displayed(tmp_path / "stored.dng").shape == shown.shape
    assert best_turn(displayed(tmp_path / "stored.dng"), displayed(tmp_path / "displayed.dng")) == 1


def test_burst_dng_keeps_the_reference_orientation(untrained_weights, tmp_path) -> None:
    rng = np.random.default_rng(0)
    clean = rng.uniform(0.2, 0.6, (HEIGHT, WIDTH))
    (tmp_path / "burst").mkdir()
    for index in range(3):
        noisy = np.clip(clean + rng.normal(0, 0.02, clean.shape), 0, 1)
        values = np.round(noisy * 4095).astype(np.uint16)
        write_dng(tmp_path / "burst" / f"frame{index}.dng", values, CFA.RGGB, white_level=4095, orientation=8)
    assert cli_main(["run", "kpn-burst-raw", str(tmp_path / "burst"), "-o", str(tmp_path / "out")]) == 0
    result = read_raw(tmp_path / "out" / "burst.dng")
    assert result.orientation == 8 and result.raw_values.shape == (HEIGHT, WIDTH)  # the mosaic as stored
    assert displayed(tmp_path / "out" / "burst.dng").shape == (WIDTH, HEIGHT, 3)
    reference = read_raw(tmp_path / "burst" / "frame0.dng")
    write_burst_dng(
        tmp_path / "api.dng", restore.restore(sorted((tmp_path / "burst").iterdir()), model="kpn-burst-raw"), reference
    )
    assert read_raw(tmp_path / "api.dng").orientation == 8


@pytest.mark.parametrize("model", ["lowlight-raw", "kpn-burst-raw"])
def test_a_raw_image_with_nan_values_is_refused_not_spread(tmp_path, model) -> None:
    import dataclasses

    raw = read_raw(oriented_dng(tmp_path, np.full((24, 24, 3), 0.5, np.float32), 1))
    mosaic = raw.mosaic.copy()
    mosaic[3, 5] = np.nan
    broken = dataclasses.replace(raw, mosaic=mosaic)
    with pytest.raises(restore.InvalidImageError, match="NaN or infinite"):
        restore.restore(broken if model == "lowlight-raw" else [raw, broken, raw], model=model)
