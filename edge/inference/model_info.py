"""What identifies a model in events: its ONNX metadata version, else a hash of the file.

The edge box has ONNX Runtime, not the `onnx` package, so the few top-level fields needed are
read straight from the protobuf wire format; the graph itself is skipped, not parsed.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

VERSION_KEYS = ("version", "model_version", "anpr_version")
_METADATA_PROPS_FIELD = 14  # ModelProto.metadata_props: repeated StringStringEntryProto


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _fields(data: bytes) -> list[tuple[int, int, bytes | int]]:
    """Top-level (field number, wire type, value) of one protobuf message."""
    out: list[tuple[int, int, bytes | int]] = []
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
            out.append((number, wire, value))
        elif wire == 2:
            length, pos = _varint(data, pos)
            out.append((number, wire, data[pos : pos + length]))
            pos += length
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
    return out


def onnx_metadata(path: Path) -> dict[str, str]:
    """The metadata_props of an ONNX file; {} when the file cannot be parsed."""
    try:
        data = path.read_bytes()
        props: dict[str, str] = {}
        for number, wire, value in _fields(data):
            if number == _METADATA_PROPS_FIELD and wire == 2 and isinstance(value, bytes):
                entry = {n: v for n, w, v in _fields(value) if w == 2 and isinstance(v, bytes)}
                key, text = entry.get(1, b""), entry.get(2, b"")
                props[key.decode("utf-8", "replace")] = text.decode("utf-8", "replace")
        return props
    except (OSError, ValueError):
        return {}


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:12]


def model_version(model: object, path: Path | None) -> str:
    """`<file stem>@<metadata version>`, else `<file stem>@sha256:<12 hex>`, else the model's class."""
    version = getattr(model, "version", None)
    if isinstance(version, str) and version:
        return version
    if path is not None and Path(path).is_file():
        metadata = onnx_metadata(Path(path))
        for key in VERSION_KEYS:
            if metadata.get(key):
                return f"{Path(path).stem}@{metadata[key]}"
        return f"{Path(path).stem}@sha256:{file_digest(Path(path))}"
    return type(model).__name__
