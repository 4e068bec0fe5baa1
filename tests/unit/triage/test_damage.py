"""The damage model: ranges with a breakdown over JNSA's six categories, parameters with sources."""

from __future__ import annotations

import pytest

from mimamori.triage.damage import Profile, damage_model, estimate

JNSA = {"response", "compensation", "lost_profit", "direct_loss", "fines", "intangible"}


def test_the_data_file_has_the_six_categories_and_every_reference_has_a_source() -> None:
    model = damage_model()
    assert set(model.categories) == JNSA
    assert all(set(label) == {"ja", "en"} for label in model.categories.values())
    for name, ref in model.reference.items():
        assert ref["source"] in model.sources, name
        assert 0 < ref["low"] <= ref["high"], name
    assert model.reference["forensic_pc"]["low"] == 1_000_000
    assert model.reference["call_centre"]["high"] == 10_000_000
    assert set(model.type_of_category.values()) <= set(model.types)


@pytest.mark.parametrize("kind", list(damage_model().types))
def test_every_type_gives_a_range_that_is_the_sum_of_its_breakdown(kind: str) -> None:
    result = estimate(kind, damage_model().default_profile)
    assert result.low_yen <= result.high_yen
    assert result.high_yen > 0
    assert result.low_yen == sum(line.low_yen for line in result.lines)
    assert result.high_yen == sum(line.high_yen for line in result.lines)
    assert {line.category for line in result.lines} <= JNSA
    data = result.to_dict()
    assert set(data) >= {"low_yen", "high_yen", "breakdown"}
    assert all(item["basis"] and item["label"]["ja"] for item in data["breakdown"])


def test_malware_infection_of_a_typical_sme_covers_the_pilot_and_survey_figures() -> None:
    model = damage_model()
    result = estimate("malware_infection", model.default_profile)
    for name in (
        "pilot_xp_pc",
        "pilot_byod_iphone",
        "pilot_malicious_ip",
        "ransomware_average",
        "ransomware_median",
    ):
        figure = model.reference[name]["low"]
        assert result.low_yen <= figure <= result.high_yen * 1.01, name
    email = estimate("email_compromise", model.default_profile)
    assert email.low_yen <= model.reference["emotet_average"]["low"] <= email.high_yen


def test_the_profile_drives_the_estimate() -> None:
    model = damage_model()
    small = estimate("malware_infection", Profile(5, 50_000_000, 0))
    big = estimate("malware_infection", Profile(200, 5_000_000_000, 100_000))
    assert small.high_yen < big.low_yen
    assert not any(line.item == "call_centre" for line in small.lines)
    # the insurer's example: a 50-person manufacturer loses about 10.4M yen per day of stoppage
    factory = model.profile({"employees": 50, "annual_sales_yen": 2_600_000_000, "downtime_days": [1, 1]})
    (downtime,) = [line for line in estimate("malware_infection", factory).lines if line.item == "downtime"]
    assert downtime.low_yen == downtime.high_yen == 10_400_000


def test_bad_profile_values_fall_back_to_the_default() -> None:
    model = damage_model()
    profile = model.profile({"employees": "many", "annual_sales_yen": -5, "downtime_days": [1], "x": True})
    assert profile == model.default_profile
    assert model.profile({"sales_band": "1b-5b"}).annual_sales_yen == 2_500_000_000
