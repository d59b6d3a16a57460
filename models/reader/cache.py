"""Pre-rendered reader samples on disk: shards of network-ready gray images plus labels.

Rendering costs milliseconds per sample while a training step needs ~64 of them, so samples are
rendered once (in parallel) and reused across epochs. Shard k holds sample indices
[k*shard_size, (k+1)*shard_size) of one seed, so the cache is deterministic and can be grown.

    python -m models.reader.cache --out runs/reader/cache --count 120000 --workers 2
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from common.plates.alphabet import encode
from edge.inference.reader_input import READER_HEIGHT, READER_WIDTH, reader_image
from models.synth.ocr_samples import MIXES

MAX_LABEL_LEN = 12
SHARD_SIZE = 4000


@dataclass(frozen=True)
class CacheSpec:
    seed: int
    count: int
    font_dir: str | None = None
    shard_size: int = SHARD_SIZE
    height: int = READER_HEIGHT
    width: int = READER_WIDTH
    mix: str = "registry"  # models.synth.ocr_samples.MIXES
    country_boost: tuple[tuple[str, float], ...] = ()  # (country, factor on its share of the mix)

    def shard_path(self, out: Path, shard: int) -> Path:
        mix = "" if self.mix == "registry" else f"{self.mix}_"
        boost = "".join(f"{country}x{factor:g}_" for country, factor in self.country_boost)
        return out / f"seed{self.seed}_{mix}{boost}{self.height}x{self.width}_{shard:04d}.npz"

    @property
    def shards(self) -> int:
        return (self.count + self.shard_size - 1) // self.shard_size


def _make_factory(spec: CacheSpec):
    from models.synth.fonts import FontSet
    from models.synth.ocr_samples import OcrSampleFactory

    return OcrSampleFactory(
        FontSet.discover(spec.font_dir), mix=spec.mix, country_boost=dict(spec.country_boost)
    )


def render_shard(spec: CacheSpec, out: Path, shard: int) -> Path:
    path = spec.shard_path(out, shard)
    if path.exists():
        return path
    factory = _make_factory(spec)
    start = shard * spec.shard_size
    stop = min(spec.count, start + spec.shard_size)
    n = stop - start
    images = np.empty((n, spec.height, spec.width), np.uint8)
    labels = np.zeros((n, MAX_LABEL_LEN), np.int64)
    lengths = np.empty(n, np.int64)
    styles: list[str] = []
    for i in range(n):
        sample = factory.sample(spec.seed, start + i)
        images[i] = reader_image(sample.crop, sample.two_row, spec.height, spec.width)
        encoded = encode(sample.text)
        labels[i, : len(encoded)] = encoded
        lengths[i] = len(encoded)
        styles.append(sample.style_id)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, images=images, labels=labels, lengths=lengths, styles=np.array(styles))
    tmp.rename(path)
    return path


def _render_shard_job(args: tuple[CacheSpec, Path, int]) -> Path:
    return render_shard(*args)


def build_cache(spec: CacheSpec, out: Path, workers: int = 1, progress: bool = True) -> list[Path]:
    """Render the missing shards of `spec` into `out`; returns all shard paths in order."""
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(spec, out, k) for k in range(spec.shards)]
    missing = [j for j in jobs if not spec.shard_path(out, j[2]).exists()]
    if missing:
        from tqdm import tqdm

        start = time.perf_counter()
        bar = tqdm(total=len(missing), desc=f"render seed {spec.seed}", unit="shard", disable=not progress)
        if workers <= 1:
            for job in missing:
                _render_shard_job(job)
                bar.update()
        else:
            with mp.get_context("fork").Pool(workers) as pool:
                for _ in pool.imap_unordered(_render_shard_job, missing):
                    bar.update()
        bar.close()
        rendered = sum(
            min(spec.count, (k + 1) * spec.shard_size) - k * spec.shard_size for _, _, k in missing
        )
        rate = rendered / (time.perf_counter() - start)
        print(f"rendered {rendered} samples at {rate:.0f} samples/s with {workers} worker(s)", flush=True)
        (out / f"seed{spec.seed}_render_rate.json").write_text(
            json.dumps({"samples_per_s": rate, "workers": workers})
        )
    return [spec.shard_path(out, k) for k in range(spec.shards)]


def load_shards(paths: list[Path]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """images (N,H,W) uint8, labels (N,L) int64, lengths (N,), style ids (N,) of all shards."""
    parts = [np.load(p) for p in paths]
    return (
        np.concatenate([p["images"] for p in parts]),
        np.concatenate([p["labels"] for p in parts]),
        np.concatenate([p["lengths"] for p in parts]),
        np.concatenate([p["styles"] for p in parts]),
    )


def _country_factor(text: str) -> tuple[str, float]:
    country, sep, factor = text.partition("=")
    try:
        value = float(factor)
    except ValueError:
        value = 0.0
    if not sep or not country or value <= 0:
        raise argparse.ArgumentTypeError(f"expected CC=FACTOR with a positive factor, got {text!r}")
    return country.upper(), value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path("runs/reader/cache"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--count", type=int, default=120_000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument(
        "--shard-size", type=int, default=SHARD_SIZE,
        help="samples per shard (smaller shards reach a trainer running beside the renderer sooner)",
    )
    parser.add_argument(
        "--font-dir", default=None, help="folder with RoadNumbers2.0.ttf (default ../shared/fonts)"
    )
    parser.add_argument(
        "--mix", default="registry", choices=MIXES,
        help="which formats to draw (models.synth.ocr_samples.mix_weights): a Russian site's traffic, "
        "every country with no rare layout or letter (europe), or every country equally (countries)",
    )
    parser.add_argument(
        "--boost-country", action="append", default=[], metavar="CC=FACTOR", type=_country_factor,
        help="multiply a country's share of the mix (repeatable; e.g. AT=3 for a fine-tune that "
        "dwells on a weak country); the shards' names record it",
    )
    args = parser.parse_args(argv)
    spec = CacheSpec(
        seed=args.seed, count=args.count, font_dir=args.font_dir, shard_size=args.shard_size, mix=args.mix,
        country_boost=tuple(sorted(args.boost_country)),
    )
    from models.synth.ocr_samples import mix_weights
    from models.synth.plate_render import PLATE_STYLES

    try:  # a misspelt country fails here, not in every render worker
        mix_weights(list(PLATE_STYLES.values()), spec.mix, country_boost=dict(spec.country_boost))
    except ValueError as error:
        parser.error(str(error))
    build_cache(spec, args.out, args.workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
