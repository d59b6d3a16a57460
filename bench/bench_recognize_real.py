"""`anpr-edge recognize` on a real photo set (ru-dev or eu-dev), beside the models' own figure.

    python bench/bench_recognize_real.py [--countries RU|all|FR,PL,...] [--runtime onnxruntime]
                                         [--realdata DIR] [--default-country RU] [--reader FILE]
                                         [--detector FILE] [--band FILE] [--threads N]

Runs the CLI as a user would (`python -m edge.cli recognize --json --countries ... DIR`, with
the caller's PYTHONPATH and working directory, so the code under test is the one measured),
matches its plates to the labelled boxes (`models.metrics.match_plates`: IoU 0.5, or a box lying
inside a wide-margin label box) and prints exact match (and how much of it IoU 0.5 alone
matches), outputs, output precision (over all outputs, and over those on readable labels) and
ms per photo. Only plates labelled readable are scored (eu-dev has unreadable ones; ru-dev has
none). Labels that models/realdata_errata.csv corrects (with the evidence) are scored corrected,
and the exact-match figure with the set's own labels is printed beside it.

Exact match compares the plate as printed: the output's canonical text with the label (ru-dev
labels are Cyrillic), or its glyph form with a Latin label (eu-dev). "Wrong country" counts
valid outputs whose country is not the label's (eu-dev's `country` column, else
`--default-country`), among the matched plates and among the plates whose glyphs were read right;
of the latter, how many are also a valid plate of the label's country (FR AB123CD is an Italian
plate too: text cannot tell, only a device prior or the plate's band).

For ru-dev with `--countries RU` the figures sit next to the INT8 end-to-end row of
`models/reports/evaluation.json` (`python -m models.evaluate`): the CLI and the evaluation share
`SnapshotRecognizer`, so a gap is a loss in the plumbing. The evaluation runs ONNX Runtime;
`--runtime auto` (the product default) picks OpenVINO on x86, which moves a plate or two.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from common.plates.normalize import normalize_plate  # noqa: E402
from common.plates.registry import load_registry  # noqa: E402
from common.plates.validate import validate  # noqa: E402
from edge.cli import snapshot_threads  # noqa: E402
from models.cpu import cpu_description  # noqa: E402
from models.metrics import match_boxes, match_plates  # noqa: E402
from models.realdata import label_errata, load_real_photos, realdata_dir  # noqa: E402


def _reads_as(out: dict[str, Any] | None, label: str) -> bool:
    """Whether an output is the labelled plate: its canonical text, or its glyphs for a Latin label."""
    return out is not None and (
        out["text"] == label or (label.isascii() and out["latin"] == _glyphs(label))
    )


def _glyphs(text: str) -> str:
    try:
        return normalize_plate(text)
    except ValueError:  # a label glyph no reader emits (DÜWAS870): it cannot match
        return f"<{text}>"


def _is_plate_of(latin: str, country: str) -> bool:
    registry = load_registry()
    return country in registry.countries and validate(latin, registry, [country]).valid


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--countries", default="RU", help="passed to --countries; 'all' passes none")
    parser.add_argument("--runtime", default="onnxruntime", choices=["auto", "onnxruntime", "openvino"])
    parser.add_argument("--realdata", default=None, help="set folder (default ../shared/realdata/ru-dev)")
    parser.add_argument("--default-country", default="RU", help="country of labels without one (ru-dev)")
    parser.add_argument(
        "--show-errors", action="store_true",
        help="list every plate not read exactly, and every plate read right but given to another country",
    )
    parser.add_argument("--reader", type=Path, default=None, help="reader model file (default: shipped)")
    parser.add_argument("--detector", type=Path, default=None, help="detector model file (default: shipped)")
    parser.add_argument("--band", type=Path, default=None, help="EU band model file (default: shipped)")
    parser.add_argument(
        "--threads", type=int, default=None,
        help="inference threads per model (default: recognize's own, the box's cores up to 4)",
    )
    args = parser.parse_args()
    photos = {p.path.name: p for p in load_real_photos(args.realdata)}
    images = str(realdata_dir(args.realdata) / "images")
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "edge.yaml"
        reader_path = "" if args.reader is None else f"  path: {args.reader.resolve()}\n"
        if args.band is not None:
            reader_path += f"  band:\n    path: {args.band.resolve()}\n"
        detector_path = "" if args.detector is None else f"  path: {args.detector.resolve()}\n"
        threads = "" if args.threads is None else f", threads: {args.threads}"
        runtime = f"{{type: {args.runtime}{threads}}}"
        config.write_text(
            f"detector:\n  runtime: {runtime}\n{detector_path}"
            f"reader:\n  runtime: {runtime}\n{reader_path}"
        )
        command = [sys.executable, "-m", "edge.cli", "recognize", "--json", "-c", str(config), images]
        if args.countries.lower() != "all":
            command[4:4] = ["--countries", args.countries]
        started = time.perf_counter()
        run = subprocess.run(command, capture_output=True, text=True, check=False)
        wall_s = time.perf_counter() - started
    if run.returncode != 0:
        print(run.stderr, file=sys.stderr)
        return 1
    results = [json.loads(line) for line in run.stdout.splitlines() if line.strip()]
    plates = read = read_iou = outputs = correct_outputs = matched_valid = glyphs_right = 0
    on_readable = 0  # outputs matched to a plate labelled readable
    errata_delta = 0  # plates read exactly with the set's own labels, less with the corrected ones
    wrong_country = wrong_country_glyphs_right = ambiguous = 0
    per_country: Counter[str] = Counter()
    per_country_read: Counter[str] = Counter()
    confusions: Counter[tuple[str, str]] = Counter()
    errors: list[str] = []
    ms = []
    for result in results:
        photo = photos.get(Path(result["image"]).name)
        if photo is None:
            continue
        ms.append(result["ms"])
        boxes = [p["box"] for p in result["plates"]]
        outputs += len(boxes)
        matched = match_plates([label.box for label in photo.plates], boxes)
        by_iou = match_boxes([label.box for label in photo.plates], boxes)
        for label, index, index_iou in zip(photo.plates, matched, by_iou, strict=True):
            if not label.readable:
                continue
            country = label.country or args.default_country
            plates += 1
            per_country[country] += 1
            out = result["plates"][index] if index is not None else None
            ok = _reads_as(out, label.text)
            read += ok
            if label.labelled_as is not None:  # corrected by an erratum: how it scores as the set has it
                errata_delta += _reads_as(out, label.labelled_as) - ok
            read_iou += ok and index_iou == index
            on_readable += out is not None
            correct_outputs += ok
            per_country_read[country] += ok
            if not ok:
                got = "-" if out is None else f"{out['text']} ({out['country'] or 'invalid'}/{out['format']})"
                errors.append(f"{photo.path.name} {country} {label.text}: {got}")
            if out is None or out["country"] is None:
                continue
            matched_valid += 1
            same_glyphs = out["latin"] == _glyphs(label.text)
            glyphs_right += same_glyphs
            if out["country"] != country:
                wrong_country += 1
                wrong_country_glyphs_right += same_glyphs
                confusions[(country, out["country"])] += 1
                if ok:
                    errors.append(f"{photo.path.name} {country} {label.text}: read, but as "
                                  f"{out['country']}/{out['format']} at {out['confidence']:.2f}")
                # The text is also a plate of the right country: only a prior or the band tells.
                ambiguous += same_glyphs and _is_plate_of(out["latin"], country)
    report = REPO / "models" / "reports" / "evaluation.json"
    reference = None
    if report.is_file() and realdata_dir(args.realdata).name == "ru-dev" and args.countries == "RU":
        reference = json.loads(report.read_text())["real"]["INT8"]["end_to_end"]
    print(f"{len(results)} photos, {plates} readable labelled plates; countries {args.countries}; "
          f"runtime {args.runtime}, {args.threads or snapshot_threads()} thread(s) of {cpu_description()}; "
          f"CLI wall time {wall_s:.1f} s (model loading included)")
    print(f"{'':36} {'anpr-edge recognize':>20} {'models.evaluate INT8':>22}")
    ref_exact = f"{reference['exact_match']:.1%}" if reference else "-"
    ref_out = f"{reference['outputs']}" if reference else "-"
    ref_prec = f"{reference['output_precision']:.1%}" if reference else "-"
    print(f"{'plates read exactly':36} {read / max(plates, 1):>20.1%} {ref_exact:>22}")
    print(f"{'  of them with box IoU >= 0.5':36} {read_iou / max(plates, 1):>20.1%}")
    errata = label_errata(args.realdata)
    if errata:
        print(f"{'  with the set labels uncorrected':36} {(read + errata_delta) / max(plates, 1):>20.1%}  "
              + "corrected (models/realdata_errata.csv): "
              + ", ".join(f"{e.image} {e.label} -> {e.corrected}" for e in errata))
    print(f"{'plates output':36} {outputs:>20} {ref_out:>22}")
    print(f"{'outputs correct':36} {correct_outputs / max(outputs, 1):>20.1%} {ref_prec:>22}")
    # The rest of the outputs are on plates labelled unreadable or left unlabelled (eu-dev labels
    # one plate per FR and PL photo): no text of theirs can count as correct.
    print(f"{'  of those on readable labels':36} {correct_outputs / max(on_readable, 1):>20.1%} "
          f"({on_readable} outputs)")
    print(f"{'ms per photo (median)':36} {sorted(ms)[len(ms) // 2]:>20.1f}")
    print(f"{'valid readings on labelled plates':36} {matched_valid:>20}")
    print(f"{'  of them wrong country':36} {wrong_country:>20} ({wrong_country / max(matched_valid, 1):.1%})")
    print(f"{'  glyphs right':36} {glyphs_right:>20}")
    print(f"{'  glyphs right, wrong country':36} {wrong_country_glyphs_right:>20} "
          f"({wrong_country_glyphs_right / max(glyphs_right, 1):.1%})")
    print(f"{'    of them a plate of both countries':36} {ambiguous:>20}")
    for country in sorted(per_country):
        print(f"  {country}: {per_country_read[country]}/{per_country[country]} read exactly "
              f"({per_country_read[country] / per_country[country]:.1%})")
    if confusions:
        print("  wrong countries (label -> output): "
              + ", ".join(f"{a}->{b} {n}" for (a, b), n in confusions.most_common()))
    if args.show_errors:
        print("\n".join(errors))
    return 0


if __name__ == "__main__":
    sys.exit(main())
