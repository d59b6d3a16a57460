"""JPEG frames kept encoded: size from the header, cheap reduced grey decodes, full decode on demand.

An MJPEG camera (or file) delivers every frame as a complete JPEG. Decoding it at 1/2, 1/4 or
1/8 scale lets libjpeg skip most of the inverse DCT: a 1080p frame costs ~1.7 ms as a 480x270
grey image against ~5 ms as a full BGR image, and the detector only needs ~416 px. The full
image is decoded only when something needs full-resolution pixels (a plate crop for the reader).
"""

from __future__ import annotations

import cv2
import numpy as np

# IMREAD_REDUCED_GRAYSCALE_k decodes straight to grey at 1/k scale (libjpeg's scaled IDCT).
REDUCED_GRAY_FLAGS = {
    1: cv2.IMREAD_GRAYSCALE,
    2: cv2.IMREAD_REDUCED_GRAYSCALE_2,
    4: cv2.IMREAD_REDUCED_GRAYSCALE_4,
    8: cv2.IMREAD_REDUCED_GRAYSCALE_8,
}
# Camera frames carry no EXIF orientation worth obeying, and the reduced and full decodes must
# agree on pixel coordinates, so orientation is ignored in both.
_NO_ROTATION = cv2.IMREAD_IGNORE_ORIENTATION

# Start-of-frame markers hold the image size; C4 (DHT), C8 (JPG) and CC (DAC) share the range.
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_STANDALONE_MARKERS = frozenset(range(0xD0, 0xDA)) | {0x01}  # RSTn, SOI, EOI, TEM: no length


class JpegError(ValueError):
    """The bytes are not a JPEG image that can be decoded."""


def jpeg_size(data: bytes | np.ndarray) -> tuple[int, int]:
    """(height, width) from the JPEG header, without decoding; JpegError when there is none."""
    buf = data.tobytes() if isinstance(data, np.ndarray) else data
    if len(buf) < 4 or buf[0] != 0xFF or buf[1] != 0xD8:
        raise JpegError("not a JPEG image (no SOI marker)")
    i = 2
    while i + 4 <= len(buf):
        if buf[i] != 0xFF:
            raise JpegError(f"corrupt JPEG header at byte {i}")
        marker = buf[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in _STANDALONE_MARKERS:
            i += 2
            continue
        if marker == 0xDA:  # start of scan before any frame header
            break
        length = (buf[i + 2] << 8) | buf[i + 3]
        if marker in _SOF_MARKERS:
            if i + 9 > len(buf):
                break
            height = (buf[i + 5] << 8) | buf[i + 6]
            width = (buf[i + 7] << 8) | buf[i + 8]
            if height == 0 or width == 0:
                raise JpegError("JPEG frame header gives an empty image")
            return height, width
        i += 2 + length
    raise JpegError("JPEG has no frame header")


def as_buffer(data: bytes | np.ndarray) -> np.ndarray:
    """A flat uint8 view of encoded bytes, as cv2.imdecode wants them."""
    if isinstance(data, np.ndarray):
        return data.reshape(-1) if data.dtype == np.uint8 else data.view(np.uint8).reshape(-1)
    return np.frombuffer(data, np.uint8)


def decode_bgr(data: bytes | np.ndarray) -> np.ndarray:
    image = cv2.imdecode(as_buffer(data), cv2.IMREAD_COLOR | _NO_ROTATION)
    if image is None:
        raise JpegError("JPEG does not decode")
    return image


def decode_reduced_gray(data: bytes | np.ndarray, factor: int) -> np.ndarray:
    """The image in grey at 1/factor scale (factor 1, 2, 4 or 8); ceil(size / factor) pixels."""
    if factor not in REDUCED_GRAY_FLAGS:
        raise ValueError(f"JPEG decodes reduce by 1, 2, 4 or 8, not {factor}")
    image = cv2.imdecode(as_buffer(data), REDUCED_GRAY_FLAGS[factor] | _NO_ROTATION)
    if image is None:
        raise JpegError("JPEG does not decode")
    return image
