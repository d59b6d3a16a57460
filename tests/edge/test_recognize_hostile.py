"""Snapshot mode on hostile input: degenerate sizes, image bombs, directories it cannot list."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from edge_scene import ColourPlateDetector, ColourPlateReader, Passing, render_frame

from common.config import DetectorConfig
from edge.capture.image_header import ImageHeaderError, image_size
from edge.recognize import MIN_IMAGE_SIDE, SnapshotRecognizer, expand_paths, load_image

REPO = Path(__file__).resolve().parents[2]
RSS_BOUND_MB = 300


def _recognizer() -> SnapshotRecognizer:
    return SnapshotRecognizer(ColourPlateDetector(), ColourPlateReader(), DetectorConfig(), 0.5)


def _png_bomb(side: int) -> bytes:
    """A real PNG of side x side 1-bit gray pixels, all black: it deflates to almost nothing, and
    a decoder that trusts it allocates side*side*3 bytes of BGR."""
    row = b"\x00" + b"\x00" * ((side + 7) // 8)  # filter byte, then packed pixels
    packer = zlib.compressobj(9)
    compressed = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", compressed) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    ("suffix", "params"),
    [
        (".png", []),
        (".jpg", []),
        (".jpg", [cv2.IMWRITE_JPEG_PROGRESSIVE, 1]),
        (".bmp", []),
        (".webp", [cv2.IMWRITE_WEBP_QUALITY, 80]),
        (".webp", [cv2.IMWRITE_WEBP_QUALITY, 101]),  # lossless: the VP8L header
        (".tiff", []),
    ],
)
def test_the_header_gives_the_size_that_decoding_gives(suffix: str, params: list[int]) -> None:
    image = np.random.default_rng(1).integers(0, 255, (23, 37, 3), np.uint8)
    ok, encoded = cv2.imencode(suffix, image, params)
    assert ok
    assert image_size(encoded.tobytes()) == (37, 23)


def test_a_header_that_names_no_size_is_refused() -> None:
    broken = (b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, b"\xff\xd8\xff\xd9", b"GIF89a", b"II*\x00\x08\x00\x00\x00")
    for data in broken:
        with pytest.raises(ImageHeaderError):
            image_size(data)


def test_degenerate_images_are_errors_and_the_batch_goes_on(tmp_path: Path) -> None:
    paths = []
    for width, height in ((1, 1), (1, 5000), (5000, 1), (MIN_IMAGE_SIDE - 1, 300)):
        path = tmp_path / f"{width}x{height}.png"
        cv2.imwrite(str(path), np.full((height, width, 3), 90, np.uint8))
        paths.append(str(path))
    good = tmp_path / "good.png"
    cv2.imwrite(str(good), render_frame(0, [Passing("red", 0, 10)]))
    results = [r.to_dict() for r in _recognizer().run([*paths, str(good)])]
    assert [r["image"] for r in results] == [*paths, str(good)]
    assert results[1]["error"] == f"image is 1x5000 px; each side must be at least {MIN_IMAGE_SIDE} px"
    assert all("each side must be at least" in r["error"] for r in results[:4])
    assert [p["latin"] for p in results[4]["plates"]] == ["A123BC77"]


def test_an_image_over_the_pixel_limit_is_refused_before_decoding(tmp_path: Path) -> None:
    path = tmp_path / "big.png"
    path.write_bytes(_png_bomb(4000))
    with pytest.raises(ValueError, match=r"image is 4000x4000 px \(16.0 MP\); the limit is 10.0 MP"):
        load_image(str(path), max_pixels=10_000_000)
    assert load_image(str(path), max_pixels=20_000_000).shape == (4000, 4000, 3)


def _listed_as_nobody(paths: list[str]) -> list[list[str | None]]:
    """expand_paths in a forked child that gave up root, so permissions apply to it."""
    reading, writing = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe
        code = 0
        try:
            os.close(reading)
            if os.geteuid() == 0:
                os.setgid(65534)
                os.setuid(65534)
            os.write(writing, json.dumps(list(expand_paths(paths))).encode())
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(writing)
    with os.fdopen(reading, "rb") as pipe:
        data = pipe.read()
    _pid, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    return json.loads(data)  # type: ignore[no-any-return]


def test_a_directory_that_cannot_be_listed_is_an_error_and_the_batch_goes_on(tmp_path: Path) -> None:
    # Root lists any directory, so the listing is tried as nobody in a world-traversable folder.
    base = Path(tempfile.mkdtemp(prefix="anpr-unlistable-"))
    try:
        base.chmod(0o755)
        locked = base / "locked"
        locked.mkdir(mode=0o311)  # can enter, cannot list
        locked.chmod(0o311)
        good = base / "good.png"
        cv2.imwrite(str(good), render_frame(0, []))
        good.chmod(0o644)
        assert _listed_as_nobody([str(locked), str(good)]) == [
            [str(locked), "cannot list directory: Permission denied"],
            [str(good), None],
        ]
    finally:
        shutil.rmtree(base)


# The CLI's own peak RSS: VmHWM belongs to the process image, so unlike getrusage's maxrss it does
# not count the copy of the (large) pytest process that fork made before exec.
_REPORT_PEAK_RSS_AND_RUN_CLI = """
import atexit, sys
atexit.register(lambda: print(next(l for l in open('/proc/self/status') if l.startswith('VmHWM:')),
                              file=sys.stderr, end=''))
sys.argv = ['anpr-edge', *sys.argv[1:]]
from edge.cli import main
sys.exit(main())
"""


def test_a_png_bomb_ends_in_an_error_in_bounded_memory_and_the_batch_goes_on(tmp_path: Path) -> None:
    """The real CLI with the shipped models: a 32000x32000 PNG of about 125 KB, then a good image."""
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(_png_bomb(32000))
    assert bomb.stat().st_size < 200_000
    good = tmp_path / "good.png"
    cv2.imwrite(str(good), np.full((240, 320, 3), 128, np.uint8))
    out_path, err_path = tmp_path / "out.jsonl", tmp_path / "err.txt"
    with out_path.open("w") as out, err_path.open("w") as err:
        process = subprocess.run(
            [sys.executable, "-c", _REPORT_PEAK_RSS_AND_RUN_CLI, "recognize", "--json", str(bomb), str(good)],
            stdout=out, stderr=err, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, check=False,
        )
    lines = [json.loads(line) for line in out_path.read_text().splitlines()]
    errors = err_path.read_text()
    assert process.returncode == 1, errors
    assert lines[0]["error"] == "image is 32000x32000 px (1024.0 MP); the limit is 50.0 MP"
    assert lines[1] == {"image": str(good), "plates": [], "ms": lines[1]["ms"]}
    peak_mb = int(errors.split("VmHWM:")[1].split()[0]) / 1024
    print(f"bomb: peak RSS of the whole CLI run {peak_mb:.0f} MB")
    assert peak_mb < RSS_BOUND_MB
