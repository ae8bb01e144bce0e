"""Tests of restore.io.image: round trips, RGB order, orientation, metadata, atomic writes and bad files."""

from __future__ import annotations

import dataclasses
import io
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image, ImageCms, ImageOps

import restore.io
from restore.errors import InvalidImageError, InvalidOptionError, UnreadableFileError
from restore.io import ImageMetadata, read_image, read_image_with_metadata, write_image

ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def random_image(shape: tuple[int, ...], dtype: type = np.uint8, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, np.iinfo(dtype).max, shape, endpoint=True, dtype=dtype)


def smooth_image(height: int = 48, width: int = 64) -> np.ndarray:
    rows, cols = np.mgrid[0:height, 0:width]
    return np.stack([cols * 4, rows * 5, (rows + cols) * 2], axis=-1).astype(np.uint8)


def exif_block(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[274] = orientation
    exif[271] = "restore test camera"  # Make
    return exif.tobytes()


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_public_api_is_sorted() -> None:
    assert restore.io.__all__ == sorted(restore.io.__all__)


@pytest.mark.parametrize("suffix", [".png", ".tif", ".tiff"])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("channels", [None, 3, 4])
def test_lossless_round_trip_is_exact(tmp_path: Path, suffix: str, dtype: type, channels: int | None) -> None:
    image = random_image((17, 23) if channels is None else (17, 23, channels), dtype)
    path = tmp_path / f"image{suffix}"
    write_image(path, image)
    back, metadata = read_image_with_metadata(path)
    assert back.dtype == dtype and back.shape == image.shape
    np.testing.assert_array_equal(back, image)
    assert metadata.bit_depth == 8 * np.dtype(dtype).itemsize
    assert metadata.format == ("PNG" if suffix == ".png" else "TIFF")
    assert files_in(tmp_path) == [path.name]


@pytest.mark.parametrize("channels", [None, 3, 4])
def test_bmp_round_trip_is_exact(tmp_path: Path, channels: int | None) -> None:
    image = random_image((9, 14) if channels is None else (9, 14, channels))
    write_image(tmp_path / "x.bmp", image)
    np.testing.assert_array_equal(read_image(tmp_path / "x.bmp"), image)


def test_single_channel_axis_is_written_as_gray(tmp_path: Path) -> None:
    image = random_image((8, 9, 1))
    write_image(tmp_path / "x.png", image)
    np.testing.assert_array_equal(read_image(tmp_path / "x.png"), image[..., 0])


@pytest.mark.parametrize("suffix", [".jpg", ".jpeg", ".webp"])
def test_lossy_round_trip_is_close(tmp_path: Path, suffix: str) -> None:
    image = smooth_image()
    write_image(tmp_path / f"x{suffix}", image)
    back = read_image(tmp_path / f"x{suffix}")
    assert back.shape == image.shape and back.dtype == np.uint8
    assert np.abs(back.astype(int) - image).mean() < 2.0


def test_webp_keeps_alpha(tmp_path: Path) -> None:
    image = np.dstack([smooth_image(), random_image((48, 64))])
    write_image(tmp_path / "x.webp", image)
    back = read_image(tmp_path / "x.webp")
    assert back.shape == (48, 64, 4)
    np.testing.assert_array_equal(back[..., 3], image[..., 3])


def test_uint16_is_rounded_to_8_bits_for_8_bit_formats(tmp_path: Path) -> None:
    levels = np.array([0, 128, 129, 385, 386, 32896, 65406, 65535], dtype=np.uint16)
    write_image(tmp_path / "x.bmp", np.tile(levels, (3, 1)))
    np.testing.assert_array_equal(read_image(tmp_path / "x.bmp"), np.tile([0, 0, 1, 1, 2, 128, 254, 255], (3, 1)))


@pytest.mark.parametrize("suffix", [".jpg", ".webp"])
def test_uint16_to_lossy_formats(tmp_path: Path, suffix: str) -> None:
    image = smooth_image()
    write_image(tmp_path / f"x{suffix}", image.astype(np.uint16) * 257)
    back = read_image(tmp_path / f"x{suffix}")
    assert back.dtype == np.uint8
    assert np.abs(back.astype(int) - image).mean() < 2.0


@pytest.mark.parametrize("suffix", [".png", ".tif", ".jpg", ".webp", ".bmp"])
def test_channel_order_is_rgb_both_ways(tmp_path: Path, suffix: str) -> None:
    red = np.zeros((16, 16, 3), np.uint8)
    red[..., 0] = 255
    Image.fromarray(red).save(tmp_path / f"pillow{suffix}")
    assert np.abs(read_image(tmp_path / f"pillow{suffix}").astype(int) - red).max() <= 3
    write_image(tmp_path / f"ours{suffix}", red)
    with Image.open(tmp_path / f"ours{suffix}") as written:
        assert np.abs(np.asarray(written.convert("RGB")).astype(int) - red).max() <= 3


def test_gray_alpha_reads_as_rgba(tmp_path: Path) -> None:
    gray, alpha = random_image((10, 12), seed=1), random_image((10, 12), seed=2)
    Image.fromarray(np.dstack([gray, alpha]), "LA").save(tmp_path / "la.png")
    back = read_image(tmp_path / "la.png")
    assert back.shape == (10, 12, 4)
    np.testing.assert_array_equal(back, np.dstack([gray, gray, gray, alpha]))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_gray_png_transparent_value_reads_as_rgba(tmp_path: Path, dtype: type) -> None:
    gray = (random_image((10, 12), seed=3).astype(dtype) * (257 if dtype == np.uint16 else 1)).astype(dtype)
    key = int(gray[4, 5])
    Image.fromarray(gray).save(tmp_path / "keyed.png", transparency=key)
    back = read_image(tmp_path / "keyed.png")
    assert back.dtype == dtype
    alpha = np.where(gray == key, 0, np.iinfo(dtype).max).astype(dtype)
    np.testing.assert_array_equal(back, np.dstack([gray, gray, gray, alpha]))
    assert back[4, 5, 3] == 0


def test_low_bit_gray_png_transparent_value_is_scaled_like_its_pixels(tmp_path: Path) -> None:
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    samples = [0, 1, 2, 3]  # one row of 2-bit gray: 00 01 10 11, transparent where 1
    ihdr = struct.pack(">IIBBBBB", len(samples), 1, 2, 0, 0, 0, 0)
    row = b"\x00" + bytes([0b00011011])
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"tRNS", struct.pack(">H", 1))
    (tmp_path / "2bit.png").write_bytes(png + chunk(b"IDAT", zlib.compress(row)) + chunk(b"IEND", b""))
    back = read_image(tmp_path / "2bit.png")
    np.testing.assert_array_equal(back[0, :, 0], [0, 85, 170, 255])
    np.testing.assert_array_equal(back[0, :, 3], [255, 0, 255, 255])


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orientation_applied_by_read_image_only(tmp_path: Path, orientation: int) -> None:
    stored = random_image((6, 10, 3))
    path = tmp_path / "oriented.png"
    Image.fromarray(stored).save(path, exif=exif_block(orientation))
    with Image.open(path) as opened:
        displayed = np.asarray(ImageOps.exif_transpose(opened))
    np.testing.assert_array_equal(read_image(path), displayed)
    pixels, metadata = read_image_with_metadata(path)
    np.testing.assert_array_equal(pixels, stored)
    assert metadata.orientation == orientation
    assert read_image(path).flags.c_contiguous


def test_jpeg_orientation(tmp_path: Path) -> None:
    stored = smooth_image(48, 64)
    Image.fromarray(stored).save(tmp_path / "rotated.jpg", exif=exif_block(6), quality=95)
    pixels, metadata = read_image_with_metadata(tmp_path / "rotated.jpg")
    assert pixels.shape == (48, 64, 3) and metadata.orientation == 6 and metadata.format == "JPEG"
    displayed = read_image(tmp_path / "rotated.jpg")
    np.testing.assert_array_equal(displayed, np.rot90(pixels, -1))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_tiff_orientation_is_kept_and_pixels_read_as_stored(tmp_path: Path, dtype: type) -> None:
    stored = random_image((6, 10, 3), dtype)
    write_image(tmp_path / "x.tif", stored, metadata=ImageMetadata("TIFF", 8, orientation=6, icc_profile=ICC))
    pixels, metadata = read_image_with_metadata(tmp_path / "x.tif")
    np.testing.assert_array_equal(pixels, stored)
    assert (metadata.orientation, metadata.icc_profile, metadata.exif) == (6, ICC, None)
    np.testing.assert_array_equal(read_image(tmp_path / "x.tif"), np.rot90(stored, -1))


@pytest.mark.parametrize("orientation", [1, 3, 6])
def test_lzw_tiff_through_opencv_reads_as_stored(tmp_path: Path, orientation: int) -> None:
    stored = random_image((6, 10, 3))
    Image.fromarray(stored).save(tmp_path / "lzw.tif", compression="tiff_lzw", exif=exif_block(orientation))
    pixels, metadata = read_image_with_metadata(tmp_path / "lzw.tif")
    np.testing.assert_array_equal(pixels, stored)
    assert metadata.orientation == orientation
    with Image.open(tmp_path / "lzw.tif") as opened:
        np.testing.assert_array_equal(read_image(tmp_path / "lzw.tif"), np.asarray(ImageOps.exif_transpose(opened)))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_planar_and_gray_alpha_tiff(tmp_path: Path, dtype: type) -> None:
    rgb = random_image((3, 6, 10), dtype)
    tifffile.imwrite(tmp_path / "planar.tif", rgb, photometric="rgb", planarconfig="separate")
    np.testing.assert_array_equal(read_image(tmp_path / "planar.tif"), np.moveaxis(rgb, 0, -1))
    gray_alpha = random_image((6, 10, 2), dtype)
    tifffile.imwrite(tmp_path / "la.tif", gray_alpha, photometric="minisblack", extrasamples=["unassalpha"])
    np.testing.assert_array_equal(read_image(tmp_path / "la.tif"), gray_alpha[..., [0, 0, 0, 1]])


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_white_is_zero_gray_tiff_reads_as_black_is_zero(tmp_path: Path, dtype: type) -> None:
    gray = random_image((6, 10), dtype)
    tifffile.imwrite(tmp_path / "white-is-zero.tif", gray, photometric="miniswhite")
    np.testing.assert_array_equal(read_image(tmp_path / "white-is-zero.tif"), np.iinfo(dtype).max - gray)


def test_cmyk_tiff_reads_as_rgb_without_alpha(tmp_path: Path) -> None:
    rgb = np.full((8, 8, 3), (200, 50, 10), np.uint8)
    Image.fromarray(rgb).convert("CMYK").save(tmp_path / "cmyk.tif")
    np.testing.assert_allclose(read_image(tmp_path / "cmyk.tif"), rgb, atol=2)


@pytest.mark.parametrize(
    ("suffix", "dtype"),
    [(".jpg", np.uint8), (".png", np.uint8), (".png", np.uint16), (".tif", np.uint8), (".tif", np.uint16),
     (".webp", np.uint8)],
)  # fmt: skip
def test_metadata_is_written_back(tmp_path: Path, suffix: str, dtype: type) -> None:
    metadata = ImageMetadata("JPEG", 8, orientation=6, exif=exif_block(6), icc_profile=ICC)
    path = tmp_path / f"out{suffix}"
    write_image(path, random_image((12, 16, 3), dtype), metadata=metadata)
    with Image.open(path) as written:
        assert written.info.get("icc_profile") == ICC
        assert written.getexif()[274] == 6
    _, back = read_image_with_metadata(path)
    assert (back.orientation, back.icc_profile) == (6, ICC)
    if suffix != ".tif":
        assert back.exif == metadata.exif


def test_orientation_field_overrides_the_exif_block(tmp_path: Path) -> None:
    Image.fromarray(smooth_image()).save(tmp_path / "rotated.jpg", exif=exif_block(6))
    _, metadata = read_image_with_metadata(tmp_path / "rotated.jpg")
    upright = dataclasses.replace(metadata, orientation=1)
    write_image(tmp_path / "upright.jpg", read_image(tmp_path / "rotated.jpg"), metadata=upright)
    with Image.open(tmp_path / "upright.jpg") as written:
        assert written.getexif()[274] == 1
        assert written.getexif()[271] == "restore test camera"


def test_processed_pixels_display_like_the_input(tmp_path: Path) -> None:
    source = tmp_path / "camera.jpg"
    Image.fromarray(smooth_image()).save(source, exif=exif_block(8), icc_profile=ICC)
    pixels, metadata = read_image_with_metadata(source)
    write_image(tmp_path / "result.png", pixels, metadata=metadata)
    np.testing.assert_array_equal(read_image(tmp_path / "result.png"), read_image(source))
    assert read_image_with_metadata(tmp_path / "result.png")[1].icc_profile == ICC


def test_unicode_path(tmp_path: Path) -> None:
    image = random_image((5, 7, 3), np.uint16)
    for suffix in (".png", ".tif"):
        path = tmp_path / f"čšž 图像 ✓{suffix}"
        write_image(path, image)
        np.testing.assert_array_equal(read_image(path), image)
    write_image(tmp_path / "фото.jpg", smooth_image())
    assert read_image(str(tmp_path / "фото.jpg")).shape == (48, 64, 3)


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((4, 4), np.float32),
        np.zeros((4, 4, 3), np.float64),
        np.zeros((4, 4), np.int32),
        np.zeros((4, 4), bool),
        np.zeros((4, 4, 2), np.uint8),
        np.zeros((4, 4, 5), np.uint8),
        np.zeros(16, np.uint8),
        np.zeros((2, 4, 4, 3), np.uint8),
        np.zeros((0, 4, 3), np.uint8),
        [[0, 1], [2, 3]],
    ],
    ids=["float32", "float64", "int32", "bool", "2-channels", "5-channels", "1d", "4d", "empty", "list"],
)
def test_invalid_arrays_are_refused(tmp_path: Path, image: np.ndarray) -> None:
    with pytest.raises(InvalidImageError):
        write_image(tmp_path / "x.png", image)
    assert files_in(tmp_path) == []


def test_jpeg_refuses_alpha(tmp_path: Path) -> None:
    with pytest.raises(InvalidImageError, match="alpha"):
        write_image(tmp_path / "x.jpg", random_image((4, 4, 4)))


def test_bad_options_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidOptionError):
        write_image(tmp_path / "x.jpg", smooth_image(), quality=0)
    with pytest.raises(InvalidOptionError):
        write_image(tmp_path / "x.png", smooth_image(), metadata=ImageMetadata("PNG", 8, orientation=9))
    with pytest.raises(UnreadableFileError, match="suffix"):
        write_image(tmp_path / "x.gif", smooth_image())
    assert files_in(tmp_path) == []


def test_failed_write_leaves_the_target_untouched(tmp_path: Path) -> None:
    target = tmp_path / "keep.png"
    write_image(target, smooth_image())
    before = target.read_bytes()
    with pytest.raises(InvalidImageError):
        write_image(target, np.zeros((4, 4), np.float32))
    with pytest.raises(InvalidImageError):
        write_image(tmp_path / "keep.jpg", random_image((4, 4, 4)))
    assert target.read_bytes() == before
    assert files_in(tmp_path) == ["keep.png"]


def test_a_missing_folder_is_named_in_the_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no such folder to write into") as caught:
        write_image(tmp_path / "missing" / "x.png", smooth_image())
    assert caught.value.filename == str(tmp_path / "missing") and ".tmp" not in str(caught.value)


def test_failed_replace_removes_the_temporary_file(tmp_path: Path) -> None:
    (tmp_path / "folder.png").mkdir()
    with pytest.raises(OSError):
        write_image(tmp_path / "folder.png", smooth_image())
    assert files_in(tmp_path) == ["folder.png"]


def truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


def encoded(suffix: str) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(smooth_image(96, 128)).save(buffer, {".jpg": "JPEG", ".png": "PNG", ".webp": "WEBP"}[suffix])
    return buffer.getvalue()


def uncompressed_tiff() -> bytes:
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, smooth_image(96, 128))
    return buffer.getvalue()


def gif() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(smooth_image()).save(buffer, "GIF")
    return buffer.getvalue()


def float_tiff() -> bytes:
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, np.zeros((8, 8), np.float32))
    return buffer.getvalue()


def several_images(suffix: str) -> bytes:
    """A TIFF of three full-size pages, or an animated PNG or WebP of three frames."""
    frames = [smooth_image() // 2 + 60 * index for index in range(3)]
    buffer = io.BytesIO()
    if suffix == ".tif":
        with tifffile.TiffWriter(buffer) as tiff:
            for frame in frames:
                tiff.write(frame)
    else:
        first, *rest = (Image.fromarray(frame) for frame in frames)
        first.save(buffer, {".png": "PNG", ".webp": "WEBP"}[suffix], save_all=True, append_images=rest)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("pages.tif", several_images(".tif"), "a TIFF of 3 pages; restore reads one image per file"),
        ("animated.png", several_images(".png"), "an animated PNG of 3 frames"),
        ("animated.webp", several_images(".webp"), "an animated WEBP of 3 frames"),
        ("missing.png", None, "no such file"),
        ("empty.png", b"", "empty"),
        ("text.png", b"this is not an image\n", "not an image"),
        ("truncated.jpg", truncated(encoded(".jpg")), "truncated"),
        ("truncated.png", truncated(encoded(".png")), "truncated"),
        ("truncated.tif", truncated(uncompressed_tiff()), "truncated"),
        ("truncated.webp", truncated(encoded(".webp")), "broken"),
        ("garbage.tif", b"II*\x00not a TIFF after all", "TIFF"),
        ("image.gif", gif(), "suffix"),
        ("gif-named.png", gif(), "GIF"),
        ("float.tif", float_tiff(), "float32"),
        ("photo.dng", b"II*\x00", "read_raw"),
    ],
)
def test_bad_files_raise_unreadable(tmp_path: Path, name: str, content: bytes | None, message: str) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    for reader in (read_image, read_image_with_metadata):
        with pytest.raises(UnreadableFileError, match=message) as caught:
            reader(path)
        assert name in str(caught.value)


def test_a_thumbnail_page_or_a_jpegs_second_picture_is_left_aside(tmp_path: Path) -> None:
    image = smooth_image()
    with tifffile.TiffWriter(tmp_path / "thumbnail.tif") as tiff:
        tiff.write(image)
        tiff.write(image[:8, :8], subfiletype=1)  # a reduced-resolution page
    np.testing.assert_array_equal(read_image(tmp_path / "thumbnail.tif"), image)
    with tifffile.TiffWriter(tmp_path / "thumbnail-first.tif") as tiff:
        tiff.write(image[:8, :8], subfiletype=1)
        tiff.write(image)
    np.testing.assert_array_equal(read_image(tmp_path / "thumbnail-first.tif"), image)
    Image.fromarray(image).save(tmp_path / "mpf.jpg", "MPO", save_all=True, append_images=[Image.fromarray(image)])
    assert read_image(tmp_path / "mpf.jpg").shape == image.shape


def test_folder_raises_unreadable(tmp_path: Path) -> None:
    (tmp_path / "folder.png").mkdir()
    with pytest.raises(UnreadableFileError, match="folder"):
        read_image(tmp_path / "folder.png")


def test_a_malformed_exif_block_is_left_out_with_a_warning(tmp_path: Path) -> None:
    metadata = ImageMetadata("JPEG", 8, orientation=6, exif=b"Exif\x00\x00" + b"\x13\x37" * 20, icc_profile=ICC)
    with pytest.warns(restore.MetadataWarning, match="out.jpg'.*EXIF block cannot be parsed"):
        write_image(tmp_path / "out.jpg", smooth_image(), metadata=metadata)
    with Image.open(tmp_path / "out.jpg") as written:
        assert written.getexif()[274] == 6 and written.info.get("icc_profile") == ICC


def test_an_exif_block_larger_than_a_jpeg_holds_keeps_only_its_orientation_there(tmp_path: Path) -> None:
    tags = Image.Exif()
    tags[274], tags[270] = 6, "x" * 70_000  # Orientation, ImageDescription: 70 kB in all
    metadata = ImageMetadata("PNG", 8, orientation=6, exif=tags.tobytes())
    with pytest.warns(restore.MetadataWarning, match="out.jpg'.*EXIF block .* larger than a JPEG holds"):
        write_image(tmp_path / "out.jpg", smooth_image(), metadata=metadata)
    with Image.open(tmp_path / "out.jpg") as written:
        assert dict(written.getexif()) == {274: 6}
    write_image(tmp_path / "out.png", smooth_image(), metadata=metadata)  # PNG holds it whole
    assert read_image_with_metadata(tmp_path / "out.png")[1].exif == metadata.exif


def test_a_damaged_exif_block_warns_once_naming_the_file_and_is_carried_over(tmp_path: Path) -> None:
    damaged = b"Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\x00\x05" + b"\xff" * 20  # 5 tags announced, 1.7 there
    Image.fromarray(smooth_image()).save(tmp_path / "in.jpg", exif=damaged)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        image, metadata = read_image_with_metadata(tmp_path / "in.jpg")
        write_image(tmp_path / "out.jpg", image, metadata=metadata)
    assert [warning.category for warning in caught] == [restore.MetadataWarning]
    assert "in.jpg" in str(caught[0].message) and "damaged EXIF block" in str(caught[0].message)
    assert read_image_with_metadata(tmp_path / "out.jpg")[1].exif == damaged


@pytest.mark.parametrize(("space", "channels"), [("GRAY", 3), ("RGB", None), ("CMYK", 3)])
def test_an_icc_profile_of_another_color_model_is_left_out(tmp_path: Path, space: str, channels: int | None) -> None:
    profile = bytearray(ICC)
    profile[16:20] = {"GRAY": b"GRAY", "RGB": b"RGB ", "CMYK": b"CMYK"}[space]
    shape = (12, 16) if channels is None else (12, 16, channels)
    with pytest.warns(restore.MetadataWarning, match="out.png'.*ICC profile"):
        write_image(
            tmp_path / "out.png", random_image(shape), metadata=ImageMetadata("PNG", 8, icc_profile=bytes(profile))
        )
    assert read_image_with_metadata(tmp_path / "out.png")[1].icc_profile is None


def test_jpeg_keeps_full_color_resolution(tmp_path: Path) -> None:
    stripes = np.zeros((32, 32, 3), np.uint8)
    stripes[:, ::2, 0] = 255  # red and blue one-pixel stripes: 4:2:0 averages them to purple
    stripes[:, 1::2, 2] = 255
    write_image(tmp_path / "stripes.jpg", stripes, quality=95)
    assert restore.metrics.psnr(read_image(tmp_path / "stripes.jpg"), stripes) > 30


def test_lossless_webp_stays_lossless(tmp_path: Path) -> None:
    image = random_image((20, 24, 3))
    Image.fromarray(image).save(tmp_path / "in.webp", lossless=True)
    pixels, metadata = read_image_with_metadata(tmp_path / "in.webp")
    assert metadata.lossless
    write_image(tmp_path / "out.webp", pixels, metadata=metadata)
    np.testing.assert_array_equal(read_image(tmp_path / "out.webp"), image)
    Image.fromarray(image).save(tmp_path / "lossy.webp", quality=80)
    assert not read_image_with_metadata(tmp_path / "lossy.webp")[1].lossless


def test_an_image_over_pillows_pixel_limit_is_refused_with_the_setting_to_raise(tmp_path: Path, monkeypatch) -> None:
    write_image(tmp_path / "big.png", np.zeros((32, 32, 3), np.uint8))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # Pillow refuses beyond twice its limit, warns below
    with pytest.raises(UnreadableFileError, match=r"big.png.*larger than Pillow's limit.*PIL.Image.MAX_IMAGE_PIXELS"):
        read_image(tmp_path / "big.png")
