"""CPU time per frame, stage by stage, of one edge channel on a 1080p clip.

    python bench/profile_edge.py [--codec mjpeg|h264|h265] [--frames 400] [--clip PATH]
                                 [--runtime auto] [--threads 1]

Runs the pipeline's stages in one thread over the clip, unpaced, with the real components
(capture, motion gate, detector, tracker, reader) and prints the CPU milliseconds each stage
costs per frame, for the capture paths side by side:

- `ffmpeg`: OpenCV's FFmpeg decodes every frame to full-size BGR; gate and detector start from
  it (`capture.decoder: opencv`);
- `jpeg` (MJPEG clips): packets stay encoded; gate and detector share a reduced grey decode and
  the full frame is decoded only for frames whose plates are read;
- `pyav` (H.264/H.265 clips): frames stay YUV; gate and detector share the reduced luma plane,
  and only the regions around plates to read are converted to BGR.

CPU time is `time.process_time()`: this process only, so another process busy on the other core
does not inflate the figures (the inference runtimes' own threads are counted).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.bench_edge import make_1080p_clip, make_camera_clip  # noqa: E402
from common.config import CaptureSettings, DetectorConfig, ReaderConfig  # noqa: E402
from edge.capture.frames import Frame  # noqa: E402
from edge.capture.motion import MotionGate  # noqa: E402
from edge.capture.pyav_source import PyAvCapture  # noqa: E402
from edge.capture.sources import enable_jpeg_passthrough, open_capture, parse_source  # noqa: E402
from edge.inference.crops import read_plates  # noqa: E402
from edge.inference.detector import OnnxPlateDetector, decode_detections, prepare_detector_input  # noqa: E402
from edge.inference.models import load_models  # noqa: E402
from edge.pipeline import SETTLED_READS  # noqa: E402
from edge.tracking.tracker import Observation, PlateTracker  # noqa: E402

STAGES = ("capture", "gray_view", "motion", "prepare", "infer", "decode", "track", "to_bgr", "read")


def profile(
    clip: Path, path: str, frames: int, detector: OnnxPlateDetector, reader: object
) -> dict[str, float]:
    clock = time.process_time
    spec = parse_source(str(clip))
    capture = PyAvCapture(spec, CaptureSettings()) if path == "pyav" else open_capture(spec)
    passthrough = path == "jpeg" and enable_jpeg_passthrough(capture, spec)
    if path == "jpeg" and not passthrough:
        raise SystemExit(f"{clip} is not an MJPEG clip: no JPEG pass-through")
    gate = MotionGate(0.004)
    tracker = PlateTracker(0.2, 1.5)
    cpu: dict[str, float] = defaultdict(float)
    counts = {"frames": 0, "detector_runs": 0, "bgr_conversions": 0}
    start = datetime.now(UTC)
    while counts["frames"] < frames:
        t0 = clock()
        if not capture.grab():
            break
        _, data = capture.retrieve()
        at = start + timedelta(seconds=counts["frames"] / 25)
        if path == "pyav":
            frame = Frame("p", counts["frames"], at, time.monotonic(), yuv=data)
        elif passthrough:
            frame = Frame("p", counts["frames"], at, time.monotonic(), jpeg=data.tobytes())
        else:
            frame = Frame("p", counts["frames"], at, time.monotonic(), data)
        t1 = clock()
        cpu["capture"] += t1 - t0
        counts["frames"] += 1
        view, reduction = frame.gray_view(detector.view_factor(frame.hw))
        t2 = clock()
        moving = gate.should_process(view, counts["frames"] / 25)
        t3 = clock()
        cpu["gray_view"] += t2 - t1
        cpu["motion"] += t3 - t2
        if not moving and not tracker.tracks:
            tracker.expire(at)
            continue
        counts["detector_runs"] += 1
        tensor, letterbox = prepare_detector_input(view, detector.input_hw, reduction, frame.hw)
        t4 = clock()
        heatmap, box, corners = detector._session.run(tensor)
        t5 = clock()
        found = decode_detections(heatmap[0], box[0], corners[0], letterbox, detector.score_threshold)
        found = [d for d in found if d.box[2] - d.box[0] >= 16]
        t6 = clock()
        tracks = tracker.update(found, at)
        to_read = [(d, t) for d, t in zip(found, tracks, strict=True) if not t.settled(SETTLED_READS)]
        t7 = clock()
        cpu["prepare"] += t4 - t3
        cpu["infer"] += t5 - t4
        cpu["decode"] += t6 - t5
        cpu["track"] += t7 - t6
        if to_read:
            counts["bgr_conversions"] += not frame.decoded
            image = frame.bgr_around([d.box for d, _ in to_read])  # the pipeline's _read
            t8 = clock()
            results = read_plates(reader.read, image, [d for d, _ in to_read])  # type: ignore[attr-defined]
            track_of = {id(d): t for d, t in to_read}
            for det, crop, reading in results:
                if reading.latin:
                    track_of[id(det)].add_reading(reading, Observation(reading, det, at, crop, frame))
            cpu["to_bgr"] += t8 - t7
            cpu["read"] += clock() - t8
        tracker.expire(at)
    capture.release()
    n = max(1, counts["frames"])
    row = {stage: cpu[stage] / n * 1000 for stage in STAGES}
    row["total"] = sum(row.values())
    return {**row, **{k: float(v) for k, v in counts.items()}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=400)
    parser.add_argument("--codec", choices=["mjpeg", "h264", "h265"], default="mjpeg")
    parser.add_argument("--clip", type=Path, help="a 1080p clip of --codec (default: made)")
    parser.add_argument("--runtime", choices=["auto", "onnxruntime", "openvino"], default="auto")
    parser.add_argument("--threads", type=int, default=1, help="detector intra-op threads")
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)  # as the agent does
    models = load_models(
        DetectorConfig(runtime={"type": args.runtime, "threads": args.threads}),
        ReaderConfig(runtime=args.runtime),
    )
    detector = models.detector
    assert isinstance(detector, OnnxPlateDetector)
    with tempfile.TemporaryDirectory(prefix="anpr-profile-") as tmp:
        if args.clip:
            clip = args.clip
        elif args.codec == "mjpeg":
            clip = make_1080p_clip(Path(tmp) / "clip1080.avi", seconds=26)
        else:
            clip = make_camera_clip(args.codec, Path(tmp) / f"{args.codec}.mkv", seconds=26)
        paths = ("ffmpeg", "jpeg") if args.codec == "mjpeg" else ("ffmpeg", "pyav")
        rows = {name: profile(clip, name, args.frames, detector, models.reader) for name in paths}
    print(f"CPU ms per frame, one channel, {detector.runtime} detector with {args.threads} thread(s)")
    print(f"{'stage':>14}" + "".join(f"{name:>10}" for name in rows))
    for stage in (*STAGES, "total"):
        print(f"{stage:>14}" + "".join(f"{row[stage]:>10.2f}" for row in rows.values()))
    for count in ("frames", "detector_runs", "bgr_conversions"):
        print(f"{count:>14}" + "".join(f"{row[count]:>10.0f}" for row in rows.values()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
