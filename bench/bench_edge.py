"""Edge agent throughput: N channels of 1080p 25 FPS video, paced in real time, through the real models.

    python bench/bench_edge.py [--codecs h264 h265 mjpeg] [--channels 4 8 12] [--mjpeg-channels 8]
                               [--gate-channels 16] [--seconds 30] [--clip PATH]
                               [--decoder auto|pyav|opencv] [--malloc-arena-max 2]
                               [--runtime auto|onnxruntime|openvino]

It first makes 1080p25 clips of the bundled sample clip: H.264 and H.265 with Debian's ffmpeg
(libx264/libx265, GOP 50, no B-frames, 4 Mbit/s, like IP cameras) and MJPEG with OpenCV. Then
it prints, per codec, what decoding alone costs (frames per CPU-second: OpenCV grab only, OpenCV
read with conversion to BGR, and PyAV to YUV with the 1/4 luma view the pipeline uses), and runs
the agent on N channels of each clip (looped, paced at its frame rate, like live cameras),
side by side: frames offered by the cameras, frames handled (taken by the workers; the rest were
dropped by the latest-frame policy, so no backlog can grow), frames that ran detection (the
motion gate skips still ones), p50/p95 frame-to-plate-result latency, the agent's RSS, and CPU
use. A channel count is sustained when the decoders keep up with the cameras (offered_fps within
5% of camera_fps) and at most 5% of the offered frames are dropped. Last, a gate camera (the
clip after 14 s of its empty first frame) runs with every frame decoded (gate-all) and with
`capture.still_decode: keyframes` (gate-key): frames of the still scene are skipped undecoded
(still_skip_fps), not dropped. With --clip that clip is run instead. `bench/profile_edge.py`
breaks one channel's CPU time down by stage. The agent runs with glibc's malloc arenas capped at
2, as systemd/anpr-edge.service runs it (--malloc-arena-max 0: glibc's default, 8 per core).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from common.config import CaptureSettings, EdgeConfig  # noqa: E402
from edge.agent import EdgeAgent  # noqa: E402
from edge.capture import Frame  # noqa: E402
from edge.capture.pyav_source import PyAvCapture  # noqa: E402
from edge.capture.sources import parse_source  # noqa: E402
from edge.samples import SAMPLE_CLIP  # noqa: E402

SUSTAINED_DROP_SHARE = 0.05
CLIP_SECONDS = 26
# Like an IP camera's main stream: 1080p25, a key frame every 2 s, no B-frames, 4 Mbit/s.
ENCODERS = {
    "h264": ["-c:v", "libx264", "-preset", "veryfast", "-g", "50", "-bf", "0", "-b:v", "4M"],
    "h265": ["-c:v", "libx265", "-preset", "ultrafast", "-b:v", "4M",
             "-x265-params", "log-level=error:keyint=50:bframes=0"],
}
DECODE_SAMPLE_FRAMES = 150
GATE_STILL_S = 14.0


def make_1080p_clip(out: Path, seconds: float) -> Path:
    """The sample clip scaled to 1920x1080 (MJPG: cheap to decode, like an IP camera's MJPEG)."""
    source = cv2.VideoCapture(str(SAMPLE_CLIP))
    fps = source.get(cv2.CAP_PROP_FPS) or 25.0
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"MJPG"), fps, (1920, 1080))
    for _ in range(int(seconds * fps)):
        ok, frame = source.read()
        if not ok:
            break
        writer.write(cv2.resize(frame, (1920, 1080), interpolation=cv2.INTER_LINEAR))
    writer.release()
    source.release()
    return out


def make_camera_clip(codec: str, out: Path, seconds: float, still_s: float = 0.0) -> Path:
    """The sample clip scaled to 1080p and encoded like a camera's stream with Debian's ffmpeg;
    with `still_s`, its first (empty) frame held that long first, like a gate camera between cars."""
    if shutil.which("ffmpeg") is None:
        raise SystemExit("ffmpeg (Debian's, with libx264/libx265) is needed: scripts/system-deps.sh")
    scale = "scale=1920:1080" + (f",tpad=start_duration={still_s}:start_mode=clone" if still_s else "")
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-stream_loop", "-1", "-i", str(SAMPLE_CLIP), "-t", str(seconds),
         "-vf", scale, "-r", "25", *ENCODERS[codec], "-pix_fmt", "yuv420p", str(out)],
        check=True,
    )
    return out


def decode_rates(clip: Path) -> dict[str, float]:
    """Frames per CPU-second of decoding alone, three ways (single-threaded decoders)."""
    rates: dict[str, float] = {}
    for name in ("opencv_grab", "opencv_bgr"):
        capture = cv2.VideoCapture(str(clip), cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, 1])
        started, frames = time.process_time(), 0
        step = (lambda c: c.read()[0]) if name == "opencv_bgr" else (lambda c: c.grab())
        while frames < DECODE_SAMPLE_FRAMES and step(capture):
            frames += 1
        rates[name] = frames / max(1e-9, time.process_time() - started)
        capture.release()
    capture = PyAvCapture(parse_source(str(clip)), CaptureSettings())
    started, frames = time.process_time(), 0
    while frames < DECODE_SAMPLE_FRAMES and capture.grab():
        _, payload = capture.retrieve()
        frame = Frame("bench", frames, None, 0.0, jpeg=payload) if isinstance(payload, bytes) else \
            Frame("bench", frames, None, 0.0, yuv=payload)  # type: ignore[arg-type]
        frame.gray_view(4)
        frames += 1
    rates["pyav_luma_view"] = frames / max(1e-9, time.process_time() - started)
    capture.release()
    return rates


def uncounted_skips(row: dict[str, float], seconds: float) -> float:
    """Frames per second a run may have skipped but not yet counted: skips are counted when the
    next frame is decoded, so up to one key-frame interval (50 frames) per channel at the end."""
    return 50 * row["channels"] / seconds if row["still_skip_fps"] else 0.0


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


Models = dict[str, dict[str, str]]


def run(
    clip: Path, channels: int, seconds: float, workdir: Path, clip_fps: float, models: Models,
    capture: dict[str, str], label: str,
) -> dict[str, float]:
    config = EdgeConfig.model_validate({
        **models,
        "cameras": [
            {"id": f"cam{i}", "source": str(clip), "realtime": True, "loop": True, "capture": capture}
            for i in range(channels)
        ],
        "store": {"path": str(workdir / f"{label}-{channels}.db"), "key_file": str(workdir / "store.key")},
        "http": {"enabled": False},
        "logging": {"level": "WARNING"},
    })
    agent = EdgeAgent(config)
    agent.start()
    time.sleep(3.0)  # warm-up: models' first runs, file opening
    base = {
        cid: (
            w.capture.stats.frames, w.stats.processed, w.capture.dropped, w.stats.processed - w.stats.gated,
            w.capture.stats.skipped_still,
        )
        for cid, w in agent.workers.items()
    }
    for w in agent.workers.values():
        w.stats.plate_latencies.clear()
    cpu1, wall1 = time.process_time(), time.monotonic()
    peak_rss = 0.0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(0.5)
        peak_rss = max(peak_rss, rss_mb())
    offered = handled = dropped = detected = skipped = 0
    latencies: list[float] = []
    for cid, w in agent.workers.items():
        f0, p0, d0, det0, s0 = base[cid]
        offered += w.capture.stats.frames - f0
        skipped += w.capture.stats.skipped_still - s0
        handled += w.stats.processed - p0
        dropped += w.capture.dropped - d0
        detected += (w.stats.processed - w.stats.gated) - det0
        latencies.extend(w.stats.plate_latencies)
    cpu = (time.process_time() - cpu1) / (time.monotonic() - wall1)
    events = sum(w.stats.verdicts["event"] for w in agent.workers.values())
    agent.stop()
    lat = np.array(latencies) * 1000 if latencies else np.array([float("nan")])
    return {
        "channels": channels,
        "camera_fps": channels * clip_fps,
        "offered_fps": offered / seconds,
        "still_skip_fps": skipped / seconds,
        "handled_fps": handled / seconds,
        "handled_share": handled / offered if offered else float("nan"),
        "dropped_share": dropped / offered if offered else float("nan"),
        "detected_fps": detected / seconds,
        "p50_ms": float(np.percentile(lat, 50)),
        "p95_ms": float(np.percentile(lat, 95)),
        "rss_mb": peak_rss,
        "cpu_cores": cpu,
        "events": events,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    codecs = ["h264", "h265", "mjpeg"]
    parser.add_argument("--codecs", nargs="+", choices=codecs, default=codecs)
    parser.add_argument("--channels", type=int, nargs="*", default=[4, 8, 12], help="for H.264 and H.265")
    parser.add_argument("--mjpeg-channels", type=int, nargs="*", default=[8])
    parser.add_argument(
        "--gate-channels", type=int, nargs="*", default=[16],
        help="H.264 gate camera (still 14 s, then the 26 s clip), every frame decoded and with "
        "capture.still_decode=keyframes",
    )
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--clip", type=Path, help="run this clip (at --channels) instead of making clips")
    parser.add_argument("--decoder", choices=["auto", "pyav", "opencv"], default="auto")
    parser.add_argument("--detector", help="detector ONNX file (default: the shipped one)")
    parser.add_argument("--reader", help="reader ONNX file (default: the shipped one)")
    parser.add_argument("--runtime", choices=["auto", "onnxruntime", "openvino"], default="auto")
    parser.add_argument(
        "--malloc-arena-max", type=int, default=2,
        help="MALLOC_ARENA_MAX for the run, as the systemd unit sets it (0: glibc's default)",
    )
    args = parser.parse_args(argv)
    arenas = str(args.malloc_arena_max) if args.malloc_arena_max > 0 else None
    if argv is None and os.environ.get("MALLOC_ARENA_MAX") != arenas:  # glibc reads it at start
        env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
        if arenas:
            env["MALLOC_ARENA_MAX"] = arenas
        os.execve(sys.executable, [sys.executable, *sys.argv], env)  # the same run, afresh
    models: Models = {"detector": {"runtime": args.runtime}, "reader": {"runtime": args.runtime}}
    if args.detector:
        models["detector"]["path"] = args.detector
    if args.reader:
        models["reader"]["path"] = args.reader
    capture = {"decoder": args.decoder}
    with tempfile.TemporaryDirectory(prefix="anpr-bench-") as tmp:
        workdir = Path(tmp)
        if args.clip:
            plan = [(args.clip.name, args.clip, args.channels, capture)]
        else:
            plan = []
            for codec in args.codecs:
                if codec == "mjpeg":
                    clip = make_1080p_clip(workdir / "mjpeg.avi", seconds=CLIP_SECONDS)
                    plan.append(("mjpeg", clip, args.mjpeg_channels, capture))
                else:
                    clip = make_camera_clip(codec, workdir / f"{codec}.mkv", CLIP_SECONDS)
                    plan.append((codec, clip, args.channels, capture))
            if "h264" in args.codecs and args.gate_channels:
                gate_seconds = CLIP_SECONDS + GATE_STILL_S
                gate = make_camera_clip("h264", workdir / "gate.mkv", gate_seconds, GATE_STILL_S)
                plan.append(("gate-all", gate, args.gate_channels, capture))
                plan.append(("gate-key", gate, args.gate_channels, {**capture, "still_decode": "keyframes"}))
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"{os.cpu_count()} CPUs, load average {load} before the runs; decoder {args.decoder}; "
              f"{args.seconds:.0f} s per run after 3 s warm-up; "
              f"MALLOC_ARENA_MAX {os.environ.get('MALLOC_ARENA_MAX', 'unset')}")
        print("decoding alone, frames per CPU-second (1080p, one decoder thread):")
        print(f"{'codec':>8}  {'opencv_grab':>12}  {'opencv_bgr':>12}  {'pyav_luma_view':>14}")
        for name, clip, _, _ in plan:
            if name.startswith("gate"):
                continue
            rates = decode_rates(clip)
            print(f"{name:>8}  {rates['opencv_grab']:>12.0f}  {rates['opencv_bgr']:>12.0f}  "
                  f"{rates['pyav_luma_view']:>14.0f}")
        rows = []
        for name, clip, counts, settings in plan:
            opened = cv2.VideoCapture(str(clip))
            clip_fps = opened.get(cv2.CAP_PROP_FPS) or 25.0
            opened.release()
            for n in counts:
                row = run(clip, n, args.seconds, workdir, clip_fps, models, settings, name)
                rows.append((name, row))
                print(f"  done: {name} x{n}", flush=True)
    header = (
        "channels", "camera_fps", "offered_fps", "still_skip_fps", "handled_fps", "handled_share",
        "dropped_share", "detected_fps", "p50_ms", "p95_ms", "rss_mb", "cpu_cores", "events",
    )
    print(f"{'codec':>8}  " + "  ".join(f"{h:>14}" for h in header))
    for name, row in rows:
        print(f"{name:>8}  " + "  ".join(
            f"{row[h]:>14.0f}" if h in ("channels", "events") else f"{row[h]:>14.2f}" for h in header
        ))
    # Sustained: the cameras' frames are all decoded in real time and (nearly) all handled.
    for name in dict.fromkeys(name for name, _ in rows):
        sustained = [
            r["channels"] for n, r in rows
            if n == name
            and r["dropped_share"] <= SUSTAINED_DROP_SHARE
            and r["offered_fps"] + r["still_skip_fps"] + uncounted_skips(r, args.seconds)
            >= 0.95 * r["camera_fps"]
        ]
        print(f"{name}: most channels sustained (<= {SUSTAINED_DROP_SHARE:.0%} frames dropped): "
              f"{max(sustained) if sustained else 0:.0f}")
    print(f"peak RSS {max(r['rss_mb'] for _, r in rows):.0f} MB; max RSS of the process "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
