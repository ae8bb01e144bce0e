"""Tests of restore.io.raw and restore.io.dng: synthetic DNGs through the same rawpy path as camera raws."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import rawpy

from restore.errors import InvalidImageError, InvalidOptionError, UnreadableFileError
from restore.io import CFA, RawImage, is_raw_path, read_raw, write_dng, write_image
from restore.io.raw import XYZ_FROM_SRGB, _rgb_from_camera

BLACK, WHITE = 512, 16383
REAL_DNG = Path("/work/shared/data/raw/tinydng_colorchart.dng")


def mosaic_values(height: int = 32, width: int = 48, seed: int = 0) -> np.ndarray:
    """Raw values that include some below black and some above white, to show nothing is clipped."""
    values = np.random.default_rng(seed).integers(BLACK, WHITE, (height, width), endpoint=True).astype(np.uint16)
    values[0, :4] = (0, BLACK - 100, WHITE + 1, 65535)
    return values


@pytest.mark.parametrize("name", ["a.DNG", "b.cr2", "c.NEF", "d.arw", "e.raf", "f.3fr", "x/y.rw2"])
def test_raw_suffixes(name: str) -> None:
    assert is_raw_path(name) and is_raw_path(Path(name))


@pytest.mark.parametrize("name", ["a.png", "b.tif", "c.jpg", "dng", "raw.txt"])
def test_non_raw_suffixes(name: str) -> None:
    assert not is_raw_path(name)


@pytest.mark.parametrize(
    ("pattern", "colors", "expected"),
    [
        ([[0, 1], [3, 2]], b"RGBG", CFA.RGGB),
        ([[2, 3], [1, 0]], b"RGBG", CFA.BGGR),
        ([[1, 0], [2, 3]], b"RGBG", CFA.GRBG),
        ([[3, 2], [0, 1]], b"RGBG", CFA.GBRG),
        ([[0, 1], [1, 2]], b"RGBG", CFA.RGGB),
    ],
)
def test_cfa_from_rawpy(pattern: list[list[int]], colors: bytes, expected: CFA) -> None:
    assert CFA.from_rawpy(np.array(pattern, np.uint8), colors) is expected


@pytest.mark.parametrize(
    ("pattern", "colors"),
    [
        (np.zeros((6, 6), np.uint8), b"RGBG"),  # X-Trans
        (np.array([[0, 1], [2, 3]]), b"CMYG"),  # 4-color CMYG
        (None, b"RGBG"),  # Foveon, linear DNG
    ],
)
def test_cfa_from_rawpy_refuses_non_bayer(pattern: np.ndarray | None, colors: bytes) -> None:
    with pytest.raises(InvalidImageError, match="Bayer|RGGB") as caught:
        CFA.from_rawpy(pattern, colors)
    assert ("linear DNG" in str(caught.value)) == (pattern is None)


@pytest.mark.parametrize("cfa", list(CFA))
def test_dng_round_trip(tmp_path: Path, cfa: CFA) -> None:
    values = mosaic_values()
    path = tmp_path / "synthetic.dng"
    write_dng(path, values, cfa, black_level=BLACK, white_level=WHITE)
    raw = read_raw(path)
    assert isinstance(raw, RawImage)
    assert raw.cfa is cfa and raw.path == str(path)
    np.testing.assert_array_equal(raw.raw_values, values)
    assert raw.raw_values.dtype == np.uint16
    assert raw.black_level == (BLACK,) * 4 and raw.white_level == WHITE
    assert raw.mosaic.dtype == np.float32 and raw.mosaic.shape == values.shape
    np.testing.assert_allclose(raw.mosaic, (values.astype(np.float64) - BLACK) / (WHITE - BLACK), rtol=1e-6, atol=1e-7)
    assert raw.mosaic.min() < 0 and raw.mosaic.max() > 1  # not clipped
    with rawpy.imread(str(path)) as opened:
        letters = "".join("RGBG"[index] for index in opened.raw_colors_visible[:2, :2].ravel())
    assert letters == cfa.value
    assert [p.name for p in tmp_path.iterdir()] == ["synthetic.dng"]


@pytest.mark.parametrize("cfa", [CFA.RGGB, CFA.GBRG])
def test_dng_keeps_a_black_level_per_position(tmp_path: Path, cfa: CFA) -> None:
    blacks = (60, 64, 66, 62)
    values = mosaic_values()
    write_dng(tmp_path / "blacks.dng", values, cfa, black_level=blacks, white_level=WHITE)
    raw = read_raw(tmp_path / "blacks.dng")
    assert raw.black_level == blacks
    black = np.tile(np.reshape(blacks, (2, 2)), (values.shape[0] // 2, values.shape[1] // 2))
    np.testing.assert_allclose(raw.mosaic, (values - black) / (WHITE - black), rtol=1e-6, atol=1e-6)


def test_a_raw_images_own_levels_write_back(tmp_path: Path) -> None:
    write_dng(tmp_path / "first.dng", mosaic_values(), "rggb", black_level=BLACK, white_level=WHITE)
    raw = read_raw(tmp_path / "first.dng")
    assert isinstance(raw.white_level, float)  # as RawImage holds it
    write_dng(tmp_path / "again.dng", raw.raw_values, raw.cfa, black_level=raw.black_level, white_level=raw.white_level)
    again = read_raw(tmp_path / "again.dng")
    assert (again.black_level, again.white_level) == (raw.black_level, raw.white_level)
    write_dng(tmp_path / "rounded.dng", raw.raw_values, raw.cfa, black_level=BLACK + 0.7, white_level=WHITE)
    assert read_raw(tmp_path / "rounded.dng").black_level == (BLACK + 1,) * 4


@pytest.mark.parametrize("cfa", list(CFA))
def test_libraw_develops_the_red_sites_as_red(tmp_path: Path, cfa: CFA) -> None:
    red_site = divmod(cfa.value.index("R"), 2)
    values = np.full((32, 48), BLACK, np.uint16)
    values[red_site[0] :: 2, red_site[1] :: 2] = WHITE // 2
    write_dng(tmp_path / "red.dng", values, cfa, black_level=BLACK, white_level=WHITE)
    with rawpy.imread(str(tmp_path / "red.dng")) as opened:
        rgb = opened.postprocess(use_camera_wb=True, no_auto_bright=True, output_bps=16, gamma=(1, 1))
    assert rgb.shape == (32, 48, 3)
    red, green, blue = rgb[8:-8, 8:-8].reshape(-1, 3).mean(axis=0)
    assert red > 10 * max(green, blue, 1)


def test_white_balance_is_normalized_to_green(tmp_path: Path) -> None:
    write_dng(tmp_path / "wb.dng", mosaic_values(), "grbg", wb_gains=(4.0, 2.0, 3.0))
    np.testing.assert_allclose(read_raw(tmp_path / "wb.dng").wb_gains, (2.0, 1.0, 1.5), rtol=1e-5)


def test_default_color_matrix_is_srgb(tmp_path: Path) -> None:
    write_dng(tmp_path / "srgb.dng", mosaic_values(), CFA.RGGB)
    raw = read_raw(tmp_path / "srgb.dng")
    assert raw.wb_gains == (1.0, 1.0, 1.0)
    np.testing.assert_allclose(raw.color_matrix, np.eye(3), atol=1e-4)


def test_color_matrix_derivation_agrees_with_libraw(tmp_path: Path) -> None:
    camera_from_xyz = np.array([[0.6461, -0.1164, -0.0857], [-0.3825, 1.1597, 0.2534], [-0.0416, 0.1540, 0.6039]])
    write_dng(tmp_path / "cm.dng", mosaic_values(), CFA.BGGR, color_matrix=camera_from_xyz)
    raw = read_raw(tmp_path / "cm.dng")
    np.testing.assert_allclose(raw.color_matrix, _rgb_from_camera(camera_from_xyz), atol=1e-4)
    np.testing.assert_allclose(_rgb_from_camera(np.linalg.inv(XYZ_FROM_SRGB)), np.eye(3), atol=1e-12)


def test_read_raw_takes_str_path_and_open_rawpy(tmp_path: Path) -> None:
    values = mosaic_values()
    path = tmp_path / "ünïcødé 图像.dng"
    write_dng(path, values, "BGGR", black_level=BLACK, white_level=WHITE)
    assert read_raw(str(path)).cfa is CFA.BGGR
    with rawpy.imread(str(path)) as opened:
        raw = read_raw(opened)
    assert raw.path is None
    np.testing.assert_array_equal(raw.raw_values, values)  # still valid once rawpy has closed
    with pytest.raises(UnreadableFileError, match="it is closed"):
        read_raw(opened)


def test_postprocess_works(tmp_path: Path) -> None:
    write_dng(tmp_path / "x.dng", mosaic_values(40, 60), CFA.GBRG, black_level=BLACK, white_level=WHITE)
    with rawpy.imread(str(tmp_path / "x.dng")) as opened:
        assert opened.postprocess().shape == (40, 60, 3)


def test_raw_image_is_frozen(tmp_path: Path) -> None:
    write_dng(tmp_path / "x.dng", mosaic_values(), CFA.RGGB)
    raw = read_raw(tmp_path / "x.dng")
    with pytest.raises(AttributeError):
        raw.cfa = CFA.BGGR  # type: ignore[misc]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.dng", None, "no such file"),
        ("text.dng", b"not a raw file at all, just some text\n" * 4, "LibRaw"),
        ("empty.cr2", b"", "the file is empty"),
    ],
)
def test_unreadable_raws(tmp_path: Path, name: str, content: bytes | None, message: str) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(UnreadableFileError, match=message) as caught:
        read_raw(path)
    assert name in str(caught.value)


def test_a_raw_that_cannot_be_opened_says_why(tmp_path: Path, monkeypatch) -> None:
    import builtins

    path = tmp_path / "locked.dng"
    path.write_bytes(b"x" * 64)
    real_open = builtins.open

    def forbidden(file, *args, **kwargs):  # tests run as root, whom file permissions do not stop
        if Path(file) == path:
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", forbidden)
    with pytest.raises(UnreadableFileError, match="locked.dng'.*Permission denied"):
        read_raw(path)


def test_image_file_is_not_a_raw(tmp_path: Path) -> None:
    write_image(tmp_path / "photo.png", np.zeros((32, 32, 3), np.uint8))
    with pytest.raises(UnreadableFileError, match=r"photo.png.*a \.png file is an image, not a camera raw"):
        read_raw(tmp_path / "photo.png")
    with pytest.raises(UnreadableFileError, match="folder"):
        read_raw(tmp_path)


def test_truncated_dng(tmp_path: Path) -> None:
    write_dng(tmp_path / "full.dng", mosaic_values(64, 64), CFA.RGGB)
    data = (tmp_path / "full.dng").read_bytes()
    (tmp_path / "cut.dng").write_bytes(data[: len(data) // 2])
    with pytest.raises(UnreadableFileError, match="cut.dng"):
        read_raw(tmp_path / "cut.dng")


def test_a_raw_whose_white_level_is_not_above_its_black_is_refused(tmp_path: Path) -> None:
    write_dng(tmp_path / "good.dng", mosaic_values(), CFA.RGGB, black_level=BLACK, white_level=WHITE)
    data = (tmp_path / "good.dng").read_bytes()
    white_entry = struct.pack("<HHI", 50717, 4, 1)  # TIFF tag WhiteLevel, one LONG, its value inline after it
    at = data.index(white_entry) + len(white_entry)
    (tmp_path / "bad.dng").write_bytes(data[:at] + struct.pack("<I", 300) + data[at + 4 :])
    with pytest.raises(UnreadableFileError, match=r"bad.dng.*white level 300.0 is not above black \(512.0"):
        read_raw(tmp_path / "bad.dng")


@pytest.mark.parametrize(
    "values",
    [np.zeros((32, 32), np.uint8), np.zeros((32, 32), np.float32), np.zeros((32, 32, 1), np.uint16),
     np.zeros((21, 64), np.uint16), [[0] * 32] * 32],
    ids=["uint8", "float32", "3d", "too-small", "list"],
)  # fmt: skip
def test_write_dng_refuses_bad_mosaics(tmp_path: Path, values: np.ndarray) -> None:
    with pytest.raises(InvalidImageError):
        write_dng(tmp_path / "x.dng", values, CFA.RGGB)
    assert not (tmp_path / "x.dng").exists()


@pytest.mark.parametrize("shape", [(1, 1, 3), (2, 3, 3), (21, 64, 3)], ids=str)
def test_linear_rgb_too_small_for_libraw_is_refused(tmp_path: Path, shape: tuple[int, ...]) -> None:
    from restore.io import write_linear_rgb_dng

    with pytest.raises(InvalidImageError, match="at least 22x22"):
        write_linear_rgb_dng(tmp_path / "x.dng", np.full(shape, 0.5, np.float32))
    assert not (tmp_path / "x.dng").exists()


@pytest.mark.parametrize(
    "options",
    [
        {"cfa": "RGBG"},
        {"cfa": 3},
        {"black_level": 100, "white_level": 100},
        {"white_level": 70000},
        {"black_level": -1},
        {"black_level": (60, 64, 62)},
        {"black_level": (60, 64, 62, 16383), "white_level": 16383},
        {"wb_gains": (1.0, 0.0, 1.0)},
        {"wb_gains": (1.0, 1.0)},
        {"color_matrix": np.eye(4)},
        {"color_matrix": np.full((3, 3), np.nan)},
    ],
)
def test_write_dng_refuses_bad_options(tmp_path: Path, options: dict[str, object]) -> None:
    arguments = {"cfa": CFA.RGGB, **options}
    with pytest.raises(InvalidOptionError):
        write_dng(tmp_path / "x.dng", mosaic_values(), **arguments)
    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_the_existing_dng(tmp_path: Path) -> None:
    path = tmp_path / "keep.dng"
    write_dng(path, mosaic_values(), CFA.RGGB)
    before = path.read_bytes()
    with pytest.raises(InvalidOptionError):
        write_dng(path, mosaic_values(seed=1), "XXXX")
    assert path.read_bytes() == before


@pytest.mark.skipif(not REAL_DNG.exists(), reason="the shared sample DNG is not on this machine")
def test_real_camera_dng() -> None:
    raw = read_raw(REAL_DNG)
    assert raw.cfa is CFA.RGGB
    assert raw.black_level == (2056.0,) * 4 and raw.white_level == 15000.0
    assert raw.raw_values.shape == raw.mosaic.shape == (1156, 1734)
    assert raw.wb_gains[1] == 1.0 and raw.wb_gains[0] > 1.0 and raw.wb_gains[2] > 1.0
    assert raw.color_matrix is not None and raw.color_matrix.shape == (3, 3)
    np.testing.assert_allclose(raw.color_matrix.sum(axis=1), 1.0, atol=1e-3)


def test_linear_rgb_dng_round_trip_through_libraw(tmp_path: Path) -> None:
    """write_linear_rgb_dng -> rawpy's demosaiced linear camera RGB gives the smooth image back."""
    from restore.io import write_linear_rgb_dng
    from restore.runs import develop_linear_raw

    yy, xx = np.mgrid[0:40, 0:56] / 56.0
    rgb = np.stack([0.2 + 0.5 * xx, 0.3 + 0.4 * yy, 0.6 - 0.3 * xx], axis=-1).astype(np.float32)
    write_linear_rgb_dng(tmp_path / "linear.dng", rgb, black_level=BLACK, white_level=WHITE)
    raw = read_raw(tmp_path / "linear.dng")
    assert raw.cfa == CFA.RGGB and raw.black_level == (BLACK,) * 4 and raw.white_level == WHITE
    back = develop_linear_raw(tmp_path / "linear.dng")
    assert back.shape == rgb.shape
    assert np.abs(back[2:-2, 2:-2] - rgb[2:-2, 2:-2]).max() < 0.01
