"""The evaluation report: JSON for machines, Markdown for people, PNG plots for both."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from common.plates.alphabet import to_latin

GAP = "∅"


def char_alignment(truth: str, predicted: str) -> list[tuple[str, str]]:
    """(truth char, predicted char) pairs of one edit-distance alignment; GAP marks a missing side."""
    n, m = len(truth), len(predicted)
    cost = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        cost[i][0] = i
    for j in range(m + 1):
        cost[0][j] = j
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            cost[i][j] = min(
                cost[i - 1][j] + 1,
                cost[i][j - 1] + 1,
                cost[i - 1][j - 1] + (truth[i - 1] != predicted[j - 1]),
            )
    pairs: list[tuple[str, str]] = []
    i, j = n, m
    while i or j:
        if i and j and cost[i][j] == cost[i - 1][j - 1] + (truth[i - 1] != predicted[j - 1]):
            pairs.append((truth[i - 1], predicted[j - 1]))
            i, j = i - 1, j - 1
        elif i and cost[i][j] == cost[i - 1][j] + 1:
            pairs.append((truth[i - 1], GAP))
            i -= 1
        else:
            pairs.append((GAP, predicted[j - 1]))
            j -= 1
    return pairs[::-1]


def confusions(pairs: list[tuple[str, str | None]]) -> Counter[tuple[str, str]]:
    """Counts of character errors (truth, read) over plate pairs, compared glyph for glyph."""
    counts: Counter[tuple[str, str]] = Counter()
    for truth, predicted in pairs:
        for a, b in char_alignment(to_latin(truth), to_latin(predicted or "")):
            if a != b:
                counts[(a, b)] += 1
    return counts


def _plot_pr(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4), dpi=100)
    for name, real in report["real"].items():
        curve = real["pr_curve"]
        ax.plot([p["recall"] for p in curve], [p["precision"] for p in curve], marker=".", label=name)
    ax.set(
        xlabel="recall (IoU 0.5)",
        ylabel="precision",
        title="Detector on real RU photos",
        xlim=(0, 1.02),
        ylim=(0, 1.02),
    )
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _plot_confusions(counts: Counter[tuple[str, str]], path: Path, top: int = 20) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 5), dpi=100)
    common = counts.most_common(top)
    if common:
        labels = [f"{a}→{b}" for (a, b), _ in common][::-1]
        ax.barh(labels, [c for _, c in common][::-1])
    ax.set(xlabel="errors", title="Reader character confusions (truth→read)")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def _per_country_table(
    title: str, sections: dict[str, dict[str, Any]], key: str, names: list[str]
) -> list[str]:
    """A country | plates | one exact-match column per variant table of `sections[n][key]`."""
    countries = sorted(sections[names[0]][key])
    lines = [title, "", "| country | plates | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    for country in countries:
        plates = sections[names[0]][key][country]["plates"]
        cells = [_pct(sections[n][key][country]["exact_match"]) for n in names]
        lines.append(f"| {country} | {plates} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def _errata_note(report: dict[str, Any], set_name: str) -> str:
    """A sentence naming the set's labels that models/realdata_errata.csv corrects, if any."""
    errata = [e for e in report.get("label_errata", []) if e["set"] == set_name]
    if not errata:
        return ""
    fixes = ", ".join(f"{e['image']} {e['label']} -> {e['corrected']}" for e in errata)
    return f" Labels corrected by models/realdata_errata.csv (evidence there): {fixes}."


def _europe_sections(report: dict[str, Any], names: list[str], country_crops: int) -> list[str]:
    lines: list[str] = []
    eu = report.get("real_eu") or {}
    if eu:
        lines += [
            "## Real European photos (eu-dev), every country on",
            "",
            "Plates labelled readable only; wrong country: valid outputs on a labelled plate whose "
            "country is not the label's." + _errata_note(report, "eu-dev"),
            "",
            "| | " + " | ".join(names) + " |",
            "|---|" + "---|" * len(names),
        ]
        first = eu[names[0]]
        lines.append(
            f"| detector recall @IoU0.5 at score {first['detector']['score_threshold']} | "
            + " | ".join(_pct(eu[n]["detector"]["recall"]) for n in names) + " |"
        )
        lines.append(
            f"| end-to-end plate exact-match ({first['end_to_end']['plates']} plates) | "
            + " | ".join(_pct(eu[n]["end_to_end"]["exact_match"]) for n in names) + " |"
        )
        lines.append(
            "| plates output / of them correct | "
            + " | ".join(
                f"{eu[n]['end_to_end']['outputs']} / {_pct(eu[n]['end_to_end']['output_precision'])}"
                for n in names
            ) + " |"
        )
        lines.append(
            "| wrong country | "
            + " | ".join(
                f"{eu[n]['end_to_end']['wrong_country']} of {eu[n]['end_to_end']['valid_matched']}"
                for n in names
            ) + " |"
        )
        lines.append(
            "| reader alone on labelled boxes, exact | "
            + " | ".join(_pct(eu[n]["reader_on_label_boxes"]["exact_match"]) for n in names) + " |"
        )
        lines.append("| end to end ms per photo | " + " | ".join(
            f"{eu[n]['ms_per_photo_end_to_end']:.1f}" for n in names) + " |")
        lines.append("")
        lines += _per_country_table("### eu-dev end to end by country", eu, "end_to_end_per_country", names)
        lines += _per_country_table(
            "### eu-dev reader alone on labelled boxes by country",
            eu, "reader_on_label_boxes_per_country", names,
        )
    synth = report["synthetic"]
    if country_crops and "reader_by_country" in synth[names[0]]:
        lines += _synthetic_country_table(synth, names, country_crops)
    return lines


def _synthetic_country_table(synth: dict[str, Any], names: list[str], country_crops: int) -> list[str]:
    """Each country's synthetic crops read with every country on: all of them, and those whose
    characters are as tall as the installation spec asks; then read with the plate's own country
    alone (a site prior). Older reports lack the later columns."""
    scores = synth[names[-1]]["reader_by_country"]
    in_spec = synth[names[-1]].get("reader_by_country_in_spec")
    at_target = _at_target(scores)
    title = (
        f"## Synthetic reader by country ({country_crops // max(1, len(scores))} crops of each "
        f"country's plates, every country on): {at_target} of {len(scores)} countries at 98% or more"
    )
    header = "| country | crops | " + " | ".join(names)
    rule = "|---|---|" + "---|" * len(names)
    if in_spec is not None:
        spec_px = synth[names[-1]]["spec_char_px"]
        spec_target = _at_target(in_spec)
        title += (
            f"; {spec_target} of {len(in_spec)} on the crops whose characters are {spec_px:g} px or "
            "taller (the installation spec)"
        )
        header += " | crops in spec | " + " | ".join(f"{n} in spec" for n in names)
        rule += "---|" * (len(names) + 1)
    own = synth[names[-1]].get("reader_by_country_site_prior")
    own_in_spec = synth[names[-1]].get("reader_by_country_site_prior_in_spec", {})
    if own is not None:
        title += (
            f"; with the plate's own country as the site prior (`--countries`), "
            f"{_at_target(own)} and {_at_target(own_in_spec)} in spec"
        )
        header += f" | {names[-1]} site prior | {names[-1]} site prior in spec"
        rule += "---|---|"
    lines = [f"{title} ({names[-1]})", "", *_by_character_height(synth, names), header + " |", rule]
    for country in sorted(scores):
        cells = [str(scores[country]["plates"])]
        cells += [_pct(synth[n]["reader_by_country"][country]["exact_match"]) for n in names]
        if in_spec is not None:
            spec = [synth[n]["reader_by_country_in_spec"].get(country) for n in names]
            cells.append(str(spec[0]["plates"]) if spec[0] else "0")
            cells += [_pct(s["exact_match"]) if s else "-" for s in spec]
        if own is not None:
            pair = (own.get(country), own_in_spec.get(country))
            cells += [_pct(s["exact_match"]) if s else "-" for s in pair]
        lines.append(f"| {country} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def _at_target(scores: dict[str, Any]) -> int:
    """How many countries read 98 % (the issue's per-country target) or more."""
    return sum(s["exact_match"] >= 0.98 for s in scores.values())


def _by_character_height(synth: dict[str, Any], names: list[str]) -> list[str]:
    """The same crops scored by the height of their shortest character in the camera image."""
    if "reader_by_char_px" not in synth[names[0]]:
        return []
    bands = synth[names[0]]["reader_by_char_px"]
    lines = [
        "| shortest character | crops | " + " | ".join(names) + " |",
        "|---|---|" + "---|" * len(names),
    ]
    for k, (low, score) in enumerate(bands):
        label = f"{low:g}-{bands[k + 1][0]:g} px" if k + 1 < len(bands) else f"{low:g} px and taller"
        cells = [_pct(synth[n]["reader_by_char_px"][k][1]["exact_match"]) for n in names]
        lines.append(f"| {label} | {score['plates']} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def markdown(report: dict[str, Any], real_plates: int, synthetic_counts: tuple[int, ...]) -> str:
    names = list(report["real"])
    head = "| | " + " | ".join(names) + " |\n|---|" + "---|" * len(names)
    rows = [head]

    def row(label: str, values: list[str]) -> None:
        rows.append(f"| {label} | " + " | ".join(values) + " |")

    real, synth, sizes = report["real"], report["synthetic"], report["sizes"]
    for key, use in (("detector", "snapshot"), ("detector_video", "video")):
        if key not in real[names[0]]:
            continue
        threshold = real[names[0]][key].get("score_threshold")
        at = f" at score {threshold} ({use})" if threshold is not None else ""
        row(
            f"real: detector recall @IoU0.5{at} ({real_plates} plates)",
            [_pct(real[n][key]["recall"]) for n in names],
        )
        row(f"real: detector precision{at}", [_pct(real[n][key]["precision"]) for n in names])
    row("real: end-to-end plate exact-match", [_pct(real[n]["end_to_end"]["exact_match"]) for n in names])
    row("real: end-to-end CER", [_pct(real[n]["end_to_end"]["cer"]) for n in names])
    row(
        "real: reader alone on labelled boxes, exact",
        [_pct(real[n]["reader_on_label_boxes"]["exact_match"]) for n in names],
    )
    row("real: reader alone, CER", [_pct(real[n]["reader_on_label_boxes"]["cer"]) for n in names])
    row(
        f"synthetic: detector recall ({synthetic_counts[0]} scenes)",
        [_pct(synth[n]["detector"]["recall"]) for n in names],
    )
    row("synthetic: detector precision", [_pct(synth[n]["detector"]["precision"]) for n in names])
    row(
        f"synthetic: reader exact ({synthetic_counts[1]} crops)",
        [_pct(synth[n]["reader"]["exact_match"]) for n in names],
    )
    row("synthetic: reader CER", [_pct(synth[n]["reader"]["cer"]) for n in names])
    row(
        "detector ms per 1080p frame (2 threads)",
        [f"{real[n]['detector_ms_per_1080p_frame_2_threads']:.1f}" for n in names],
    )
    row(
        "reader ms per plate (batch 8, 1 thread, wall / CPU)",
        [
            f"{real[n]['reader_ms_per_plate_batch8_1_thread']:.2f} / "
            f"{real[n]['reader_cpu_ms_per_plate_batch8_1_thread']:.2f}"
            for n in names
        ],
    )
    row("end to end ms per photo", [f"{real[n]['ms_per_photo_end_to_end']:.1f}" for n in names])
    row("detector file KiB", [f"{sizes[n]['detector_kib']:.0f}" for n in names])
    row("reader file KiB", [f"{sizes[n]['reader_kib']:.0f}" for n in names])

    countries = report.get("countries", "all")
    countries = ", ".join(countries) if isinstance(countries, list) else countries
    lines = [
        "# Model evaluation", "",
        f"Backend: {report['backend']}" + (f", on {report['cpu']}" if "cpu" in report else "")
        + f". Reader countries on the real photos: {countries}."
        + _errata_note(report, "ru-dev"), "", *rows, "",
    ]
    lines += [
        "## Synthetic reader by country and format",
        "",
        "| format | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for key in synth[names[0]]["reader_per_format"]:
        cells = [
            f"{_pct(synth[n]['reader_per_format'][key]['exact_match'])} "
            f"({synth[n]['reader_per_format'][key]['plates']})"
            for n in names
        ]
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    lines += ["", *_europe_sections(report, names, synthetic_counts[2] if len(synthetic_counts) > 2 else 0)]
    lines += ["## Baselines (measured here before, issue #3)", ""]
    for base in report["baselines"]:
        figures = ", ".join(
            f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}"
            for k, v in base.items()
            if k not in {"name", "task"}
        )
        lines.append(f"- {base['name']} — {base['task']}: {figures}")
    lines += ["", "## End-to-end errors on real photos (last variant)", ""]
    for err in real[names[-1]]["end_to_end_errors"]:
        lines.append(f"- {err['image']}: {err['truth']} → {err['read'] or '(nothing)'}")
    lines += ["", "Plots: `pr_curve.png`, `char_confusions.png`.", ""]
    return "\n".join(lines)


def write_report(
    report: dict[str, Any], out: Path, real_plates: int, synthetic_counts: tuple[int, ...]
) -> None:
    pairs = [
        p
        for section in ("real", "real_eu", "synthetic")
        for v in report.get(section, {}).values()
        for p in v.pop("_pairs")
    ]
    counts = confusions(pairs)
    report["char_confusions"] = [{"truth": a, "read": b, "count": c} for (a, b), c in counts.most_common(40)]
    (out / "evaluation.json").write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    (out / "evaluation.md").write_text(markdown(report, real_plates, synthetic_counts), encoding="utf-8")
    _plot_pr(report, out / "pr_curve.png")
    _plot_confusions(counts, out / "char_confusions.png")
