"""`anpr-edge`: run the agent, try it on the sample clip, read plates in images, look at stored events.

Exit codes: 0 success, 1 runtime failure (a model or the store cannot be opened), 2 bad usage or
an invalid configuration file (the message names the field).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import logging
import os
import signal
import sys
import tempfile
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from common.config import (
    CameraConfig,
    ConfigError,
    EdgeConfig,
    OnnxRuntimeSettings,
    ReaderConfig,
    RuntimeSettings,
    load_edge_config,
    runtime_settings,
)

log = logging.getLogger("edge.cli")

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


def _setup_logging(level: str, mask_plates: bool) -> None:
    logging.basicConfig(
        level=getattr(logging, level), stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if mask_plates:
        from common.logmask import install_log_masking

        install_log_masking(logging.getLogger())


# glibc's mallopt parameter for the arena cap, and the cap the systemd unit sets through
# MALLOC_ARENA_MAX (systemd/anpr-edge.service): every camera thread otherwise gets an arena of its
# own that keeps its freed memory (8 cameras: ~120 MB more RSS, bench/bench_edge.py).
_M_ARENA_MAX = -8
AGENT_MALLOC_ARENAS = 2


def cap_malloc_arenas(arenas: int = AGENT_MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas as the unit does, unless MALLOC_ARENA_MAX says otherwise (or the
    C library is not glibc); so `run` and `demo` started by hand use memory as the service does."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(_M_ARENA_MAX, arenas))
    except (OSError, AttributeError):
        return False


def _load_config(path: Path | None) -> EdgeConfig:
    return load_edge_config(path)


# --- run ---------------------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace) -> int:
    cap_malloc_arenas()
    config = _load_config(args.config)
    _setup_logging(args.log_level or config.logging.level, config.logging.mask_plates)
    from edge.agent import EdgeAgent

    agent = EdgeAgent(config, config_path=args.config)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    # The reload runs on its own thread: a signal handler must not wait on the agent's locks.
    signal.signal(
        signal.SIGHUP, lambda *_: threading.Thread(target=agent.reload_from_file, daemon=True).start()
    )
    try:
        agent.start()
    except Exception as exc:
        log.error("agent cannot start: %s", exc)
        return EXIT_FAILURE
    try:
        while not stop.wait(0.5):
            if agent.workers and all(w.finished for w in list(agent.workers.values())):
                log.info("every source has ended; stopping")
                break
    finally:
        agent.stop()
    return EXIT_OK


# --- demo --------------------------------------------------------------------------------------


def cmd_demo(args: argparse.Namespace) -> int:
    from edge.samples import SAMPLE_CLIP, SAMPLE_CLIP_TRUTH

    cap_malloc_arenas()
    clip = Path(args.clip) if args.clip else SAMPLE_CLIP
    if not clip.is_file():
        print(f"demo clip not found: {clip}", file=sys.stderr)
        return EXIT_FAILURE
    _setup_logging(args.log_level or "WARNING", mask_plates=True)
    from common.events import PlateEvent
    from edge.agent import EdgeAgent
    from edge.events.sinks import CallbackSink

    seen: list[PlateEvent] = []

    def show(event: PlateEvent) -> None:
        seen.append(event)
        plate = event.plate
        kind = f"{plate.country or '?'}/{plate.format or '?'}"
        print(
            f"{event.captured_at:%H:%M:%S.%f}"[:-4]
            + f"  {event.channel_id}  {plate.text:<10} {'(' + plate.latin + ')':<12} {kind:<14} "
            f"conf {event.confidence:.2f}  frames {event.frames}",
            flush=True,
        )

    with tempfile.TemporaryDirectory(prefix="anpr-demo-") as tmp:
        config = EdgeConfig.model_validate({
            "cameras": [CameraConfig(id="sample", source=str(clip), realtime=args.realtime).model_dump()],
            "store": {"path": str(Path(tmp) / "events.db"), "key_file": str(Path(tmp) / "store.key")},
            "http": {"enabled": False},
        })
        agent = EdgeAgent(config, sinks=[CallbackSink(show, name="console")])
        try:
            agent.start()
        except Exception as exc:
            print(f"demo cannot start: {exc}", file=sys.stderr)
            return EXIT_FAILURE
        print(f"reading {clip.name}; plate events as they are read:", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            agent.wait_until_finished()
        worker = agent.workers.get("sample")
        frames = worker.stats.processed if worker else 0
        agent.stop()
    print(f"\n{len(seen)} plate event(s) from {frames} frames.")
    if clip == SAMPLE_CLIP and SAMPLE_CLIP_TRUTH.is_file():
        truth = json.loads(SAMPLE_CLIP_TRUTH.read_text(encoding="utf-8"))["plates"]
        expected = {p["latin"] for p in truth}
        found = {e.plate.latin for e in seen}
        print(f"{len(expected & found)} of {len(expected)} plates in the clip were read exactly.")
    return EXIT_OK


# --- recognize ---------------------------------------------------------------------------------


def cmd_recognize(args: argparse.Namespace) -> int:
    config = _load_config(args.config)
    _setup_logging(args.log_level or "WARNING", config.logging.mask_plates)
    from edge.inference.models import load_models
    from edge.recognize import DEFAULT_MAX_MEGAPIXELS, SnapshotRecognizer, format_table

    # --threads, where given, overrides both models' runtime threads; else a model whose config
    # names no thread count gets the box's cores (snapshot_threads).
    detector_config = config.detector.model_copy(
        update={"runtime": _snapshot_runtime(config.detector.runtime, args.threads)}
    )
    reader_config = config.reader.model_copy(
        update={"runtime": _snapshot_runtime(config.reader.runtime, args.threads)}
    )
    if args.countries:
        from common.plates.registry import load_registry

        countries = [c.strip().upper() for c in args.countries.split(",") if c.strip()]
        try:
            load_registry().formats_for(countries)
        except KeyError as exc:
            print(f"--countries: {exc.args[0]}", file=sys.stderr)
            return EXIT_USAGE
        reader_config = reader_config.model_copy(update={"countries": countries})
    try:
        models = load_models(detector_config, reader_config)
    except Exception as exc:
        print(f"cannot load the plate models: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    recognizer = SnapshotRecognizer.from_config(
        models.detector, models.reader, config.detector, config.reader, args.min_confidence,
        args.max_megapixels or DEFAULT_MAX_MEGAPIXELS,
    )
    results = recognizer.run(args.paths)
    failed = False
    if args.json:
        for result in results:
            failed |= result.error is not None
            print(json.dumps(result.to_dict(), ensure_ascii=False), flush=True)
    else:
        def tracked() -> Any:
            nonlocal failed
            for result in results:
                failed |= result.error is not None
                yield result

        for line in format_table(tracked()):
            print(line, flush=True)
    return EXIT_FAILURE if failed else EXIT_OK


# --- events ------------------------------------------------------------------------------------


def _open_store(config: EdgeConfig) -> Any:
    from edge.store import EventStore

    if not config.store.path.is_file():
        raise FileNotFoundError(f"no event store at {config.store.path}")
    return EventStore.from_config(config.store)


def _snapshot_confidence(text: str) -> float:
    """--min-confidence, held to the bounds of the config field it overrides."""
    try:
        return ReaderConfig(snapshot_min_confidence=text).snapshot_min_confidence  # type: ignore[arg-type]
    except ValidationError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: {exc.errors()[0]['msg']}") from None


# `recognize` reads one photo at a time, so the inference runtimes may use the box's cores
# (interleaved on 2 cores, OpenVINO: the whole eu-dev run 0.85x the wall time of one thread; the
# agent keeps one thread per model, its channels and stages run side by side). Past a few threads
# the small batches of plate crops gain little, so the default stops at this many.
SNAPSHOT_MAX_THREADS = 4


def snapshot_threads() -> int:
    """Inference threads per model for `recognize` when neither --threads nor the config say:
    the cores this process may run on, at most SNAPSHOT_MAX_THREADS."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, SNAPSHOT_MAX_THREADS))


def _snapshot_runtime(runtime: RuntimeSettings, threads: int | None) -> RuntimeSettings:
    if threads is None and "threads" not in runtime.model_fields_set:
        threads = snapshot_threads()
    return runtime_settings(runtime, threads)


def _threads(text: str) -> int:
    """--threads, held to the bounds of the runtime setting it overrides."""
    try:
        return OnnxRuntimeSettings(threads=text).threads  # type: ignore[arg-type]
    except ValidationError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: {exc.errors()[0]['msg']}") from None


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be above 0: {text!r}")
    return value


def _when(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date/time: {text!r}") from None
    return moment if moment.tzinfo else moment.astimezone()


def cmd_events_list(args: argparse.Namespace) -> int:
    config = _load_config(args.config)
    try:
        store = _open_store(config)
    except Exception as exc:
        print(f"cannot open the event store: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    with store:
        events = store.query(
            since=args.since, until=args.until, channel_id=args.channel, plate=args.plate, limit=args.limit
        )
    for event in events:
        if args.json:
            print(event.model_dump_json(exclude={"crop_jpeg", "thumbnail_jpeg"}))
        else:
            plate = event.plate
            print(
                f"{event.captured_at.isoformat(timespec='seconds')}  {event.channel_id:<12} "
                f"{plate.text:<12} {plate.latin:<12} {plate.country or '?':<3} {event.confidence:.2f}  "
                f"{event.event_id}"
            )
    if not args.json:
        print(f"{len(events)} event(s)", file=sys.stderr)
    return EXIT_OK


def cmd_events_export(args: argparse.Namespace) -> int:
    config = _load_config(args.config)
    from edge.store.export import export_events

    try:
        store = _open_store(config)
    except Exception as exc:
        print(f"cannot open the event store: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    with store:
        try:
            if args.output is None:
                count = export_events(store, sys.stdout, args.format, args.since, args.until, args.images)
            else:
                with open(args.output, "w", encoding="utf-8", newline="") as out:
                    count = export_events(store, out, args.format, args.since, args.until, args.images)
        except ValueError as exc:
            print(f"cannot export: {exc}", file=sys.stderr)
            return EXIT_USAGE
    print(f"exported {count} event(s)", file=sys.stderr)
    return EXIT_OK


def cmd_check_config(args: argparse.Namespace) -> int:
    config = _load_config(args.config)
    enabled = [c.id for c in config.cameras if c.enabled]
    print(f"{args.config}: valid (version {config.version}, {len(enabled)} enabled camera(s))")
    return EXIT_OK


# --- parser ------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="anpr-edge",
        description="ANPR edge agent: reads number plates from cameras into an encrypted local store.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def with_config(p: argparse.ArgumentParser, required: bool = False) -> None:
        p.add_argument(
            "--config", "-c", type=Path, required=required, default=None,
            help="edge YAML config (default: built-in defaults)" if not required else "edge YAML config",
        )
        p.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"], default=None)

    run = sub.add_parser("run", help="run the agent (cameras, store, /metrics; SIGHUP reloads the config)")
    with_config(run, required=True)
    run.set_defaults(func=cmd_run)

    demo = sub.add_parser("demo", help="read the bundled sample clip and print each plate event")
    demo.add_argument("--clip", help="another video file instead of the sample clip")
    demo.add_argument("--realtime", action="store_true", help="play at the clip's frame rate")
    demo.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"], default=None)
    demo.set_defaults(func=cmd_demo)

    rec = sub.add_parser(
        "recognize", help="read plates in still images (files or directories)",
        description="Snapshot mode: the models load once, then every image is read (detector at "
        "detector.snapshot_score_threshold, each plausible plate in several crop views, the surest "
        "valid reading kept; a box that stops short of a plate's end is read again carried past it: "
        "reader.snapshot_reach_past_ends; the strongest boxes that gave no reading but some glyphs are "
        "looked at again, zoomed: detector.snapshot_second_looks, snapshot_second_look_min_glyphs; "
        "photos whose longer side is over "
        "detector.snapshot_tile_above_px are also searched in overlapping tiles, and a photo with no "
        "reading at detector.snapshot_fine_search_below (0.9) is searched again in finer tiles: "
        "detector.snapshot_fine_search, and then turned 12 deg each way: "
        "detector.snapshot_turned_search). "
        "An unreadable file or "
        "directory, an image with a side under "
        "16 px or one whose header declares more than --max-megapixels gives a result with an error, "
        "not a crash.",
    )
    rec.add_argument("paths", nargs="+", metavar="IMAGE_OR_DIR", help="images, or directories of images")
    rec.add_argument(
        "--json", action="store_true",
        help='one JSON object per image per line: {"image", "plates": [{"text", "latin", "confidence", '
        '"box", "country", "format"}], "ms"}, or {"image", "error", "plates": []}',
    )
    rec.add_argument(
        "--min-confidence", type=_snapshot_confidence, default=None,
        help="weaker readings are not output (default: reader.snapshot_min_confidence, "
        f"{ReaderConfig().snapshot_min_confidence})",
    )
    rec.add_argument(
        "--max-megapixels", type=_positive_float, default=None, metavar="MP",
        help="larger images are refused from their header, before decoding (default 50)",
    )
    rec.add_argument(
        "--threads", type=_threads, default=None, metavar="N",
        help="inference threads per model (default: the config's runtime threads where it names them, "
        f"else the box's cores, at most {SNAPSHOT_MAX_THREADS}: photos are read one at a time, so more "
        "threads make each photo faster on an otherwise idle box)",
    )
    rec.add_argument(
        "--countries", metavar="CC[,CC...]", default=None,
        help="plate countries to read, e.g. RU or RU,KZ (default: reader.countries, else all known)",
    )
    with_config(rec)
    rec.set_defaults(func=cmd_recognize)

    events = sub.add_parser("events", help="stored events, decrypted locally with the store key")
    events_sub = events.add_subparsers(dest="events_command", required=True, metavar="ACTION")
    listing = events_sub.add_parser("list", help="newest events first")
    with_config(listing)
    listing.add_argument("--since", type=_when, help="ISO date/time, e.g. 2026-11-28T08:00")
    listing.add_argument("--until", type=_when)
    listing.add_argument("--channel")
    listing.add_argument("--plate", help="plate in any spelling (А123ВС77 or a123bc77)")
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--json", action="store_true", help="JSON lines without images")
    listing.set_defaults(func=cmd_events_list)
    export = events_sub.add_parser("export", help="all events in a time range, oldest first")
    with_config(export)
    export.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
    export.add_argument("--since", type=_when)
    export.add_argument("--until", type=_when)
    export.add_argument("--images", action="store_true", help="include base64 JPEGs (jsonl only)")
    export.add_argument("--output", "-o", type=Path, help="file to write (default: stdout)")
    export.set_defaults(func=cmd_events_export)

    check = sub.add_parser("check-config", help="validate a config file and exit")
    check.add_argument("config", type=Path)
    check.set_defaults(func=cmd_check_config)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(f"anpr-edge: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    raise SystemExit(main())
