"""How often each country's plates are drawn in a Europe-wide training mix."""

from __future__ import annotations

import collections

import pytest

from models.synth.country_mix import MIN_TRAFFIC, sqrt_traffic_shares
from models.synth.ocr_samples import RUSSIA_SHARE_EUROPE, mix_weights
from models.synth.plate_render import PLATE_STYLES, REGISTRY_FORMATS


def test_countries_share_plates_by_the_square_root_of_their_traffic_with_a_floor() -> None:
    shares = sqrt_traffic_shares({"DE": 49.0, "FR": 36.0, "IS": 0.3, "LI": 0.03})
    assert sum(shares.values()) == pytest.approx(1.0)
    assert shares["DE"] / shares["FR"] == pytest.approx(7 / 6)
    # Under MIN_TRAFFIC million cars, a country counts as that many: LI is as frequent as IS.
    assert shares["LI"] == shares["IS"] == pytest.approx(MIN_TRAFFIC**0.5 / (7 + 6 + 2 * MIN_TRAFFIC**0.5))
    with pytest.raises(ValueError):
        sqrt_traffic_shares({})


def test_the_readers_europe_mix_shares_countries_by_traffic_not_by_their_number_of_formats() -> None:
    styles = list(PLATE_STYLES.values())
    per_country: collections.Counter[str] = collections.Counter()
    for style, p in zip(styles, mix_weights(styles, "europe"), strict=True):
        per_country[style.country] += p
    assert per_country["RU"] == pytest.approx(RUSSIA_SHARE_EUROPE)
    traffic = {s.country: REGISTRY_FORMATS[s.key].traffic for s in styles if s.country != "RU"}
    expected = sqrt_traffic_shares(traffic)
    for country, share in expected.items():
        assert per_country[country] == pytest.approx((1 - RUSSIA_SHARE_EUROPE) * share), country
    # France (one current format, 39 M cars) is drawn more often than Kyrgyzstan (several formats, 1 M).
    assert per_country["FR"] > 3 * per_country["KG"]


def test_the_countries_mix_draws_every_country_equally_and_its_formats_by_the_registry() -> None:
    styles = list(PLATE_STYLES.values())
    probs = mix_weights(styles, "countries")
    per_country: collections.Counter[str] = collections.Counter()
    for style, p in zip(styles, probs, strict=True):
        per_country[style.country] += p
    assert set(per_country) == {s.country for s in styles}
    for country, share in per_country.items():
        assert share == pytest.approx(1 / len(per_country)), country
    # Within Poland its formats keep their registry weights' proportions.
    polish = [(s, p) for s, p in zip(styles, probs, strict=True) if s.country == "PL"]
    total_weight = sum(s.weight for s, _ in polish)
    for style, p in polish:
        assert p == pytest.approx(per_country["PL"] * style.weight / total_weight), style.key


def test_an_unknown_mix_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown training mix 'asia'"):
        mix_weights(list(PLATE_STYLES.values()), "asia")


def test_a_country_boost_multiplies_that_countrys_share_and_keeps_the_others_in_proportion() -> None:
    styles = list(PLATE_STYLES.values())

    def shares(probs: object) -> collections.Counter[str]:
        per_country: collections.Counter[str] = collections.Counter()
        for style, p in zip(styles, probs, strict=True):  # type: ignore[call-overload]
            per_country[style.country] += p
        return per_country

    plain = shares(mix_weights(styles, "countries"))
    boosted = shares(mix_weights(styles, "countries", country_boost={"AT": 3.0, "IS": 2.0}))
    assert sum(boosted.values()) == pytest.approx(1.0)
    assert boosted["AT"] / boosted["FR"] == pytest.approx(3 * plain["AT"] / plain["FR"])
    assert boosted["IS"] / boosted["FR"] == pytest.approx(2 * plain["IS"] / plain["FR"])
    assert boosted["DE"] / boosted["FR"] == pytest.approx(plain["DE"] / plain["FR"])


def test_a_country_boost_refuses_unknown_countries_and_factors_that_are_not_positive() -> None:
    styles = list(PLATE_STYLES.values())
    with pytest.raises(ValueError, match="no plate style: XX"):
        mix_weights(styles, "europe", country_boost={"XX": 2.0})
    with pytest.raises(ValueError, match="positive"):
        mix_weights(styles, "europe", country_boost={"AT": 0.0})
