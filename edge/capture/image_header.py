"""Width and height of an image file read from its header, before anything is decoded.

A small file can declare a huge image (a PNG of 124 KB that inflates to 32000x32000 pixels takes
6 GB to decode), so snapshot mode checks the declared size first. Only headers are parsed here:
JPEG, PNG, BMP, WebP and TIFF, the formats `anpr-edge recognize` accepts.
"""

from __future__ import annotations

import struct

# Snapshot mode's default limit: 50 MP is well past any camera's still, far below a bomb's size.
DEFAULT_MAX_MEGAPIXELS = 50.0


class ImageHeaderError(ValueError):
    """A header that is missing, cut short or names no size; the message says which."""


def _png(data: bytes) -> tuple[int, int]:
    # The IHDR chunk must come first: length (4), "IHDR", width (4), height (4).
    if len(data) < 24 or data[12:16] != b"IHDR":
        raise ImageHeaderError("PNG without an IHDR header")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


# Start-of-frame markers carry the size; C4 (DHT), C8 (JPG) and CC (DAC) share the range but do not.
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _jpeg(data: bytes) -> tuple[int, int]:
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            raise ImageHeaderError("JPEG with a broken marker before its frame header")
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            position += 2
            continue
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        if marker in _JPEG_SOF:
            if position + 9 > len(data):
                break
            height, width = struct.unpack(">HH", data[position + 5 : position + 9])
            return width, height
        if length < 2:
            raise ImageHeaderError("JPEG with a broken segment length")
        position += 2 + length
    raise ImageHeaderError("JPEG without a frame header")


def _bmp(data: bytes) -> tuple[int, int]:
    if len(data) < 26:
        raise ImageHeaderError("BMP header cut short")
    (header_size,) = struct.unpack("<I", data[14:18])
    if header_size == 12:  # OS/2 BITMAPCOREHEADER: 16-bit sizes
        width, height = struct.unpack("<HH", data[18:22])
        return width, height
    width, height = struct.unpack("<ii", data[18:26])
    return abs(width), abs(height)  # a negative height means rows stored top-down


def _webp(data: bytes) -> tuple[int, int]:
    if len(data) < 30:
        raise ImageHeaderError("WebP header cut short")
    chunk = data[12:16]
    if chunk == b"VP8X":
        width = 1 + int.from_bytes(data[24:27], "little")
        height = 1 + int.from_bytes(data[27:30], "little")
        return width, height
    if chunk == b"VP8 ":
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L":
        bits = int.from_bytes(data[21:25], "little")
        return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    raise ImageHeaderError("WebP without a VP8, VP8L or VP8X chunk")


def _tiff(data: bytes) -> tuple[int, int]:
    order = "<" if data[:2] == b"II" else ">"
    try:
        (ifd,) = struct.unpack(order + "I", data[4:8])
        (entries,) = struct.unpack(order + "H", data[ifd : ifd + 2])
        size: dict[int, int] = {}
        for index in range(entries):
            at = ifd + 2 + 12 * index
            tag, kind = struct.unpack(order + "HH", data[at : at + 4])
            if tag in (256, 257):  # ImageWidth, ImageLength: SHORT (3) or LONG (4)
                code = "H" if kind == 3 else "I"
                (size[tag],) = struct.unpack(order + code, data[at + 8 : at + 8 + struct.calcsize(code)])
    except struct.error:
        raise ImageHeaderError("TIFF header cut short") from None
    if 256 not in size or 257 not in size:
        raise ImageHeaderError("TIFF without width and height tags")
    return size[256], size[257]


def image_size(data: bytes) -> tuple[int, int]:
    """(width, height) declared by the file's header; ImageHeaderError if it is not one of the
    supported formats or its header is broken."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return _png(data)
    if data.startswith(b"\xff\xd8"):
        return _jpeg(data)
    if data.startswith(b"BM"):
        return _bmp(data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _webp(data)
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return _tiff(data)
    raise ImageHeaderError("not a JPEG, PNG, BMP, WebP or TIFF image")
