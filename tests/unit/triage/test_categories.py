"""Categories and tactics: the keys guidance, damage and correlation use."""

from __future__ import annotations

from tests.unit.triage.samples import LOOKUP, alert, sigma_alert

from mimamori.triage.categories import classify, classify_alert, incident_category, tactics_of


def test_indicator_connection_is_c2_and_lookup_is_malicious_site() -> None:
    assert classify_alert(alert()).category == "c2"
    assert classify_alert(alert()).tactics == ("command-and-control",)
    lookup = alert(evidence={"title.template": LOOKUP, "event.outcome": "success"})
    assert classify_alert(lookup).category == "malicious-site"
    assert classify_alert(lookup).tactics == ("initial-access",)


def test_sigma_category_follows_its_latest_tactic() -> None:
    powershell = sigma_alert("s1", "high", ("attack.execution", "attack.t1059.001"))
    assert classify_alert(powershell).category == "execution"
    assert classify_alert(powershell).tactics == ("execution",)
    creds = sigma_alert("s2", "high", ("attack.credential_access", "attack.t1003"))
    assert classify_alert(creds).category == "credential"
    assert tactics_of(["attack.t1059.001", "attack.defense-evasion", "attack.execution"]) == (
        "execution",
        "defense-evasion",
    )


def test_behaviour_detectors_plug_in_by_name_and_unknown_ones_are_generic() -> None:
    assert classify("beacon", (), {}).category == "beaconing"
    assert classify("beacon", (), {}).tactics == ("command-and-control",)
    assert classify("new_device", (), {}).category == "new-device"
    assert classify("smtp_burst", (), {}).category == "mail-burst"
    assert classify("eol_os", (), {}).category == "eol-os"
    assert classify("scan", (), {}).stage > 0
    unknown = classify("something-new", ("not-attack",), {"x": 1})
    assert (unknown.category, unknown.tactics) == ("suspicious", ())


def test_incident_category_prefers_the_later_stage() -> None:
    assert incident_category(["malicious-site", "c2"]) == "c2"
    assert incident_category(["new-device", "c2", "mail-burst"]) == "mail-burst"
    assert incident_category([]) == "suspicious"
