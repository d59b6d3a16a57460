from __future__ import annotations

from models.report import GAP, char_alignment, confusions


def test_alignment_marks_substitutions_insertions_and_deletions() -> None:
    assert char_alignment("A123", "A128") == [("A", "A"), ("1", "1"), ("2", "2"), ("3", "8")]
    assert char_alignment("A12", "A124") == [("A", "A"), ("1", "1"), ("2", "2"), (GAP, "4")]
    assert char_alignment("A12", "A2") == [("A", "A"), ("1", GAP), ("2", "2")]


def test_confusions_compare_glyphs_so_cyrillic_and_latin_agree() -> None:
    counts = confusions([("А123ВС77", "A123BC77"), ("А123ВС77", "A123BC17"), ("О001ОО99", None)])
    assert counts[("7", "1")] == 1
    assert counts[("O", GAP)] == 3
    assert ("A", "A") not in counts
