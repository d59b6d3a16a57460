"""A PNG decompression bomb against snapshot mode: time to the error and peak memory.

    python bench/bench_image_bomb.py [--side 32000]

Crafts a real PNG of side x side 1-bit pixels (about 124 KB at 32000: it decodes to 3 GB of BGR,
6 GB at the decoder's peak), then measures in fresh processes (1) `edge.recognize.load_image` on
it: milliseconds to the error and peak RSS before and after, and (2) the whole
`anpr-edge recognize --json` run (models loaded) on it: wall time, exit status, peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

PROBE = """
import json, resource, sys, time
from edge.recognize import UnreadableImage, load_image
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
try:
    load_image(sys.argv[1])
    error = None
except UnreadableImage as exc:
    error = str(exc)
ms = (time.perf_counter() - started) * 1000
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"error": error, "ms": ms, "rss_before_mb": before / 1024, "rss_after_mb": after / 1024}))
"""


def png_bomb(side: int) -> bytes:
    row = b"\x00" * (1 + (side + 7) // 8)  # filter byte, then packed black pixels
    packer = zlib.compressobj(9)
    data = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--side", type=int, default=32000)
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with tempfile.TemporaryDirectory() as tmp:
        bomb = Path(tmp) / "bomb.png"
        bomb.write_bytes(png_bomb(args.side))
        print(f"bomb: {bomb.stat().st_size:,} bytes declaring {args.side}x{args.side} px")
        probe = subprocess.run(
            [sys.executable, "-c", PROBE, str(bomb)], capture_output=True, text=True, env=env, check=True
        )
        figures = json.loads(probe.stdout)
        print(
            f"load_image: {figures['ms']:.2f} ms to the error, peak RSS {figures['rss_before_mb']:.0f} MB "
            f"before and {figures['rss_after_mb']:.0f} MB after: {figures['error']}"
        )
        with open(os.devnull, "w") as sink:
            started = time.perf_counter()
            process = subprocess.Popen(
                [sys.executable, "-m", "edge.cli", "recognize", "--json", str(bomb)],
                stdout=sink, stderr=sink, env=env, cwd=REPO,
            )
            _pid, status, usage = os.wait4(process.pid, 0)
            wall = time.perf_counter() - started
        print(
            f"anpr-edge recognize (models loaded): exit {os.waitstatus_to_exitcode(status)}, "
            f"{wall:.2f} s wall, peak RSS {usage.ru_maxrss / 1024:.0f} MB"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
