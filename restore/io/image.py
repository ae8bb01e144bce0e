"""Image files in and out: PNG, JPEG, TIFF, WebP and BMP as uint8/uint16 NumPy arrays in RGB order.

Arrays are (H, W) gray, (H, W, 3) RGB or (H, W, 4) RGBA; gray+alpha files, and gray PNGs with a transparent value
(tRNS), read as RGBA with R = G = B. The BGR order of OpenCV never leaves this module. Only the first page of a
multi-page TIFF or frame of an animated WebP is read.

PNG, JPEG, WebP and BMP pixels are decoded by OpenCV (it keeps 16 bits and alpha); Pillow decodes them a second time
to refuse truncated files, which OpenCV may return half-decoded, and reads the metadata. TIFFs go through tifffile,
which gives the pixels exactly as stored: OpenCV premultiplies an unassociated alpha and applies the orientation.
OpenCV decodes only the TIFFs that tifffile cannot without the imagecodecs package (LZW, JPEG) or that are not plain
gray/RGB (palette, CMYK, YCbCr, bilevel); for those an unassociated alpha comes back premultiplied.

Every write is atomic: the file is encoded in memory, written to a temporary file next to the target
(``restore.io.atomic``) and moved onto it with ``os.replace``, so a failed write leaves an existing target untouched.
"""

from __future__ import annotations

import functools
import io
import os
import struct
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

import cv2
import numpy as np
import tifffile
from PIL import Image, UnidentifiedImageError

from restore.errors import InvalidImageError, InvalidOptionError, MetadataWarning, UnreadableFileError
from restore.io.atomic import write_atomic
from restore.io.orientation import ORIENTATIONS, apply_orientation
from restore.io.raw import RAW_SUFFIXES
from restore.threadsafe_warnings import catch_warnings

__all__ = ["IMAGE_SUFFIXES", "ImageMetadata", "JPEG_SUFFIXES", "read_image", "read_image_with_metadata", "write_image"]

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp"})
JPEG_SUFFIXES = frozenset({".jpg", ".jpeg"})

_PILLOW_FORMATS = ("PNG", "JPEG", "WEBP", "BMP")  # TIFF is read with tifffile
_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")  # classic TIFF and BigTIFF, either byte order
_FORMAT_ALIASES = {"MPO": "JPEG"}  # Pillow calls camera JPEGs that carry a second picture (MPF) "MPO"
_EXIF_HEADER = b"Exif\x00\x00"
_ORIENTATION_TAG = 274
_JPEG_MAX_EXIF = 65533  # bytes of one JPEG APP1 segment's payload, "Exif\0\0" included
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_AFTER_IHDR = 33  # 8-byte signature + IHDR chunk (4 length + 4 type + 13 data + 4 CRC)
_Parsed = TypeVar("_Parsed")
_ONE_IMAGE_PER_FILE = "restore reads one image per file: save the one wanted on its own"


class _SeveralImages(Exception):
    """A file that holds several images (an animation), found while inspecting it."""


@dataclass
class ImageMetadata:
    """What an image file says about its pixels, enough to write processed pixels back so they display the same.

    Attributes:
        format: "PNG", "JPEG", "TIFF", "WEBP" or "BMP", from the file's content (not its suffix).
        bit_depth: 8 or 16 bits per sample.
        orientation: EXIF orientation 1..8 (1 when the file has none): how the stored pixels are turned for display.
            ``write_image`` writes this value even where it differs from the one inside ``exif``, so after baking
            the rotation into the pixels, ``dataclasses.replace(metadata, orientation=1)`` is all it takes.
        exif: the EXIF block, starting with ``b"Exif\\x00\\x00"``, or None. TIFF files report None: their tags live
            in the TIFF structure itself, and a TIFF is written back with its orientation and ICC profile only.
        icc_profile: the embedded ICC color profile, or None.
        lossless: a WebP stored losslessly, which ``write_image`` writes back losslessly.
    """

    format: str
    bit_depth: int
    orientation: int = 1
    exif: bytes | None = None
    icc_profile: bytes | None = None
    lossless: bool = False


def read_image(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an image as it is displayed, with its EXIF orientation applied.

    Args:
        path: a .png, .jpg/.jpeg, .tif/.tiff, .webp or .bmp file; any characters in the path are fine.

    Returns:
        uint8, or uint16 for 16-bit PNG and TIFF: (H, W) gray, (H, W, 3) RGB or (H, W, 4) RGBA (gray+alpha files
        come back as RGBA with R = G = B).

    Raises:
        UnreadableFileError: the file is missing, a folder, empty, truncated, not an image, in a format or with a
            suffix that is not supported, has samples other than 8- or 16-bit integers, or holds several images (a
            TIFF of several full-size pages, an animated PNG or WebP).
    """
    image, metadata = read_image_with_metadata(path)
    return apply_orientation(image, metadata.orientation)


def read_image_with_metadata(path: str | os.PathLike[str]) -> tuple[np.ndarray, ImageMetadata]:
    """Read an image's pixels as stored (orientation not applied) and its metadata, to write them back later.

    Args:
        path: a .png, .jpg/.jpeg, .tif/.tiff, .webp or .bmp file.

    Returns:
        The pixels as in ``read_image`` but before the EXIF orientation is applied, and the file's metadata. Passing
        both to ``write_image(..., metadata=metadata)`` gives a file that displays like this one.

    Raises:
        UnreadableFileError: as for ``read_image``.

    Examples:
        >>> image, metadata = read_image_with_metadata("photo.jpg")  # doctest: +SKIP
        >>> write_image("photo.png", denoise(image), metadata=metadata)  # doctest: +SKIP
    """
    path = Path(path)
    data = _read_bytes(path)
    if data.startswith(_TIFF_MAGIC):
        image, orientation, icc_profile = _read_tiff(data, path)
        return image, ImageMetadata("TIFF", 8 * image.itemsize, orientation, None, icc_profile)
    file_format, orientation, exif, icc_profile = _inspect(data, path)
    image = _decode(data, path)
    if file_format == "PNG" and image.ndim == 2:
        image = _apply_png_gray_transparency(image, data)
    lossless = file_format == "WEBP" and _webp_is_lossless(data)
    return image, ImageMetadata(file_format, 8 * image.itemsize, orientation, exif, icc_profile, lossless)


def write_image(
    path: str | os.PathLike[str],
    image: np.ndarray,
    *,
    metadata: ImageMetadata | None = None,
    quality: int = 95,
) -> None:
    """Write an image atomically, in the format its suffix names.

    PNG and TIFF keep 16 bits. JPEG, WebP and BMP hold 8 bits, so uint16 images are rounded to ``round(x / 257)``.
    TIFF is written uncompressed; JPEG without chroma subsampling (4:4:4), so that fine color detail survives; WebP
    lossy, or lossless where ``metadata.lossless`` says the input was. With ``metadata``, the EXIF block (with
    ``metadata.orientation``) and the ICC profile are written where the format has room: JPEG, PNG (eXIf and iCCP
    chunks, also at 16 bits) and WebP take both, TIFF takes the orientation and the ICC profile, BMP takes nothing.
    An ICC profile of another color model than the image's (a CMYK profile, a gray one on RGB pixels), an EXIF
    block that cannot be parsed and one larger than a JPEG holds (64 KB; its orientation is kept) are left out with
    a ``MetadataWarning``. ``metadata.format`` and ``metadata.bit_depth`` are ignored: the suffix and the array's
    dtype decide.

    Args:
        path: target file, .png, .jpg/.jpeg, .tif/.tiff, .webp or .bmp; its folder must exist.
        image: uint8 or uint16 array (H, W), (H, W, 1), (H, W, 3) RGB or (H, W, 4) RGBA.
        metadata: metadata to embed, usually from ``read_image_with_metadata``.
        quality: JPEG and lossy WebP quality, 1 to 100.

    Raises:
        InvalidImageError: ``image`` is not a non-empty uint8/uint16 array of one of the shapes above, or has an
            alpha channel and the target is a JPEG.
        InvalidOptionError: ``quality`` or ``metadata.orientation`` is out of range.
        UnreadableFileError: the suffix names no supported format.
        OSError: the file cannot be written (missing folder, no permission, disk full); the target is untouched.
    """
    path = Path(path)
    encoder = _ENCODERS.get(path.suffix.lower())
    if encoder is None:
        raise UnreadableFileError(f"cannot write {str(path)!r}: unsupported suffix; use one of {_suffix_list()}")
    image = _check_writable(image)
    if not 1 <= quality <= 100:
        raise InvalidOptionError(f"quality must be between 1 and 100, got {quality}")
    if metadata is not None and metadata.orientation not in ORIENTATIONS:
        raise InvalidOptionError(f"metadata.orientation must be an EXIF orientation 1..8, got {metadata.orientation}")
    if metadata is not None:  # the encoders embed these two blocks as they are
        metadata = replace(
            metadata, exif=_exif_to_write(metadata, path), icc_profile=_icc_to_write(metadata, image, path)
        )
    write_atomic(path, encoder(image, metadata, quality))


def _suffix_list() -> str:
    return ", ".join(sorted(IMAGE_SUFFIXES))


def _read_bytes(path: Path) -> bytes:
    suffix = path.suffix.lower()
    if suffix in RAW_SUFFIXES:
        raise UnreadableFileError(f"cannot read {str(path)!r}: a camera raw file; read it with read_raw")
    if suffix not in IMAGE_SUFFIXES:
        raise UnreadableFileError(f"cannot read {str(path)!r}: unsupported suffix; use one of {_suffix_list()}")
    try:
        data = path.read_bytes()
    except FileNotFoundError as error:
        raise UnreadableFileError(f"cannot read {str(path)!r}: no such file") from error
    except IsADirectoryError as error:
        raise UnreadableFileError(f"cannot read {str(path)!r}: it is a folder, not a file") from error
    except OSError as error:
        raise UnreadableFileError(f"cannot read {str(path)!r}: {error.strerror or error}") from error
    if not data:
        raise UnreadableFileError(f"cannot read {str(path)!r}: the file is empty (0 bytes)")
    return data


def _inspect(data: bytes, path: Path) -> tuple[str, int, bytes | None, bytes | None]:
    """Check with Pillow that the file is a complete image; return its format, orientation, EXIF and ICC profile.

    OpenCV may return a partial image for a truncated file, so Pillow decodes it too, with truncated files refused
    (a JPEG at 1/8 scale through DCT scaling: every byte is still read, at a fraction of the cost).
    """
    try:
        (file_format, orientation, exif, icc_profile), damage = _catch_exif_damage(
            functools.partial(_inspect_with_pillow, data)
        )
    except UnidentifiedImageError as error:
        raise UnreadableFileError(f"cannot read {str(path)!r}: not an image file") from error
    except _SeveralImages as error:
        raise UnreadableFileError(f"cannot read {str(path)!r}: {error}; {_ONE_IMAGE_PER_FILE}") from None
    except Image.DecompressionBombError as error:
        raise UnreadableFileError(
            f"cannot read {str(path)!r}: larger than Pillow's limit; raise PIL.Image.MAX_IMAGE_PIXELS to read it"
        ) from error
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error) as error:
        raise UnreadableFileError(f"cannot read {str(path)!r}: broken or truncated image file ({error})") from error
    if file_format not in _PILLOW_FORMATS:
        raise UnreadableFileError(f"cannot read {str(path)!r}: a {file_format} image, not PNG, JPEG, TIFF, WebP or BMP")
    for message in damage:
        warnings.warn(
            f"{str(path)!r}: damaged EXIF block ({message}); the tags before the damage are used and carried over",
            MetadataWarning,
            stacklevel=3,
        )
    if exif and not exif.startswith(_EXIF_HEADER):
        exif = _EXIF_HEADER + exif  # WebP stores the block without its header
    return file_format, orientation if orientation in ORIENTATIONS else 1, exif or None, icc_profile or None


def _inspect_with_pillow(data: bytes) -> tuple[str, int, bytes | None, bytes | None]:
    """Decode the file with Pillow (a JPEG at 1/8 scale); return its format, orientation, EXIF and ICC profile.

    Raises:
        _SeveralImages: an animated PNG or WebP (a JPEG's extra MPF images, previews and depth maps, are left aside).
    """
    with Image.open(io.BytesIO(data)) as image:
        if image.format in ("PNG", "WEBP") and getattr(image, "n_frames", 1) > 1:
            raise _SeveralImages(f"an animated {image.format} of {image.n_frames} frames")
        if image.format in ("JPEG", "MPO"):
            image.draft(image.mode, (1, 1))
        image.load()
        orientation = image.getexif().get(_ORIENTATION_TAG, 1)
        return (
            _FORMAT_ALIASES.get(image.format, image.format),
            orientation,
            image.info.get("exif"),
            image.info.get("icc_profile"),
        )


def _read_tiff(data: bytes, path: Path) -> tuple[np.ndarray, int, bytes | None]:
    """A TIFF's pixels as stored, its orientation and ICC profile; tifffile where it can, else OpenCV. A TIFF of
    several full-size pages is refused (reduced-resolution ones, thumbnails and previews, are left aside, also where
    one comes first)."""
    try:
        with tifffile.TiffFile(io.BytesIO(data)) as tiff:
            full_size = [index for index, page in enumerate(tiff.pages) if not page.is_reduced] or [0]
            pages = len(full_size)
            if pages == 1:
                page = tiff.pages[full_size[0]]
                orientation = page.tags.valueof(_ORIENTATION_TAG, 1)
                icc_profile = page.iccprofile
                extra_samples = len(page.extrasamples)
                image = _tifffile_pixels(page)
    except (tifffile.TiffFileError, OSError, ValueError, EOFError, IndexError, struct.error, zlib.error) as error:
        raise UnreadableFileError(f"cannot read {str(path)!r}: broken or truncated TIFF ({error})") from error
    except MemoryError as error:  # a header that claims more pixels than memory holds (broken, or truly huge)
        raise UnreadableFileError(f"cannot read {str(path)!r}: too large to decode in memory ({error})") from error
    if pages > 1:
        raise UnreadableFileError(f"cannot read {str(path)!r}: a TIFF of {pages} pages; {_ONE_IMAGE_PER_FILE}")
    orientation = orientation if orientation in ORIENTATIONS else 1
    if image is None:
        if full_size[0] != 0:
            raise UnreadableFileError(
                f"cannot read {str(path)!r}: its image is of a kind read only from a TIFF's first page, and a "
                "thumbnail comes first"
            )
        image = _decode(data, path)
        if image.ndim == 3 and image.shape[2] == 4 and not extra_samples:
            image = image[..., :3]  # OpenCV adds an opaque alpha to what it converts (CMYK): the file has none
        if orientation != 1 and _opencv_orients_tiff():
            image = apply_orientation(image, orientation, inverse=True)
    return image, orientation, icc_profile or None


def _tifffile_pixels(page: tifffile.TiffPage) -> np.ndarray | None:
    """Plain 8/16-bit gray or RGB(A) pages as (H, W), (H, W, 3) or (H, W, 4), gray stored white-is-zero inverted to
    black-is-zero; None for what tifffile cannot decode."""
    white_is_zero = page.photometric == tifffile.PHOTOMETRIC.MINISWHITE
    plain = (
        page.photometric in (tifffile.PHOTOMETRIC.MINISBLACK, tifffile.PHOTOMETRIC.RGB)
        or (white_is_zero and page.samplesperpixel in (1, 2))
    ) and (
        page.dtype in (np.uint8, np.uint16)
        and page.samplesperpixel in (1, 2, 3, 4)
        and page.imagedepth == 1
        and page.compression in tifffile.TIFF.DECOMPRESSORS
        and page.predictor in tifffile.TIFF.UNPREDICTORS
    )
    if not plain:
        return None
    image = page.asarray()
    if page.samplesperpixel > 1 and page.planarconfig == tifffile.PLANARCONFIG.SEPARATE:
        image = np.moveaxis(image, 0, -1)
    if white_is_zero:  # the gray sample only (a second one is alpha)
        gray = image[..., 0] if page.samplesperpixel == 2 else image
        gray[...] = np.iinfo(image.dtype).max - gray
    if page.samplesperpixel == 2:
        image = image[..., [0, 0, 0, 1]]
    return np.ascontiguousarray(image)


def _decode(data: bytes, path: Path) -> np.ndarray:
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error as error:
        raise UnreadableFileError(f"cannot read {str(path)!r}: OpenCV cannot decode it ({error})") from error
    if image is None:
        raise UnreadableFileError(f"cannot read {str(path)!r}: OpenCV cannot decode it")
    if image.dtype not in (np.uint8, np.uint16):
        raise UnreadableFileError(f"cannot read {str(path)!r}: {image.dtype} samples; only 8- and 16-bit are supported")
    return _swap_red_blue(image)


def _apply_png_gray_transparency(gray: np.ndarray, data: bytes) -> np.ndarray:
    """A gray PNG's pixels (H, W) as RGBA (H, W, 4) with R = G = B, transparent where they equal the value of its
    tRNS chunk (which OpenCV ignores for gray, while it applies it to RGB and palette PNGs); unchanged without one."""
    bit_depth, position = data[24], len(_PNG_SIGNATURE)
    while position + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        if kind == b"tRNS" and length >= 2:
            key = struct.unpack(">H", data[position + 8 : position + 10])[0]
            key *= np.iinfo(gray.dtype).max // (2**bit_depth - 1) if bit_depth < 8 else 1  # OpenCV scales 1-4 bits up
            alpha = np.where(gray == key, 0, np.iinfo(gray.dtype).max).astype(gray.dtype)
            return np.dstack([gray, gray, gray, alpha])
        if kind == b"IDAT":
            break  # tRNS comes before the pixels
        position += 12 + length
    return gray


def _swap_red_blue(image: np.ndarray) -> np.ndarray:
    """RGB(A) <-> BGR(A); gray passes through."""
    if image.ndim == 2:
        return image
    return np.ascontiguousarray(image[..., [2, 1, 0, 3][: image.shape[2]]])


@functools.cache
def _opencv_orients_tiff() -> bool:
    """Whether OpenCV applies a TIFF's Orientation tag while decoding (OpenCV 5 does, even with IMREAD_UNCHANGED)."""
    probe = io.BytesIO()
    tifffile.imwrite(probe, np.zeros((1, 2), np.uint8), extratags=[(_ORIENTATION_TAG, "H", 1, 6, True)], metadata=None)
    return cv2.imdecode(np.frombuffer(probe.getvalue(), np.uint8), cv2.IMREAD_UNCHANGED).shape == (2, 1)


def _check_writable(image: np.ndarray) -> np.ndarray:
    """Validate an array for writing; (H, W, 1) becomes (H, W)."""
    if not isinstance(image, np.ndarray):
        raise InvalidImageError(f"write_image takes a NumPy array, got {type(image).__name__}")
    if image.dtype not in (np.uint8, np.uint16):
        raise InvalidImageError(
            f"write_image takes uint8 or uint16 arrays, got {image.dtype}; "
            "convert first, e.g. np.round(np.clip(x, 0, 1) * 255).astype(np.uint8) for a float image on [0, 1]"
        )
    if image.ndim not in (2, 3) or image.shape[2:] not in ((), (1,), (3,), (4,)):
        raise InvalidImageError(f"write_image takes (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) arrays: {image.shape}")
    if image.size == 0:
        raise InvalidImageError(f"cannot write an empty image of shape {image.shape}")
    return image[..., 0] if image.ndim == 3 and image.shape[2] == 1 else image


def _to_8bit(image: np.ndarray) -> np.ndarray:
    if image.dtype == np.uint8:
        return image
    return ((image.astype(np.uint32) + 128) // 257).astype(np.uint8)  # round(x / 257): x / 257 is never k + 0.5


def _catch_exif_damage(parse: Callable[[], _Parsed]) -> tuple[_Parsed, list[str]]:
    """Run ``parse`` (a Pillow EXIF parse) and return its result with Pillow's complaints about a damaged block,
    which it would otherwise print as anonymous ``UserWarning``s (other warnings pass through)."""
    with catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        parsed = parse()
    damage = []
    for warning in caught:
        if "EXIF" in str(warning.message):
            damage.append(str(warning.message).strip())
        else:
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    return parsed, damage


def _exif_to_write(metadata: ImageMetadata, path: Path) -> bytes | None:
    """The EXIF block to write into ``path``, with ``metadata.orientation`` in it: ``metadata.exif`` as given when
    it already says so, or None when there is neither a block nor a rotation. A block that cannot be parsed, or
    that is larger than a JPEG ``path`` holds, is replaced by one holding only the orientation (with a
    ``MetadataWarning``); a damaged one that Pillow parses in part is kept (reading it warned already)."""
    block = _exif_with_orientation(metadata, path)
    if block is None or path.suffix.lower() not in JPEG_SUFFIXES or len(block) <= _JPEG_MAX_EXIF:
        return block
    warnings.warn(
        f"{str(path)!r}: the EXIF block ({len(block)} bytes) is larger than a JPEG holds ({_JPEG_MAX_EXIF}): only "
        "the orientation is kept",
        MetadataWarning,
        stacklevel=3,
    )
    return _exif_with_orientation(replace(metadata, exif=None), path)


def _exif_with_orientation(metadata: ImageMetadata, path: Path) -> bytes | None:
    """``_exif_to_write`` without the size limit of JPEG."""
    tags = Image.Exif()
    if metadata.exif:
        try:
            _catch_exif_damage(functools.partial(tags.load, metadata.exif))
        except (SyntaxError, ValueError, OSError, struct.error) as error:
            warnings.warn(
                f"{str(path)!r}: the EXIF block cannot be parsed ({error}): left out", MetadataWarning, stacklevel=4
            )
            tags = Image.Exif()
        else:
            if tags.get(_ORIENTATION_TAG, 1) == metadata.orientation:
                return metadata.exif if metadata.exif.startswith(_EXIF_HEADER) else _EXIF_HEADER + metadata.exif
    if metadata.orientation == 1 and not tags:
        return None
    tags[_ORIENTATION_TAG] = metadata.orientation
    return tags.tobytes()


def _icc_to_write(metadata: ImageMetadata, image: np.ndarray, path: Path) -> bytes | None:
    """``metadata.icc_profile`` where its color space (bytes 16-19 of the profile header) is the image's, gray or
    RGB; None otherwise (with a ``MetadataWarning`` naming ``path`` when a profile was left out)."""
    profile = metadata.icc_profile
    if not profile:
        return None
    space = profile[16:20]
    if space == (b"GRAY" if image.ndim == 2 else b"RGB "):
        return profile
    kind = "gray" if image.ndim == 2 else "RGB"
    warnings.warn(
        f"{str(path)!r}: an ICC profile for {space.decode('latin-1').strip()} pixels does not fit {kind} ones: left out",
        MetadataWarning,
        stacklevel=3,
    )
    return None


def _webp_is_lossless(data: bytes) -> bool:
    """Whether a WebP file's image is stored losslessly (a VP8L chunk; extended files list theirs after VP8X)."""
    offset = 12  # after "RIFF", the size and "WEBP"
    while offset + 8 <= len(data):
        kind, size = data[offset : offset + 4], struct.unpack("<I", data[offset + 4 : offset + 8])[0]
        if kind in (b"VP8 ", b"VP8L"):
            return kind == b"VP8L"
        offset += 8 + size + size % 2
    return False


def _opencv_encode(suffix: str, image: np.ndarray) -> bytes:
    ok, encoded = cv2.imencode(suffix, _swap_red_blue(image))
    if not ok:
        raise InvalidImageError(f"OpenCV cannot encode a {image.dtype} image of shape {image.shape} as {suffix}")
    return encoded.tobytes()


def _encode_png(image: np.ndarray, metadata: ImageMetadata | None, quality: int) -> bytes:
    """PNG through OpenCV (16 bits, alpha), with iCCP and eXIf chunks inserted after IHDR (OpenCV writes neither)."""
    chunks = []
    if metadata is not None and metadata.icc_profile:
        chunks.append((b"iCCP", b"ICC Profile\x00\x00" + zlib.compress(metadata.icc_profile)))
    if metadata is not None and metadata.exif:
        chunks.append((b"eXIf", metadata.exif[len(_EXIF_HEADER) :]))
    png = _opencv_encode(".png", image)
    encoded = b"".join(
        struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body)) for kind, body in chunks
    )
    return png[:_PNG_AFTER_IHDR] + encoded + png[_PNG_AFTER_IHDR:]


def _encode_tiff(image: np.ndarray, metadata: ImageMetadata | None, quality: int) -> bytes:
    """Uncompressed TIFF through tifffile, with the Orientation tag and the ICC profile (tag 34675) if given."""
    buffer = io.BytesIO()
    tifffile.imwrite(
        buffer,
        image,
        photometric="minisblack" if image.ndim == 2 else "rgb",
        iccprofile=metadata.icc_profile if metadata is not None else None,
        extratags=[(_ORIENTATION_TAG, "H", 1, metadata.orientation, True)] if metadata is not None else [],
        metadata=None,
    )
    return buffer.getvalue()


def _encode_with_pillow(file_format: str, image: np.ndarray, metadata: ImageMetadata | None, quality: int) -> bytes:
    """JPEG or WebP through Pillow, which embeds EXIF and ICC profiles in both."""
    if file_format == "JPEG" and image.ndim == 3 and image.shape[2] == 4:
        raise InvalidImageError("JPEG has no alpha channel: pass image[..., :3], or write PNG, TIFF or WebP")
    options: dict[str, object] = {"quality": quality}
    if file_format == "JPEG":
        options["subsampling"] = 0  # 4:4:4
    if file_format == "WEBP" and metadata is not None and metadata.lossless:
        options["lossless"] = True
    if metadata is not None and metadata.exif:
        options["exif"] = metadata.exif
    if metadata is not None and metadata.icc_profile:
        options["icc_profile"] = metadata.icc_profile
    buffer = io.BytesIO()
    Image.fromarray(_to_8bit(image)).save(buffer, file_format, **options)
    return buffer.getvalue()


def _encode_bmp(image: np.ndarray, metadata: ImageMetadata | None, quality: int) -> bytes:
    """BMP through OpenCV, which keeps an alpha channel (32-bit BMP); BMP holds no metadata."""
    return _opencv_encode(".bmp", _to_8bit(image))


_ENCODERS: dict[str, Callable[[np.ndarray, ImageMetadata | None, int], bytes]] = {
    ".png": _encode_png,
    ".jpg": functools.partial(_encode_with_pillow, "JPEG"),
    ".jpeg": functools.partial(_encode_with_pillow, "JPEG"),
    ".tif": _encode_tiff,
    ".tiff": _encode_tiff,
    ".webp": functools.partial(_encode_with_pillow, "WEBP"),
    ".bmp": _encode_bmp,
}
