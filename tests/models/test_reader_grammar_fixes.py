"""How the plate grammar is scored on the reader's own mistakes."""

from __future__ import annotations

from models.reader.eval_synth import grammar_fixes, is_valid_plate, text_corrected


def test_only_single_character_misreadings_count_and_breakage_is_counted() -> None:
    truth = ["A123BC77", "A123BC77", "A123BC77", "A123BC77", "E001KX99"]
    greedy = ["A123BC7", "A128BC77", "A123BC77", "XX", "E001KX99"]  # drop, valid swap, right, garbage, right
    after = ["A123BC77", "A128BC77", "A123BC77", "A123BC77", "E001KX98"]
    fixes = grammar_fixes(greedy, after, truth)
    assert fixes.single_errors == 2  # the garbage read is more than one character off
    assert fixes.fixed == 1
    # "A128BC77" is itself a valid plate: no grammar can tell it is wrong.
    assert fixes.detectable == 1 and fixes.fixed_detectable == 1
    assert fixes.broken == 1
    assert fixes.rate == 0.5


def test_text_correction_keeps_valid_plates_and_fixes_a_look_alike() -> None:
    assert is_valid_plate("A123BC77") and not is_valid_plate("A1Z3BC77") and not is_valid_plate("")
    assert text_corrected("A123BC77") == "A123BC77"
    assert text_corrected("A1Z3BC77") == "A123BC77"
