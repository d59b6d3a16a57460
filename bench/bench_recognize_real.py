"""`anpr-edge recognize` on the real RU photos, beside the models' own end-to-end figure.

    python bench/bench_recognize_real.py [--countries RU] [--runtime onnxruntime] [--realdata DIR]

Runs the installed CLI exactly as a user would (`anpr-edge recognize --json --countries RU
DIR`), matches its plates to the labelled boxes (IoU 0.5) and prints exact match, outputs,
output precision and ms per photo next to the INT8 end-to-end row of
`models/reports/evaluation.json` (`python -m models.evaluate`). The two must agree: the CLI and
the evaluation share `SnapshotRecognizer`, so a gap is a loss in the plumbing. The evaluation
runs ONNX Runtime; `--runtime auto` (the product default) picks OpenVINO on x86, which computes
differently enough to move a plate or two.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from models.metrics import match_boxes  # noqa: E402
from models.realdata import load_real_photos, realdata_dir  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--countries", default="RU")
    parser.add_argument("--runtime", default="onnxruntime", choices=["auto", "onnxruntime", "openvino"])
    parser.add_argument("--realdata", default=None, help="ru-dev folder (default ../shared/realdata/ru-dev)")
    args = parser.parse_args()
    photos = {p.path.name: p for p in load_real_photos(args.realdata)}
    cli = Path(sys.executable).with_name("anpr-edge")
    images = str(realdata_dir(args.realdata) / "images")
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "edge.yaml"
        config.write_text(f"detector:\n  runtime: {args.runtime}\nreader:\n  runtime: {args.runtime}\n")
        command = [str(cli), "recognize", "--json", "--countries", args.countries, "-c", str(config), images]
        started = time.perf_counter()
        run = subprocess.run(command, capture_output=True, text=True, check=False)
        wall_s = time.perf_counter() - started
    if run.returncode != 0:
        print(run.stderr, file=sys.stderr)
        return 1
    results = [json.loads(line) for line in run.stdout.splitlines() if line.strip()]
    plates = read = outputs = correct_outputs = 0
    ms = []
    for result in results:
        photo = photos.get(Path(result["image"]).name)
        if photo is None:
            continue
        ms.append(result["ms"])
        boxes = [p["box"] for p in result["plates"]]
        outputs += len(boxes)
        matched = match_boxes([label.box for label in photo.plates], boxes)
        for label, index in zip(photo.plates, matched, strict=True):
            plates += 1
            ok = index is not None and result["plates"][index]["text"] == label.text
            read += ok
            correct_outputs += ok
    report = REPO / "models" / "reports" / "evaluation.json"
    reference = json.loads(report.read_text())["real"]["INT8"]["end_to_end"] if report.is_file() else None
    print(f"{len(results)} photos, {plates} labelled plates; runtime {args.runtime}; "
          f"CLI wall time {wall_s:.1f} s (model loading included)")
    print(f"{'':32} {'anpr-edge recognize':>20} {'models.evaluate INT8':>22}")
    ref_exact = f"{reference['exact_match']:.1%}" if reference else "-"
    ref_out = f"{reference['outputs']}" if reference else "-"
    ref_prec = f"{reference['output_precision']:.1%}" if reference else "-"
    print(f"{'plates read exactly':32} {read / plates:>20.1%} {ref_exact:>22}")
    print(f"{'plates output':32} {outputs:>20} {ref_out:>22}")
    print(f"{'outputs correct':32} {correct_outputs / max(outputs, 1):>20.1%} {ref_prec:>22}")
    print(f"{'ms per photo (median)':32} {sorted(ms)[len(ms) // 2]:>20.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
