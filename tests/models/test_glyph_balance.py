"""Letter balancing for training text: no letter rare under the europe mix, every text valid."""

from __future__ import annotations

import numpy as np

from models.synth.glyph_balance import LETTERS, balancing_weights, letter_shares, random_glyphs
from models.synth.ocr_samples import mix_weights
from models.synth.plate_render import PLATE_STYLES, REGISTRY_FORMATS

STYLES = list(PLATE_STYLES.values())
FORMATS = [REGISTRY_FORMATS[s.key] for s in STYLES]


def test_uniform_letters_leave_q_rare_and_balancing_lifts_every_letter() -> None:
    probs = mix_weights(STYLES, "europe")
    uniform = letter_shares(FORMATS, probs)
    assert uniform[LETTERS.index("Q")] < 0.5  # the problem this module exists for
    weights = balancing_weights(FORMATS, probs)
    balanced = letter_shares(FORMATS, probs, weights)
    assert balanced.min() >= 0.65, dict(zip(LETTERS, balanced.round(2), strict=True))
    assert all(1.0 <= w <= 4.0 for w in weights.values())


def test_balanced_texts_are_valid_plates_of_their_format() -> None:
    weights = balancing_weights(FORMATS, mix_weights(STYLES, "europe"))
    rng = np.random.default_rng(0)
    for fmt in FORMATS:
        for _ in range(5):
            glyphs = random_glyphs(fmt, rng, weights)
            assert fmt.is_valid(fmt.to_canonical(glyphs)), (fmt.key, glyphs)


def test_drawn_letter_counts_follow_the_weights() -> None:
    fmt = REGISTRY_FORMATS["FR/siv"]  # four letters from 23, no table slot
    weights = {"Q": 4.0}
    rng = np.random.default_rng(1)
    text = "".join(random_glyphs(fmt, rng, weights) for _ in range(3000))
    letters = [ch for ch in text if ch.isalpha()]
    q_share = letters.count("Q") / len(letters)
    assert abs(q_share - 4 / 26) < 0.02  # 4 / (22 * 1 + 4)
