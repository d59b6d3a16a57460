from __future__ import annotations

from models.report import GAP, _errata_note, _synthetic_country_table, char_alignment, confusions


def test_alignment_marks_substitutions_insertions_and_deletions() -> None:
    assert char_alignment("A123", "A128") == [("A", "A"), ("1", "1"), ("2", "2"), ("3", "8")]
    assert char_alignment("A12", "A124") == [("A", "A"), ("1", "1"), ("2", "2"), (GAP, "4")]
    assert char_alignment("A12", "A2") == [("A", "A"), ("1", GAP), ("2", "2")]


def test_confusions_compare_glyphs_so_cyrillic_and_latin_agree() -> None:
    counts = confusions([("А123ВС77", "A123BC77"), ("А123ВС77", "A123BC17"), ("О001ОО99", None)])
    assert counts[("7", "1")] == 1
    assert counts[("O", GAP)] == 3
    assert ("A", "A") not in counts


def _scores(exact: dict[str, tuple[int, int]]) -> dict[str, dict[str, float | int]]:
    return {c: {"plates": n, "exact": k, "exact_match": k / n} for c, (k, n) in exact.items()}


def test_synthetic_countries_are_counted_at_98_percent_on_all_crops_and_within_the_spec() -> None:
    heights = _scores({"0": (60, 100), "15": (846, 900)})
    variant = {
        "reader_by_country": _scores({"AT": (457, 500), "LV": (495, 500)}),
        "reader_by_country_in_spec": _scores({"AT": (424, 450), "LV": (441, 450)}),
        "spec_char_px": 15.0,
        "reader_by_char_px": [[0.0, heights["0"]], [15.0, heights["15"]]],
    }
    lines = _synthetic_country_table({"FP32": variant, "INT8": variant}, ["FP32", "INT8"], 1000)
    assert "1 of 2 countries at 98% or more; 1 of 2 on the crops whose characters are 15 px" in lines[0]
    assert "| 0-15 px | 100 | 60.0% | 60.0% |" in lines
    assert "| 15 px and taller | 900 | 94.0% | 94.0% |" in lines
    assert "| AT | 500 | 91.4% | 91.4% | 450 | 94.2% | 94.2% |" in lines
    assert "| LV | 500 | 99.0% | 99.0% | 450 | 98.0% | 98.0% |" in lines


def test_synthetic_countries_read_with_their_own_country_as_the_site_prior_get_columns() -> None:
    variant = {
        "reader_by_country": _scores({"AT": (457, 500), "LV": (495, 500)}),
        "reader_by_country_in_spec": _scores({"AT": (424, 450), "LV": (441, 450)}),
        "reader_by_country_site_prior": _scores({"AT": (472, 500), "LV": (496, 500)}),
        "reader_by_country_site_prior_in_spec": _scores({"AT": (441, 450), "LV": (442, 450)}),
        "spec_char_px": 15.0,
    }
    lines = _synthetic_country_table({"INT8": variant}, ["INT8"], 1000)
    assert "with the plate's own country as the site prior (`--countries`), 1 and 2 in spec" in lines[0]
    assert "| AT | 500 | 91.4% | 450 | 94.2% | 94.4% | 98.0% |" in lines


def test_reports_from_before_the_spec_split_still_render() -> None:
    variant = {"reader_by_country": _scores({"AT": (457, 500)})}
    lines = _synthetic_country_table({"INT8": variant}, ["INT8"], 500)
    assert lines[0].endswith("0 of 1 countries at 98% or more (INT8)")
    assert "| AT | 500 | 91.4% |" in lines


def test_corrected_labels_are_named_under_their_set() -> None:
    erratum = {"set": "eu-dev", "image": "286.jpg", "label": "S00773X", "corrected": "SO0773X"}
    report = {"label_errata": [erratum]}
    assert _errata_note(report, "eu-dev") == (
        " Labels corrected by models/realdata_errata.csv (evidence there): 286.jpg S00773X -> SO0773X."
    )
    assert _errata_note(report, "ru-dev") == "" and _errata_note({}, "eu-dev") == ""
